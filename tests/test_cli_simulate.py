"""``cocoon-econ simulate``: JSON and text output, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from analysis.cli.main import main
from analysis.core.resources import SCENARIO_DIR
from analysis.econ.scenario import load_scenario
from analysis.sim.simulation import simulate
from analysis.sim.strategies import STRATEGY_NAMES

SCENARIO = str(SCENARIO_DIR / "hgx_h100_8x_colo.toml")
OWNED = str(SCENARIO_DIR / "h100_nvl_owned.toml")
KEYS = {"mean_usd", "p5_usd", "p50_usd", "p95_usd", "prob_loss", "prob_payback", "cvar5_usd"}
SMALL = ["--paths", "200", "--horizon-days", "60", "--seed", "5"]


def _json(capsys, argv, part=None):
    """The JSON output (keyed by strategy), or with ``part="assumptions"`` what each entry repeats."""
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    if part == "assumptions":
        shown = [entry["assumptions"] for entry in out.values()]
        assert all(a == shown[0] for a in shown)
        return shown[0]
    return out


def test_json_is_keyed_by_strategy_and_matches_the_library(capsys):
    out = _json(capsys, ["simulate", "--scenario", SCENARIO, "--method", "gbm", *SMALL, "--json"])
    assert list(out) == list(STRATEGY_NAMES)
    for values in out.values():
        assert KEYS <= set(values)
    expected = simulate(load_scenario(SCENARIO), "gbm", 200, 60, 5).summary()
    for name in STRATEGY_NAMES:
        for key in KEYS:
            assert out[name][key] == pytest.approx(expected[name][key])


def test_workers_do_not_change_the_output(capsys):
    argv = ["simulate", "--scenario", SCENARIO, "--method", "gbm", "--paths", "9000", "--horizon-days", "30",
            "--seed", "2", "--json"]
    assert _json(capsys, [*argv, "--workers", "1"]) == _json(capsys, [*argv, "--workers", "2"])


def test_same_seed_same_output(capsys):
    argv = ["simulate", "--scenario", OWNED, "--method", "bootstrap", *SMALL, "--strategies", "hold,collar", "--json"]
    first, second = _json(capsys, argv), _json(capsys, argv)
    assert list(first) == ["hold", "collar"]
    assert first == second


@pytest.mark.parametrize("method", ["historical", "rolling", "garch"])
def test_every_method_runs(capsys, method):
    argv = ["simulate", "--scenario", SCENARIO, "--method", method, "--paths", "50", "--horizon-days", "45",
            "--seed", "1", "--strategies", "sell_on_payout,perp_hedge,put_protection", "--json"]
    out = _json(capsys, argv)
    assert set(out) == {"sell_on_payout", "perp_hedge", "put_protection"}
    if method == "historical":
        assert out["sell_on_payout"]["paths"] == 1


def test_text_output_names_every_strategy(capsys):
    assert main(["simulate", "--scenario", SCENARIO, "--method", "gbm", *SMALL]) == 0
    text = capsys.readouterr().out
    for name in STRATEGY_NAMES:
        assert name in text
    assert "*sell_on_payout" in text  # the scenario's own strategy is marked
    assert "seed 5" in text


@pytest.mark.parametrize("argv, needle", [
    (["--method", "montecarlo"], "--method"),
    (["--paths", "0"], "--paths"),
    (["--paths", "many"], "--paths"),
    (["--horizon-days", "-1"], "--horizon-days"),
    (["--strategies", "hold,to_the_moon"], "to_the_moon"),
    (["--strategies", ","], "--strategies"),
    (["--seed", "-4"], "--seed"),
    (["--start-price", "0"], "--start-price"),
    (["--method", "historical", "--horizon-days", "5000"], "--horizon-days"),
    (["--workers", "0"], "--workers"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, needle):
    assert main(["simulate", "--scenario", SCENARIO, *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert needle in err


def test_missing_scenario_file(capsys, tmp_path):
    assert main(["simulate", "--scenario", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml" in capsys.readouterr().err


@pytest.mark.parametrize("old, new, needle", [
    ("[treasury]", "[treasury]\nhedge_ratio = -2", "hedge_ratio"),
    ('strategy = "sell_on_payout"', 'strategy = "hodl"', "hodl"),
])
def test_bad_treasury_value_names_the_field(capsys, tmp_path, old, new, needle):
    text = open(SCENARIO).read()
    assert old in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(old, new, 1))
    assert main(["simulate", "--scenario", str(bad), *SMALL]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err


def test_python_dash_m(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "analysis", "simulate", "--scenario", OWNED, "--method", "gbm",
                           "--paths", "20", "--horizon-days", "20", "--seed", "1", "--strategies", "hold", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert set(json.loads(proc.stdout)) == {"hold"}


def test_every_default_is_printed(capsys):
    assert main(["simulate", "--scenario", SCENARIO, "--method", "gbm", *SMALL]) == 0
    text = capsys.readouterr().out
    assert "drift: +0.0%/year, zero (default: E[S_t] = S_0)" in text
    assert "perp funding: historical: the record on 0% of the path days" in text
    assert "+0.0%/year on the others ([treasury] funding_rate_annual)" in text
    assert "initial 10% and maintenance 5% of the short's notional" in text
    assert "10.0%/year cost of capital, no cap" in text
    # 20 nanoTON per adjusted token at the start price
    assert "USD per million adjusted tokens: 20 nanoTON at the start price" in text
    assert "perp_hedge: collateral peak P50" in text and "P(liquidation)" in text
    a = _json(capsys, ["simulate", "--scenario", SCENARIO, "--method", "gbm", *SMALL, "--json"], "assumptions")
    assert a["drift_annual"] == 0.0 and a["drift"].startswith("+0.0%/year, zero")
    assert (a["funding_mode"], a["funding_rate_annual"]) == ("historical", 0.0)
    assert (a["initial_margin_fraction"], a["maintenance_margin_fraction"], a["cost_of_capital_annual"]) == \
        (0.1, 0.05, 0.1)
    assert a["max_collateral_usd"] is None
    assert "start price" in a["usd_pegged"]


def test_drift_is_opt_in(capsys):
    base = ["simulate", "--scenario", SCENARIO, "--method", "gbm", *SMALL, "--json"]
    hist = _json(capsys, [*base, "--drift", "historical"], "assumptions")
    assert hist["drift_annual"] > 0.3 and "historical (estimated from" in hist["drift"]
    given = _json(capsys, [*base, "--drift-annual", "-0.2"], "assumptions")
    assert given["drift_annual"] == -0.2 and "given" in given["drift"]
    assert main([*base, "--drift", "historical", "--drift-annual", "0.1"]) == 2   # one or the other
    assert "--drift-annual" in capsys.readouterr().err


def test_garch_with_the_historical_drift_states_its_fitted_mean(capsys):
    # the GARCH model keeps no annual drift then (each day's mean is the fitted mu): it used to print a traceback
    from analysis.market.prices import daily_closes
    from analysis.sim.paths import fit_garch

    argv = ["simulate", "--scenario", SCENARIO, "--method", "garch", *SMALL, "--drift", "historical"]
    a = _json(capsys, [*argv, "--json"], "assumptions")
    mu = fit_garch(daily_closes("ton"), drift="historical").mu      # percent log return per day
    assert a["drift_annual"] == pytest.approx(mu * 365 / 100, rel=1e-12) and a["drift_annual"] != 0.0
    assert f"{mu * 365 / 100:+.1%}/year, historical (the fitted constant mean" in a["drift"]
    assert main(argv) == 0
    assert f"drift: {mu * 365 / 100:+.1%}/year" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["breakeven", "ledger", "simulate"])
@pytest.mark.parametrize("old, new, needle", [
    ('strategy = "sell_on_payout"', 'strategy = "yolo"', '[treasury] strategy = "yolo" is not known'),
    ("[treasury]", "[treasury]\nvol_premium = -0.5", "[treasury] vol_premium = -0.5 is out of range"),
])
def test_one_treasury_validator_for_every_command(capsys, tmp_path, command, old, new, needle):
    bad = tmp_path / "bad.toml"
    bad.write_text(open(SCENARIO).read().replace(old, new, 1))
    extra = ["--out", str(tmp_path / "ledger.csv")] if command == "ledger" else []
    assert main([command, "--scenario", str(bad), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err
