"""`chain network`: discovery by code hash, classification, the daily table, the incremental
cache and observed utilisation, against a loopback toncenter v3 (tests/network_builders.py)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from chain_builders import MAINNET_ROOT, ROOT_OWNER
from econ_support import simple_scenario
from network_builders import (
    C1,
    C2,
    CO1,
    DAY0,
    EXPECTED_DAYS,
    FOREIGN_CODE,
    FW,
    P1,
    P2,
    PF,
    W1,
    W2,
    W3,
    Network,
    day,
    network_handler,
)

from analysis.chain import network
from analysis.core.errors import DataError, InputError
from analysis.econ.demand import full_load_adjusted_tokens_per_day, implied_utilisation, observed_utilisation
from analysis.market import network_demand
from analysis.sources.toncenter import toncenter_client


def raw(a) -> str:
    return a.to_str(is_user_friendly=False)


@pytest.fixture
def served(httpserver):
    """The network on a loopback server; faults on P1's second and third pages."""
    net = Network()
    faults = {f"/api/v3/transactions?{raw(P1)}@3": ["429"], f"/api/v3/transactions?{raw(P1)}@6": ["truncated"]}
    handler = network_handler(net, faults=faults)
    httpserver.expect_request(re.compile(r"^/api/.*")).respond_with_handler(handler)
    client = toncenter_client(httpserver.url_for("/"), api_key="", min_interval_s=0.0, backoff_s=0.0)
    return net, client, faults


def _read(client, cache, **kw):
    return network.read_network(client=client, cache_dir=cache, page_size=3, progress=False, **kw)


def test_discovery_by_code_hash(served, tmp_path):
    net, client, _ = served
    reading = _read(client, tmp_path)
    kinds = dict(zip(reading.contracts["address"], reading.contracts["kind"]))
    assert {kinds[raw(a)] for a in (P1, P2)} == {"proxy"}
    assert {kinds[raw(a)] for a in (W1, W2, W3)} == {"worker"}
    assert {kinds[raw(a)] for a in (C1, C2)} == {"client"}
    assert kinds[raw(FW)] == "wallet" and kinds[raw(ROOT_OWNER)] == "wallet"
    pf = reading.contracts.set_index("address").loc[raw(PF)]
    assert pf["kind"] == "other" and pf["code_hash"] == FOREIGN_CODE.hash.hex()
    # PF's transactions are never read; P2 is reached only through W3 (O1's other worker).
    assert not any(p == "/api/v3/transactions" and a["account"] == raw(PF) for p, a in net.log)
    row = reading.contracts.set_index("address")
    assert row.loc[raw(P2), "found_via"] == raw(W3)
    assert (row.loc[raw(P1), "price_per_token"], row.loc[raw(P1), "worker_fee_per_token"]) == (20, 19)
    assert (row.loc[raw(P2), "price_per_token"], row.loc[raw(P2), "worker_fee_per_token"]) == (24, 22)
    assert row.loc[raw(W1), "proxy"] == raw(P1) and row.loc[raw(C1), "owner"] == raw(CO1)


def test_daily_table_matches_hand_computed_totals(served, tmp_path):
    net, client, faults = served
    reading = _read(client, tmp_path)
    assert all(not left for left in faults.values())  # the 429 and the truncated page were served ...
    pages = [int(a["offset"]) for p, a in net.log if p == "/api/v3/transactions" and a["account"] == raw(P1)]
    assert pages == [0, 3, 3, 6, 6, 9, 12]  # ... and retried; 13 P1 transactions over 5 pages
    days = network.daily_network(reading.events)
    assert list(days.index.date) == [day(n) for n in range(4)]
    for n, expected in EXPECTED_DAYS.items():
        got = days.loc[pd.Timestamp(day(n))]
        for col, value in expected.items():
            assert got[col] == pytest.approx(value, abs=1e-12), (n, col)
    # per-worker adjusted tokens on day 1: W1 5e7, W2 3e7 -> P10 3.2e7, P50 4e7, P90 4.8e7 (linear)
    d1 = days.loc[pd.Timestamp(day(1))]
    assert (d1["worker_adjusted_tokens_p10"], d1["worker_adjusted_tokens_p50"], d1["worker_adjusted_tokens_p90"]) \
        == pytest.approx((3.2e7, 4e7, 4.8e7))
    assert np.isnan(days.loc[pd.Timestamp(day(0)), "worker_adjusted_tokens_p50"])
    totals = network.network_totals(reading.events)
    assert totals["client_spend_ton"] == pytest.approx(12.4)
    assert totals["worker_payouts_ton"] == pytest.approx(5.62)
    assert totals["commission_ton"] == pytest.approx(0.38)
    assert totals["refunds_ton"] == pytest.approx(4.6) and totals["withdrawals_ton"] == pytest.approx(0.5)
    assert totals["top_ups_ton"] == pytest.approx(18.0)
    assert (totals["payouts"], totals["charges"], totals["workers_paid"], totals["clients_charged"]) == (4, 3, 3, 2)
    assert totals["adjusted_tokens_paid"] == 280_000_000
    assert totals["skipped"] == {"not_a_worker": 1, "other": 1, "aborted": 1, "bounced": 1}
    # each payout / its own proxy's fee: W3's 2.2 TON at 22 nanoTON is 1e8 tokens, not 2.2e9/19
    w3 = reading.events[(reading.events["contract"] == raw(W3)) & (reading.events["kind"] == "worker_payout")]
    assert w3["adjusted_tokens"].tolist() == [100_000_000]


