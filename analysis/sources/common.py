"""Helpers shared by the price and funding sources: UTC day arithmetic, tidy candle
frames (duplicates and still-open candles dropped), gap detection and funding intervals.

Conventions
-----------
- A *day* is a UTC calendar day, represented as a tz-naive ``pandas.Timestamp`` at midnight
  (the index of a daily frame is named ``date``).
- A daily candle is *open* (still forming) when its day is today (UTC) or later; open
  candles are dropped, never stored.
- Daily price frames have the columns ``open, high, low, close, volume`` (float; NaN where a
  source does not report the field). ``volume`` is in units of the base asset (TON).
- Funding frames have the columns ``time`` (tz-aware UTC), ``rate`` (fraction per funding
  interval), ``interval_hours`` and ``source``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from analysis.core.days import as_date, day_runs, find_gaps  # noqa: F401 - re-exported
from analysis.core.errors import FetchError
from analysis.core.progress import progress_bar

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
PRICE_FIELDS = ("open", "high", "low", "close", "volume")
FUNDING_FIELDS = ("time", "rate", "interval_hours", "source")


def utc_now() -> dt.datetime:
    """The current time, tz-aware UTC."""
    return dt.datetime.now(dt.UTC)


def as_utc(now: dt.datetime | None) -> dt.datetime:
    """``now`` (default: the current time) as a tz-aware UTC datetime."""
    if now is None:
        return utc_now()
    if now.tzinfo is None:
        return now.replace(tzinfo=dt.UTC)
    return now.astimezone(dt.UTC)


def today_utc(now: dt.datetime | None = None) -> dt.date:
    """Today's UTC date (for ``now``, default the current time)."""
    return as_utc(now).date()


def day_start_ms(day: dt.date) -> int:
    """Milliseconds since the epoch at 00:00 UTC of ``day``."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()) * 1000


def ms_to_day(ms: int | float) -> dt.date:
    """The UTC day containing the instant ``ms`` (milliseconds since the epoch)."""
    return dt.datetime.fromtimestamp(int(ms) // 1000, tz=dt.UTC).date()


def iso_utc(moment: dt.datetime) -> str:
    """``2025-01-02T03:04:05Z``."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_float(value: Any) -> float:
    """A float from an API number or numeric string ('' and None become NaN)."""
    if value is None or value == "":
        return float("nan")
    return float(value)


def ms_candle_row(candle: Any) -> tuple[dt.date, float, float, float, float, float]:
    """``(day, open, high, low, close, volume)`` of a candle ``[open time in ms, o, h, l, c, v, ...]``
    as Binance, OKX and Bybit send it (numbers or numeric strings)."""
    return (ms_to_day(int(candle[0])), to_float(candle[1]), to_float(candle[2]), to_float(candle[3]),
            to_float(candle[4]), to_float(candle[5]))


def walk_oldest_first(fetch_page: Callable[[int], Any], *, source: str, what: str, first_cursor: int, stop: int,
                      next_cursor: Callable[[Any], int], limit: int, max_pages: int, desc: str,
                      total: int | None = None) -> tuple[list, int]:
    """Page an oldest-first history forwards (Binance): ``(records, pages)``.

    ``fetch_page(cursor)`` returns the JSON array of records from ``cursor`` (ms) on;
    ``next_cursor(last record)`` is where the next page starts. Stops past ``stop``, at an empty
    or short page, or when the cursor would not move; ``what`` names a record in errors.
    """
    rows: list = []
    cursor, pages = first_cursor, 0
    with progress_bar(desc, total=total) as bar:
        while cursor <= stop:
            page = fetch_page(cursor)
            pages += 1
            bar.update(1)
            if not isinstance(page, list):
                raise FetchError(f"{source}: expected a JSON array of {what}s, got {type(page).__name__}")
            if not page:
                break
            rows.extend(page)
            try:
                following = next_cursor(page[-1])
            except (IndexError, KeyError, TypeError, ValueError):
                raise FetchError(f"{source}: malformed {what} {page[-1]!r:.80}") from None
            if len(page) < limit or following <= cursor:  # the end, or no progress
                break
            cursor = following
            if pages >= max_pages:
                raise FetchError(f"{source}: more than {max_pages} pages; narrow the date range")
    return rows, pages


def walk_newest_first(fetch_page: Callable[[int], list], *, source: str, path: str, first_cursor: int,
                      floor_ms: int, time_of: Callable[[Any], Any], limit: int, max_pages: int,
                      desc: str) -> tuple[list, int]:
    """Page a newest-first history backwards (OKX, Bybit): ``(records, pages)``.

    ``fetch_page(cursor)`` returns the records strictly older than ``cursor`` (ms), newest
    first; the next cursor is the oldest time on the page. Stops at an empty or short page, at
    ``floor_ms``, or when the page does not move back.
    """
    rows: list = []
    cursor, pages = first_cursor, 0
    with progress_bar(desc) as bar:
        while True:
            page = fetch_page(cursor)
            pages += 1
            bar.update(1)
            if not page:
                break
            rows.extend(page)
            try:
                oldest = min(int(time_of(item)) for item in page)
            except (KeyError, IndexError, TypeError, ValueError):
                raise FetchError(f"{source}: malformed record in {path}") from None
            if oldest <= floor_ms or oldest >= cursor or len(page) < limit:
                break
            cursor = oldest
            if pages >= max_pages:
                raise FetchError(f"{source}: more than {max_pages} pages; narrow the date range")
    return rows, pages


