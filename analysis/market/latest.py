"""The latest daily USD close of TON or RENDER, read with :mod:`csv` instead of pandas.

``cocoon-econ breakeven`` needs one number of the canonical close series (the newest day's
close, its day and origin) and the day of that close for the staleness warning; importing
pandas for it took half of the command's start-up (issue 20). This module reads the embedded
snapshot and the cached price files with :mod:`csv` and applies the rules of
:func:`analysis.market.prices.daily_closes`: a day comes from the cache where a cached source
has a close for it (sources in the order of :data:`PRICE_SOURCE_ORDER`), else from the
snapshot; the origin is ``snapshot``, ``cache`` or ``cache+snapshot`` and the day's source.

Only plain files are read here: dates ``YYYY-MM-DD``, decimal numbers or blanks, each row as
long as the header, no duplicate day, every close positive and finite. Anything else (a
damaged cache file, a value pandas reads as missing such as ``NA``, a non-USD currency) goes
the pandas route, :func:`analysis.market.prices.daily_closes`, so the numbers and the error
messages are the ones it gives. tests/test_latest_close.py compares both routes.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
import re
from pathlib import Path
from typing import NamedTuple

from analysis.core.resources import SNAPSHOT_DIR
from analysis.market.paths import price_cache_path

SNAPSHOT_FILES = {"ton": "ton_usd_daily_close.csv", "render": "render_usd_daily_close.csv"}
#: The cached price sources in the canonical series' order of preference (the keys of
#: :data:`analysis.market.prices.PRICE_SOURCES`; a test keeps the two equal).
PRICE_SOURCE_ORDER = ("binance", "okx", "kraken", "coingecko", "bybit", "binance-futures")
#: A latest close older than this many days is reported on stderr by every command using it.
STALE_AFTER_DAYS = 7

#: What pandas' ``read_csv`` reads as missing by default (``pandas._libs.parsers.STR_NA_VALUES``;
#: a test keeps them equal): a field with one of these is left to the pandas route.
PANDAS_NA_TEXT = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                            "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_CACHE_NUMBERS = ("open", "high", "low", "close", "volume")


class LatestClose(NamedTuple):
    """The newest daily close of an asset and where it came from."""

    close_usd: float
    day: dt.date
    origin: str  # e.g. "snapshot, binance" -- the canonical series' origin and the day's source


class _NotPlain(Exception):
    """A file this reader does not parse exactly as pandas would: the pandas route reads it."""


def latest_close(asset: str = "ton", cache_dir: str | os.PathLike[str] | None = None,
                 currency: str = "USD") -> LatestClose:
    """The latest canonical daily close of ``asset`` (``"ton"``/``"render"``), its UTC day and origin.

    ``currency`` other than USD: the latest close that has an ECB rate, in that currency
    (``close_usd`` then holds TON/``currency``; see :func:`analysis.market.fx.convert_closes`).
    """
    if currency == "USD":
        try:
            return _light_latest(asset, cache_dir)
        except _NotPlain:
            pass
    from analysis.market.prices import daily_closes, latest_of

    return latest_of(daily_closes(asset, cache_dir=None if cache_dir is None else str(cache_dir), currency=currency))


def last_close_day(asset: str = "ton", cache_dir: str | os.PathLike[str] | None = None) -> dt.date | None:
    """The day of the latest canonical USD close of ``asset`` (None when there is none)."""
    try:
        return _light_latest(asset, cache_dir).day
    except _NotPlain:
        pass
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


# --------------------------------------------------------------------------- the plain-file reader


def _light_latest(asset: str, cache_dir: str | os.PathLike[str] | None) -> LatestClose:
    """:func:`latest_close` in USD from plain files; :class:`_NotPlain` for anything else."""
    if asset not in SNAPSHOT_FILES:
        raise _NotPlain(asset)   # the pandas route names the unknown asset
    taken: dict[dt.date, tuple[float, str]] = {}
    for source in PRICE_SOURCE_ORDER:
        path = price_cache_path(asset, source, cache_dir)
        if path.exists():
            for day, close, venue in _cache_rows(path):
                if day not in taken and not math.isnan(close):
                    taken[day] = (close, venue)
    snapshot = _snapshot_rows(SNAPSHOT_DIR / SNAPSHOT_FILES[asset])
    rest = {day: value for day, value in snapshot.items() if day not in taken}
    if not taken and not rest:
        raise _NotPlain("no closes")
    origin = "snapshot" if not taken else ("cache" if not rest else "cache+snapshot")
    day = max((*taken, *rest))
    close, venue = taken[day] if day in taken else rest[day]
    return LatestClose(close, day, ", ".join(x for x in (origin, venue) if x))


def _table(path: Path, columns: tuple[str, ...]) -> tuple[dict[str, int], list[list[str]]]:
    """The header's column positions and the rows of a plain CSV (blank lines skipped, as pandas does)."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.reader(handle) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise _NotPlain(str(exc)) from None
    if not rows:
        raise _NotPlain("empty")
    header = rows[0]
    if header[0].startswith("\ufeff") or len(set(header)) != len(header) or set(columns) - set(header):
        raise _NotPlain("header")
    if any(len(row) != len(header) for row in rows[1:]):
        raise _NotPlain("ragged")
    return {name: i for i, name in enumerate(header)}, rows[1:]


def _day(text: str) -> dt.date:
    if not _DAY.fullmatch(text):
        raise _NotPlain(text)
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _NotPlain(text) from None


def _number(text: str, *, blank_ok: bool) -> float:
    """A decimal number as pandas reads it (both round correctly); a blank is NaN where allowed."""
    if text == "" and blank_ok:
        return math.nan
    if not _NUMBER.fullmatch(text):
        raise _NotPlain(text)
    value = float(text)
    if not math.isfinite(value):
        raise _NotPlain(text)   # an overflowing literal such as 1e999
    return value


def _cache_rows(path: Path) -> list[tuple[dt.date, float, str]]:
    """(day, close, source) of a cached price file; NaN for a blank close."""
    at, rows = _table(path, ("date", *_CACHE_NUMBERS, "source"))
    out, seen = [], set()
    for row in rows:
        day = _day(row[at["date"]])
        values = {name: _number(row[at[name]], blank_ok=True) for name in _CACHE_NUMBERS}
        close, venue = values["close"], row[at["source"]]
        if day in seen or venue in PANDAS_NA_TEXT - {""} or not (math.isnan(close) or close > 0):
            raise _NotPlain(f"{path}: {day}")   # duplicate day, a source pandas reads as missing, a bad close
        seen.add(day)
        out.append((day, close, venue))
    return out


def _snapshot_rows(path: Path) -> dict[dt.date, tuple[float, str]]:
    """{day: (close, venue)} of an embedded snapshot file."""
    at, rows = _table(path, ("date", "close_usd", "venue"))
    out: dict[dt.date, tuple[float, str]] = {}
    for row in rows:
        day, venue = _day(row[at["date"]]), row[at["venue"]]
        if day in out or venue in PANDAS_NA_TEXT:
            raise _NotPlain(f"{path}: {day}")
        out[day] = (_number(row[at["close_usd"]], blank_ok=False), venue)
    return out
