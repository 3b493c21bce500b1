"""GRID.toml: product and explicit cells, dotted fields, cell seeds, and one-line errors (exit 2)
for every kind of bad grid -- before anything runs."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

from analysis.cli.main import main
from analysis.core.errors import InputError
from analysis.core.resources import SCENARIO_DIR
from analysis.econ.scenario import load_scenario
from analysis.sweep.grid import cell_seed, load_grid

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "h200_sweep.toml"


def _grid(tmp_path: Path, body: str, name: str = "grid.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_the_documented_example_is_a_product_grid_last_axis_fastest():
    grid = load_grid(EXAMPLE)
    base = load_scenario(SCENARIO_DIR / "h200_single.toml")
    assert grid.mode == "product" and len(grid.cells) == 27
    assert grid.axes == ("operations.electricity_usd_per_kwh", "workload.utilisation", "treasury.hedge_ratio")
    assert [c.values["treasury.hedge_ratio"] for c in grid.cells[:3]] == [0.0, 0.5, 1.0]
    assert grid.cells[3].values == {"operations.electricity_usd_per_kwh": 0.05, "workload.utilisation": 0.3,
                                    "treasury.hedge_ratio": 0.0}
    cell = grid.cells[26]
    assert cell.scenario.operations.electricity_usd_per_kwh == 0.20
    assert cell.scenario.workload.utilisation == 0.6
    assert cell.scenario.treasury.hedge_ratio == 1.0
    # everything else is the base scenario's
    assert cell.scenario.hardware == base.hardware and cell.scenario.network == base.network
    assert grid.simulation.paths == 10000 and grid.simulation.strategies == ("hold", "sell_on_payout", "perp_hedge")


def test_explicit_cells_fill_the_other_axes_from_the_base(tmp_path):
    path = _grid(tmp_path, """
        scenario = "h200_single.toml"
        [[cells]]
        "workload.utilisation" = 0.2
        [[cells]]
        "operations.electricity_usd_per_kwh" = 0.3
        "hardware.capex_usd" = 40000
        [simulation]
        paths = 100
    """)
    grid = load_grid(path)
    base = load_scenario(SCENARIO_DIR / "h200_single.toml")
    assert grid.mode == "cells" and len(grid.cells) == 2
    assert grid.axes == ("workload.utilisation", "operations.electricity_usd_per_kwh", "hardware.capex_usd")
    assert grid.cells[0].values == {"workload.utilisation": 0.2,
                                    "operations.electricity_usd_per_kwh": base.operations.electricity_usd_per_kwh,
                                    "hardware.capex_usd": base.hardware.capex_usd}
    assert grid.cells[1].scenario.hardware.capex_usd == 40000
    assert grid.cells[1].scenario.workload.utilisation == base.workload.utilisation


def test_the_scenario_is_found_beside_the_grid_first(tmp_path):
    text = re.sub(r'(?m)^name = ".*"$', 'name = "my local copy"',
                  (SCENARIO_DIR / "h200_single.toml").read_text(encoding="utf-8"), count=1)
    (tmp_path / "h200_single.toml").write_text(text, encoding="utf-8")
    path = _grid(tmp_path, """
        scenario = "h200_single.toml"
        [axes]
        "workload.utilisation" = [0.5]
    """)
    assert load_grid(path).base.name == "my local copy"


def test_cell_seed_is_the_cells_child_of_the_grid_seed_sequence():
    # independent: the i-th child that SeedSequence.spawn hands out, first 64 bits, top bit cleared
    children = np.random.SeedSequence(1).spawn(5)
    for i, child in enumerate(children):
        assert cell_seed(1, i) == int(child.generate_state(1, dtype=np.uint64)[0]) & (2**63 - 1)
    assert len({cell_seed(1, i) for i in range(1000)}) == 1000
    assert cell_seed(2, 0) != cell_seed(1, 0)


def test_the_fingerprint_moves_with_what_decides_the_numbers(tmp_path):
    a = load_grid(_grid(tmp_path, 'scenario = "h200_single.toml"\n[axes]\n"workload.utilisation" = [0.3, 0.6]\n'))
    b = load_grid(_grid(tmp_path, 'scenario = "h200_single.toml"\n[axes]\n"workload.utilisation" = [0.3, 0.6]\n',
                        name="same.toml"))
    c = load_grid(_grid(tmp_path, 'scenario = "h200_single.toml"\n[axes]\n"workload.utilisation" = [0.3, 0.7]\n',
                        name="other.toml"))
    d = load_grid(_grid(tmp_path, 'scenario = "h200_single.toml"\n[axes]\n"workload.utilisation" = [0.3, 0.6]\n'
                                  '[simulation]\npaths = 10\n', name="paths.toml"))
    assert a.fingerprint() == b.fingerprint()
    assert len({a.fingerprint(), c.fingerprint(), d.fingerprint()}) == 3


HEAD = 'scenario = "h200_single.toml"\n'
TAIL = "\n[simulation]\npaths = 50\n"


@pytest.mark.parametrize("body, needles", [
    # unknown field, unknown table, not dotted
    ('[axes]\n"operations.electricty_usd_per_kwh" = [0.1]', ["electricty_usd_per_kwh",
                                                             "did you mean operations.electricity_usd_per_kwh"]),
    ('[axes]\n"operation.power_kw" = [1.0]', ["'operation' is not a scenario table", "operations.power_kw"]),
    ('[axes]\nutilisation = [0.1]', ["utilisation", "table.key"]),
    # wrong type: the cell and its values are named, and the field
    ('[axes]\n"workload.utilisation" = [0.3, "high"]', ['cell 1 (workload.utilisation = "high")',
                                                         "[workload] utilisation", "not a number"]),
    ('[axes]\n"operations.electricity_usd_per_kwh" = [0.1]\n"workload.utilisation" = [0.5, 1.5]',
     ["cell 1 (operations.electricity_usd_per_kwh = 0.1, workload.utilisation = 1.5)", "[workload] utilisation"]),
    ('[axes]\n"hardware.gpus" = [1, 2.5]', ["cell 1", "[hardware] gpus", "whole number"]),
    # empty axis, not a list, no axes at all, a repeated value
    ('[axes]\n"workload.utilisation" = []', ['"workload.utilisation" is empty']),
    ('[axes]\n"workload.utilisation" = 0.3', ["is not a list", "[0.3]"]),
    ("[axes]\n", ["[axes] is empty"]),
    ('[axes]\n"workload.utilisation" = [0.3, 0.3]', ["lists a value twice"]),
    ("", ["no [axes] and no [[cells]]"]),
    # explicit cells
    ('[[cells]]\n"workload.utilisation" = [0.3]', ['cell 0 "workload.utilisation"', "single value"]),
    ('[[cells]]\n"workload.utilisation" = 0.3\n[[cells]]\n"treasury.hedge_ratio" = -1',
     ["cell 1 (workload.utilisation = 0.6, treasury.hedge_ratio = -1)", "[treasury] hedge_ratio"]),
    ('[axes]\n"workload.utilisation" = [0.3]\n[[cells]]\n"workload.utilisation" = 0.3', ["not both"]),
    # [simulation] and top-level keys
    ('sceanrio = "x"\n[axes]\n"workload.utilisation" = [0.3]', ["sceanrio", "did you mean scenario"]),
], ids=lambda v: v if isinstance(v, str) else None)
def test_a_bad_grid_is_one_line_exit_2_and_nothing_runs(tmp_path, capsys, body, needles):
    path = _grid(tmp_path, HEAD + body + TAIL)
    out = tmp_path / "out.parquet"
    assert main(["sweep", "--grid", str(path), "--scheduler", "inprocess", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("cocoon-econ: error: grid.toml: ")
    for needle in needles:
        assert needle in err
    assert "Traceback" not in err and captured.out == ""
    assert not out.exists() and not out.with_name("out.parquet.parts").exists()


@pytest.mark.parametrize("simulation, needle", [
    ('method = "montecarlo"', "[simulation] method"),
    ("paths = 0", "[simulation] paths = 0"),
    ('paths = "many"', "[simulation] paths"),
    ("horizon_days = 1.5", "[simulation] horizon_days"),
    ("seed = -1", "[simulation] seed = -1"),
    ('strategies = ["hold", "to_the_moon"]', "to_the_moon"),
    ("strategies = []", "[simulation] strategies"),
    ('strategies = ["hold", "hold"]', "twice"),
    ("start_price = 0", "[simulation] start_price"),
    ("pathz = 10", "did you mean paths"),
])
def test_a_bad_simulation_table_is_one_line(tmp_path, simulation, needle):
    path = _grid(tmp_path, f'scenario = "h200_single.toml"\n[axes]\n"workload.utilisation" = [0.3]\n'
                           f"[simulation]\n{simulation}\n")
    with pytest.raises(InputError) as err:
        load_grid(path)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_a_missing_scenario_or_grid_is_one_line(tmp_path, capsys):
    path = _grid(tmp_path, 'scenario = "nowhere.toml"\n[axes]\n"workload.utilisation" = [0.3]\n')
    assert main(["sweep", "--grid", str(path)]) == 2
    err = capsys.readouterr().err
    assert "nowhere.toml" in err and "h200_single.toml" in err and len(err.strip().splitlines()) == 1
    assert main(["sweep", "--grid", str(tmp_path / "missing.toml")]) == 2
    assert "--grid" in capsys.readouterr().err
    bad = _grid(tmp_path, "scenario = [", name="broken.toml")
    assert main(["sweep", "--grid", str(bad)]) == 2
    assert "not valid TOML" in capsys.readouterr().err
