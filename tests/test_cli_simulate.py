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


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


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
