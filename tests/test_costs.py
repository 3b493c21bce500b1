"""Costs: power, colocation, fixed, depreciation, against hand-worked numbers."""

from __future__ import annotations

import pytest
from econ_support import scenario

from analysis.econ.costs import (
    DAYS_PER_MONTH,
    book_value_usd,
    capex_paid_usd,
    colocation_usd_per_gpu_day,
    depreciation_usd_per_day,
    fixed_usd_per_gpu_day,
    opex_usd_per_day,
    power_usd_per_gpu_day,
    salvage_usd,
)


def test_power_of_the_issue_example():
    # 1.0 kW * 1.3 PUE * 24 h * (0.6 + 0.4 * 0.3) * 0.10 USD/kWh = 31.2 * 0.72 * 0.1 = 2.2464 USD/day
    s = scenario()
    assert power_usd_per_gpu_day(s.operations, 0.6) == pytest.approx(2.2464, rel=1e-12)
    # Idle all day: 31.2 kWh * 0.3 * 0.1 = 0.936; flat out: 3.12.
    assert power_usd_per_gpu_day(s.operations, 0.0) == pytest.approx(0.936, rel=1e-12)
    assert power_usd_per_gpu_day(s.operations, 1.0) == pytest.approx(3.12, rel=1e-12)


def test_colocation_and_fixed_are_per_month_of_365_12_days():
    s = scenario(operations__power_kw=1.275, operations__colocation_usd_per_kw_month=184.06,
                 operations__fixed_usd_per_month=300)
    assert DAYS_PER_MONTH == pytest.approx(30.416666666666668)
    # 184.06 USD/kW-month * 1.275 kW = 234.6765 USD/month; / (365/12) = 7.715392... USD/day
    assert colocation_usd_per_gpu_day(s.operations) == pytest.approx(234.6765 * 12 / 365, rel=1e-12)
    assert colocation_usd_per_gpu_day(s.operations) == pytest.approx(7.7153918, rel=1e-7)
    # 300 USD/month * 12 / 365 = 9.8630137 USD/day
    assert fixed_usd_per_gpu_day(s.operations) == pytest.approx(9.8630137, rel=1e-7)


def test_opex_scales_with_gpus():
    one = opex_usd_per_day(scenario(operations__colocation_usd_per_kw_month=100, operations__fixed_usd_per_month=50))
    eight = opex_usd_per_day(scenario(hardware__gpus=8, operations__colocation_usd_per_kw_month=100,
                                      operations__fixed_usd_per_month=50))
    assert set(one) == {"power", "colocation", "fixed"}
    for kind in one:
        assert eight[kind] == pytest.approx(8 * one[kind], rel=1e-12)


def test_straight_line_depreciation_with_salvage():
    # 30 000 USD, 10 % salvage, 4 years: 27 000 / (4 * 365) = 18.49315068 USD/day
    h = scenario().hardware
    assert salvage_usd(h) == pytest.approx(3000)
    assert depreciation_usd_per_day(h) == pytest.approx(27000 / 1460, rel=1e-12)
    assert book_value_usd(h, 365) == pytest.approx(30000 - 27000 / 4, rel=1e-12)
    assert book_value_usd(h, 10 * 365) == pytest.approx(3000)  # never below salvage
    assert capex_paid_usd(h) == 30000
    assert capex_paid_usd(scenario(hardware__already_owned=True).hardware) == 0.0
