"""`cocoon-econ chain params|payouts` end to end against loopback toncenter/tonapi servers."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from chain_builders import (
    MAINNET_ROOT,
    OWNER,
    FakeTon,
    addr,
    cur_params_stack,
    params_cell,
    proxy_data_stack,
    tonapi_handler,
    toncenter_handler,
)
from test_toncenter import _owner_history

from analysis.chain import contracts as C
from analysis.chain import readings as chain
from analysis.cli.main import main
from analysis.core.resources import SNAPSHOT_DIR

KEY = "cli-secret-key"


@pytest.fixture
def toncenter_server(httpserver, monkeypatch, isolated_cache):
    monkeypatch.setenv("TONCENTER_API_KEY", KEY)  # keyed: 0.1 s between requests instead of 1 s
    monkeypatch.delenv("COCOON_OWNER_ADDRESS", raising=False)
    state = FakeTon()
    httpserver.expect_request(re.compile(r"^/api/.*")).respond_with_handler(toncenter_handler(state))
    return state, httpserver.url_for("/")


def _root(state, version=4):
    params = params_cell(version, price=20, fee=19)
    state.add_root(params)
    state.methods[(MAINNET_ROOT, "get_cur_params")] = {"stack": cur_params_stack(C.parse_params_cell(params))}


def test_params_text(toncenter_server, capsys):
    state, url = toncenter_server
    _root(state)
    assert main(["chain", "params", "--base-url", url]) == 0
    out = capsys.readouterr().out
    assert "read " in out and "UTC from toncenter v3" in out
    assert re.search(r"price_per_token\s+20\s+nanoTON per adjusted token", out)
    assert re.search(r"completion_tokens_price_multiplier\s+80000 \(8x\)", out)
    assert "cross-check: agrees" in out and KEY not in out


def test_params_json_and_save_feed_latest_chain_params(toncenter_server, capsys, isolated_cache):
    state, url = toncenter_server
    _root(state, version=2)
    assert main(["chain", "params", "--base-url", url, "--json", "--save"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["params"]["struct_version"] == 2 and doc["params"]["prompt_tokens_price_multiplier"] == 10000
    assert doc["params"]["defaulted"] == ["prompt_tokens_price_multiplier", "completion_tokens_price_multiplier"]
    assert doc["saved"].startswith(str(isolated_cache))
    latest = chain.latest_chain_params()
    assert latest["price_per_token"] == 20 and latest["observed"] == doc["read_at"]


def test_params_via_tonapi(httpserver, monkeypatch, capsys, isolated_cache):
    monkeypatch.setenv("TONAPI_KEY", KEY)
    state = FakeTon()
    _root(state)
    httpserver.expect_request(re.compile(r"^/v2/.*")).respond_with_handler(tonapi_handler(state))
    assert main(["chain", "params", "--api", "tonapi", "--base-url", httpserver.url_for("/"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["source"] == "tonapi v2"


def test_payouts_csv_and_text(toncenter_server, capsys, tmp_path):
    state, url = toncenter_server
    proxy, other, txs, parents = _owner_history()
    state.transactions[OWNER] = txs
    state.parents.update(parents)
    state.methods[(proxy, "get_cocoon_proxy_data")] = {"stack": proxy_data_stack(MAINNET_ROOT)}
    state.methods[(other, "get_cocoon_proxy_data")] = {"stack": proxy_data_stack(addr(0xBAD))}
    out_csv = tmp_path / "payouts.csv"
    assert main(["chain", "payouts", "--owner", OWNER.to_str(is_bounceable=False), "--base-url", url,
                 "--out", str(out_csv)]) == 0
    text = capsys.readouterr().out
    assert "total: 2 payout(s), 34.2000 TON, 1,800,000,000 adjusted tokens" in text
    assert "refund or proxy-owner withdrawal" in text and 'text "w"' in text
    frame = pd.read_csv(out_csv)
    assert frame["date"].tolist() == ["2025-12-06", "2025-12-07"]
    snapshot = pd.read_csv(SNAPSHOT_DIR / "ton_usd_daily_close.csv", index_col="date")
    expected = [11.4 * snapshot.loc["2025-12-06", "close_usd"], 22.8 * snapshot.loc["2025-12-07", "close_usd"]]
    assert frame["usd"].tolist() == pytest.approx(expected)
    # the fetch is cached for the report
    cached, meta = chain.read_cached_payouts(OWNER)
    assert cached["tx_hash"].tolist() == frame["tx_hash"].tolist() and meta["skipped"]["gas_return_w"] == 1


def test_owner_from_environment(toncenter_server, capsys, monkeypatch):
    state, url = toncenter_server
    monkeypatch.setenv("COCOON_OWNER_ADDRESS", OWNER.to_str())
    assert main(["chain", "payouts", "--base-url", url, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["totals"]["payouts"] == 0 and doc["meta"]["transactions"] == 0


@pytest.mark.parametrize("argv, message", [
    (["chain", "payouts", "--owner", "not-an-address"], "--owner: 'not-an-address' is not a TON address"),
    (["chain", "payouts", "--owner", OWNER.to_str(), "--start", "2025-13-01"], "--start: '2025-13-01' is not a date"),
    (["chain", "payouts", "--owner", OWNER.to_str(), "--start", "2025-12-08", "--end", "2025-12-01"],
     "--start 2025-12-08 is after --end 2025-12-01"),
    (["chain", "payouts"], "--owner: no owner address"),
    (["chain", "params", "--root", "EQbad"], "--root: 'EQbad' is not a TON address"),
    (["chain", "params", "--api", "lite"], "invalid choice"),
])
def test_bad_input_is_one_line_exit_2(argv, message, capsys, monkeypatch):
    monkeypatch.delenv("COCOON_OWNER_ADDRESS", raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_api_refusal_is_one_line_exit_1(httpserver, monkeypatch, capsys, isolated_cache):
    monkeypatch.setenv("TONCENTER_API_KEY", KEY)
    httpserver.expect_request("/api/v3/addressInformation").respond_with_json({"error": "API key does not exist"},
                                                                             status=401)
    assert main(["chain", "params", "--base-url", httpserver.url_for("/")]) == 1
    err = capsys.readouterr().err
    assert "API key does not exist" in err and KEY not in err and len(err.strip().splitlines()) == 1


def test_payouts_tax_csv_has_the_engine_columns(toncenter_server, capsys, tmp_path):
    from analysis.econ.tax import TAX_COLUMNS
    state, url = toncenter_server
    proxy, other, txs, parents = _owner_history()
    state.transactions[OWNER] = txs
    state.parents.update(parents)
    state.methods[(proxy, "get_cocoon_proxy_data")] = {"stack": proxy_data_stack(MAINNET_ROOT)}
    tax_csv = tmp_path / "tax.csv"
    assert main(["chain", "payouts", "--owner", OWNER.to_str(), "--base-url", url, "--tax", str(tax_csv)]) == 0
    frame = pd.read_csv(tax_csv)
    assert tuple(frame.columns) == TAX_COLUMNS and set(frame["event"]) == {"income"}
    snapshot = pd.read_csv(SNAPSHOT_DIR / "ton_usd_daily_close.csv", index_col="date")
    assert frame["usd_value_at_receipt"].tolist() == pytest.approx(
        [11.4 * snapshot.loc["2025-12-06", "close_usd"], 22.8 * snapshot.loc["2025-12-07", "close_usd"]])


def test_tax_without_a_close_is_an_input_error():
    payouts = pd.DataFrame({"date": pd.to_datetime(["2031-01-01"]), "ton": [10.0], "close_usd": [float("nan")]})
    with pytest.raises(chain.InputError, match="--tax: no TON/USD close for 2031-01-01"):
        chain.tax_ledger(payouts)


def _saved_reading(price=24, fee=22):
    from test_chain import _reading
    chain.save_chain_params(*_reading(price, fee, "2026-04-08T09:30:00+00:00"))


def test_scenarios_default_to_the_newest_chain_reading(isolated_cache):
    from econ_support import mapping

    from analysis.econ.scenario import parse_scenario
    m = mapping()
    explicit = parse_scenario(m)
    chain_notes = lambda s: [n for n in s.notes if n.startswith("[network]")]  # noqa: E731 (others: the resale curve)
    assert chain_notes(explicit) == []
    m["network"] = {"name": "cocoon"}
    vendored = parse_scenario(m)
    assert vendored.network.price_per_token_nanoton == 20 and chain_notes(vendored) == []
    _saved_reading(24, 22)
    from_chain = parse_scenario(m)
    assert (from_chain.network.price_per_token_nanoton, from_chain.network.worker_fee_per_token_nanoton) == (24, 22)
    assert from_chain.network.completion_tokens_price_multiplier == 80000
    assert len(chain_notes(from_chain)) == 1 and "2026-04-08T09:30:00Z" in chain_notes(from_chain)[0]
    # keys the scenario sets itself are never replaced
    assert parse_scenario(mapping()).network.price_per_token_nanoton == explicit.network.price_per_token_nanoton


def test_breakeven_says_the_chain_reading_was_used(isolated_cache, tmp_path, capsys):
    import tomllib

    from analysis.core.resources import SCENARIO_DIR
    text = (SCENARIO_DIR / "h100_nvl_owned.toml").read_text()
    kept = [line for line in text.splitlines() if not line.startswith(("price_per_token_nanoton", "worker_fee_per_token"))]
    path = tmp_path / "s.toml"
    path.write_text("\n".join(kept) + "\n")
    tomllib.loads(path.read_text())
    _saved_reading(24, 22)
    assert main(["breakeven", "--scenario", str(path), "--ton-usd", "2"]) == 0
    assert "note: [network] price_per_token_nanoton, worker_fee_per_token_nanoton taken from the on-chain reading" \
        in capsys.readouterr().out
    assert main(["breakeven", "--scenario", str(path), "--ton-usd", "2", "--json"]) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)
    assert "on-chain reading of 2026-04-08T09:30:00Z" in captured.err


@pytest.mark.parametrize("api", ["toncenter", "tonapi"])
def test_bad_base_url_is_one_line_exit_2(api, capsys):
    assert main(["chain", "params", "--api", api, "--base-url", "ftp://example"]) == 2
    err = capsys.readouterr().err
    assert "--base-url:" in err and len(err.strip().splitlines()) == 1
