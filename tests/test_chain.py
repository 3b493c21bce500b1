"""COCOON contract layouts, payout classification and the saved chain readings (no network)."""

from __future__ import annotations

import pandas as pd
import pytest
from chain_builders import (
    MAINNET_ROOT,
    OWNER,
    addr,
    client_request_body,
    comment_body,
    excesses_body,
    message,
    params_cell,
    payout_body,
    root_data_cell,
    transaction,
    worker_request_body,
)
from pytoniq_core import Address, Cell, begin_cell

from analysis.chain import contracts as C
from analysis.chain import readings as chain
from analysis.chain.payouts import classify_payouts, daily_payouts, value_payouts
from analysis.core.errors import DataError
from analysis.sources.toncenter import parse_toncenter_transactions


def _bits(value: int, width: int) -> str:
    return format(value, f"0{width}b")


def _coins(value: int) -> str:
    # VarUInteger 16: a 4-bit byte count, then the value big-endian in that many bytes (TL-B Coins).
    nbytes = (value.bit_length() + 7) // 8
    return _bits(nbytes, 4) + (_bits(value, 8 * nbytes) if nbytes else "")


def test_struct_version_2_cell_has_the_layout_the_runner_reads():
    # Hand-assembled bit string of a version-2 params cell (RootContractConfig::load_from_state order:
    # no prompt/completion multipliers; cached and reasoning present) compared bit for bit.
    expected = (_bits(2, 8) + _bits(5, 32) + _bits(9, 32) + "1" + _coins(20) + _coins(19)
                + _bits(1000, 32) + _bits(70000, 32) + _bits(3600, 32) + _bits(600, 32)
                + _coins(15 * 10**9) + _coins(10**9) + "000")
    cell = params_cell(2, params_version=5, unique_id=9, is_test=True, cached=1000, reasoning=70000)
    built = "".join(str(b) for b in cell.bits)
    assert built == expected


def test_params_v2_defaults_prompt_and_completion_to_10000():
    cell = params_cell(2, cached=1000, reasoning=70000, prompt=55555, completion=66666)
    parsed = C.parse_params_cell(cell)
    assert parsed["struct_version"] == 2
    assert parsed["prompt_tokens_price_multiplier"] == 10000
    assert parsed["completion_tokens_price_multiplier"] == 10000
    assert parsed["cached_tokens_price_multiplier"] == 1000
    assert parsed["reasoning_tokens_price_multiplier"] == 70000
    assert parsed["defaulted"] == ("prompt_tokens_price_multiplier", "completion_tokens_price_multiplier")
    assert parsed["price_per_token"] == 20 and parsed["worker_fee_per_token"] == 19


@pytest.mark.parametrize("version", [0, 1])
def test_params_v0_v1_default_all_multipliers(version):
    parsed = C.parse_params_cell(params_cell(version))
    for name in ("prompt", "cached", "completion", "reasoning"):
        assert parsed[f"{name}_tokens_price_multiplier"] == C.DEFAULT_MULTIPLIER
    if version == 0:  # no stakes before struct version 1: the runner's 1 TON
        assert parsed["min_proxy_stake"] == parsed["min_client_stake"] == 10**9
    else:
        assert parsed["min_proxy_stake"] == 15 * 10**9


def test_current_root_state_round_trips_with_code_hashes():
    code = begin_cell().store_uint(0xDEADBEEF, 32).end_cell()
    params = params_cell(4, codes=(code, None, code))
    data = root_data_cell(params, version=31)
    # through a real BOC, as the API delivers it
    parsed = C.parse_root_data(Cell.one_from_boc(data.to_boc()))
    assert parsed.version == 31 and parsed.struct_version == 4
    assert (parsed.prompt_tokens_price_multiplier, parsed.cached_tokens_price_multiplier,
            parsed.completion_tokens_price_multiplier, parsed.reasoning_tokens_price_multiplier) == (10000, 1000, 80000, 80000)
    assert parsed.proxy_sc_code_hash == code.hash.hex() and parsed.worker_sc_code_hash is None
    assert parsed.defaulted == ()
    assert Address(parsed.owner) == addr(0x0BEEF)


def test_struct_version_3_root_has_no_key_manager_ref():
    parsed = C.parse_root_data(root_data_cell(params_cell(3)))
    assert parsed.struct_version == 3
    # a version-4 params cell without the key-manager reference is damaged
    bad = (begin_cell().store_address(addr(1)).store_uint(1, 32).store_ref(begin_cell().end_cell())
           .store_ref(params_cell(4)).end_cell())
    with pytest.raises(DataError, match="expects 1 more reference"):
        C.parse_root_data(bad)


def test_unknown_struct_version_and_short_cell_are_data_errors():
    with pytest.raises(DataError, match="struct version 5"):
        C.parse_params_cell(begin_cell().store_uint(5, 8).end_cell())
    with pytest.raises(DataError, match="shorter"):
        C.parse_params_cell(begin_cell().store_uint(3, 8).store_uint(1, 32).end_cell())


