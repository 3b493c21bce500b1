"""toncenter over real HTTP against a loopback server speaking its v3/v2 formats, faults included."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from chain_builders import (
    MAINNET_ROOT,
    OWNER,
    FakeTon,
    addr,
    client_request_body,
    comment_body,
    cur_params_stack,
    message,
    num,
    params_cell,
    payout_body,
    proxy_data_stack,
    slice_of,
    toncenter_handler,
    transaction,
    worker_request_body,
)
from pytoniq_core import Address
from werkzeug import Response

from analysis.chain import contracts as C
from analysis.chain import readings as chain
from analysis.core.errors import FetchError, InputError
from analysis.sources import toncenter
from analysis.sources.http import HttpError

KEY = "tc-secret-key-123"


@pytest.fixture
def fake(httpserver):
    state = FakeTon()
    httpserver.expect_request(path_or_uri_re_all()).respond_with_handler(toncenter_handler(state))
    return state


def path_or_uri_re_all():
    import re
    return re.compile(r"^/api/.*")


def client(httpserver, **kwargs):
    options = {"api_key": "", "min_interval_s": 0.0, "backoff_s": 0.01, "timeout_s": 5.0, **kwargs}
    return toncenter.toncenter_client(httpserver.url_for("/"), **options)


def test_root_params_from_v3_account_state_and_cross_check(httpserver, fake):
    params = params_cell(4, price=20, fee=19, cached=1000, reasoning=80000)
    fake.add_root(params)
    parsed = C.parse_params_cell(params)
    fake.methods[(MAINNET_ROOT, "get_cur_params")] = {"stack": cur_params_stack(parsed)}
    got, meta = chain.read_root_params(api="toncenter", client=client(httpserver))
    assert (got.price_per_token, got.worker_fee_per_token) == (20, 19)
    assert got.completion_tokens_price_multiplier == 80000
    assert meta["cross_check"] == {"agrees": True, "differences": [], "error": None}
    assert meta["source"] == "toncenter v3" and meta["last_transaction_lt"] == 61000000000001
    req, _ = httpserver.log[0]
    assert req.path == "/api/v3/addressInformation" and Address(req.args["address"]) == MAINNET_ROOT


def test_struct_version_2_root_through_the_api(httpserver, fake):
    fake.add_root(params_cell(2, cached=1000, reasoning=70000))
    got, meta = chain.read_root_params(api="toncenter", client=client(httpserver))
    assert got.struct_version == 2
    assert got.prompt_tokens_price_multiplier == got.completion_tokens_price_multiplier == 10000
    assert (got.cached_tokens_price_multiplier, got.reasoning_tokens_price_multiplier) == (1000, 70000)
    # get_cur_params missing on this fake root: the reading stands, the cross-check says why it is absent
    assert meta["cross_check"]["agrees"] is None and "exited with code 11" in meta["cross_check"]["error"]


def test_v2_get_address_information(httpserver, fake):
    fake.add_root(params_cell(3))
    state, meta = toncenter.get_toncenter_account_state(MAINNET_ROOT, api="v2", client=client(httpserver))
    assert state["api"] == "v2" and state["status"] == "active" and state["balance_nanoton"] == 5 * 10**9
    assert C.parse_root_data(state["data"]).struct_version == 3


def test_v2_error_envelope_is_a_fetch_error():
    with pytest.raises(FetchError, match="Incorrect address"):
        toncenter.parse_toncenter_account_state({"ok": False, "error": "Incorrect address", "code": 416})


def test_inactive_root_is_an_input_error(httpserver, fake):
    with pytest.raises(InputError, match="--root .* uninit"):
        chain.read_root_params(api="toncenter", root=addr(77).to_str(), client=client(httpserver))


def test_get_method_stack_decoding(httpserver, fake):
    proxy = addr(0x1001)
    fake.methods[(proxy, "get_cocoon_proxy_data")] = {"stack": proxy_data_stack(MAINNET_ROOT, fee=23)}
    stack, meta = toncenter.run_toncenter_get_method(proxy, "get_cocoon_proxy_data", client=client(httpserver))
    data = C.parse_proxy_data_stack(stack)
    assert data.root == MAINNET_ROOT and data.worker_fee_per_token == 23 and meta["exit_code"] == 0
    body = json.loads(httpserver.log[0][0].data)
    assert body["method"] == "get_cocoon_proxy_data" and body["stack"] == []
    assert toncenter.parse_toncenter_stack([num(-300), slice_of(OWNER)])[0] == -300
    with pytest.raises(toncenter.GetMethodError) as err:
        toncenter.run_toncenter_get_method(addr(5), "get_cocoon_proxy_data", client=client(httpserver))
    assert err.value.tvm_exit_code == 11 and err.value.exit_code == 1   # the CLI still exits 1


def _owner_history(n_noise: int = 0):
    """Transactions of OWNER: two worker payouts, a refund, a payout from another root's proxy,
    the node wallet's "w" gas return, plus ``n_noise`` plain transfers."""
    proxy, other, worker = addr(0x1001), addr(0x1002), addr(0x4001)
    t0 = 1764979200  # 2025-12-06
    pay = 19 * 600_000_000
    txs = [
        transaction("cGF5MQ==", 10, t0 + 3600, OWNER, message(proxy, pay, payout_body(1))),
        transaction("cmVmdW5k", 11, t0 + 7200, OWNER, message(proxy, 3 * 10**9, payout_body(2))),
        transaction("Zm9yZWln", 12, t0 + 9000, OWNER, message(other, pay, payout_body(3))),
        transaction("Z2Fzdw==", 13, t0 + 9500, OWNER, message(addr(0x3001), 2 * 10**9, comment_body("w"), comment="w")),
        transaction("cGF5Mg==", 30, t0 + 86400, OWNER, message(proxy, 2 * pay, payout_body(5))),
    ]
    txs += [transaction(f"bm9pc2U{i}", 14 + i, t0 + 10000 + i, OWNER, message(addr(0x9000 + i), 10**8, None))
            for i in range(n_noise)]
    parents = {
        "cGF5MQ==": transaction("p1", 9, t0 + 3599, proxy, message(worker, 10**9, worker_request_body(OWNER, pay), destination=proxy)),
        "cmVmdW5k": transaction("p2", 10, t0 + 7199, proxy, message(addr(0x5001), 10**9, client_request_body(OWNER), destination=proxy)),
        "cGF5Mg==": transaction("p3", 29, t0 + 86399, proxy, message(worker, 10**9, worker_request_body(OWNER, 2 * pay), destination=proxy)),
    }
    return proxy, other, txs, parents


