"""Payouts, conservation of TON and the daily ledger on a real price history."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from econ_support import EXAMPLES, scenario, simple_scenario

from analysis.core.errors import DataError, InputError
from analysis.econ.ledger import (
    daily_ledger,
    history_path,
    initial_outlay_usd,
    net_cash_usd,
    path_income,
    sell_on_payout_usd,
    terminal_value_usd,
)
from analysis.econ.networks import daily_tokens_per_gpu
from analysis.econ.scenario import load_scenario
from analysis.market.prices import daily_closes


def _closes(start: str, values) -> pd.Series:
    index = pd.date_range(start, periods=len(values), freq="D", name="date")
    return pd.Series(np.asarray(values, dtype=float), index=index, name="close_usd")


def test_payout_days_hand_worked():
    # 4.32 TON a day per worker (see simple_scenario), threshold 10 TON, node gas 0.01 TON a payout.
    # Cumulative: 4.32, 8.64, 12.96, 17.28, 21.60, 25.92, 30.24 -> floor(/10) = 0,0,1,1,2,2,3
    # so one payout on days 3, 5 and 7; unpaid at the end 30.24 - 30 = 0.24 TON. Each payout
    # arrives whole (10 TON); the treasury keeps 0.01 TON of it for the node wallet's gas.
    s = simple_scenario()
    inc = path_income(s, np.full((1, 8), 2.0))
    np.testing.assert_allclose(inc.ton_earned, 4.32, rtol=1e-12)
    np.testing.assert_array_equal(inc.payouts[0], [0, 0, 1, 0, 1, 0, 1])
    np.testing.assert_allclose(inc.paid_ton[0], [0, 0, 10, 0, 10, 0, 10])
    np.testing.assert_allclose(inc.payout_ton[0], [0, 0, 9.99, 0, 9.99, 0, 9.99])
    np.testing.assert_allclose(inc.fee_ton[0], [0, 0, 0.01, 0, 0.01, 0, 0.01])
    assert inc.node_wallet_ton == pytest.approx(2.1)   # BaseRunner::min_wallet_balance, one worker
    assert inc.unpaid_ton[0] == pytest.approx(0.24, abs=1e-9)


def test_one_worker_per_gpu_each_with_its_own_threshold():
    # 3 GPUs = 3 workers of 4.32 TON a day: not one 12.96-TON-a-day worker paid daily,
    # but three workers each paid on days 3, 5, 7.
    inc = path_income(simple_scenario(hardware__gpus=3), np.full((1, 8), 2.0))
    np.testing.assert_array_equal(inc.payouts[0], [0, 0, 3, 0, 3, 0, 3])
    assert inc.unpaid_ton[0] == pytest.approx(0.72, abs=1e-9)


def test_several_payouts_in_one_day_when_earnings_exceed_the_threshold():
    # 10x the throughput: 43.2 TON a day; cumulative 43.2, 86.4 -> 4 then 8 payouts.
    inc = path_income(simple_scenario(workload__output_tokens_per_s=10000), np.full((1, 3), 1.0))
    np.testing.assert_array_equal(inc.payouts[0], [4, 4])
    assert inc.unpaid_ton[0] == pytest.approx(6.4, abs=1e-9)


@pytest.mark.parametrize("mode", ["fixed_token", "usd_pegged", "repriced"])
def test_ton_is_conserved(mode):
    # sum payouts + fees + unpaid = sum earned, on every path.
    rng = np.random.default_rng(7)
    paths = 2.0 * np.exp(np.cumsum(rng.normal(0, 0.05, (50, 366)), axis=1))
    inc = path_income(scenario(pricing__mode=mode, hardware__gpus=4), paths)
    lhs = inc.payout_ton.sum(axis=1) + inc.fee_ton.sum(axis=1) + inc.unpaid_ton
    np.testing.assert_allclose(lhs, inc.ton_earned.sum(axis=1), rtol=1e-12)
    assert np.all(inc.unpaid_ton >= 0) and np.all(inc.unpaid_ton < 4 * 10.0)
    assert inc.ton_earned.shape == (50, 365) and inc.unpaid_ton.shape == (50,)


def test_fixed_token_income_matches_the_closed_form():
    # 980 812 800 adjusted tokens a day (test_networks) * 19 nanoTON = 18.6354432 TON a day.
    inc = path_income(scenario(), np.full((2, 31), 1.0))
    np.testing.assert_allclose(inc.ton_earned, 18.6354432, rtol=1e-12)
    assert inc.adjusted_tokens_per_day == pytest.approx(980_812_800, rel=1e-12)
    # Over 30 days: 559.063296 TON earned -> floor(55.9) = 55 payouts, 9.063296 TON unpaid.
    assert inc.payouts.sum(axis=1) == pytest.approx([55, 55])
    assert inc.unpaid_ton == pytest.approx([9.063296, 9.063296], rel=1e-9)


def test_usd_pegged_with_constant_price_equals_fixed_token():
    price = 1.7
    target = 20e-9 * price * 1e6  # 20 nanoTON at 1.7 USD/TON, in USD per million adjusted tokens
    fixed = path_income(scenario(), np.full((1, 91), price))
    for mode in ("usd_pegged", "repriced"):
        other = path_income(scenario(pricing__mode=mode, pricing__usd_per_m_adjusted_tokens=target),
                            np.full((1, 91), price))
        np.testing.assert_allclose(other.ton_earned, fixed.ton_earned, rtol=1e-12)
        np.testing.assert_allclose(other.payout_ton, fixed.payout_ton, rtol=1e-12)


def test_usd_pegged_usd_value_of_earnings_is_constant():
    rng = np.random.default_rng(3)
    paths = np.exp(rng.normal(0, 0.5, (20, 61)))
    s = scenario(pricing__mode="usd_pegged", pricing__usd_per_m_adjusted_tokens=0.03)
    inc = path_income(s, paths)
    # adjusted * 0.03e-6 USD * 19/20 = 980 812 800 * 0.03e-6 * 0.95 = 27.9531648 USD a day
    np.testing.assert_allclose(inc.ton_earned * paths[:, 1:], 27.9531648, rtol=1e-12)


def test_costs_and_capex_in_path_income():
    inc = path_income(scenario(), np.ones((1, 11)))
    np.testing.assert_allclose(inc.usd_opex["power"], 2.2464, rtol=1e-12)
    np.testing.assert_allclose(inc.opex_usd_total, 2.2464, rtol=1e-12)
    assert inc.capex_usd == 30000 and inc.salvage_usd == pytest.approx(3000)
    assert inc.depreciation_usd_per_day == pytest.approx(27000 / 1460)
    assert path_income(scenario(hardware__already_owned=True), np.ones((1, 11))).capex_usd == 0.0


def test_sell_on_payout_cash_and_terminal_value():
    s = simple_scenario()
    paths = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]])
    inc = path_income(s, paths)
    sales = sell_on_payout_usd(inc, paths, 10.0)
    # Payouts of 9.99 TON on days 3, 5, 7 at closes 4, 6, 8, less 10 bps.
    np.testing.assert_allclose(sales[0], np.array([0, 0, 9.99 * 4, 0, 9.99 * 6, 0, 9.99 * 8]) * 0.999)
    cash = net_cash_usd(inc, sales)
    # Full load (utilisation 1): 1.0 kW * 1.3 * 24 h * 0.10 USD/kWh = 3.12 USD a day of power.
    np.testing.assert_allclose(cash[0], sales[0] - 3.12, rtol=1e-12)
    # Terminal: 0.24 TON unpaid and the node wallet's 2.1 TON sold at 8 USD less 10 bps, plus the
    # card's market resale after 7 days: new H100 (age 0), the curve's first year falls to 0.682,
    # log-linear: 30000 * 0.682 ** (7 / 365) (not the book value 30000 - 27000 / 1460 * 7).
    resale = 30000 * 0.682 ** (7 / 365)
    assert resale == pytest.approx(29780.0, abs=1.0)
    tons = (0.24 + 2.1) * 8 * 0.999
    assert terminal_value_usd(s, inc, paths)[0] == pytest.approx(tons + resale, rel=1e-9)
    # An owned card is sold at the horizon too (its resale forgone on day 0 is the outlay).
    owned = simple_scenario(hardware__already_owned=True)
    assert terminal_value_usd(owned, path_income(owned, paths), paths)[0] == pytest.approx(tons + resale, rel=1e-9)
    assert initial_outlay_usd(owned, path_income(owned, paths), paths)[0] == pytest.approx(30000 + 2.1 * 1.0 * 1.001)
    assert initial_outlay_usd(s, inc, paths)[0] == pytest.approx(30000 + 2.1 * 1.001)


def test_render_income_comes_from_analysis_render():
    # A Render scenario is modelled by analysis/render.py (issue 7; tests/test_render.py);
    # COCOON's token parameters are refused in it.
    with pytest.raises(InputError, match=r"\[network\] price_per_token_nanoton does not apply to name = .render."):
        scenario(network__name="render")


def test_bad_price_paths():
    with pytest.raises(InputError, match="shape"):
        path_income(scenario(), np.ones((2, 1)))
    with pytest.raises(InputError, match="positive and finite"):
        path_income(scenario(), np.array([[1.0, -1.0]]))


def test_daily_ledger_on_a_small_history():
    s = simple_scenario()
    closes = _closes("2024-11-30", [1, 2, 3, 4, 5, 6, 7, 8])
    led = daily_ledger(s, closes, start=dt.date(2024, 12, 1), end=dt.date(2024, 12, 7))
    assert list(led.index.date) == [dt.date(2024, 12, d) for d in range(1, 8)]
    assert led.index.name == "date"
    np.testing.assert_allclose(led["close_usd"], [2, 3, 4, 5, 6, 7, 8])
    np.testing.assert_array_equal(led["payouts"], [0, 0, 1, 0, 1, 0, 1])
    np.testing.assert_allclose(led["unpaid_ton"], [4.32, 8.64, 2.96, 7.28, 1.6, 5.92, 0.24], atol=1e-9)
    # Payouts reach the owner whole: 10 TON on days 3, 5, 7 (the proxy pays their gas); 0.01 TON of
    # each is kept for the node wallet's own gas, the 9.99 TON left is sold.
    np.testing.assert_allclose(led["payout_ton"], [0, 0, 10, 0, 10, 0, 10])
    np.testing.assert_allclose(led["node_gas_ton"], [0, 0, 0.01, 0, 0.01, 0, 0.01])
    np.testing.assert_allclose(led["sold_ton"], [0, 0, 9.99, 0, 9.99, 0, 9.99])
    np.testing.assert_allclose(led["node_gas_usd"], [0, 0, 0.04, 0, 0.06, 0, 0.08])
    # Capex on the first day, and the node wallet's 2.1 TON bought at the close before day 1
    # (1 USD) plus 10 bps: 2.1021 USD; sales at the close less 10 bps; power 3.12 USD a day.
    assert led["capex_usd"].iloc[0] == 30000 and led["capex_usd"].iloc[1:].sum() == 0
    np.testing.assert_allclose(led["node_wallet_usd"], [2.1021, 0, 0, 0, 0, 0, 0], rtol=1e-12)
    np.testing.assert_allclose(led["sales_usd"], [0, 0, 9.99 * 4 * 0.999, 0, 9.99 * 6 * 0.999, 0, 9.99 * 8 * 0.999])
    expected_net = led["sales_usd"] - 3.12 - led["capex_usd"] - np.array([2.1021, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(led["net_usd"], expected_net, rtol=1e-12)
    np.testing.assert_allclose(led["cumulative_net_usd"], expected_net.cumsum(), rtol=1e-12)
    np.testing.assert_allclose(led["trading_fee_usd"], led["sold_ton"] * led["close_usd"] * 0.001, atol=1e-12)
    # Accrual profit: TON earned valued at the close, less opex and depreciation.
    np.testing.assert_allclose(led["profit_usd"], 4.32 * led["close_usd"] - 3.12 - 27000 / 1460, rtol=1e-9)


def test_daily_ledger_defaults_to_the_scenario_dates_on_the_snapshot():
    s = load_scenario(EXAMPLES[0])
    closes = daily_closes("ton")
    led = daily_ledger(s, closes)
    assert led.index[0].date() == s.finance.start
    assert len(led) == min(s.finance.horizon_days, (closes.index[-1].date() - s.finance.start).days + 1)
    t = daily_tokens_per_gpu(s.workload, s.network)
    assert led["earned_ton"].iloc[0] == pytest.approx(t.adjusted * 19 / 1e9, rel=1e-12)
    # Conservation on the real path too.
    total = led["payout_ton"].sum() + led["unpaid_ton"].iloc[-1]
    assert led["sold_ton"].sum() + led["node_gas_ton"].sum() == pytest.approx(led["payout_ton"].sum(), rel=1e-12)
    assert total == pytest.approx(led["earned_ton"].sum(), rel=1e-12)
    assert led.attrs["unpaid_ton"] == pytest.approx(led["unpaid_ton"].iloc[-1], rel=1e-12)


def test_dates_outside_the_history_name_the_field_and_the_span():
    closes = _closes("2024-11-30", np.ones(10))  # 2024-11-30 .. 2024-12-09
    s = scenario()
    with pytest.raises(InputError) as exc:
        daily_ledger(s, closes, start=dt.date(2024, 11, 30))
    message = str(exc.value)
    assert message == ("start = 2024-11-30 is outside the price history; the TON price history covers "
                       "2024-11-30 .. 2024-12-09, so use a start from 2024-12-01 to 2024-12-09")
    with pytest.raises(InputError, match=r"end = 2024-12-31 is not valid; the TON price history covers "
                                         r"2024-11-30 \.\. 2024-12-09"):
        daily_ledger(s, closes, end=dt.date(2024, 12, 31))
    with pytest.raises(InputError, match=r"test.toml: \[finance\] start = 2025-06-01 is outside"):
        daily_ledger(scenario(finance__start="2025-06-01"), closes)
    # Default end is clipped to the last close.
    assert len(daily_ledger(s, closes)) == 9


def test_gaps_in_the_price_series_are_a_clear_error():
    closes = _closes("2024-11-30", np.ones(10)).drop(pd.Timestamp("2024-12-04"))
    with pytest.raises(DataError, match=r"1 missing day\(s\) between 2024-11-30 and 2024-12-08 \(first 2024-12-04\)"):
        daily_ledger(scenario(), closes, end=dt.date(2024, 12, 8))
    # A window that avoids the gap is fine.
    assert len(history_path(closes, dt.date(2024, 12, 6), dt.date(2024, 12, 8))) == 4
