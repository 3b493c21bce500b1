"""The break-even report section and its charts."""

from __future__ import annotations

import numpy as np
import pytest
from econ_support import EXAMPLES

from analysis.econ.metrics import break_even_ton_usd, break_even_ton_usd_cash, monthly_profit_at, profit_sensitivity
from analysis.econ.scenario import load_scenario, scenario_with
from analysis.market.prices import daily_closes
from analysis.report import ReportContext, build_report
from analysis.report import breakeven as section


@pytest.fixture(scope="module")
def built():
    return section.build(ReportContext())


def test_section_shows_the_examples_against_today(built):
    assert built.title == "Break-even" and built.anchor == "breakeven"
    closes = daily_closes("ton")
    today = closes["close_usd"].iloc[-1]
    assert f"{today:.4f} USD" in built.intro_html and str(closes.index[-1].date()) in built.intro_html
    # bars + 3 heatmaps + 3 tornados + cumulative cash
    assert len(built.figures) == 8
    for fig in built.figures:
        assert fig.layout.title.text
        assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
        assert all(trace.hovertemplate for trace in fig.data)
    bars = built.figures[0]
    scenarios = [load_scenario(p) for p in EXAMPLES]
    np.testing.assert_allclose(bars.data[0].y, [break_even_ton_usd(s) for s in scenarios], rtol=1e-12)
    np.testing.assert_allclose(bars.data[1].y, [break_even_ton_usd_cash(s) for s in scenarios], rtol=1e-12)
    assert list(bars.data[0].x) == [s.name for s in scenarios]
    for s in scenarios:
        assert s.name in built.intro_html


def test_heatmap_break_even_line_is_where_profit_is_zero(built):
    scenarios = [load_scenario(p) for p in EXAMPLES]
    for fig, s in zip(built.figures[1:4], scenarios):
        heat, line = fig.data[0], fig.data[1]
        assert heat.type == "heatmap" and line.name == "break-even"
        # Independent check on a few points of the line: profit(u, p) = 0 by the closed form.
        for price, u_pct in list(zip(line.x, line.y))[::7]:
            moved = scenario_with(s, {"workload.utilisation": u_pct / 100})
            assert monthly_profit_at(moved, price) == pytest.approx(0.0, abs=1e-6)
        # The grid's zero crossing sits between the neighbouring cells of the line.
        z = np.asarray(heat.z)
        assert z.min() < 0 < z.max()


def test_tornado_swings_match_recomputed_profits():
    s = load_scenario(EXAMPLES[0])
    sens = profit_sensitivity(s, 1.5)
    base = sens.attrs["base_usd"]
    assert base == pytest.approx(monthly_profit_at(s, 1.5))
    row = sens.set_index("key").loc["operations.electricity_usd_per_kwh"]
    assert row["low_usd"] == pytest.approx(
        monthly_profit_at(scenario_with(s, {"operations.electricity_usd_per_kwh": 0.0977 * 0.5}), 1.5))
    # Profit is linear in the TON price: the +/-30 % swings are symmetric around the base.
    ton = sens.set_index("key").loc["ton_usd"]
    assert ton["high_usd"] - base == pytest.approx(base - ton["low_usd"], rel=1e-9)


def test_custom_scenario_outside_the_history_gets_a_note(tmp_path):
    late = tmp_path / "late.toml"
    late.write_text(EXAMPLES[0].read_text().replace("start = 2025-04-01", "start = 2030-01-01"))
    out = section.build(ReportContext(scenario_files=[late]))
    assert len(out.figures) == 3  # bars, heatmap, tornado; no ledger
    assert "no historical ledger" in out.after_html and "2030-01-01" in out.after_html


def test_full_report_contains_the_section(tmp_path):
    path = build_report(tmp_path / "report.html", scenario_files=[EXAMPLES[0]])
    text = path.read_text()
    assert 'id="breakeven"' in text and "Break-even TON price per scenario" in text