def empty_daily() -> pd.DataFrame:
    """An empty daily price frame with the standard columns."""
    return pd.DataFrame({c: pd.Series(dtype=float) for c in PRICE_FIELDS},
                        index=pd.DatetimeIndex([], name="date"))


def tidy_daily(rows: list[tuple[dt.date, float, float, float, float, float]], *,
               now: dt.datetime | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """A tidy daily frame from ``(day, open, high, low, close, volume)`` rows.

    Sorted ascending; for a day given twice the *last* row wins (a later page is the
    fresher one); candles for today (UTC) or later are dropped as still open.

    Returns
    -------
    (frame, counts) where counts has ``duplicates`` and ``open_dropped``.
    """
    if not rows:
        return empty_daily(), {"duplicates": 0, "open_dropped": 0}
    frame = pd.DataFrame(rows, columns=["date", *PRICE_FIELDS])
    frame["date"] = pd.to_datetime(frame["date"])
    for col in PRICE_FIELDS:
        frame[col] = frame[col].astype(float)
    duplicated = frame["date"].duplicated(keep="last")
    frame = frame[~duplicated]
    cutoff = pd.Timestamp(today_utc(now))
    is_open = frame["date"] >= cutoff
    frame = frame[~is_open].set_index("date").sort_index()
    frame.index = pd.DatetimeIndex(frame.index, name="date")
    return frame, {"duplicates": int(duplicated.sum()), "open_dropped": int(is_open.sum())}


def trim_days(frame: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Rows of a daily frame with ``start <= date <= end``."""
    return frame.loc[(frame.index >= pd.Timestamp(start)) & (frame.index <= pd.Timestamp(end))]


def format_runs(runs: list[tuple[dt.date, dt.date]], limit: int = 5) -> str:
    """``2024-03-10..2024-03-11, 2024-04-02`` (``none`` when empty; at most ``limit`` shown)."""
    if not runs:
        return "none"
    shown = [a.isoformat() if a == b else f"{a.isoformat()}..{b.isoformat()}" for a, b in runs[:limit]]
    days = sum((b - a).days + 1 for a, b in runs)
    more = f" and {len(runs) - limit} more" if len(runs) > limit else ""
    return f"{days} day{'s' if days != 1 else ''} ({', '.join(shown)}{more})"


def funding_intervals(times_ms: np.ndarray) -> tuple[np.ndarray, int]:
    """Funding interval in hours for each event of an ascending, contiguous history.

    The interval of an event is the time since the previous event (the period its rate
    covers), rounded to the hour (exchange timestamps carry a few ms of jitter). The first
    event takes the interval to the next one. Where the time since the previous event is a
    whole multiple (2x or more) of the interval on *both* sides, events are missing there:
    the neighbouring interval is used and the hole is counted. A genuine change of
    interval (e.g. 8 h then 4 h) differs on the two sides and is kept. Intervals are never
    assumed (Binance TONUSDT funds every 4 h, most contracts every 8 h).

    Returns
    -------
    (hours, missing_events)
    """
    times = np.asarray(times_ms, dtype=np.int64)
    n = len(times)
    if n == 0:
        return np.array([], dtype=float), 0
    if n == 1:
        return np.array([np.nan]), 0
    diffs = np.round(np.diff(times) / HOUR_MS).astype(float)  # diffs[i] = t[i+1] - t[i]
    hours = np.empty(n)
    hours[0] = diffs[0]
    hours[1:] = diffs
    missing = 0
    for i in range(1, n):
        before = hours[i - 1] if i >= 2 else np.nan
        after = diffs[i] if i < n - 1 else np.nan
        here = diffs[i - 1]
        sides = [s for s in (before, after) if not np.isnan(s) and s > 0]
        if not sides or len(set(sides)) != 1:
            continue
        step = sides[0]
        ratio = here / step
        if ratio >= 2 and abs(ratio - round(ratio)) < 1e-9:
            hours[i] = step
            missing += int(round(ratio)) - 1
    return hours, missing


def tidy_funding(times_ms: list[int], rates: list[float], source: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """A tidy funding frame (``time, rate, interval_hours, source``) from raw events.

    Times are rounded to the second; duplicate times keep the last; sorted ascending;
    ``interval_hours`` from :func:`funding_intervals`.
    """
    if not times_ms:
        frame = pd.DataFrame({"time": pd.Series(dtype="datetime64[ns, UTC]"),
                              "rate": pd.Series(dtype=float),
                              "interval_hours": pd.Series(dtype=float),
                              "source": pd.Series(dtype=object)})
        return frame, {"duplicates": 0, "missing_events": 0}
    # Exchange timestamps carry a few ms of jitter (Binance: ...800002); a funding event is
    # identified by its second, which also makes stored and fresh rows merge cleanly.
    ms = (np.asarray(times_ms, dtype=np.int64) + 500) // 1000 * 1000
    raw = pd.DataFrame({"ms": ms, "rate": np.asarray(rates, dtype=float)})
    duplicated = raw["ms"].duplicated(keep="last")
    raw = raw[~duplicated].sort_values("ms").reset_index(drop=True)
    hours, missing = funding_intervals(raw["ms"].to_numpy())
    frame = pd.DataFrame({
        "time": pd.to_datetime(raw["ms"], unit="ms", utc=True),
        "rate": raw["rate"].to_numpy(),
        "interval_hours": hours,
        "source": source,
    })
    return frame, {"duplicates": int(duplicated.sum()), "missing_events": missing}

