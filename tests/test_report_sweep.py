"""The report's sweep section: heat maps and tornado drawn from a sweep's results, checked against
the rows and hand-worked main effects; shown only with --sweep; one-line errors for a bad file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli.main import main
from analysis.core.resources import SCENARIO_DIR
from analysis.econ.metrics import break_even_ton_usd
from analysis.report import ReportContext
from analysis.report import sweep as section
from analysis.sweep import results
from analysis.sweep.grid import load_grid
from analysis.sweep.results import main_effects, pivot, read_results
from analysis.sweep.run import run_sweep

GRID = """
    name = "small"
    scenario = "h200_single.toml"
    [axes]
    "operations.electricity_usd_per_kwh" = [0.05, 0.20]
    "workload.utilisation" = [0.1, 0.3, 0.6]
    "treasury.hedge_ratio" = [0.0, 1.0]
    [simulation]
    method = "gbm"
    paths = 200
    horizon_days = 60
    strategies = ["hold", "perp_hedge"]
    seed = 11
"""


def _sweep(folder: Path, text: str, name: str = "grid.toml") -> tuple[Path, object]:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    grid = load_grid(path)
    out = folder / (path.stem + ".parquet")
    run_sweep(grid, out, scheduler="inprocess", progress=False)
    return out, grid


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return _sweep(tmp_path_factory.mktemp("sweep"), GRID)


def test_main_effects_by_hand():
    frame = pd.DataFrame({"a": [1, 1, 2, 2], "b": ["x", "y", "x", "y"], "v": [0.0, 10.0, 4.0, 30.0]})
    effects = main_effects(frame, "v", ["a", "b"]).set_index("input")
    # a: mean at 1 = 5, at 2 = 17 -> swing 12; b: mean at x = 2, at y = 20 -> swing 18
    assert effects.index.tolist() == ["b", "a"]
    assert effects.loc["a", ["low", "high", "swing"]].tolist() == [5.0, 17.0, 12.0]
    assert (effects.loc["a", "low_level"], effects.loc["a", "high_level"]) == (1, 2)
    assert effects.loc["b", ["low", "high", "swing"]].tolist() == [2.0, 20.0, 18.0]
    assert pivot(frame, "a", "b", "v").to_numpy().tolist() == [[0.0, 10.0], [4.0, 30.0]]


def test_the_section_draws_the_sweep(small):
    out, grid = small
    built = section.build(ReportContext(sweep_path=out))
    assert built is not None and built.anchor == "sweep" and len(built.figures) == 3
    heat, loss, tornado = built.figures
    frame = read_results(out)

    # break-even heat map: electricity x utilisation, each square the cells' own break-even price
    assert heat.data[0].x == ("0.05", "0.2") and heat.data[0].y == ("0.1", "0.3", "0.6")
    z = np.array(heat.data[0].z, dtype=float)
    for cell in grid.cells:
        i = ["0.1", "0.3", "0.6"].index(f"{cell.values['workload.utilisation']:g}")
        j = ["0.05", "0.2"].index(f"{cell.values['operations.electricity_usd_per_kwh']:g}")
        assert z[i, j] == pytest.approx(break_even_ton_usd(cell.scenario), rel=1e-12)
    assert z[0, 0] > z[2, 0] and z[0, 1] > z[0, 0]  # busier, cheaper power: lower break-even

    # P(loss) over hedge ratio x strategy: the median over the other axes of the rows
    assert loss.data[0].y == ("hold", "perp_hedge") and loss.data[0].x == ("0", "1")
    expected = frame[(frame["strategy"] == "perp_hedge") & (frame["treasury.hedge_ratio"] == 1.0)]["prob_loss"]
    assert loss.data[0].z[1][1] == pytest.approx(expected.median())

    # tornado: one bar per varying input plus strategy; utilisation moves net USD most here
    effects = main_effects(frame, "mean_usd", [*grid.axes, "strategy"])
    assert set(tornado.data[0].y) == set(effects["input"])
    assert tornado.data[0].y[-1] == effects["input"].iloc[0] == "workload.utilisation"
    bar = dict(zip(tornado.data[0].y, zip(tornado.data[0].base, tornado.data[0].x)))
    low, width = bar["workload.utilisation"]
    by_level = frame.groupby("workload.utilisation")["mean_usd"].mean()
    assert low == pytest.approx(by_level.min()) and low + width == pytest.approx(by_level.max())

    text = built.intro_html + built.after_html
    assert "small" in text and "12 variants" in text and "Seed 11" in text
    assert "TON daily closes" in text and "drift" in text and "fitted to the history" in text
    assert "have no results" not in text


def test_without_a_sweep_there_is_no_section():
    assert section.build(ReportContext()) is None


def test_an_unfinished_sweep_says_which_cells_are_missing(small, tmp_path):
    out, _ = small
    partial = tmp_path / "partial.parquet"
    frame = pd.read_parquet(out)
    # an interrupted sweep: its parts folder with a few cells and the manifest
    import json

    import pyarrow.parquet as pq

    manifest = json.loads(pq.read_schema(out).metadata[results.META_KEY])
    results.write_manifest(partial, manifest)
    table_schema = pq.read_schema(out)
    for cell in (0, 1, 2):
        results.write_part(partial, table_schema, frame[frame["cell"] == cell].to_dict("records"), cell)
    built = section.build(ReportContext(sweep_path=results.parts_dir(partial)))
    assert "9 of 12 cells have no results" in built.intro_html and "--resume" in built.intro_html


def test_a_usd_pegged_sweep_has_no_break_even_price_map(tmp_path):
    out, _ = _sweep(tmp_path, """
        scenario = "h200_single.toml"
        [[cells]]
        "pricing.mode" = "usd_pegged"
        "workload.utilisation" = 0.3
        [[cells]]
        "pricing.mode" = "usd_pegged"
        "workload.utilisation" = 0.6
        [simulation]
        method = "gbm"
        paths = 50
        horizon_days = 30
        strategies = ["hold", "usd_pegged"]
        seed = 1
    """)
    frame = read_results(out)
    assert frame["break_even_ton_usd"].isna().all()           # null, not NaN or inf, in the file
    assert frame["break_even_utilisation"].notna().all()
    built = section.build(ReportContext(sweep_path=out))
    assert "no break-even price" in built.after_html
    assert [f.layout.title.text.split(" ")[0] for f in built.figures] == ["P(loss)", "What"]


def test_report_cli_with_a_sweep(small, tmp_path, capsys):
    out, _ = small
    html_path = tmp_path / "report.html"
    argv = ["report", "--scenario", str(SCENARIO_DIR / "h100_nvl_owned.toml"), "--sweep", str(out),
            "--out", str(html_path)]
    assert main(argv) == 0
    text = html_path.read_text(encoding="utf-8")
    assert 'id="sweep"' in text and "Sensitivity sweep: small" in text and "What moves the mean net USD" in text


@pytest.mark.parametrize("make, needle", [
    (lambda p: p / "missing.parquet", "no such file"),
    (lambda p: (pd.DataFrame({"x": [1]}).to_parquet(p / "plain.parquet"), p / "plain.parquet")[1],
     "is not the result of `cocoon-econ sweep`"),
    (lambda p: ((p / "junk.parquet").write_text("not parquet"), p / "junk.parquet")[1], "not a Parquet file"),
])
def test_report_with_a_bad_sweep_file_is_one_line_exit_2(tmp_path, capsys, make, needle):
    html_path = tmp_path / "report.html"
    assert main(["report", "--sweep", str(make(tmp_path)), "--out", str(html_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1
    assert not html_path.exists()