def test_payouts_end_to_end_with_paging(httpserver, fake):
    proxy, other, txs, parents = _owner_history(n_noise=4)
    fake.transactions[OWNER] = txs
    fake.parents.update(parents)
    fake.methods[(proxy, "get_cocoon_proxy_data")] = {"stack": proxy_data_stack(MAINNET_ROOT)}
    fake.methods[(other, "get_cocoon_proxy_data")] = {"stack": proxy_data_stack(addr(0xBAD))}
    closes = pd.DataFrame({"close_usd": [1.5, 2.0]},
                          index=pd.DatetimeIndex(["2025-12-06", "2025-12-07"], name="date"))
    payouts, meta = chain.fetch_payouts(OWNER.to_str(), client=client(httpserver), page_size=3, closes=closes,
                                        save=False)
    assert payouts["tx_hash"].tolist() == ["cGF5MQ==", "cGF5Mg=="]
    assert payouts["ton"].tolist() == pytest.approx([11.4, 22.8])
    assert payouts["usd"].tolist() == pytest.approx([11.4 * 1.5, 22.8 * 2.0])
    assert payouts["adjusted_tokens"].tolist() == [600_000_000, 1_200_000_000]
    assert meta["skipped"] == {"not_worker_payout": 1, "other_root": 1, "gas_return_w": 1, "other_opcode": 4}
    # 9 transactions in pages of 3: offsets 0, 3, 6, 9 (the last page is empty)
    pages = [r for r, _ in httpserver.log if r.path == "/api/v3/transactions"]
    assert [int(r.args["offset"]) for r in pages] == [0, 3, 6, 9] and meta["pages"] == 4
    assert all(r.args["sort"] == "asc" and r.args["limit"] == "3" for r in pages)
    # get_cocoon_proxy_data once per proxy, although the proxy sent three messages
    methods = [json.loads(r.data)["address"] for r, _ in httpserver.log if r.path == "/api/v3/runGetMethod"]
    assert len(methods) == 2


