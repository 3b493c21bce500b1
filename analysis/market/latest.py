"""The latest daily USD close of TON or RENDER, read with :mod:`csv` instead of pandas.

``cocoon-econ breakeven`` needs one number of the canonical close series (the newest day's
close, its day and origin) and the day of that close for the staleness warning; importing
pandas for it took half of the command's start-up (issue 20). This module reads the embedded
snapshot and the cached price files with :mod:`csv` and applies the rules of
:func:`analysis.market.prices.daily_closes`: a day comes from the cache where a cached source
has a close for it (sources in the order of :data:`PRICE_SOURCE_ORDER`), else from the
snapshot; the origin is ``snapshot``, ``cache`` or ``cache+snapshot`` and the day's source.

In another currency it is the last close :func:`analysis.market.fx.convert_closes` keeps, times
that day's rate (:mod:`analysis.market.currencies`).

Only plain files are read here (:mod:`analysis.core.plaincsv`), with no duplicate day and every
close positive and finite. Anything else (a damaged cache file, a value pandas reads as missing
such as ``NA``, a day without an ECB fixing) goes the pandas route,
:func:`analysis.market.prices.daily_closes`, so the numbers and the error messages are the ones
it gives. tests/test_latest_close.py compares both routes.

:func:`plain_daily_closes` is the whole canonical USD series from the same reader, as numpy arrays
(:class:`PlainCloses`): ``cocoon-econ simulate`` fits its random models on it without importing
pandas, about 0.3 s of a CLI run (issue 20; tests/test_simulate_plain.py).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from analysis.core import plaincsv
from analysis.core.days import find_gaps
from analysis.core.plaincsv import PANDAS_NA_TEXT, NotPlain
from analysis.core.resources import SNAPSHOT_DIR
from analysis.market.paths import price_cache_path

if TYPE_CHECKING:
    import pandas as pd

SNAPSHOT_FILES = {"ton": "ton_usd_daily_close.csv", "render": "render_usd_daily_close.csv"}
#: The cached price sources in the canonical series' order of preference (the keys of
#: :data:`analysis.market.prices.PRICE_SOURCES`; a test keeps the two equal).
PRICE_SOURCE_ORDER = ("binance", "okx", "kraken", "coingecko", "bybit", "binance-futures")
#: A latest close older than this many days is reported on stderr by every command using it.
STALE_AFTER_DAYS = 7

_CACHE_NUMBERS = ("open", "high", "low", "close", "volume")


class LatestClose(NamedTuple):
    """The newest daily close of an asset and where it came from."""

    close_usd: float
    day: dt.date
    origin: str  # e.g. "snapshot, binance" -- the canonical series' origin and the day's source


def latest_close(asset: str = "ton", cache_dir: str | os.PathLike[str] | None = None,
                 currency: str = "USD") -> LatestClose:
    """The latest canonical daily close of ``asset`` (``"ton"``/``"render"``), its UTC day and origin.

    ``currency`` other than USD: the latest close that has an ECB rate, in that currency
    (``close_usd`` then holds TON/``currency``; see :func:`analysis.market.fx.convert_closes`).
    """
    try:
        closes, origin = _light_series(asset, cache_dir)
        if currency == "USD":
            day = max(closes)
            close, venue, _ = closes[day]
        else:
            day, close, venue = _light_converted_last(closes, currency, cache_dir)
        return LatestClose(close, day, ", ".join(x for x in (origin, venue) if x))
    except NotPlain:
        from analysis.market.prices import daily_closes, latest_of

        return latest_of(daily_closes(asset, None if cache_dir is None else str(cache_dir), currency=currency))


def last_close_day(asset: str = "ton", cache_dir: str | os.PathLike[str] | None = None) -> dt.date | None:
    """The day of the latest canonical USD close of ``asset`` (None when there is none)."""
    try:
        return max(_light_series(asset, cache_dir)[0])
    except NotPlain:
        from analysis.market.prices import daily_closes

        closes = daily_closes(asset, None if cache_dir is None else str(cache_dir))
        return None if closes.empty else closes.index[-1].date()


def stale_note(last: dt.date | None, asset: str = "ton", today: dt.date | None = None) -> str | None:
    """A warning when ``last`` (the latest close's day) is more than :data:`STALE_AFTER_DAYS` days
    before ``today`` (default: today in UTC); names the command that refreshes it. None when recent."""
    if last is None:
        return None
    age = ((today or dt.datetime.now(dt.UTC).date()) - last).days
    if age <= STALE_AFTER_DAYS:
        return None
    return (f"the latest {asset.upper()}/USD close is of {last}, {age} days old (more than {STALE_AFTER_DAYS}); "
            f"refresh it with 'cocoon-econ fetch prices --asset {asset} --source binance "
            f"--start {last + dt.timedelta(days=1)}'")


@dataclass(frozen=True, eq=False)   # eq: arrays do not compare to one bool
class PlainCloses:
    """The canonical daily USD closes of :func:`analysis.market.prices.daily_closes` as numpy arrays:
    ``days`` (``datetime64[D]``, ascending, unique), ``close_usd`` (float64), ``source`` (the venue of
    each day) and ``attrs`` (``origin``, ``days_by_origin``, ``gaps``: those of daily_closes)."""

    days: np.ndarray
    close_usd: np.ndarray
    source: tuple[str, ...]
    attrs: dict[str, Any]

    def __len__(self) -> int:   # the number of days, as len() of the frame
        return len(self.days)

    def to_frame(self) -> pd.DataFrame:
        """The :func:`~analysis.market.prices.daily_closes` frame of these closes (for the pandas routes)."""
        import pandas as pd

        frame = pd.DataFrame({"close_usd": self.close_usd, "source": list(self.source)},
                             index=pd.DatetimeIndex(self.days.astype("datetime64[us]"), name="date"))
        frame.attrs = {"origin": self.attrs["origin"], "days_by_origin": dict(self.attrs["days_by_origin"]),
                       "gaps": list(self.attrs["gaps"])}
        return frame


def plain_daily_closes(asset: str = "ton", cache_dir: str | os.PathLike[str] | None = None) -> PlainCloses:
    """The canonical USD series of ``asset`` read from plain files (:func:`_light_series`: the merge of
    :func:`analysis.market.prices.daily_closes`, cache sources in order, then the snapshot), as arrays;
    :class:`NotPlain` where the pandas route must read it."""
    closes, origin = _light_series(asset, cache_dir)
    ordered = sorted(closes)
    days = np.array(ordered, dtype="datetime64[D]")
    from_cache = sum(1 for v in closes.values() if v[2])
    attrs = {"origin": origin, "days_by_origin": {"cache": from_cache, "snapshot": len(ordered) - from_cache},
             "gaps": [(a.isoformat(), b.isoformat()) for a, b in find_gaps(ordered)]}
    return PlainCloses(days, np.array([closes[d][0] for d in ordered], dtype=np.float64),
                       tuple(closes[d][1] for d in ordered), attrs)


# --------------------------------------------------------------------------- the plain-file reader


def _light_series(asset: str, cache_dir: str | os.PathLike[str] | None
                  ) -> tuple[dict[dt.date, tuple[float, str, bool]], str]:
    """{day: (USD close, source, from the cache?)} of the canonical series from plain files, and its
    origin (``snapshot``, ``cache`` or ``cache+snapshot``); :class:`NotPlain` for anything else."""
    if asset not in SNAPSHOT_FILES:
        raise NotPlain(asset)   # the pandas route names the unknown asset
    taken: dict[dt.date, tuple[float, str, bool]] = {}
    for source in PRICE_SOURCE_ORDER:
        path = price_cache_path(asset, source, cache_dir)
        if path.exists():
            for day, close, venue in _cache_rows(path):
                if day not in taken and not math.isnan(close):
                    taken[day] = (close, venue, True)
    snapshot = _snapshot_rows(SNAPSHOT_DIR / SNAPSHOT_FILES[asset])
    rest = {day: (close, venue, False) for day, (close, venue) in snapshot.items() if day not in taken}
    if not taken and not rest:
        raise NotPlain("no closes")
    origin = "snapshot" if not taken else ("cache" if not rest else "cache+snapshot")
    return {**taken, **rest}, origin


def _light_converted_last(closes: dict[dt.date, tuple[float, str, bool]], currency: str,
                          cache_dir: str | os.PathLike[str] | None) -> tuple[dt.date, float, str]:
    """The last day of :func:`analysis.market.fx.convert_closes` of ``closes``: (day, close in
    ``currency``, source). The days after the last fixing + its allowed wait are cut; every day
    kept must have a fixing (convert_closes refuses the whole series otherwise: NotPlain)."""
    from analysis.market.currencies import check_currency, usd_rates

    code = check_currency(currency)
    rates = usd_rates(code, cache_dir)   # NotPlain for USD: not called with it
    kept = sorted(day for day in closes if day <= rates.last_day)
    if not kept:
        raise NotPlain("no close with an ECB rate")
    for day in kept:
        rates.on(day)
    day = kept[-1]
    close, venue, _ = closes[day]
    return day, close * rates.on(day), venue


def _cache_rows(path: Path) -> list[tuple[dt.date, float, str]]:
    """(day, close, source) of a cached price file; NaN for a blank close."""
    at, rows = plaincsv.table(path, ("date", *_CACHE_NUMBERS, "source"))
    out, seen = [], set()
    for row in rows:
        day = plaincsv.day(row[at["date"]])
        values = {name: plaincsv.number(row[at[name]], blank_ok=True) for name in _CACHE_NUMBERS}
        close, venue = values["close"], row[at["source"]]
        if day in seen or venue in PANDAS_NA_TEXT - {""} or not (math.isnan(close) or close > 0):
            raise NotPlain(f"{path}: {day}")   # duplicate day, a source pandas reads as missing, a bad close
        seen.add(day)
        out.append((day, close, venue))
    return out


def _snapshot_rows(path: Path) -> dict[dt.date, tuple[float, str]]:
    """{day: (close, venue)} of an embedded snapshot file."""
    at, rows = plaincsv.table(path, ("date", "close_usd", "venue"))
    out: dict[dt.date, tuple[float, str]] = {}
    for row in rows:
        day, venue = plaincsv.day(row[at["date"]]), row[at["venue"]]
        if day in out or venue in PANDAS_NA_TEXT:
            raise NotPlain(f"{path}: {day}")
        out[day] = (plaincsv.number(row[at["close_usd"]], blank_ok=False), venue)
    return out
