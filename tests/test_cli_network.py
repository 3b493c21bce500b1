"""`cocoon-econ chain network` and `--utilisation observed` end to end (loopback toncenter v3)."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from network_builders import EXPECTED_DAYS, Network, day, network_handler

from analysis.cli.main import main
from analysis.core.resources import SCENARIO_DIR
from analysis.econ.demand import full_load_adjusted_tokens_per_day
from analysis.econ.scenario import load_scenario

H200 = SCENARIO_DIR / "h200_single.toml"
RENDER = SCENARIO_DIR / "render_rtx4090.toml"
MEDIAN = 1e8 / 30  # W3's 1e8 adjusted tokens over the 30-day window (tests/test_network.py)


@pytest.fixture
def url(httpserver, monkeypatch, isolated_cache):
    monkeypatch.setenv("TONCENTER_API_KEY", "cli-key")  # keyed: 0.1 s between requests
    httpserver.expect_request(re.compile(r"^/api/.*")).respond_with_handler(network_handler(Network()))
    return httpserver.url_for("/")


def test_network_json(url, capsys, tmp_path):
    out_csv = tmp_path / "days.csv"
    assert main(["chain", "network", "--base-url", url, "--json", "--out", str(out_csv)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= {"days", "totals", "workers", "proxies"}
    days = {d["date"]: d for d in doc["days"]}
    for n, expected in EXPECTED_DAYS.items():
        for col, value in expected.items():
            assert days[str(day(n))][col] == pytest.approx(value), (n, col)
    assert doc["totals"]["worker_payouts_ton"] == pytest.approx(5.62)
    assert doc["totals"]["median_adjusted_tokens_per_worker_day"] == pytest.approx(MEDIAN)
    assert len(doc["workers"]) == 3 and len(doc["proxies"]) == 2
    assert sorted(p["worker_fee_per_token"] for p in doc["proxies"]) == [19, 22]
    written = pd.read_csv(out_csv)
    assert len(written) == 4 and written["client_spend_ton"].sum() == pytest.approx(12.4)
    assert "cli-key" not in json.dumps(doc)


def test_network_text_then_offline(url, capsys):
    assert main(["chain", "network", "--base-url", url]) == 0
    out = capsys.readouterr().out
    assert "2 proxies, 3 workers, 2 clients" in out
    assert "client spend 12.4000 TON in 3 charge(s)" in out and "commission 0.3800 TON" in out
    assert "refunds 4.6000 TON, proxy-owner withdrawals 0.5000 TON" in out
    assert "median 3,333,333 paid adjusted tokens per worker per day" in out
    assert "not counted:" in out and "not a COCOON worker contract" in out
    assert main(["chain", "network", "--offline", "--start", str(day(1)), "--end", str(day(1))]) == 0
    out = capsys.readouterr().out
    assert "client spend 0.0000 TON" in out and "worker payouts 1.5200 TON in 2 payout(s)" in out


@pytest.mark.parametrize("argv, message", [
    (["chain", "network", "--start", "2026-03-05", "--end", "2026-03-01"], "--start 2026-03-05 is after --end"),
    (["chain", "network", "--start", "March"], "--start: 'March' is not a date"),
    (["chain", "network", "--proxy", "nope"], "--proxy: 'nope' is not a TON address"),
    (["chain", "network", "--offline"], "no cached COCOON network reading"),
    (["breakeven", "--scenario", str(H200), "--utilisation", "1.5"], "out of range"),
    (["breakeven", "--scenario", str(RENDER), "--utilisation", "observed"], "only COCOON"),
])
def test_bad_input_one_line(argv, message, capsys, isolated_cache):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_breakeven_with_observed_utilisation(url, capsys, tmp_path):
    assert main(["chain", "network", "--base-url", url, "--json"]) == 0
    capsys.readouterr()
    s = load_scenario(H200)
    expected = MEDIAN / full_load_adjusted_tokens_per_day(s.workload, s.network)
    assert main(["breakeven", "--scenario", str(H200), "--utilisation", "observed", "--ton-usd", "2", "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["utilisation"] == pytest.approx(expected)
    assert doc["utilisation_origin"] == "observed"
    assert doc["observed_utilisation"]["demand"]["workers"] == 3
    assert "30 days" in captured.err and "3 worker(s)" in captured.err  # the note, on stderr in JSON mode
    # the same from the scenario file itself
    text = H200.read_text()
    observed_file = tmp_path / "observed.toml"
    observed_file.write_text(re.sub(r"(?m)^utilisation\s*=.*$", 'utilisation = "observed"', text))
    assert main(["breakeven", "--scenario", str(observed_file), "--ton-usd", "2"]) == 0
    out = capsys.readouterr().out
    assert "(observed on the network)" in out and "note: utilisation observed on COCOON" in out


@pytest.mark.parametrize("command", [
    ["compare", "--ton-usd", "2"],
    ["simulate", "--paths", "20", "--horizon-days", "30", "--seed", "1", "--strategies", "sell_on_payout"],
    ["ledger", "--end", "2025-07-01"],
])
def test_every_scenario_command_takes_observed(command, capsys, tmp_path, isolated_cache):
    argv = [command[0], "--scenario", str(H200), "--utilisation", "observed", *command[1:]]
    if command[0] == "ledger":
        argv += ["--out", str(tmp_path / "ledger.csv")]
    assert main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    # no chain reading in this cache: the vendored reference figure, with its window and source
    assert "utilisation observed on COCOON" in out and "cocoon_network_activity.csv" in out
    assert "6 worker(s)" in out and "129 days" in out


def test_ledger_replays_the_chain_parameter_history(url, capsys, tmp_path):
    assert main(["ledger", "--scenario", str(H200), "--end", "2025-07-01", "--out", str(tmp_path / "a.csv"),
                 "--params-history"]) == 2
    assert "run 'cocoon-econ chain network' first" in capsys.readouterr().err
    assert main(["chain", "network", "--base-url", url, "--json"]) == 0
    capsys.readouterr()
    assert main(["ledger", "--scenario", str(H200), "--end", "2025-07-01", "--out", str(tmp_path / "b.csv"),
                 "--params-history"]) == 0
    out = capsys.readouterr().out
    # every day of 2025 predates the test network's history: P1's deployment fee, 19 nanoTON
    assert "worker fee in force each day from the chain's parameter history" in out and "19 nanoTON from" in out
    assert set(pd.read_csv(tmp_path / "b.csv")["worker_nanoton_per_token"]) == {19.0}


def test_network_prints_the_parameter_history(url, capsys):
    assert main(["chain", "network", "--base-url", url]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("parameters"))
    assert f"20 / 19 from {day(0)} (proxy " in line and f"24 / 22 from {day(2)} (root_change_price)" in line
    assert main(["chain", "network", "--offline", "--json"]) == 0
    params = json.loads(capsys.readouterr().out)["params"]
    assert [(p["scope"], p["worker_fee_per_token"]) for p in params] == [("proxy", 19), ("root", 22), ("proxy", 22)]


def test_network_with_a_scenario_gives_each_workers_implied_utilisation(url, capsys):
    s = load_scenario(H200)
    full = full_load_adjusted_tokens_per_day(s.workload, s.network)
    assert main(["chain", "network", "--base-url", url, "--json", "--scenario", str(H200)]) == 0
    doc = json.loads(capsys.readouterr().out)
    per_worker = sorted(w["implied_utilisation"] for w in doc["workers"])
    assert per_worker == pytest.approx(sorted([5e6 / full, 1e6 / full, (1e8 / 30) / full]))
    assert doc["implied_utilisation"]["median"] == pytest.approx(MEDIAN / full)
    assert main(["chain", "network", "--offline", "--scenario", str(H200)]) == 0
    assert f"network median {MEDIAN / full:.3%}" in capsys.readouterr().out
