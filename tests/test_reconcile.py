"""Reconciliation of actual payouts with a scenario, checked against hand-worked numbers."""

from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd
import pytest
from chain_builders import (
    MAINNET_ROOT,
    OWNER,
    FakeTon,
    addr,
    message,
    payout_body,
    proxy_data_stack,
    toncenter_handler,
    transaction,
    worker_request_body,
)

from analysis.chain import readings as chain
from analysis.chain.payouts import value_payouts
from analysis.chain.reconcile import default_window, reconcile
from analysis.cli.main import main
from analysis.core.resources import SCENARIO_DIR
from analysis.econ.scenario import load_scenario, parse_scenario
from analysis.report import ReportContext
from analysis.report import chain as report_chain

# One GPU, 1000 output tokens/s, no prompt tokens, completion multiplier 8x, coefficient 1.0:
# full load = 1000 * 86400 * 8 = 691,200,000 adjusted tokens a day; at utilisation 0.5,
# 345,600,000 a day = 345.6e6 * 19 nanoTON = 6.5664 TON a day.
MAPPING = {
    "name": "hand-worked 1 GPU",
    "network": {"name": "cocoon", "price_per_token_nanoton": 20, "worker_fee_per_token_nanoton": 19,
                "coefficient": 1.0, "prompt_tokens_price_multiplier": 10000,
                "cached_tokens_price_multiplier": 1000, "completion_tokens_price_multiplier": 80000,
                "reasoning_tokens_price_multiplier": 80000, "payout_threshold_ton": 10, "onchain_fee_ton": 0.01},
    "pricing": {"mode": "fixed_token"},
    "hardware": {"gpu": "H100-SXM", "gpus": 1, "capex_usd": 30000, "life_years": 4, "already_owned": True},
    "workload": {"output_tokens_per_s": 1000, "prompt_tokens_per_output_token": 0.0, "utilisation": 0.5},
    "operations": {"power_kw": 1.0, "electricity_usd_per_kwh": 0.1},
    "finance": {"start": dt.date(2025, 12, 1), "horizon_days": 10},
    "treasury": {"trading_fee_bps": 0},
}
FULL_LOAD_PER_DAY = 1000 * 86400 * 8
TON_PER_DAY = FULL_LOAD_PER_DAY * 0.5 * 19 / 1e9   # 6.5664


def _closes(price: float = 2.0) -> pd.DataFrame:
    days = pd.date_range("2025-11-30", "2025-12-10", freq="D", name="date")
    frame = pd.DataFrame({"close_usd": price, "source": "test"}, index=days)
    frame.attrs["origin"] = "test"
    return frame


def _payouts() -> pd.DataFrame:
    values = [19 * 500_000_000, 19 * 600_000_000]   # 9.5 and 11.4 TON
    frame = pd.DataFrame({
        "time": pd.to_datetime(["2025-12-03 04:00", "2025-12-08 22:00"], utc=True), "tx_hash": ["a", "b"],
        "lt": [1, 2], "proxy": ["p", "p"], "value_nanoton": values, "worker_fee_per_token_nanoton": [19, 19],
        "adjusted_tokens": pd.array([500_000_000, 600_000_000], dtype="Int64"),
    })
    frame.insert(1, "date", frame["time"].dt.tz_localize(None).dt.normalize())
    frame["ton"] = frame["value_nanoton"] / 1e9
    return value_payouts(frame, _closes())


def test_reconcile_matches_the_hand_worked_example():
    scenario = parse_scenario(MAPPING, origin="test")
    result = reconcile(scenario, _payouts(), _closes(), dt.date(2025, 12, 1), dt.date(2025, 12, 10))
    s = result.summary
    # cumulative earnings 6.5664 k TON cross k*10 on days 2, 4, 5, 7, 8, 10: six payouts of 10 TON, whole
    # (the proxy pays their gas: ProxyRunner::worker_payout; the chain shows 10 TON each)
    assert s["expected_payouts"] == 6
    assert s["expected_payout_ton"] == pytest.approx(6 * 10.0)
    assert s["expected_earned_ton"] == pytest.approx(10 * TON_PER_DAY)
    assert s["expected_unpaid_ton_at_end"] == pytest.approx(10 * TON_PER_DAY - 60)
    assert s["expected_usd"] == pytest.approx(6 * 10.0 * 2.0)
    assert (s["actual_payouts"], s["actual_ton"], s["actual_usd"]) == (2, pytest.approx(20.9), pytest.approx(41.8))
    assert s["implied_utilisation"] == pytest.approx(1.1e9 / (FULL_LOAD_PER_DAY * 10))
    assert s["implied_nanoton_per_adjusted_token"] == pytest.approx(19.0)
    assert s["implied_usd_per_m_adjusted_tokens"] == pytest.approx(41.8 / 1.1e9 * 1e6)   # 0.038
    assert s["scenario_usd_per_m_adjusted_tokens"] == pytest.approx(19e-9 * 2.0 * 1e6)
    d = result.daily
    assert d.loc["2025-12-02", "actual_cum_ton"] == 0.0
    assert d.loc["2025-12-03", "actual_cum_ton"] == pytest.approx(9.5)
    assert d.loc["2025-12-10", "actual_cum_ton"] == pytest.approx(20.9)
    expected_days = ["2025-12-02", "2025-12-04", "2025-12-05", "2025-12-07", "2025-12-08", "2025-12-10"]
    assert d.index[d["expected_payout_ton"] > 0].strftime("%Y-%m-%d").tolist() == expected_days
    assert d["expected_cum_earned_ton"].iloc[-1] == pytest.approx(10 * TON_PER_DAY)


