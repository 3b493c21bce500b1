"""The volatility and hedging report section and its charts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from analysis.core.resources import SCENARIO_DIR
from analysis.econ.scenario import load_scenario
from analysis.report import ReportContext, render_html
from analysis.report import hedging as section
from analysis.report.charts import hedging as charts
from analysis.sim.simulation import simulate
from analysis.sim.strategies import STRATEGY_NAMES

SCENARIO = SCENARIO_DIR / "hgx_h100_8x_colo.toml"
OTHER_COCOON = SCENARIO_DIR / "h200_single.toml"


@pytest.fixture(scope="module")
def built():
    return section.build(ReportContext(scenario_files=[SCENARIO]))


def test_section_has_every_chart_with_titles_axes_and_hover(built):
    assert built.title == "Volatility and hedging" and built.anchor == "hedging"
    # fan charts, distributions, replay, earnings against price
    assert len(built.figures) == 4
    for fig in built.figures:
        assert fig.layout.title.text
        assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
        for trace in fig.data:
            assert trace.hovertemplate or trace.hoverinfo == "skip"
    html = render_html([built], ReportContext())
    assert "no liquid listed TON options market" in html
    for name in STRATEGY_NAMES:
        assert charts.LABELS[name] in html


def test_fan_chart_is_the_simulations_percentiles(built):
    scenario = load_scenario(SCENARIO)
    sim = simulate(scenario, "bootstrap", section.REPORT_PATHS, seed=section.REPORT_SEED, keep_paths=True,
                   strategies=["perp_hedge"])
    fan = built.figures[0]
    panel = list(STRATEGY_NAMES).index("perp_hedge")
    median, low = fan.data[5 * panel + 4], fan.data[5 * panel + 1]
    np.testing.assert_allclose(median.y, np.median(sim.positions["perp_hedge"], axis=0))
    np.testing.assert_allclose(low.y, np.percentile(sim.positions["perp_hedge"], 5, axis=0))


def test_distribution_and_replay_match_the_simulations(built):
    scenario = load_scenario(SCENARIO)
    sim = simulate(scenario, "bootstrap", section.REPORT_PATHS, seed=section.REPORT_SEED, strategies=["hold"])
    box = built.figures[1].data[0]
    net = sim.outcomes["hold"].net_usd
    assert box.median[0] == pytest.approx(np.median(net))
    assert box.lowerfence[0] == pytest.approx(np.percentile(net, 5))
    moved = dataclasses.replace(scenario, finance=dataclasses.replace(scenario.finance, start=section.REPLAY_START,
                                                                      horizon_days=section.REPLAY_DAYS))
    replay = simulate(moved, "historical", keep_paths=True, strategies=["collar"])
    collar = [t for t in built.figures[2].data if t.name == charts.LABELS["collar"]][0]
    np.testing.assert_allclose(collar.y, replay.positions["collar"][0])
    price = built.figures[2].data[-1]
    assert price.y[-1] / price.y[0] - 1 == pytest.approx(-0.77, abs=0.02)   # TON fell about 77-78%
    assert f"{replay.outcomes['collar'].net_usd[0]:,.0f}" in built.after_html


def test_nothing_to_show_without_scenarios(tmp_path, monkeypatch):
    monkeypatch.setattr(section, "SCENARIO_DIR", tmp_path)
    assert section.build(ReportContext()) is None


def _same_outcomes(a, b) -> None:
    assert a.strategies == b.strategies and a.n_paths == b.n_paths and a.horizon_days == b.horizon_days
    for name in a.strategies:
        x, y = a.outcomes[name], b.outcomes[name]
        for field in ("net_usd", "max_drawdown_usd", "payback_day", "peak_collateral_usd", "cost_of_capital_usd",
                      "liquidation_day"):
            np.testing.assert_array_equal(getattr(x, field), getattr(y, field), err_msg=f"{name}.{field}")
    assert a.summary() == b.summary()


def test_every_simulation_with_reused_paths_and_funding_equals_its_own_run(monkeypatch):
    # The section reads the funding record once and runs the funding table's fixed rates on the fan
    # charts' paths (issue 20). Each of its simulations must give the bits of the same simulation run
    # alone the old way: its own draw from the seed, its own read of the funding record.
    runs = []

    def recording(*args, **kwargs):
        sim = simulate(*args, **kwargs)
        runs.append((args, kwargs, sim))
        return sim

    monkeypatch.setattr(section, "simulate", recording)
    section.build(ReportContext(scenario_files=[SCENARIO, OTHER_COCOON]))
    assert len(runs) == 12   # per scenario: the fan charts' run, the replay, the funding table's four rows
    reused = [kw for _, kw, _ in runs if kw.get("price_paths") is not None]
    assert len(reused) == 6 and all(kw.get("funding_daily") is not None for _, kw, _ in runs)
    caches = {id(kw["draws"]): kw["draws"] for _, kw, _ in runs if kw.get("draws") is not None}
    assert len(caches) == 2                                      # the fans' draw and the joint funding draw
    assert all(c.stored > 0 and c.hits == c.stored for c in caches.values())   # the second scenario took them
    for args, kwargs, sim in runs:
        alone = {k: v for k, v in kwargs.items() if k not in ("price_paths", "funding_daily", "draws")}
        _same_outcomes(sim, simulate(*args, **alone))
