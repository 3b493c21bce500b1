"""Outcome metrics of a treasury policy across price paths.

Per path (:func:`path_outcomes`, one scan over days of the ``position_usd`` array):

- ``net_usd``: the horizon's result (see :mod:`analysis.sim.strategies`);
- ``payback_day``: the first day 1..D on which the position -- cash plus everything held,
  liquidated at that day's close -- is back to zero or more, i.e. the capex has been earned
  back (NaN when it never is; the rule of :func:`analysis.econ.metrics.payback_days`);
- ``max_drawdown_usd``: the worst fall of that cumulative position from its running peak;
- for the perp hedge (0 / NaN for the other policies): ``peak_collateral_usd``, the most collateral
  its margin account held; ``cost_of_capital_usd``, what that collateral cost over the horizon
  (already in ``net_usd``); ``liquidation_day``, the day the short was cut (NaN: never).

Across paths (:func:`summarise`): mean, median, P5 and P95 of ``net_usd``, the probability of a
loss (``net_usd < 0``) and of payback within the horizon, CVaR at 5 % (the mean of the worst 5 %
of outcomes), the drawdown distribution, the days-to-payback distribution, and the perp's peak
collateral, cost of capital and probability of liquidation.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

CVAR_LEVEL = 0.05
FAN_PERCENTILES = (5, 25, 50, 75, 95)


_MARGIN_FIELDS = ("peak_collateral_usd", "cost_of_capital_usd", "liquidation_day")


@dataclass(frozen=True)
class PathOutcomes:
    """One policy's per-path outcomes (all ``[P]``; the margin fields None when not computed)."""

    net_usd: np.ndarray
    payback_day: np.ndarray
    max_drawdown_usd: np.ndarray
    peak_collateral_usd: np.ndarray | None = None
    cost_of_capital_usd: np.ndarray | None = None
    liquidation_day: np.ndarray | None = None

    @property
    def n_paths(self) -> int:
        return int(self.net_usd.shape[0])

    @staticmethod
    def concat(parts: list[PathOutcomes]) -> PathOutcomes:
        fields = {name: np.concatenate([getattr(p, name) for p in parts])
                  for name in ("net_usd", "payback_day", "max_drawdown_usd")}
        for name in _MARGIN_FIELDS:
            if all(getattr(p, name) is not None for p in parts):
                fields[name] = np.concatenate([getattr(p, name) for p in parts])
        return PathOutcomes(**fields)


def path_outcomes(position_usd: np.ndarray, net_usd: np.ndarray) -> PathOutcomes:
    """Payback day and worst drawdown of each path of ``position_usd [P, D+1]``."""
    days = np.asarray(position_usd, dtype=float).T  # day-major view ([D+1, P], contiguous for strategy output)
    outcomes = scan_positions(iter(days), 0.0)
    return dataclasses.replace(outcomes, net_usd=np.asarray(net_usd, dtype=float))


def scan_positions(rows: Iterable[np.ndarray], hardware_end_usd: float = 0.0) -> PathOutcomes:
    """Per-path outcomes from a policy's position given one day at a time (days 0..D).

    ``rows`` are a policy's positions (``position_usd`` column by column, as
    :func:`analysis.sim.strategies.run_strategy` computes them): one ``[P]`` vector per day
    (a reused buffer is fine). One pass, a few vector operations per day over all paths;
    ``net_usd`` is the last day's position plus ``hardware_end_usd``.
    """
    rows = iter(rows)
    start = np.array(next(rows), dtype=float)
    n = start.shape[0]
    peak = start.copy()          # running max from day 0 (drawdown)
    # Payback looks at days 1..D. When every path starts below zero (capex or fees paid on day 0),
    # the running max from day 0 is below zero exactly when the one from day 1 is.
    exact = bool(np.any(start >= 0))
    peak_after = np.full(n, -np.inf) if exact else peak
    drawdown = np.zeros(n)
    below = np.zeros(n)          # days on which the position has not yet been >= 0
    fall = np.empty(n)
    negative = np.empty(n, dtype=bool)
    last = start
    days = 0
    all_below = 0                # days on which no path had paid back yet (counted once for all)
    for row in rows:
        days += 1
        np.maximum(peak, row, out=peak)
        np.subtract(peak, row, out=fall)
        np.maximum(drawdown, fall, out=drawdown)
        if exact:
            np.maximum(peak_after, row, out=peak_after)
        if peak_after.max() < 0:
            all_below += 1
        else:
            np.less(peak_after, 0.0, out=negative)
            below += negative
        last = row
    below += all_below
    payback = np.where(below < days, below + 1.0, np.nan)
    return PathOutcomes(net_usd=np.asarray(last, dtype=float) + hardware_end_usd, payback_day=payback,
                        max_drawdown_usd=drawdown)