def test_date_window_is_sent_and_enforced(httpserver, fake):
    proxy, other, txs, parents = _owner_history()
    fake.transactions[OWNER] = txs
    fake.parents.update(parents)
    fake.methods[(proxy, "get_cocoon_proxy_data")] = {"stack": proxy_data_stack(MAINNET_ROOT)}
    payouts, meta = chain.fetch_payouts(OWNER, start="2025-12-07", end="2025-12-07", client=client(httpserver),
                                        closes=pd.DataFrame({"close_usd": []}, index=pd.DatetimeIndex([], name="date")),
                                        save=False)
    assert payouts["tx_hash"].tolist() == ["cGF5Mg=="]
    assert payouts["usd"].isna().all() and meta["days_without_close"] == ["2025-12-07"]
    req = next(r for r, _ in httpserver.log if r.path == "/api/v3/transactions")
    assert int(req.args["start_utime"]) == 1765065600 and int(req.args["end_utime"]) == 1765065600 + 86399


def test_429_with_retry_after_is_honoured(httpserver, fake):
    fake.add_root(params_cell(4))
    httpserver.expect_oneshot_request("/api/v3/addressInformation").respond_with_response(
        Response(json.dumps({"ok": False, "error": "Ratelimit exceed", "code": 429}), status=429,
                 headers={"Retry-After": "0"}, content_type="application/json"))
    http = client(httpserver)
    waits: list[float] = []
    http.sleep = waits.append
    state, _ = toncenter.get_toncenter_account_state(MAINNET_ROOT, client=http)
    assert state["status"] == "active" and waits == [0.0]


def test_5xx_and_truncated_json_are_retried(httpserver, fake):
    fake.add_root(params_cell(4))
    httpserver.expect_oneshot_request("/api/v3/addressInformation").respond_with_data("upstream", status=502)
    httpserver.expect_oneshot_request("/api/v3/addressInformation").respond_with_data(
        '{"balance": "5", "da', content_type="application/json")
    state, _ = toncenter.get_toncenter_account_state(MAINNET_ROOT, client=client(httpserver))
    assert state["balance_nanoton"] == 5 * 10**9


def test_api_error_carries_the_message_and_never_the_key(httpserver):
    httpserver.expect_request("/api/v3/transactions").respond_with_json(
        {"error": "Failed to parse account address"}, status=422)
    with pytest.raises(HttpError) as err:
        toncenter.get_toncenter_transactions(OWNER, client=client(httpserver, api_key=KEY))
    assert "Failed to parse account address" in str(err.value) and KEY not in str(err.value)
    request = httpserver.log[-1][0]
    assert request.headers.get("X-API-Key") == KEY and KEY not in request.url


def test_keyless_client_waits_a_second_between_requests(monkeypatch):
    monkeypatch.delenv(toncenter.API_KEY_ENV, raising=False)
    assert toncenter.toncenter_client().min_interval_s == 1.0
    monkeypatch.setenv(toncenter.API_KEY_ENV, KEY)
    keyed = toncenter.toncenter_client()
    assert keyed.min_interval_s == pytest.approx(0.1) and keyed.headers == {"X-API-Key": KEY}


def test_missing_parent_is_none(httpserver, fake):
    assert toncenter.get_toncenter_parent_transaction("bm9uZQ==", client=client(httpserver)) is None


def test_bad_owner_address_is_an_input_error():
    with pytest.raises(InputError, match="--owner: 'EQnope' is not a TON address"):
        chain.fetch_payouts("EQnope", save=False)


@pytest.mark.remote_data
def test_live_mainnet_root_params():
    """Opt-in (pytest -m remote_data): the real mainnet root parses and agrees with get_cur_params."""
    params, meta = chain.read_root_params(api="toncenter")
    assert params.struct_version <= C.MAX_STRUCT_VERSION and 0 < params.worker_fee_per_token <= params.price_per_token
    assert meta["cross_check"]["agrees"] in (True, None)