def test_charge_is_capped_by_the_client_balance(served, tmp_path):
    _, client, _ = served
    events = _read(client, tmp_path).events
    charges = events[(events["kind"] == "client_charge") & (events["contract"] == raw(C1))]
    # 4.5e8 tokens * 20 = 9 TON owed, 8 TON held: update_balance takes the 8
    assert charges["value_nanoton"].tolist() == [2 * 10**9, 8 * 10**9]


def test_refresh_reads_only_new_transactions(served, tmp_path):
    net, client, _ = served
    first = _read(client, tmp_path)
    lt_read = int(first.contracts.set_index("address").loc[raw(P1), "lt_read"])
    net.add_day4()
    net.log.clear()
    second = _read(client, tmp_path)
    p1 = [a for p, a in net.log if p == "/api/v3/transactions" and a["account"] == raw(P1)]
    assert p1 and all(int(a["start_lt"]) == lt_read + 1 for a in p1)
    # nothing new for PF or the known wallets' code: contracts are not looked up again
    assert not any(p == "/api/v3/addressInformation" and a["address"] == raw(P1) for p, a in net.log)
    totals = network.network_totals(second.events)
    assert totals["worker_payouts_ton"] == pytest.approx(5.62 + 0.38)
    assert totals["client_spend_ton"] == pytest.approx(12.4 + 0.2)  # 1e7 * 20 from C1's remaining 1 TON
    assert totals["payouts"] == 5 and len(second.events) == len(first.events) + 2
    # a third read with nothing new changes nothing
    third = _read(client, tmp_path)
    assert len(third.events) == len(second.events)
    assert network.load_network_cache(tmp_path).events["tx_hash"].tolist() == third.events["tx_hash"].tolist()


def test_observed_demand_and_implied_utilisation(served, tmp_path):
    _, client, _ = served
    reading = _read(client, tmp_path)
    summary = json.loads((tmp_path / "chain" / "network" / "summary.json").read_text())
    # 30-day window: W1 1.5e8, W2 3e7, W3 1e8 adjusted tokens -> 5e6, 1e6, 3.333e6 a day; median W3
    per_day = {w["worker"]: w["adjusted_tokens_per_day"] for w in summary["workers"]}
    assert per_day == pytest.approx({raw(W1): 5e6, raw(W2): 1e6, raw(W3): 1e8 / 30})
    assert summary["median_adjusted_tokens_per_worker_day"] == pytest.approx(1e8 / 30)
    assert summary["workers_paid_in_window"] == 3 and summary["window_days"] == 30
    demand = network_demand.observed_demand(tmp_path)
    assert demand.origin == "chain" and demand.workers == 3 and demand.statistic == "median"
    s = simple_scenario()  # 1000 tokens/s, completion only at 1.0x: 86.4e6 adjusted tokens a day
    assert full_load_adjusted_tokens_per_day(s.workload, s.network) == pytest.approx(86.4e6)
    assert implied_utilisation(5e6, s.workload, s.network) == pytest.approx(5e6 / 86.4e6)
    observed = observed_utilisation(s.workload, s.network, demand)
    assert observed.utilisation == pytest.approx((1e8 / 30) / 86.4e6)
    assert "3 worker(s)" in observed.describe() and summary["window_start"] in observed.describe()
    assert reading.meta["code_hashes"]["proxy"] is not None


def test_reference_figure_without_a_reading(tmp_path):
    demand = network_demand.observed_demand(tmp_path)
    # 192.5 TON to 6 worker contracts from 2025-11-30 to 2026-04-07 (129 days) at 19 nanoTON per token
    assert demand.origin == "reference" and demand.statistic == "mean"
    assert demand.adjusted_tokens_per_worker_day == pytest.approx(192.5e9 / 6 / 129 / 19)
    assert demand.workers == 6 and demand.window_days == 129 and "tongateway/cocoon-dashboard" in demand.source


