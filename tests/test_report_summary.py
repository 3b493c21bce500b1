"""The summary section: one verdict per scenario, wording checked on hand-made metrics."""

from __future__ import annotations

import re

import pytest

from analysis.market.prices import read_snapshot
from analysis.report import ReportContext, summary


def _metrics(price, full, cash, **extra):
    base = {"ton_usd": price, "break_even_ton_usd": full, "break_even_ton_usd_cash": cash, "payback_days": None,
            "horizon_days": 365, "pricing_mode": "fixed_token", "usd_profit_per_day": None,
            "usd_cash_profit_per_day": None}
    return {**base, **extra}


def test_pays_for_itself():
    # 2.00 against a full-cost break-even of 1.60: 2.00 / 1.60 - 1 = 25 % above.
    line = summary.verdict(_metrics(2.0, 1.6, 0.5, payback_days=200.0))
    assert 'class="good"' in line and "25% above" in line and "$1.600" in line
    assert "pays back in 200 days" in line
    # Beyond the horizon: 30000 USD over 40 USD of cash profit a day = 750 days.
    beyond = _metrics(2.0, 1.6, 0.5, capex_paid_usd=30000.0, usd_cash_profit_per_day=40.0)
    assert "pays back in about 750 days" in summary.verdict(beyond, life_days=1460)
    assert "no payback within the hardware's life" in summary.verdict(beyond, life_days=700)
    assert "already owned" in summary.verdict(beyond, already_owned=True)


def test_payback_cell():
    owned = summary.payback_text(_metrics(2.0, 1.6, 0.5, payback_days=1.0), True, 1460)
    assert owned == "1 (owned: of the resale value forgone)"
    assert summary.payback_text(_metrics(2.0, 1.6, 0.5, payback_days=123.0), False, 1460) == "123"
    m = _metrics(2.0, 1.6, 0.5, capex_paid_usd=30000.0, usd_cash_profit_per_day=40.0)
    assert summary.payback_text(m, False, 1460) == "&asymp;&thinsp;750"
    assert "beyond the hardware's 1.5-year life" in summary.payback_text(m, False, 547.5)
    loss = _metrics(1.0, 4.0, 1.5, capex_paid_usd=30000.0, usd_cash_profit_per_day=-5.0)
    assert summary.payback_text(loss, False, 1460) == "never (cash loss)"


def test_covers_running_costs_only():
    # 1.30 between cash 0.50 and full 2.60: must rise 2.60 / 1.30 - 1 = 100 %.
    line = summary.verdict(_metrics(1.3, 2.6, 0.5))
    assert 'class="warn"' in line and "Covers running costs but not the hardware" in line
    assert "rise 100% to $2.600" in line
    owned = summary.verdict(_metrics(1.3, 2.6, 0.5), already_owned=True)
    assert "Worth running, since the card is already owned" in owned and "selling" not in owned
    # with the card's resale value counted, a negative NPV says selling it today is better
    sell = summary.verdict(_metrics(1.3, 2.6, 0.5, npv_usd=-4392.7), already_owned=True)
    assert "selling the card beats running it" in sell and "NPV" in sell and "-$4,392.70" in sell
    assert "Worth running" not in sell
    # an owned card's steady payback is the resale value forgone over the cash profit: 30 000 / 40
    m = _metrics(2.0, 1.6, 0.5, capex_paid_usd=0.0, initial_outlay_usd=30000.0, usd_cash_profit_per_day=40.0)
    assert summary.payback_text(m, True, 1460) == "&asymp;&thinsp;750 (owned: of the resale value forgone)"


def test_loses_money_on_running_costs():
    # 1.00 below cash 1.50 (rise 50 %) and full 4.00 (rise 300 %).
    line = summary.verdict(_metrics(1.0, 4.0, 1.5))
    assert 'class="bad"' in line and "rise 50% from $1.000 to $1.500" in line and "300% to $4.000" in line


def test_usd_pegged_has_no_break_even_price_and_is_judged_on_profit():
    line = summary.verdict(_metrics(1.3, None, None, pricing_mode="usd_pegged", usd_profit_per_day=12.5,
                                    usd_cash_profit_per_day=20.0))
    assert "Profitable" in line and "usd_pegged" in line and "$12.50" in line
    line = summary.verdict(_metrics(1.3, None, None, pricing_mode="repriced", usd_profit_per_day=-3.0,
                                    usd_cash_profit_per_day=4.0))
    assert "Covers running costs only" in line and "-$3.00" in line
    line = summary.verdict(_metrics(1.3, float("nan"), float("nan"), pricing_mode="usd_pegged",
                                    usd_profit_per_day=-9.0, usd_cash_profit_per_day=-2.0))
    assert "Loses money" in line


def test_no_scenarios_no_section():
    assert summary.build(ReportContext(scenario_files=[])) is None


def test_example_scenarios_summary_uses_the_engine(isolated_cache):
    metrics = pytest.importorskip("analysis.econ.metrics", reason="the economics engine is not merged yet")
    scenario_mod = pytest.importorskip("analysis.econ.scenario")
    ctx = ReportContext()
    paths = ctx.scenario_paths()
    if not paths:
        pytest.skip("no example scenarios in data/scenarios yet")
    section = summary.build(ctx)
    rows = re.findall(r"<tr>(.*?)</tr>", section.intro_html)[1:]
    assert len(rows) == len(paths)
    for path, row in zip(paths, rows):
        scenario = scenario_mod.load_scenario(path)
        # The cache is empty, so the latest close of the scenario's token is the snapshot's last row.
        price = float(read_snapshot(scenario_mod.price_asset(scenario))["close_usd"].iloc[-1])
        full = metrics.break_even_ton_usd(scenario)
        assert scenario.name in row
        assert f"${full:,.3f}" in row
        assert f"${metrics.usd_per_gpu_hour(scenario, price):,.3f}" in row
        verdict_class = "good" if price >= full else "warn" if price >= metrics.break_even_ton_usd_cash(scenario) \
            else "bad"
        line = next(li for li in re.findall(r"<li>(.*?)</li>", section.after_html) if scenario.name in li)
        assert f'class="{verdict_class}"' in line
