"""Calendar days without pandas: dates from what the readers hold, runs of days, the gaps in a series.

Here (not in :mod:`analysis.sources.common`, which re-exports them) so that the pandas-free readers
(:mod:`analysis.market.latest`) and the sources share one gap finder.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any


def as_date(value: Any) -> dt.date:
    """A :class:`datetime.date` from a date, a ``YYYY-MM-DD`` string or a Timestamp (a datetime)."""
    if isinstance(value, dt.datetime):   # pandas' Timestamp too
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def day_runs(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Group days into contiguous ``(first, last)`` runs, ascending."""
    ordered = sorted(set(days))
    runs: list[tuple[dt.date, dt.date]] = []
    for day in ordered:
        if runs and day == runs[-1][1] + dt.timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def find_gaps(index: Iterable[Any]) -> list[tuple[dt.date, dt.date]]:
    """Missing days strictly between the first and the last day of ``index``.

    Returns ``(first_missing, last_missing)`` runs, e.g. ``[(2024-03-10, 2024-03-11)]``.
    """
    days = sorted({as_date(d) for d in index})
    if len(days) < 2:
        return []
    present = set(days)
    missing = []
    day = days[0]
    while day < days[-1]:
        if day not in present:
            missing.append(day)
        day += dt.timedelta(days=1)
    return day_runs(missing)