def test_payouts_outside_the_window_are_left_out():
    scenario = parse_scenario(MAPPING, origin="test")
    result = reconcile(scenario, _payouts(), _closes(), dt.date(2025, 12, 1), dt.date(2025, 12, 5))
    assert result.summary["actual_payouts"] == 1 and result.summary["actual_ton"] == pytest.approx(9.5)


def test_default_window_and_its_errors():
    scenario = parse_scenario(MAPPING, origin="test")
    assert default_window(scenario, _closes(), None, None) == (dt.date(2025, 12, 1), dt.date(2025, 12, 10))
    with pytest.raises(Exception, match="after the last TON/USD close"):
        default_window(scenario, _closes(), None, dt.date(2026, 1, 1))


# ----------------------------------------------------------------------------- CLI and report

def _toml(path, start="2025-12-01", horizon=10):
    lines = [f'name = "{MAPPING["name"]}"']
    for table, values in MAPPING.items():
        if table == "name":
            continue
        lines.append(f"[{table}]")
        for key, value in values.items():
            if table == "finance" and key == "start":
                value = start
            if table == "finance" and key == "horizon_days":
                value = horizon
            lines.append(f"{key} = {json.dumps(value) if isinstance(value, (str, bool)) else value}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def server(httpserver, monkeypatch, isolated_cache):
    monkeypatch.setenv("TONCENTER_API_KEY", "k")
    monkeypatch.delenv("COCOON_OWNER_ADDRESS", raising=False)
    state = FakeTon()
    proxy, worker = addr(0x1001), addr(0x4001)
    t1 = int(pd.Timestamp("2025-12-03 04:00", tz="UTC").timestamp())
    t2 = int(pd.Timestamp("2025-12-08 22:00", tz="UTC").timestamp())
    state.transactions[OWNER] = [
        transaction("YQ==", 10, t1, OWNER, message(proxy, 19 * 500_000_000, payout_body(1))),
        transaction("Yg==", 20, t2, OWNER, message(proxy, 19 * 600_000_000, payout_body(2))),
    ]
    state.parents["YQ=="] = transaction("p1", 9, t1 - 1, proxy, message(
        worker, 10**9, worker_request_body(OWNER, 19 * 500_000_000), destination=proxy))
    state.parents["Yg=="] = transaction("p2", 19, t2 - 1, proxy, message(
        worker, 10**9, worker_request_body(OWNER, 19 * 600_000_000), destination=proxy))
    state.methods[(proxy, "get_cocoon_proxy_data")] = {"stack": proxy_data_stack(MAINNET_ROOT)}
    httpserver.expect_request(re.compile(r"^/api/.*")).respond_with_handler(toncenter_handler(state))
    return httpserver.url_for("/")


def test_reconcile_cli_json(server, tmp_path, capsys):
    scenario_file = _toml(tmp_path / "s.toml")
    argv = ["reconcile", "--scenario", str(scenario_file), "--owner", OWNER.to_str(), "--base-url", server,
            "--end", "2025-12-10", "--json"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    s = doc["summary"]
    assert s["actual_payouts"] == 2 and s["actual_ton"] == pytest.approx(20.9)
    assert s["implied_utilisation"] == pytest.approx(1.1e9 / (FULL_LOAD_PER_DAY * 10))
    assert s["expected_payout_ton"] == pytest.approx(6 * 10.0)
    assert len(doc["daily"]) == 10


def test_reconcile_cli_text_and_bad_input(server, tmp_path, capsys):
    scenario_file = _toml(tmp_path / "s.toml")
    assert main(["reconcile", "--scenario", str(scenario_file), "--owner", OWNER.to_str(), "--base-url", server,
                 "--end", "2025-12-10"]) == 0
    out = capsys.readouterr().out
    assert "implied utilisation" in out and "15.9%" in out
    assert main(["reconcile", "--scenario", str(tmp_path / "missing.toml"), "--owner", OWNER.to_str()]) == 2
    assert "--scenario" in capsys.readouterr().err
    assert main(["reconcile", "--scenario", str(scenario_file), "--owner", "0:xyz"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_report_section_needs_an_owner(monkeypatch, isolated_cache, tmp_path):
    monkeypatch.delenv("COCOON_OWNER_ADDRESS", raising=False)
    assert report_chain.build(ReportContext(cache_dir=isolated_cache)) is None
    monkeypatch.setenv("COCOON_OWNER_ADDRESS", OWNER.to_str())
    section = report_chain.build(ReportContext(cache_dir=isolated_cache))
    assert section is not None and not section.figures and "chain payouts --owner" in section.intro_html


def test_report_section_draws_the_two_cumulative_curves(server, monkeypatch, isolated_cache, tmp_path):
    scenario_file = _toml(tmp_path / "s.toml")
    chain.fetch_payouts(OWNER, start="2025-12-01", end="2025-12-10", base_url=server)
    monkeypatch.setenv("COCOON_OWNER_ADDRESS", OWNER.to_str(is_bounceable=False))
    section = report_chain.build(ReportContext(scenario_files=[scenario_file], cache_dir=isolated_cache))
    assert section is not None and len(section.figures) == 2
    ton = section.figures[0]
    actual = next(t for t in ton.data if t.name == "actual payouts")
    assert list(actual.y)[-1] == pytest.approx(20.9)
    assert "hand-worked 1 GPU" in section.intro_html


def test_render_scenario_is_refused():
    scenario = load_scenario(SCENARIO_DIR / "render_rtx4090.toml")
    with pytest.raises(Exception, match="reconcile compares COCOON payouts"):
        reconcile(scenario, _payouts(), _closes(), dt.date(2025, 12, 1), dt.date(2025, 12, 10))