def test_cur_params_cross_check():
    state = C.parse_root_data(root_data_cell(params_cell(4)))
    values = state.as_dict()
    stack = [int(values[k]) if values[k] is not None else 0 for k in C.CUR_PARAMS_FIELDS]
    assert C.cross_check(state, C.parse_cur_params_stack(stack)) == []
    stack[3] = 25  # price_per_token
    assert C.cross_check(state, C.parse_cur_params_stack(stack)) == ["price_per_token: state 20 vs get_cur_params 25"]


def test_worker_request_parses_the_payout_payload():
    request = C.parse_worker_proxy_request(worker_request_body(OWNER, 19 * 1000, tokens=123456, proxy_part=1000))
    assert request.owner == OWNER and request.worker_part == 19000 and request.proxy_part == 1000
    assert request.tokens == 123456
    assert C.parse_worker_proxy_request(payout_body()) is None
    assert C.parse_payout_body(payout_body(99)) == 99
    assert C.parse_payout_body(comment_body("w")) is None


# ----------------------------------------------------------------------------- classification

PROXY = addr(0x1001)          # a proxy of the mainnet root
OTHER_PROXY = addr(0x1002)    # a proxy of another root
WALLET = addr(0x2001)         # not a proxy (get-method fails)
NODE_WALLET = addr(0x3001)    # the worker's node wallet, returning gas with "w"
WORKER = addr(0x4001)         # the worker contract


def _proxy_data(address: Address) -> C.ProxyData | None:
    if address == PROXY:
        return C.ProxyData(owner=addr(0xF00), root=MAINNET_ROOT, state=0, price_per_token=20,
                           worker_fee_per_token=19, params_version=7)
    if address == OTHER_PROXY:
        return C.ProxyData(owner=addr(0xF00), root=addr(0xBAD), state=0, price_per_token=20,
                           worker_fee_per_token=19, params_version=7)
    return None


def _scenario() -> tuple[pd.DataFrame, dict[str, dict]]:
    t0 = 1764979200  # 2025-12-06 00:00 UTC
    pay = 19 * 600_000_000  # 11.4 TON = 600 M adjusted tokens at 19 nanoTON
    refund = 3 * 10**9
    txs = [
        transaction("pay1", 10, t0 + 3600, OWNER, message(PROXY, pay, payout_body(1))),
        transaction("refund", 11, t0 + 7200, OWNER, message(PROXY, refund, payout_body(2))),
        transaction("foreign", 12, t0 + 9000, OWNER, message(OTHER_PROXY, pay, payout_body(3))),
        transaction("gasw", 13, t0 + 9500, OWNER, message(NODE_WALLET, 2 * 10**9, comment_body("w"), comment="w")),
        transaction("spam", 14, t0 + 9600, OWNER, message(WALLET, 10**9, payout_body(4))),
        transaction("excess", 15, t0 + 9700, OWNER, message(PROXY, 10**7, excesses_body())),
        transaction("ext", 16, t0 + 9800, OWNER, None),
        transaction("pay2", 17, t0 + 86400 + 60, OWNER, message(PROXY, 2 * pay, payout_body(5))),
    ]
    parents = {
        "pay1": transaction("p1", 9, t0 + 3599, PROXY, message(WORKER, 10**9, worker_request_body(OWNER, pay, tokens=600_000_000), destination=PROXY)),
        "refund": transaction("p2", 10, t0 + 7199, PROXY, message(addr(0x5001), 10**9, client_request_body(OWNER), destination=PROXY)),
        "pay2": transaction("p3", 16, t0 + 86400 + 59, PROXY, message(WORKER, 10**9, worker_request_body(OWNER, 2 * pay, tokens=1_800_000_000), destination=PROXY)),
    }
    frame = parse_toncenter_transactions({"transactions": txs, "address_book": {}})
    parent_rows = {k: parse_toncenter_transactions({"transactions": [v]}).iloc[0] for k, v in parents.items()}
    return frame, parent_rows


def test_classification_keeps_only_worker_payouts_of_the_mainnet_root():
    frame, parents = _scenario()
    calls: list[Address] = []

    def proxy_data(address):
        calls.append(address)
        return _proxy_data(address)

    payouts, skipped = classify_payouts(frame, owner=OWNER, root=MAINNET_ROOT, proxy_data=proxy_data,
                                        parent_transaction=parents.get)
    assert payouts["tx_hash"].tolist() == ["pay1", "pay2"]
    assert payouts["adjusted_tokens"].tolist() == [600_000_000, 1_200_000_000]  # value / 19 nanoTON
    assert payouts["ton"].tolist() == pytest.approx([11.4, 22.8])
    assert payouts["worker_tokens_total"].tolist() == [600_000_000, 1_800_000_000]
    assert payouts["date"].dt.strftime("%Y-%m-%d").tolist() == ["2025-12-06", "2025-12-07"]
    reasons = dict(zip(skipped["tx_hash"], skipped["reason"]))
    assert reasons == {"refund": "not_worker_payout", "foreign": "other_root", "gasw": "gas_return_w",
                       "spam": "not_a_proxy", "excess": "excesses", "ext": "external"}
    # get_cocoon_proxy_data once per sender, whatever the address form the indexer used
    assert sorted(calls, key=str) == sorted([PROXY, OTHER_PROXY, WALLET], key=str)