def cvar(values: np.ndarray, level: float = CVAR_LEVEL) -> float:
    """Mean of the worst ``level`` fraction of ``values`` (at least one value)."""
    values = np.asarray(values, dtype=float)
    k = max(1, int(math.ceil(level * values.size)))
    return float(np.mean(np.partition(values, k - 1)[:k]))


def summarise(outcomes: PathOutcomes) -> dict[str, float | int | None]:
    """The metrics of one policy across paths, as plain numbers (None when undefined).

    Keys: ``mean_usd, p5_usd, p50_usd, p95_usd, prob_loss, prob_payback, cvar5_usd,
    drawdown_p50_usd, drawdown_p95_usd, drawdown_worst_usd, payback_days_p5, payback_days_p50,
    payback_days_p95, peak_collateral_p50_usd, peak_collateral_p95_usd, peak_collateral_max_usd,
    cost_of_capital_mean_usd, prob_liquidation, paths`` (the margin figures 0 for policies without
    collateral).
    """
    net = outcomes.net_usd
    p5, p50, p95 = np.percentile(net, [5, 50, 95])
    dd = np.percentile(outcomes.max_drawdown_usd, [50, 95])
    paid = outcomes.payback_day[~np.isnan(outcomes.payback_day)]
    days = np.percentile(paid, [5, 50, 95]) if paid.size else [None, None, None]
    return {
        "mean_usd": float(np.mean(net)),
        "p5_usd": float(p5),
        "p50_usd": float(p50),
        "p95_usd": float(p95),
        "prob_loss": float(np.mean(net < 0)),
        "prob_payback": float(paid.size / net.size),
        "cvar5_usd": cvar(net),
        "drawdown_p50_usd": float(dd[0]),
        "drawdown_p95_usd": float(dd[1]),
        "drawdown_worst_usd": float(np.max(outcomes.max_drawdown_usd)),
        "payback_days_p5": None if days[0] is None else float(days[0]),
        "payback_days_p50": None if days[1] is None else float(days[1]),
        "payback_days_p95": None if days[2] is None else float(days[2]),
        **_margin_summary(outcomes),
        "paths": int(net.size),
    }


def _margin_summary(outcomes: PathOutcomes) -> dict[str, float]:
    n = outcomes.net_usd.size
    peak = outcomes.peak_collateral_usd if outcomes.peak_collateral_usd is not None else np.zeros(n)
    cost = outcomes.cost_of_capital_usd if outcomes.cost_of_capital_usd is not None else np.zeros(n)
    cut = (~np.isnan(outcomes.liquidation_day)) if outcomes.liquidation_day is not None else np.zeros(n, dtype=bool)
    if np.any(peak):
        p50, p95 = np.percentile(peak, [50, 95])
        top = np.max(peak)
    else:   # no collateral (every policy but the perp): percentiles of zeros are 0, without a partition
        p50 = p95 = top = 0.0
    return {"peak_collateral_p50_usd": float(p50), "peak_collateral_p95_usd": float(p95),
            "peak_collateral_max_usd": float(top), "cost_of_capital_mean_usd": float(np.mean(cost)),
            "prob_liquidation": float(np.mean(cut))}


def fan(position_usd: np.ndarray, percentiles: tuple[int, ...] = FAN_PERCENTILES) -> np.ndarray:
    """Percentiles across paths of the cumulative position on each day: ``[len(percentiles), D+1]``."""
    # Along the contiguous axis (days x paths): the same numbers, partitioned without strides.
    by_day = np.ascontiguousarray(np.asarray(position_usd, dtype=float).T)
    return np.percentile(by_day, percentiles, axis=1)