def test_parameter_history_in_force(served, tmp_path):
    _, client, _ = served
    _read(client, tmp_path)
    history = network_demand.read_parameter_history(tmp_path)
    assert set(history["scope"]) == {"root", "proxy"}
    change = history[history["source"].str.startswith("root_change_price")]
    assert change[["price_per_token", "worker_fee_per_token"]].values.tolist() == [[24, 22]]
    force = network_demand.parameters_in_force(history, pd.date_range(day(0), day(4)))
    # before the day-2 change: what P1 was deployed with (20/19); from day 2: 24/22
    assert force["worker_fee_per_token"].tolist() == [19, 19, 22, 22, 22]
    assert force["price_per_token"].tolist() == [20, 20, 24, 24, 24]


def test_offline_without_cache_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="chain network"):
        network.read_network(cache_dir=tmp_path, refresh=False)


def test_bad_proxy_address(tmp_path):
    with pytest.raises(InputError, match="--proxy"):
        network.read_network(cache_dir=tmp_path, proxies=["not-an-address"])


def test_an_account_that_is_no_root(httpserver, tmp_path):
    net = Network()
    del net.accounts[MAINNET_ROOT]
    httpserver.expect_request(re.compile(r"^/api/.*")).respond_with_handler(network_handler(net))
    client = toncenter_client(httpserver.url_for("/"), api_key="", min_interval_s=0.0)
    with pytest.raises(InputError, match="not a deployed COCOON root"):
        network.read_network(client=client, cache_dir=tmp_path)


def test_day0_is_a_utc_midnight():
    assert DAY0.hour == 0 and DAY0.tzinfo is not None


def test_ledger_replay_uses_the_fee_in_force_each_day():
    from analysis.econ.ledger import daily_ledger

    s = simple_scenario()  # 86.4e6 adjusted tokens a day; fee 50 nanoTON in the scenario
    days = pd.date_range("2025-01-01", periods=11, freq="D")
    closes = pd.Series(2.0, index=days)
    params = pd.DataFrame({"worker_fee_per_token": [19.0] * 6 + [22.0] * 5}, index=days)
    replay = daily_ledger(s, closes, start=days[1].date(), end=days[-1].date(), parameters=params)
    plain = daily_ledger(s, closes, start=days[1].date(), end=days[-1].date())
    assert replay["worker_nanoton_per_token"].tolist() == [19.0] * 5 + [22.0] * 5
    assert replay["earned_ton"].to_numpy() == pytest.approx(86.4e6 * np.array([19] * 5 + [22] * 5) / 1e9)
    assert plain["earned_ton"].to_numpy() == pytest.approx(np.full(10, 86.4e6 * 50 / 1e9))
    with pytest.raises(DataError, match="no worker fee"):
        daily_ledger(s, closes, start=days[1].date(), end=days[-1].date(), parameters=params.iloc[:5])


def test_scenario_observed_utilisation_rules(isolated_cache):
    from econ_support import mapping

    from analysis.econ.scenario import parse_scenario, scenario_with, to_mapping

    s = parse_scenario(mapping(workload__utilisation="observed"), origin="o.toml")
    demand = network_demand.observed_demand()
    assert demand.origin == "reference"  # no reading in this cache
    full = full_load_adjusted_tokens_per_day(s.workload, s.network)
    assert s.workload.utilisation == pytest.approx(demand.adjusted_tokens_per_worker_day / full)
    assert s.utilisation_origin == "observed" and any("129 days" in n for n in s.notes)
    assert to_mapping(s)["workload"]["utilisation"] == "observed"  # kept through scenario_with
    assert scenario_with(s, {"hardware.gpus": 2}).utilisation_origin == "observed"
    assert scenario_with(s, {"workload.utilisation": 0.5}).utilisation_origin == "assumed"
    with pytest.raises(InputError, match=r'utilisation = "busy" is a string, not a number; .* or "observed"'):
        parse_scenario(mapping(workload__utilisation="busy"), origin="o.toml")
    render = mapping(workload__utilisation="observed")
    render["network"] = {"name": "render"}
    render.pop("pricing")
    render["hardware"]["gpu"] = "RTX4090"
    with pytest.raises(InputError, match="only known for COCOON"):
        parse_scenario(render, origin="r.toml")