def test_without_origin_check_a_refund_from_a_mainnet_proxy_counts():
    frame, _ = _scenario()
    payouts, _ = classify_payouts(frame, owner=OWNER, root=MAINNET_ROOT, proxy_data=_proxy_data)
    assert payouts["tx_hash"].tolist() == ["pay1", "refund", "pay2"]
    assert not payouts["origin_checked"].any()


def test_origin_naming_another_owner_or_amount_is_rejected():
    frame, parents = _scenario()
    frame = frame[frame["tx_hash"] == "pay1"]
    bad = transaction("p1", 9, 1, PROXY, message(WORKER, 10**9, worker_request_body(addr(0xEE), 19 * 600_000_000), destination=PROXY))
    _, skipped = classify_payouts(frame, owner=OWNER, root=MAINNET_ROOT, proxy_data=_proxy_data,
                                  parent_transaction=lambda h: parse_toncenter_transactions({"transactions": [bad]}).iloc[0])
    assert skipped["reason"].tolist() == ["origin_mismatch"]
    _, skipped = classify_payouts(frame, owner=OWNER, root=MAINNET_ROOT, proxy_data=_proxy_data,
                                  parent_transaction=lambda h: None)
    assert skipped["reason"].tolist() == ["origin_unknown"]


def test_valuation_uses_that_days_close(shared_data):
    frame, parents = _scenario()
    payouts, _ = classify_payouts(frame, owner=OWNER, root=MAINNET_ROOT, proxy_data=_proxy_data,
                                  parent_transaction=parents.get)
    from analysis.market.prices import daily_closes
    valued = value_payouts(payouts, daily_closes("ton"))
    # independent: the shared Binance file's closes for those days
    ref = pd.read_csv(shared_data / "ton_usd_daily_binance.csv")
    ref.index = ref["open_time"].str[:10]
    for row in valued.itertuples():
        expected = float(ref.loc[row.date.strftime("%Y-%m-%d"), "close"])
        assert row.close_usd == pytest.approx(expected, rel=2e-3)
        assert row.usd == pytest.approx(row.ton * row.close_usd)


def test_daily_payouts_are_cumulative_and_zero_filled():
    frame, parents = _scenario()
    payouts, _ = classify_payouts(frame, owner=OWNER, root=MAINNET_ROOT, proxy_data=_proxy_data,
                                  parent_transaction=parents.get)
    days = daily_payouts(payouts, pd.Timestamp("2025-12-05"), pd.Timestamp("2025-12-08"))
    assert days["ton"].tolist() == pytest.approx([0.0, 11.4, 22.8, 0.0])
    assert days["cum_ton"].tolist() == pytest.approx([0.0, 11.4, 34.2, 34.2])
    assert days["cum_adjusted_tokens"].iloc[-1] == 1_800_000_000


# ----------------------------------------------------------------------------- saved readings

def _reading(price=20, fee=19, when="2026-04-07T10:00:00+00:00"):
    params = C.parse_root_data(root_data_cell(params_cell(4, price=price, fee=fee)))
    meta = {"read_at": pd.Timestamp(when).to_pydatetime(), "source": "toncenter v3", "root": C.MAINNET_ROOT}
    return params, meta


def test_latest_chain_params_is_none_without_a_reading(tmp_path):
    assert chain.latest_chain_params(tmp_path) is None


def test_saved_readings_append_and_the_newest_wins(tmp_path):
    chain.save_chain_params(*_reading(20, 19, "2026-04-07T10:00:00+00:00"), cache_dir=tmp_path)
    path = chain.save_chain_params(*_reading(24, 22, "2026-04-08T09:30:00+00:00"), cache_dir=tmp_path)
    frame = pd.read_csv(path)
    assert list(frame.columns) == ["network", "parameter", "value", "unit", "observed", "source", "notes"]
    assert frame["observed"].nunique() == 2
    latest = chain.latest_chain_params(tmp_path)
    assert latest["price_per_token"] == 24 and latest["worker_fee_per_token"] == 22
    assert latest["completion_tokens_price_multiplier"] == 80000
    assert latest["observed"] == "2026-04-08T09:30:00Z"
    # the same reading saved twice is not duplicated
    chain.save_chain_params(*_reading(24, 22, "2026-04-08T09:30:00+00:00"), cache_dir=tmp_path)
    assert len(pd.read_csv(path)) == len(frame)


def test_damaged_reading_file_is_a_one_line_data_error(tmp_path):
    path = tmp_path / "chain" / "params.csv"
    path.parent.mkdir()
    path.write_text("network,parameter\ncocoon,price_per_token\n")
    with pytest.raises(DataError, match="missing columns"):
        chain.latest_chain_params(tmp_path)
