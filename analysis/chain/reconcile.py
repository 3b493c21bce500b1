"""Reconcile a worker's actual COCOON payouts with what a scenario expected over the same days.

Payouts arrive in lumps (each worker is paid when its unpaid earnings reach the threshold,
10 TON), so the comparison is of cumulative totals day by day:

- actual: the payouts found on-chain (:func:`analysis.chain.readings.fetch_payouts`), TON and USD at each
  payout day's close, and adjusted tokens (value / the proxy's worker fee);
- expected: the scenario's daily ledger on the same real TON path
  (:func:`analysis.econ.ledger.daily_ledger`): TON paid out (``payout_ton``, whole as on-chain:
  the proxy pays the payout's gas), TON earned (accrual), and the same day-close USD valuation.

Two implied figures: the **utilisation** (actual adjusted tokens / what the scenario's throughput
earns at full load over the window, ``daily_tokens_per_gpu(..., utilisation=1) * gpus * days``)
and the **effective price** the worker got per adjusted token (nanoTON and USD per million).
Both read payouts, so earnings accrued but not yet paid at the window's end are missing from
the actual side (up to one threshold per worker); the summary reports the scenario's unpaid TON
at the end for scale.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.chain.payouts import daily_payouts
from analysis.core.errors import InputError
from analysis.core.units import NANOTON_PER_TON
from analysis.econ.ledger import daily_ledger
from analysis.econ.networks import daily_tokens_per_gpu
from analysis.econ.scenario import Scenario


@dataclass(frozen=True)
class Reconciliation:
    """``daily``: one row per UTC day (index ``date``); ``summary``: the headline figures."""

    daily: pd.DataFrame
    summary: dict[str, Any]


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator and np.isfinite(denominator) else float("nan")


def default_window(scenario: Scenario, closes: pd.DataFrame, start: dt.date | None,
                   end: dt.date | None) -> tuple[dt.date, dt.date]:
    """``start`` defaults to the scenario's ``[finance] start``, ``end`` to the last TON close."""
    first = start or scenario.finance.start
    last_close = pd.DatetimeIndex(closes.index).max().date()
    last = end or last_close
    if last < first:
        raise InputError(f"--end {last} is before --start {first}; pass a later --end or an earlier --start")
    if last > last_close:
        raise InputError(f"--end {last} is after the last TON/USD close ({last_close}); run 'cocoon-econ fetch "
                         f"prices' or pass --end {last_close}")
    return first, last


def reconcile(scenario: Scenario, payouts: pd.DataFrame, closes: pd.DataFrame, start: dt.date,
              end: dt.date) -> Reconciliation:
    """Compare ``payouts`` (valued, see :func:`analysis.chain.payouts.value_payouts`) with the
    scenario's ledger over ``[start, end]``.

    Returns
    -------
    Reconciliation
        ``daily`` columns: ``close_usd``, ``actual_ton``, ``actual_usd``, ``actual_adjusted_tokens``,
        ``actual_cum_ton``, ``actual_cum_usd``, ``actual_cum_adjusted_tokens``,
        ``expected_payout_ton``, ``expected_cum_payout_ton``, ``expected_cum_earned_ton``,
        ``expected_usd`` (payouts valued at the day's close), ``expected_cum_usd``,
        ``expected_adjusted_tokens``, ``expected_cum_adjusted_tokens``.
    """
    if scenario.network.name != "cocoon":
        raise InputError(f"--scenario {scenario.origin}: a {scenario.network.name} scenario; reconcile compares "
                         "COCOON payouts, so pass a scenario with [network] name = \"cocoon\"")
    ledger = daily_ledger(scenario, closes, start=start, end=end)
    window = payouts[(payouts["date"] >= pd.Timestamp(start)) & (payouts["date"] <= pd.Timestamp(end))]
    actual = daily_payouts(window, pd.Timestamp(start), pd.Timestamp(end))
    daily = pd.DataFrame(index=ledger.index)
    daily["close_usd"] = ledger["close_usd"]
    daily["actual_ton"] = actual["ton"].reindex(daily.index).to_numpy()
    daily["actual_usd"] = actual["usd"].reindex(daily.index).to_numpy() if "usd" in actual else np.nan
    daily["actual_adjusted_tokens"] = actual["adjusted_tokens"].reindex(daily.index).to_numpy()
    for col in ("ton", "usd", "adjusted_tokens"):
        daily[f"actual_cum_{col}"] = np.cumsum(daily[f"actual_{col}"].to_numpy(dtype=float))
    daily["expected_payout_ton"] = ledger["payout_ton"]
    daily["expected_cum_payout_ton"] = ledger["payout_ton"].cumsum()
    daily["expected_cum_earned_ton"] = ledger["earned_ton"].cumsum()
    daily["expected_usd"] = ledger["payout_ton"] * ledger["close_usd"]
    daily["expected_cum_usd"] = daily["expected_usd"].cumsum()
    daily["expected_adjusted_tokens"] = ledger["adjusted_tokens"]
    daily["expected_cum_adjusted_tokens"] = ledger["adjusted_tokens"].cumsum()

    days = len(daily)
    gpus = scenario.hardware.gpus
    full_load = daily_tokens_per_gpu(scenario.workload, scenario.network, utilisation=1.0).adjusted * gpus * days
    actual_ton = float(window["ton"].sum())
    actual_adjusted = float(window["adjusted_tokens"].astype("float64").sum())
    actual_usd = float(window["usd"].sum(min_count=1)) if len(window) and "usd" in window else 0.0
    if len(window) and window["usd"].isna().any():
        actual_usd = float("nan")
    expected_adjusted = float(ledger["adjusted_tokens"].sum())
    earned_usd = float((ledger["earned_ton"] * ledger["close_usd"]).sum())
    summary = {
        "scenario": scenario.name, "start": str(start), "end": str(end), "days": days, "gpus": gpus,
        "actual_payouts": int(len(window)), "actual_ton": actual_ton, "actual_usd": actual_usd,
        "actual_adjusted_tokens": actual_adjusted,
        "expected_payouts": int(ledger["payouts"].sum()),
        "expected_payout_ton": float(ledger["payout_ton"].sum()),
        "expected_earned_ton": float(ledger["earned_ton"].sum()),
        "expected_unpaid_ton_at_end": float(ledger["unpaid_ton"].iloc[-1]) if days else 0.0,
        "expected_usd": float(daily["expected_usd"].sum()),
        "expected_adjusted_tokens": expected_adjusted,
        "ton_actual_over_expected": _ratio(actual_ton, float(ledger["payout_ton"].sum())),
        "full_load_adjusted_tokens": float(full_load),
        "implied_utilisation": _ratio(actual_adjusted, full_load),
        "scenario_utilisation": scenario.workload.utilisation,
        "implied_nanoton_per_adjusted_token": _ratio(actual_ton * NANOTON_PER_TON, actual_adjusted),
        "scenario_nanoton_per_adjusted_token": _ratio(float(ledger["earned_ton"].sum()) * NANOTON_PER_TON,
                                                      expected_adjusted),
        "implied_usd_per_m_adjusted_tokens": _ratio(actual_usd * 1e6, actual_adjusted),
        "scenario_usd_per_m_adjusted_tokens": _ratio(earned_usd * 1e6, expected_adjusted),
    }
    return Reconciliation(daily=daily, summary=summary)