def test_toncenter_parsers_keep_out_messages_and_code():
    from network_builders import PROXY_CODE, payout_out

    from analysis.sources.toncenter import parse_toncenter_account_state, parse_toncenter_transactions

    net = Network()
    tx = net.tx(P1, 1_700_000_000, W1, 1, None, outs=[payout_out(ROOT_OWNER, 123)])
    frame = parse_toncenter_transactions({"transactions": [tx]})
    (out,) = frame["out_msgs"].iloc[0]
    assert out["value_nanoton"] == 123 and out["opcode"] == 0xC59A7CD3
    assert network._maybe_raw(out["destination"]) == raw(ROOT_OWNER)
    state = parse_toncenter_account_state(net.accounts[P1])
    assert state["code"].hash == PROXY_CODE.hash


@pytest.mark.remote_data
def test_live_mainnet_root_holds_the_three_codes():
    """Opt-in (pytest -m remote_data): the mainnet root's params carry the proxy, worker and client
    code cells whose hashes get_cur_params reports."""
    from analysis.chain.contracts import MAINNET_ROOT as ROOT
    from analysis.chain.contracts import parse_cur_params_stack, root_code_cells
    from analysis.sources import toncenter

    state, _ = toncenter.get_toncenter_account_state(ROOT)
    codes = root_code_cells(state["data"])
    stack, _ = toncenter.run_toncenter_get_method(ROOT, "get_cur_params")
    cur = parse_cur_params_stack(stack)
    for kind in ("proxy", "worker", "client"):
        assert codes[kind] is not None and codes[kind].hash.hex() == cur[f"{kind}_sc_code_hash"]


def test_a_wallet_reached_far_first_and_near_later_is_expanded(httpserver, tmp_path):
    """X is first a counterparty of the root owner's wallet (two hops: not expanded), then of P1
    (next to a COCOON contract: expanded), and X deployed P3: P3 must be found."""
    from chain_builders import addr
    from network_builders import PROXY_CODE, at, plain_out, proxy_data

    net = Network()
    x, p3 = addr(0xE01), addr(0x703)
    net.account(x, FOREIGN_CODE, FOREIGN_CODE)
    net.account(p3, PROXY_CODE, proxy_data(x, price=24, fee=22, params_version=8))
    net.tx(ROOT_OWNER, at(0, 1), None, 0, None, outs=[plain_out(x)])
    net.tx(P1, at(0, 2), x, 10**9, None)            # a plain transfer: X is P1's counterparty too
    net.tx(x, at(0, 3), None, 0, None, outs=[plain_out(p3, 10**9)])
    httpserver.expect_request(re.compile(r"^/api/.*")).respond_with_handler(network_handler(net))
    client = toncenter_client(httpserver.url_for("/"), api_key="", min_interval_s=0.0)
    reading = _read(client, tmp_path)
    kinds = dict(zip(reading.contracts["address"], reading.contracts["kind"]))
    assert kinds[raw(x)] == "wallet" and kinds[raw(p3)] == "proxy"


def test_a_proxy_with_code_from_an_earlier_upgrade_is_recognised(httpserver, tmp_path):
    """The root upgraded the proxy code twice (OLD, then today's): a proxy deployed in between
    keeps OLD and is still COCOON's; the hashes of every version are cached for the next refresh."""
    from chain_builders import addr
    from network_builders import CLIENT_CODE, PROXY_CODE, WORKER_CODE, at, op_body, plain_out, proxy_data
    from pytoniq_core import begin_cell

    from analysis.chain import contracts as C

    old = begin_cell().store_uint(0xC0C0_0000, 32).end_cell()
    net = Network()
    p0 = addr(0x700)
    net.account(p0, old, proxy_data(ROOT_OWNER, price=20, fee=19, params_version=6))
    for code in (old, PROXY_CODE):
        net.tx(MAINNET_ROOT, at(-3, 1), ROOT_OWNER, 10**9,
               op_body(C.OP_ROOT_UPGRADE_CONTRACTS,
                       tail=lambda b, code=code: b.store_ref(code).store_ref(WORKER_CODE).store_ref(CLIENT_CODE)))
    net.tx(ROOT_OWNER, at(-2, 1), None, 0, None, outs=[plain_out(p0, 10**9)])
    httpserver.expect_request(re.compile(r"^/api/.*")).respond_with_handler(network_handler(net))
    client = toncenter_client(httpserver.url_for("/"), api_key="", min_interval_s=0.0)
    reading = _read(client, tmp_path)
    kinds = dict(zip(reading.contracts["address"], reading.contracts["kind"]))
    assert kinds[raw(p0)] == "proxy" and kinds[raw(PF)] == "other"
    cached = network.load_network_cache(tmp_path).meta["known_code_hashes"]["proxy"]
    assert sorted(cached) == sorted([old.hash.hex(), PROXY_CODE.hash.hex()])
