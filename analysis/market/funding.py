"""TON perpetual funding history: payments, daily totals, and the daily rates a hedge pays.

Sources: the vendored Binance TONUSDT payments (``data/reference/ton_funding_binance.csv``:
2024-03-01 .. 2024-04-25 and 2026-02-14 .. 2026-03-20) and any
cached venue files ``cache_dir()/funding/<source>.csv`` (columns ``time,rate,interval_hours,
source``) written by ``cocoon-econ fetch funding``. Undated snapshots across venues
(``data/reference/ton_funding_readings.csv``, :func:`funding_readings`) are not daily records; the
report prices the hedge at them as fixed rates.

Only recorded days are "historical": a day without a record takes an explicit fallback rate
(``[treasury] funding_rate_annual``, default 0), never the mean of the record (docs/risk.md).

Sign convention (Binance, OKX, Bybit): a positive rate means longs pay shorts, so a short
hedge RECEIVES ``rate x notional`` per payment. Annualised with 365 days.

pandas is imported only by the functions that build frames: ``cocoon-econ simulate`` reads the
record with :func:`plain_daily_funding` (:mod:`analysis.core.plaincsv`, numpy arrays) instead, as
:func:`daily_funding` of :func:`read_funding` would give it, since importing pandas was about 0.3 s of
a CLI run (issue 20); tests/test_simulate_plain.py holds the two equal.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, overload

import numpy as np

from analysis.core import plaincsv
from analysis.core.errors import DataError, InputError
from analysis.core.plaincsv import NotPlain
from analysis.core.resources import reference_path
from analysis.core.units import DAYS_PER_YEAR
from analysis.market.paths import cache_dir as default_cache_dir

if TYPE_CHECKING:
    import pandas as pd

VENDORED_FILE = "ton_funding_binance.csv"
VENDORED_SOURCE = "binance"
READINGS_FILE = "ton_funding_readings.csv"

COLUMNS = ["time", "rate", "interval_hours", "source"]


def read_funding(cache_dir: str | Path | None = None) -> pd.DataFrame:
    """Every known TON funding payment: vendored Binance history plus cached venue files.

    Returns
    -------
    DataFrame with ``time`` (UTC), ``rate`` (fraction per payment), ``interval_hours``,
    ``source`` (venue key: the cache file's stem, ``binance`` for the vendored file), one row
    per (source, time); a cached row wins over a vendored one at the same time.
    """
    import pandas as pd

    from analysis.market.store import read_funding_csv

    # One reader for every funding file (analysis.market.store.read_funding_csv); the venue key is
    # the file's: "binance" for the vendored history, the stem of a cached file.
    frames = [read_funding_csv(path).assign(source=source) for source, path in funding_files(cache_dir)]
    payments = pd.concat(frames, ignore_index=True)
    payments = payments.drop_duplicates(subset=["source", "time"], keep="last")
    return payments.sort_values(["time", "source"]).reset_index(drop=True)[COLUMNS]


def funding_files(cache_dir: str | Path | None = None) -> list[tuple[str, Path]]:
    """``(venue key, path)`` of every funding file, in :func:`read_funding`'s order (a later one wins
    a payment both have): the vendored Binance history, then the cached files by name."""
    files = [(VENDORED_SOURCE, reference_path(VENDORED_FILE))]
    folder = default_cache_dir(cache_dir) / "funding"
    if folder.is_dir():
        files += [(path.stem, path) for path in sorted(folder.glob("*.csv"))]
    return files


def daily_funding(payments: pd.DataFrame) -> pd.DataFrame:
    """Funding per UTC day (what a short earns per unit of notional that day).

    Per source and day, ``sum(rate) * 24 / sum(interval_hours)``: the sum of the day's payments
    when all of them are present (e.g. six 4-hour payments), scaled up when some are missing.
    Days with several sources take the mean over sources.

    Returns
    -------
    DataFrame indexed by ``date`` with ``rate_per_day``, ``hours_covered`` (mean over sources) and
    ``sources`` (comma-joined).
    """
    import pandas as pd

    if payments.empty:
        return pd.DataFrame(columns=["rate_per_day", "hours_covered", "sources"],
                            index=pd.DatetimeIndex([], name="date"))
    day = payments["time"].dt.tz_convert("UTC").dt.tz_localize(None).dt.floor("D")
    # the arithmetic is daily_of's, which the pandas-free route (plain_daily_funding) calls too
    return daily_of(day.to_numpy().astype("datetime64[D]"), [str(v) for v in payments["source"]],
                    payments["rate"].to_numpy(dtype=float),
                    payments["interval_hours"].to_numpy(dtype=float)).to_frame()


@overload
def annualised(rate_per_day: float) -> float: ...
@overload
def annualised(rate_per_day: np.ndarray) -> np.ndarray: ...
def annualised(rate_per_day: float | np.ndarray) -> float | np.ndarray:
    """Daily funding as a fraction per 365-day year (simple, not compounded)."""
    return rate_per_day * DAYS_PER_YEAR


def historical_mean_rate_per_day(daily: pd.DataFrame | PlainFunding) -> float:
    """The mean daily funding over every day on record (shown for context; never used to fill days)."""
    rates = record_rates(daily)
    if not len(rates):
        raise DataError("funding history is empty; run cocoon-econ fetch funding or give "
                        "[treasury] funding = \"fixed\" with funding_rate_annual")
    # np.mean: what pandas' Series.mean computes without bottleneck (the sum / count; a test checks)
    return float(np.mean(rates))


def record_rates(daily: pd.DataFrame | PlainFunding) -> np.ndarray:
    """The ``rate_per_day`` of every recorded day of a :func:`daily_funding` frame or :class:`PlainFunding`."""
    if isinstance(daily, PlainFunding):
        return daily.rate_per_day
    return daily["rate_per_day"].to_numpy(dtype=float)


def funding_rates_per_day(funding_rate_annual: float | str, horizon_days: int,
                          dates: pd.DatetimeIndex | np.ndarray | None = None,
                          daily: pd.DataFrame | PlainFunding | None = None,
                          cache_dir: str | Path | None = None,
                          fallback_rate_annual: float = 0.0) -> np.ndarray:
    """The funding a short receives per unit notional on each day of the horizon.

    Parameters
    ----------
    funding_rate_annual : a number (fraction per year, e.g. ``-0.07``: every day) or ``"historical"``.
    horizon_days : D.
    dates : the UTC days 1..D of the path(s): a DatetimeIndex of D days, or a
        ``[paths, D]`` array of ``datetime64[D]`` (rolling paths each have their own days).
        With ``"historical"``, days on record get their recorded funding and every other day
        ``fallback_rate_annual``; without dates (random paths) every day gets the fallback.
    daily : :func:`daily_funding` output (read from the data when omitted).
    fallback_rate_annual : the rate of days without a record (``[treasury] funding_rate_annual``).

    Returns
    -------
    ``[D]`` (or ``[paths, D]`` with per-path dates) float64 fractions per day.
    """
    fallback = _rate(fallback_rate_annual) / DAYS_PER_YEAR
    if isinstance(funding_rate_annual, str):
        if funding_rate_annual != "historical":
            raise InputError(f"[treasury] funding_rate_annual = {funding_rate_annual!r}; use a number "
                             "(fraction per year) or \"historical\"")
        if dates is None:
            return np.full(horizon_days, fallback)
        if daily is None:
            daily = daily_funding(read_funding(cache_dir))
        flat = recorded_on(daily, dates)
        return np.where(np.isnan(flat), fallback, flat)
    return np.full(horizon_days, _rate(funding_rate_annual) / DAYS_PER_YEAR)


def recorded_on(daily: pd.DataFrame | PlainFunding, dates: pd.DatetimeIndex | np.ndarray) -> np.ndarray:
    """The recorded daily funding on each of ``dates`` (any shape of ``datetime64[D]``), NaN where none."""
    import pandas as pd

    days = np.asarray(dates, dtype="datetime64[D]")
    if isinstance(daily, PlainFunding):
        daily = daily.to_frame()
    known = pd.Series(daily["rate_per_day"].to_numpy(dtype=float), index=daily.index.to_numpy().astype("datetime64[D]"))
    return known.reindex(days.ravel()).to_numpy().reshape(days.shape)


def joint_returns_and_funding(closes: pd.Series, daily: pd.DataFrame) -> pd.DataFrame:
    """The days with both a TON log return (close of the day before -> close of the day) and a
    funding record: columns ``log_return``, ``rate_per_day``, indexed by day (what
    ``[treasury] funding = "bootstrap"`` resamples, day by day together)."""
    import pandas as pd

    series = closes.astype(float).sort_index()
    returns = pd.Series(np.diff(np.log(series.to_numpy())), index=series.index[1:])
    # only consecutive closes make a one-day return
    step = np.diff(series.index.to_numpy()).astype("timedelta64[D]").astype(int)
    returns = returns[step == 1]
    frame = pd.DataFrame({"log_return": returns}).join(daily["rate_per_day"], how="inner")
    return frame.dropna()


def funding_readings() -> pd.DataFrame:
    """The vendored cross-venue funding readings (``data/reference/ton_funding_readings.csv``), with
    ``annualised`` as a number where the source gives one (per-8h rates x 1095)."""
    import pandas as pd

    frame = pd.read_csv(reference_path(READINGS_FILE))
    frame["annualised"] = pd.to_numeric(frame["annualised"].astype(str).str.extract(r"^\s*(-?[0-9.]+)")[0],
                                        errors="coerce")
    return frame


def _rate(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise InputError(f"[treasury] funding_rate_annual = {value!r} must be a finite number (fraction per year)")
    return float(value)


# --------------------------------------------------------------------------- without pandas (issue 20)


@dataclass(frozen=True, eq=False)   # eq: arrays do not compare to one bool
class PlainFunding:
    """:func:`daily_funding` of :func:`read_funding` as arrays, one entry per recorded UTC day:
    ``days`` (``datetime64[D]``, ascending), ``rate_per_day``, ``hours_covered``, ``sources``."""

    days: np.ndarray
    rate_per_day: np.ndarray
    hours_covered: np.ndarray
    sources: tuple[str, ...]

    def __len__(self) -> int:   # recorded days, as len() of the frame
        return len(self.days)

    def to_frame(self) -> pd.DataFrame:
        """The :func:`daily_funding` frame of this record."""
        import pandas as pd

        return pd.DataFrame({"rate_per_day": self.rate_per_day, "hours_covered": self.hours_covered,
                             "sources": list(self.sources)},
                            index=pd.DatetimeIndex(self.days.astype("datetime64[us]"), name="date"))


# what funding_csv_text writes (and the vendored file holds): an instant in UTC to the second
_UTC_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})Z")


def plain_daily_funding(cache_dir: str | Path | None = None) -> PlainFunding:
    """:func:`daily_funding` of :func:`read_funding` from plain files, without pandas.

    The same rules: a later file wins a (venue, time) payment (the vendored file first, then the
    cached ones by name); per venue and UTC day ``sum(rate) * 24 / sum(interval_hours)``, the mean over
    venues of a day, by :func:`daily_of`, which :func:`daily_funding` calls too: the same bits as the
    frames. :class:`NotPlain` for a file this does not read as
    :func:`analysis.market.store.read_funding_csv` does (another time format, a missing or
    non-positive value: that reader gives its error).
    """
    payments: dict[tuple[str, int], tuple[float, float]] = {}
    for source, path in funding_files(cache_dir):
        for instant, rate, hours in _funding_rows(path):
            payments.pop((source, instant), None)    # keep="last", and the last one's place
            payments[(source, instant)] = (rate, hours)
    # read_funding's order: by time, then venue; groups by (UTC day, venue) in that order
    keys = sorted(payments, key=lambda k: (k[1], k[0]))
    if not keys:
        return PlainFunding(np.array([], dtype="datetime64[D]"), np.array([]), np.array([]), ())
    day = (np.array([k[1] for k in keys], dtype=np.int64) // 86_400).astype("datetime64[D]")
    return daily_of(day, [k[0] for k in keys], np.array([payments[k][0] for k in keys]),
                    np.array([payments[k][1] for k in keys]))


def daily_of(day: np.ndarray, source: list[str], rate: np.ndarray, hours: np.ndarray) -> PlainFunding:
    """:func:`daily_funding`'s arithmetic on arrays of payments (their UTC ``day``, venue, rate and
    interval hours, in the record's order): per (day, venue) group ``sum(rate) * 24 / sum(hours)``,
    then the mean over a day's venues. Both routes call it, so they give the same bits. A group's
    sums run over its payments in the record's order with :func:`numpy.add.reduceat` (what pandas
    3.1's ``groupby().sum()`` does when the groups are sorted, as one venue's record is); a missing
    ``interval_hours`` counts 0 hours, as the grouped sum skipping it did. Where several venues pay on
    the same days their groups interleave in the record, and pandas' grouped sum (which daily_funding
    used before) compensates its sums (Kahan): those days' rates can differ from it in the last bit."""
    if not len(day):
        return PlainFunding(np.array([], dtype="datetime64[D]"), np.array([]), np.array([]), ())
    venues = sorted(set(source))
    venue = np.searchsorted(np.array(venues, dtype=object), np.array(source, dtype=object))
    day_number = np.asarray(day, dtype="datetime64[D]").astype(np.int64)
    order = np.lexsort((venue, day_number))   # by day, then venue; the record's order inside a group (stable)
    day_number, venue = day_number[order], venue[order]
    starts = np.flatnonzero(np.r_[True, (np.diff(day_number) != 0) | (np.diff(venue) != 0)])
    rate_sum = np.add.reduceat(np.asarray(rate, dtype=float)[order], starts)
    hour_sum = np.add.reduceat(np.nan_to_num(np.asarray(hours, dtype=float)[order], nan=0.0), starts)
    with np.errstate(divide="ignore", invalid="ignore"):   # no hours on record: NaN (0/0) or inf, as pandas divides
        per_source = rate_sum * 24.0 / hour_sum
    group_day, group_venue = day_number[starts], venue[starts]
    day_starts = np.flatnonzero(np.r_[True, np.diff(group_day) != 0])
    count = np.diff(np.r_[day_starts, len(group_day)]).astype(np.float64)
    names = [",".join(venues[v] for v in part) for part in np.split(group_venue, day_starts[1:])]
    # the mean over a day's venues skips a NaN one, as pandas' mean did (NaN when every venue's is)
    known = ~np.isnan(per_source)
    known_count = np.add.reduceat(known.astype(np.float64), day_starts)
    with np.errstate(invalid="ignore"):
        rate_per_day = np.add.reduceat(np.where(known, per_source, 0.0), day_starts) / known_count
    return PlainFunding(group_day[day_starts].astype("datetime64[D]"), rate_per_day,
                        np.add.reduceat(hour_sum, day_starts) / count, tuple(names))


def _funding_rows(path: Path) -> list[tuple[int, float, float]]:
    """(UTC seconds, rate, interval_hours) of a plain funding file, in the file's order sorted by time
    (stable, as read_funding_csv sorts it)."""
    at, rows = plaincsv.table(path, ("time", "rate", "interval_hours"))
    if "source" not in at and "venue" not in at:
        raise NotPlain(f"{path}: no source column")   # read_funding_csv names it
    out = []
    for row in rows:
        match = _UTC_TIME.fullmatch(row[at["time"]])
        if not match:
            raise NotPlain(row[at["time"]])
        day = plaincsv.day(match[1])
        hh, mm, ss = int(match[2]), int(match[3]), int(match[4])
        if hh > 23 or mm > 59 or ss > 59:
            raise NotPlain(row[at["time"]])
        instant = (day - dt.date(1970, 1, 1)).days * 86_400 + hh * 3600 + mm * 60 + ss
        rate = plaincsv.number(row[at["rate"]], blank_ok=False)
        hours = plaincsv.number(row[at["interval_hours"]], blank_ok=False)
        if not hours > 0:
            raise NotPlain(f"{path}: interval_hours {hours}")
        out.append((instant, rate, hours))
    out.sort(key=lambda r: r[0])
    return out
