"""Break-even, NPV, IRR and payback against hand-worked numbers, closed forms and invariants."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from econ_support import scenario

from analysis.core.errors import InputError
from analysis.econ.ledger import path_income
from analysis.econ.metrics import (
    break_even_ton_usd,
    break_even_ton_usd_at,
    break_even_ton_usd_cash,
    break_even_utilisation,
    breakeven_summary,
    irr,
    monthly_profit_usd,
    npv_usd,
    path_metrics,
    payback_days,
    ton_earned_per_day,
    ton_per_day,
    usd_costs_per_day,
    usd_income_per_day,
    usd_per_gpu_hour,
)

# The issue's example: 980 812 800 adjusted tokens a day * 19 nanoTON = 18.6354432 TON a day
# earned; 0.01 TON fee per 10 TON payout leaves 99.9 %: 18.6168077568 TON a day in the wallet.
EARNED = 18.6354432
NET = EARNED * (1 - 0.01 / 10)
SELL = 1 - 10 / 10_000  # 10 bps exchange fee
POWER = 2.2464  # 1.0 kW * 1.3 * 24 h * (0.6 + 0.4 * 0.3) * 0.10 USD/kWh
DEPRECIATION = 27000 / 1460  # 30 000 * (1 - 0.1) / (4 * 365)


def test_ton_per_day_and_income_hand_worked():
    s = scenario()
    assert ton_earned_per_day(s) == pytest.approx(EARNED, rel=1e-12)
    assert ton_per_day(s) == pytest.approx(18.6168077568, rel=1e-12)
    assert NET == pytest.approx(18.6168077568, rel=1e-12)
    # At 2 USD/TON: 18.6168077568 * 2 * 0.999 = 37.1963818981 USD a day
    assert usd_income_per_day(s, 2.0) == pytest.approx(37.1963818981, rel=1e-10)
    # per GPU-hour: / 24 = 1.5498492458 USD
    assert usd_per_gpu_hour(s, 2.0) == pytest.approx(37.1963818981 / 24, rel=1e-10)
    assert usd_per_gpu_hour(scenario(hardware__gpus=8), 2.0) == pytest.approx(37.1963818981 / 24, rel=1e-10)


def test_costs_by_kind():
    costs = usd_costs_per_day(scenario(operations__colocation_usd_per_kw_month=365, operations__fixed_usd_per_month=73))
    # 365 USD/kW-month * 1 kW * 12/365 = 12 USD a day; 73 * 12/365 = 2.4 USD a day
    assert costs == pytest.approx({"power": POWER, "colocation": 12.0, "fixed": 2.4, "depreciation": DEPRECIATION})


def test_break_even_ton_price_hand_worked():
    s = scenario()
    # (2.2464 + 18.4931507) / (18.6168077568 * 0.999) = 20.7395507 / 18.5981910 = 1.115139...
    assert break_even_ton_usd(s) == pytest.approx((POWER + DEPRECIATION) / (NET * SELL), rel=1e-12)
    assert break_even_ton_usd(s) == pytest.approx(1.1151375, rel=1e-6)
    # Cash only: 2.2464 / 18.5981910 = 0.1207859...
    assert break_even_ton_usd_cash(s) == pytest.approx(POWER / (NET * SELL), rel=1e-12)
    # At the break-even price, income equals all costs.
    p = break_even_ton_usd(s)
    assert usd_income_per_day(s, p) == pytest.approx(sum(usd_costs_per_day(s).values()), rel=1e-12)


def test_double_the_worker_fee_halves_the_break_even_price():
    s1 = scenario()
    s2 = scenario(network__worker_fee_per_token_nanoton=38, network__price_per_token_nanoton=40)
    assert break_even_ton_usd(s2) == pytest.approx(break_even_ton_usd(s1) / 2, rel=1e-12)
    assert break_even_ton_usd_cash(s2) == pytest.approx(break_even_ton_usd_cash(s1) / 2, rel=1e-12)
    # Same with twice the throughput (all costs unchanged except nothing: power depends on u, not throughput).
    s3 = scenario(workload__output_tokens_per_s=4000)
    assert break_even_ton_usd(s3) == pytest.approx(break_even_ton_usd(s1) / 2, rel=1e-12)


def test_break_even_utilisation_solves_income_equals_cost():
    s = scenario()
    for price in (0.8, 1.3, 2.5, 5.0):
        u = break_even_utilisation(s, price)
        income = usd_income_per_day(s, price, utilisation=u)
        costs = sum(usd_costs_per_day(s, utilisation=u).values())
        assert income == pytest.approx(costs, rel=1e-10)
        uc = break_even_utilisation(s, price, include_capex=False)
        assert usd_income_per_day(s, price, utilisation=uc) == pytest.approx(
            sum(v for k, v in usd_costs_per_day(s, utilisation=uc).items() if k != "depreciation"), rel=1e-10)
        assert uc < u
    # Closed form by hand at 2 USD/TON: a = 37.1963819 / 0.6 = 61.9939698 USD/day at full load,
    # P = 3.12 at full load, idle 0.3: u* = (18.4931507 + 0.936) / (61.9939698 - 2.184) = 0.324850...
    a = 37.1963818981 / 0.6
    assert break_even_utilisation(s, 2.0) == pytest.approx((DEPRECIATION + 0.936) / (a - 3.12 * 0.7), rel=1e-9)
    # Never: income per unit of utilisation below the marginal power cost.
    assert math.isnan(break_even_utilisation(s, 0.01))
    # Above 1: not reachable at a low price.
    assert break_even_utilisation(s, 0.5) > 1


def test_usd_pegged_has_no_break_even_price_but_a_break_even_utilisation():
    s = scenario(pricing__mode="usd_pegged", pricing__usd_per_m_adjusted_tokens=0.03)
    assert math.isnan(break_even_ton_usd(s)) and math.isnan(break_even_ton_usd_cash(s))
    # USD income does not depend on the TON price: 980 812 800 * 0.03e-6 * 0.95 * 0.999 * 0.999
    for price in (0.5, 3.0):
        assert usd_income_per_day(s, price) == pytest.approx(980_812_800 * 0.03e-6 * 0.95 * 0.999 * 0.999, rel=1e-12)
    assert break_even_utilisation(s, 0.5) == pytest.approx(break_even_utilisation(s, 3.0), rel=1e-12)
    with pytest.raises(InputError, match="needs a TON price"):
        ton_per_day(s)


def test_monthly_profit_grid_and_break_even_line():
    s = scenario()
    prices = np.linspace(0.5, 5, 10)
    utils = np.array([0.1, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0])
    grid = monthly_profit_usd(s, prices, utils)
    assert grid.shape == (7, 10)
    i, j = 3, 4
    expected = (usd_income_per_day(s, prices[j], utils[i]) - sum(usd_costs_per_day(s, utils[i]).values())) * 365 / 12
    assert grid[i, j] == pytest.approx(expected, rel=1e-12)
    line = break_even_ton_usd_at(s, utils)
    on_line = np.array([monthly_profit_usd(s, [p], [u])[0, 0] for p, u in zip(line, utils)])
    np.testing.assert_allclose(on_line, 0.0, atol=1e-9)
    assert line[3] == pytest.approx(break_even_ton_usd(s), rel=1e-12)


def test_npv_matches_the_geometric_series():
    # Constant c per day for D days at annual rate r: v = (1+r)^(-1/365),
    # NPV = c * v * (1 - v^D) / (1 - v).
    c, r, days = 25.0, 0.10, 730
    v = (1 + r) ** (-1 / 365)
    expected = -1000 + c * v * (1 - v ** days) / (1 - v)
    got = npv_usd(np.full((3, days), c), r, initial_usd=-1000)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # A single flow one year out is discounted by exactly 1 + r.
    flows = np.zeros(365)
    flows[-1] = 110.0
    assert npv_usd(flows, 0.10)[0] == pytest.approx(100.0, rel=1e-12)


def test_irr_hand_worked():
    # -100 today, +110 in 365 days: 10 % a year.
    flows = np.zeros(365)
    flows[-1] = 110.0
    assert irr(flows, initial_usd=-100.0) == pytest.approx(0.10, abs=1e-10)
    # -1000 then 2 USD a day for 2 years: NPV at the IRR is zero.
    flows = np.full(730, 2.0)
    rate = irr(flows, initial_usd=-1000.0)
    assert npv_usd(flows, rate, initial_usd=-1000.0)[0] == pytest.approx(0.0, abs=1e-6)
    assert 0.3 < rate < 0.5  # 1460 back on 1000 over two years
    assert math.isnan(irr(np.full(10, 1.0)))  # no outlay: no IRR


def test_payback_days():
    cum = np.array([[-3.0, -1.0, 0.0, 2.0], [-5.0, -4.0, -3.0, -2.0], [1.0, -1.0, 2.0, 3.0]])
    got = payback_days(cum)
    assert got[0] == 3 and math.isnan(got[1]) and got[2] == 1


def test_path_metrics_at_a_constant_price_agree_with_the_cash_flows():
    s = scenario()
    paths = np.full((2, 366), 2.0)
    pm = path_metrics(s, paths)
    inc = path_income(s, paths)
    cash = pm["cash_usd"][0]
    # Cash = payouts sold at 2 USD less 10 bps, less power.
    np.testing.assert_allclose(cash, inc.payout_ton[0] * 2.0 * SELL - POWER, rtol=1e-12)
    # Payback: cumulative cash (after 30 000 capex and the node wallet's 2.1 TON bought at 2 USD
    # plus 10 bps) first >= 0 -- about 30004.2 / (37.196 - 2.246) = 858 days, not within one year.
    outlay = 30000 + 2.1 * 2.0 * 1.001
    assert pm["initial_usd"][0] == pytest.approx(outlay, rel=1e-12)
    cumulative = np.cumsum(cash) - outlay
    np.testing.assert_allclose(pm["cumulative_cash_usd"][0], cumulative, rtol=1e-12)
    assert not np.any(cumulative >= 0) and math.isnan(pm["payback_days"][0])
    # Over three years it pays back on the first day the cumulative cash turns non-negative.
    long = path_metrics(scenario(finance__horizon_days=1095), np.full((1, 1096), 2.0))
    cum3 = long["cumulative_cash_usd"][0]
    day = long["payback_days"][0]
    assert 840 < day < 880 and cum3[int(day) - 1] >= 0 and cum3[int(day) - 2] < 0
    # NPV: discounted cash + discounted terminal value (unpaid and node-wallet TON, and the card at
    # market resale after a year: a new H100 is worth 0.682 of its price then) - the outlay.
    v = (1.1) ** (-np.arange(1, 366) / 365)
    terminal = (inc.unpaid_ton[0] + 2.1) * 2.0 * SELL + 30000 * 0.682
    assert pm["npv_usd"][0] == pytest.approx(-outlay + cash @ v + terminal * v[-1], rel=1e-10)


def test_breakeven_summary_is_plain_json_with_the_issue_metric_names():
    s = scenario()
    summary = breakeven_summary(s, 0.05)
    text = json.dumps(summary, allow_nan=False)
    for key in ("ton_per_day", "usd_costs_per_day", "break_even_ton_usd", "break_even_ton_usd_cash",
                "break_even_utilisation", "usd_per_gpu_hour", "npv_usd", "irr", "payback_days"):
        assert key in summary
    assert summary["payback_days"] is None  # never pays back at 5 cents
    assert summary["break_even_utilisation"] is None  # income below marginal power cost
    assert summary["break_even_ton_usd"] == pytest.approx(break_even_ton_usd(s))
    assert json.loads(text)["usd_costs_per_day"]["depreciation"] == pytest.approx(DEPRECIATION)
    # An owned GPU pays no capex, but its resale value (capex_usd = its market value) is forgone
    # on day 0, so it has an IRR and pays back only once its cash covers that value.
    owned = breakeven_summary(scenario(hardware__already_owned=True), 3.0)
    assert owned["capex_paid_usd"] == 0 and owned["resale_forgone_usd"] == 30000
    assert owned["initial_outlay_usd"] == pytest.approx(30000 + 2.1 * 3.0 * 1.001)
    assert owned["irr"] is not None and owned["payback_days"] is None
    # Cash per day at 3 USD: 18.6354432 TON * 0.999 (node gas) * 3 USD * 0.999 (sale) - 2.2464 power
    # = 53.548...; 30 006.3063 / 53.548 = 560.4, so the owner's cash covers the forgone resale on day 561.
    three_years = breakeven_summary(scenario(hardware__already_owned=True, finance__horizon_days=1095), 3.0)
    per_day = 18.6354432 * 0.999 * 3.0 * 0.999 - 2.2464
    assert three_years["payback_days"] == math.ceil((30000 + 2.1 * 3.0 * 1.001) / per_day) == 561
