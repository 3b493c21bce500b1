"""A tax-style income ledger: TON received as income (valued at receipt, which becomes the
cost basis of a lot) and sales matched to lots first-in first-out, with proceeds and gain.

The general entry point is :func:`fifo_tax_ledger` (receipts and sales in, one row per
income event and one row per lot portion sold out); any treasury policy (sell on payout,
hold, sell every N days...) produces its receipts and sales and calls it.
:func:`sell_on_payout_tax_ledger` builds them from :func:`analysis.econ.ledger.daily_ledger`.

Rows (CSV columns, :data:`TAX_COLUMNS`):

- ``event = "income"``: ``date`` received, ``ton_amount``, ``price_usd`` (close of that
  day), ``usd_value_at_receipt`` = amount * price (the lot's cost basis).
- ``event = "sale"``: ``date`` sold, ``acquired`` (the lot's receipt date), ``ton_amount``
  taken from that lot, ``price_usd`` (sale price), ``proceeds_usd`` (amount * price less
  its share of the sale's fee), ``cost_basis_usd``, ``gain_usd`` = proceeds - basis,
  ``fee_usd``, ``holding_days``.

Amounts received are what reached the wallet (net of COCOON's on-chain fee).
"""

from __future__ import annotations

import datetime as dt
import os
from collections import deque
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.core.errors import InputError
from analysis.market.store import atomic_write_csv

TAX_COLUMNS = ("date", "event", "ton_amount", "price_usd", "usd_value_at_receipt", "acquired", "proceeds_usd",
               "cost_basis_usd", "fee_usd", "gain_usd", "holding_days")
_DUST_TON = 1e-12  # remainders below this are rounding noise


def fifo_tax_ledger(receipts: pd.DataFrame, sales: pd.DataFrame) -> pd.DataFrame:
    """Income rows and FIFO-matched sale rows.

    Parameters
    ----------
    receipts : DataFrame
        Columns ``date``, ``ton`` (received, > 0), ``price_usd`` (TON/USD at receipt).
    sales : DataFrame
        Columns ``date``, ``ton`` (sold, > 0), ``price_usd`` (sale price), optional
        ``fee_usd`` (exchange fee of the sale, split over its lots by amount).

    Returns
    -------
    DataFrame with :data:`TAX_COLUMNS`, in date order (a day's income before its sales).
    ``attrs["open_ton"]`` / ``attrs["open_cost_basis_usd"]``: what is still held.

    Raises
    ------
    InputError
        When a sale exceeds the TON held at that date.
    """
    events = []
    for row in _rows(receipts, "receipts"):
        events.append((row["date"], 0, row))
    for row in _rows(sales, "sales"):
        events.append((row["date"], 1, row))
    events.sort(key=lambda e: (e[0], e[1]))

    lots: deque[list] = deque()  # [acquired date, ton left, price at receipt]
    out: list[dict] = []
    for date, kind, row in events:
        ton, price = row["ton"], row["price_usd"]
        if kind == 0:
            lots.append([date, ton, price])
            out.append({"date": date, "event": "income", "ton_amount": ton, "price_usd": price,
                        "usd_value_at_receipt": ton * price, "acquired": date})
            continue
        fee = row.get("fee_usd", 0.0) or 0.0
        left = ton
        while left > _DUST_TON:
            if not lots:
                raise InputError(f"sales: selling {ton:.9f} TON on {date} exceeds the TON held "
                                 f"(short by {left:.9f}); sales must come from TON received earlier")
            lot = lots[0]
            take = min(left, lot[1])
            share = take / ton
            proceeds = take * price - fee * share
            basis = take * lot[2]
            out.append({"date": date, "event": "sale", "ton_amount": take, "price_usd": price,
                        "acquired": lot[0], "proceeds_usd": proceeds, "cost_basis_usd": basis,
                        "fee_usd": fee * share, "gain_usd": proceeds - basis,
                        "holding_days": (date - lot[0]).days})
            lot[1] -= take
            left -= take
            if lot[1] <= _DUST_TON:
                lots.popleft()
    frame = pd.DataFrame(out, columns=list(TAX_COLUMNS))
    frame.attrs["open_ton"] = float(sum(lot[1] for lot in lots))
    frame.attrs["open_cost_basis_usd"] = float(sum(lot[1] * lot[2] for lot in lots))
    return frame


def sell_on_payout_tax_ledger(ledger: pd.DataFrame) -> pd.DataFrame:
    """The tax ledger of the sell-on-payout policy from :func:`analysis.econ.ledger.daily_ledger`:
    each day's payouts are income at the close and are sold the same day at the same
    close, so each gain is minus the exchange fee. Payouts are income whole; the TON kept for
    the node wallet's gas (``node_gas_ton``) is disposed of the same day too (spent on gas, valued
    at the close, no exchange fee), so a disposal's proceeds are ``sales_usd + node_gas_usd``."""
    paid = ledger[ledger["payout_ton"] > 0]
    dates = [d.date() for d in pd.DatetimeIndex(paid.index)]
    receipts = pd.DataFrame({"date": dates, "ton": paid["payout_ton"].to_numpy(),
                             "price_usd": paid["close_usd"].to_numpy()})
    spent = paid["node_gas_ton"].to_numpy() if "node_gas_ton" in paid else 0.0
    sales = pd.DataFrame({"date": dates, "ton": paid["sold_ton"].to_numpy() + spent,
                          "price_usd": paid["close_usd"].to_numpy(),
                          "fee_usd": paid["trading_fee_usd"].to_numpy()})
    return fifo_tax_ledger(receipts, sales)


def tax_summary(tax: pd.DataFrame) -> dict[str, float]:
    """Totals: income (USD at receipt), proceeds, cost basis sold, gain, fees."""
    income = tax[tax["event"] == "income"]
    sales = tax[tax["event"] == "sale"]
    return {
        "ton_received": float(income["ton_amount"].sum()),
        "income_usd": float(income["usd_value_at_receipt"].sum()),
        "ton_sold": float(sales["ton_amount"].sum()),
        "proceeds_usd": float(sales["proceeds_usd"].sum()),
        "cost_basis_usd": float(sales["cost_basis_usd"].sum()),
        "gain_usd": float(sales["gain_usd"].sum()),
        "fee_usd": float(sales["fee_usd"].sum()),
    }


def write_tax_csv(tax: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write the tax ledger atomically as CSV (ISO dates, blank where not applicable)."""
    frame = tax.copy()
    for col in ("date", "acquired"):
        frame[col] = [d.isoformat() if isinstance(d, dt.date) else "" for d in frame[col]]
    return atomic_write_csv(frame, path)


def _rows(frame: pd.DataFrame, name: str) -> list[dict]:
    for col in ("date", "ton", "price_usd"):
        if col not in frame.columns:
            raise InputError(f"{name}: column {col!r} is missing; give date, ton and price_usd")
    rows = []
    for rec in frame.to_dict("records"):
        date = rec["date"]
        if isinstance(date, pd.Timestamp):
            date = date.date()
        elif isinstance(date, str):
            date = dt.date.fromisoformat(date)
        ton, price = float(rec["ton"]), float(rec["price_usd"])
        if not (np.isfinite(ton) and ton > 0):
            raise InputError(f"{name}: ton = {ton!r} on {date} is not valid; amounts must be positive")
        if not (np.isfinite(price) and price > 0):
            raise InputError(f"{name}: price_usd = {price!r} on {date} is not valid; prices must be positive")
        fee = float(rec.get("fee_usd", 0.0) or 0.0)
        rows.append({"date": date, "ton": ton, "price_usd": price, "fee_usd": fee})
    return rows
