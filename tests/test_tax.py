"""Tax-style income ledger: income at receipt, FIFO lots, proceeds and gains."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from econ_support import simple_scenario

from analysis.core.errors import InputError
from analysis.econ.ledger import daily_ledger
from analysis.econ.tax import TAX_COLUMNS, fifo_tax_ledger, sell_on_payout_tax_ledger, tax_summary, write_tax_csv

D = dt.date


def test_fifo_hand_worked():
    # Receive 10 TON at 2 USD (Jan 1) and 10 TON at 3 USD (Jan 5); sell 15 TON at 4 USD on
    # Jan 10 with a 6 USD fee. FIFO: 10 from the Jan 1 lot, 5 from the Jan 5 lot.
    #   lot 1: proceeds 10*4 - 6*10/15 = 36, basis 20, gain 16, held 9 days
    #   lot 2: proceeds  5*4 - 6*5/15  = 18, basis 15, gain  3, held 5 days
    receipts = pd.DataFrame({"date": [D(2025, 1, 1), D(2025, 1, 5)], "ton": [10.0, 10.0], "price_usd": [2.0, 3.0]})
    sales = pd.DataFrame({"date": [D(2025, 1, 10)], "ton": [15.0], "price_usd": [4.0], "fee_usd": [6.0]})
    tax = fifo_tax_ledger(receipts, sales)
    assert list(tax.columns) == list(TAX_COLUMNS)
    assert list(tax["event"]) == ["income", "income", "sale", "sale"]
    np.testing.assert_allclose(tax["usd_value_at_receipt"].iloc[:2], [20.0, 30.0])
    s = tax[tax["event"] == "sale"]
    np.testing.assert_allclose(s["ton_amount"], [10.0, 5.0])
    np.testing.assert_allclose(s["proceeds_usd"], [36.0, 18.0])
    np.testing.assert_allclose(s["cost_basis_usd"], [20.0, 15.0])
    np.testing.assert_allclose(s["gain_usd"], [16.0, 3.0])
    np.testing.assert_allclose(s["fee_usd"], [4.0, 2.0])
    assert list(s["acquired"]) == [D(2025, 1, 1), D(2025, 1, 5)]
    assert list(s["holding_days"]) == [9, 5]
    # 5 TON at 3 USD still held.
    assert tax.attrs["open_ton"] == pytest.approx(5.0) and tax.attrs["open_cost_basis_usd"] == pytest.approx(15.0)
    totals = tax_summary(tax)
    assert totals["income_usd"] == pytest.approx(50.0) and totals["gain_usd"] == pytest.approx(19.0)


def test_same_day_income_comes_before_the_sale_and_overselling_is_an_error():
    receipts = pd.DataFrame({"date": ["2025-01-01"], "ton": [1.0], "price_usd": [2.0]})
    sales = pd.DataFrame({"date": ["2025-01-01"], "ton": [1.0], "price_usd": [2.0]})
    tax = fifo_tax_ledger(receipts, sales)
    assert list(tax["event"]) == ["income", "sale"] and tax["gain_usd"].iloc[1] == 0.0
    with pytest.raises(InputError, match="exceeds the TON held"):
        fifo_tax_ledger(receipts, sales.assign(ton=[1.5]))
    with pytest.raises(InputError, match="price_usd"):
        fifo_tax_ledger(receipts.drop(columns="price_usd"), sales)
    with pytest.raises(InputError, match="amounts must be positive"):
        fifo_tax_ledger(receipts.assign(ton=[-1.0]), sales)


def test_sell_on_payout_gains_are_minus_the_exchange_fee(tmp_path):
    closes = pd.Series([1, 2, 3, 4, 5, 6, 7, 8], dtype=float,
                       index=pd.date_range("2024-11-30", periods=8, freq="D", name="date"))
    led = daily_ledger(simple_scenario(), closes, start=D(2024, 12, 1), end=D(2024, 12, 7))
    tax = sell_on_payout_tax_ledger(led)
    income = tax[tax["event"] == "income"]
    sales = tax[tax["event"] == "sale"]
    # Payouts of 10 TON (whole) on Dec 3, 5, 7 at 4, 6, 8 USD are income at receipt; 9.99 TON of
    # each is sold the same day less 10 bps, 0.01 TON is spent on the node wallet's gas (a disposal
    # at the close without exchange fee): proceeds 10 * close - fee, the gain minus the fee.
    assert list(income["date"]) == [D(2024, 12, 3), D(2024, 12, 5), D(2024, 12, 7)]
    np.testing.assert_allclose(income["usd_value_at_receipt"], [40.0, 60.0, 80.0])
    np.testing.assert_allclose(sales["gain_usd"], [-0.03996, -0.05994, -0.07992])
    paid = led[led["payout_ton"] > 0]
    np.testing.assert_allclose(sales["proceeds_usd"], paid["sales_usd"] + paid["node_gas_usd"])
    np.testing.assert_allclose(sales["proceeds_usd"], [40 - 0.03996, 60 - 0.05994, 80 - 0.07992])
    assert (sales["holding_days"] == 0).all() and tax.attrs["open_ton"] == pytest.approx(0.0, abs=1e-9)
    path = write_tax_csv(tax, tmp_path / "tax.csv")
    back = pd.read_csv(path)
    assert list(back.columns) == list(TAX_COLUMNS)
    assert back["date"].iloc[0] == "2024-12-03" and back["acquired"].iloc[-1] == "2024-12-07"
