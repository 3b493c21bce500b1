"""The fiat currencies the toolkit knows (EUR and the columns of the embedded ECB rates), the
check of a currency code and the day's ECB rate, without pandas.

Every scenario parse checks ``[finance] currency`` (the header line of the ECB snapshot), and
``breakeven --currency EUR`` needs one rate and the latest close in EUR: reading them with
:mod:`csv` keeps ``cocoon-econ breakeven`` free of pandas and requests (issue 20).
:mod:`analysis.market.fx` re-exports the check and holds the series, the conversion of whole
close histories and the fetch; it is the reference these readers are tested against.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import functools
import os
from pathlib import Path
from typing import Any

from analysis.core import plaincsv
from analysis.core.errors import DataError, InputError
from analysis.core.plaincsv import NotPlain
from analysis.core.resources import SNAPSHOT_DIR
from analysis.market.paths import cache_dir

SNAPSHOT_FILE = "ecb_eurofxref_daily.csv"


@functools.lru_cache(maxsize=1)
def _snapshot_columns() -> tuple[str, ...]:
    """The currency columns of the ECB snapshot, in file order (its header without ``date``)."""
    path = SNAPSHOT_DIR / SNAPSHOT_FILE
    with path.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    if not header or header[0] != "date" or len(set(header)) != len(header):
        raise DataError(f"{path}: the header is not 'date,<currency>,...'; reinstall cocoon-econ")
    return tuple(header[1:])


def ecb_currencies() -> tuple[str, ...]:
    """The currencies this toolkit can convert to: EUR and those in the embedded ECB rates."""
    return ("EUR", *_snapshot_columns())


def check_currency(code: Any, field: str = "--currency") -> str:
    """``code`` as an upper-case ISO 4217 code the ECB publishes (or EUR, USD).

    Raises
    ------
    InputError
        One line naming ``field`` and the known codes.
    """
    if not isinstance(code, str) or not code.strip():
        raise InputError(f"{field} = {code!r} is not a currency code; use a three-letter code such as EUR")
    value = code.strip().upper()
    if value not in ecb_currencies():
        raise InputError(f"{field} = {code!r} is not an ECB reference currency; use one of "
                         f"{', '.join(sorted(ecb_currencies()))}")
    return value


# --------------------------------------------------------------------------- rates without pandas
# The rules of analysis.market.fx (docs/currency.md) for the few rates a command like breakeven
# needs: the cache's fixings where it has the day, else the snapshot's; USD -> X through the euro
# of the same fixing; a day takes the last fixing on or before it, at most MAX_STALE_DAYS back.
# Only the happy path is here: a file that is not plain or a day without a fixing raises NotPlain
# and the caller asks analysis.market.fx, which gives the number or the error it always gave.

#: Longest wait allowed from a UTC day back to the fixing it uses (the ECB calendar's longest).
MAX_STALE_DAYS = 4


class UsdRates:
    """Units of one currency per US dollar on each ECB fixing day, ascending (the pandas-free
    :func:`analysis.market.fx.usd_rates`)."""

    def __init__(self, days: list[dt.date], rates: list[float]) -> None:
        self.days, self.rates = days, rates

    def on(self, day: dt.date) -> float:
        """The rate of the last fixing on or before ``day``; :class:`NotPlain` when there is none
        within :data:`MAX_STALE_DAYS` (fx.daily_fx names the day and the fix)."""
        pos = bisect.bisect_right(self.days, day) - 1
        if pos < 0 or (day - self.days[pos]).days > MAX_STALE_DAYS:
            raise NotPlain(f"no fixing for {day}")
        return self.rates[pos]

    @property
    def last_day(self) -> dt.date:
        """The last UTC day a rate exists for (the last fixing + the allowed wait)."""
        if not self.days:
            raise NotPlain("no fixings")
        return self.days[-1] + dt.timedelta(days=MAX_STALE_DAYS)


def usd_rates(currency: str, cache_dir: str | os.PathLike[str] | None = None) -> UsdRates:
    """Units of ``currency`` (not USD) per US dollar on each fixing day, from plain files."""
    code = check_currency(currency)
    if code == "USD":
        raise NotPlain("USD")   # every caller takes 1.0 itself
    usd = _euro_rates("USD", cache_dir)
    if code == "EUR":
        days = sorted(usd)
        return UsdRates(days, [1.0 / usd[d] for d in days])
    other = _euro_rates(code, cache_dir)
    days = sorted(set(usd) & set(other))   # pandas' aligned division, NaN where one is missing dropped
    return UsdRates(days, [other[d] / usd[d] for d in days])


def fx_rate(day: dt.date, currency: str, cache_dir: str | os.PathLike[str] | None = None, *,
            field: str = "") -> float:
    """Units of ``currency`` per USD on the UTC ``day``: :func:`analysis.market.fx.fx_rate`, read
    without pandas where the files are plain (and the day has a fixing)."""
    code = check_currency(currency)
    if code == "USD":
        return 1.0
    try:
        if type(day) is not dt.date:
            raise NotPlain(repr(day))   # text or a datetime: fx parses it
        return usd_rates(code, cache_dir).on(day)
    except NotPlain:
        from analysis.market import fx

        return fx.fx_rate(day, code, cache_dir, field=field)


def convert_amount(amount: float, day: dt.date, source: str, target: str,
                   cache_dir: str | os.PathLike[str] | None = None, *, field: str = "") -> float:
    """``amount`` of ``source`` currency in ``target`` at the ECB rates of ``day``
    (:func:`analysis.market.fx.convert_amount`, the same arithmetic)."""
    if source == target:
        return float(amount)
    return float(amount) * fx_rate(day, target, cache_dir, field=field) / fx_rate(day, source, cache_dir, field=field)


def _euro_rates(currency: str, cache_dir: str | os.PathLike[str] | None) -> dict[dt.date, float]:
    """{fixing day: units of ``currency`` per euro}: the cache's days, then the snapshot's others."""
    merged = dict(_snapshot_column(currency))
    path = fx_cache_path(currency, cache_dir)
    if path.exists():
        at, rows = plaincsv.table(path, ("date", "rate"))
        cached: dict[dt.date, float] = {}
        for row in rows:
            day, rate = plaincsv.day(row[at["date"]]), plaincsv.number(row[at["rate"]], blank_ok=False)
            if day in cached or not rate > 0:
                raise NotPlain(f"{path}: {day}")   # fx names a bad rate; a repeated day is left to pandas
            cached[day] = rate
        merged.update(cached)
    return merged


@functools.lru_cache(maxsize=8)
def _snapshot_column(currency: str) -> tuple[tuple[dt.date, float], ...]:
    """(day, units per euro) of one currency in the embedded ECB file, blanks left out."""
    if currency not in _snapshot_columns():
        return ()
    at, rows = plaincsv.table(SNAPSHOT_DIR / SNAPSHOT_FILE, ("date", currency))
    out: dict[dt.date, float] = {}
    for row in rows:
        day, text = plaincsv.day(row[at["date"]]), row[at[currency]]
        if day in out:
            raise NotPlain(f"{SNAPSHOT_FILE}: {day}")
        if text != "":
            out[day] = plaincsv.number(text, blank_ok=False)
    return tuple(out.items())


def fx_cache_path(currency: str, cache: str | os.PathLike[str] | None = None) -> Path:
    """``<cache>/fx/ecb_<CUR>.csv``: ``date,rate`` (units of CUR per euro, one row a fixing)."""
    return cache_dir(cache) / "fx" / f"ecb_{currency}.csv"
