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
"""

from __future__ import annotations

from pathlib import Path
from typing import overload

import numpy as np
import pandas as pd

from analysis.core.errors import DataError, InputError
from analysis.core.resources import reference_path
from analysis.core.units import DAYS_PER_YEAR
from analysis.market.store import cache_dir as default_cache_dir
from analysis.market.store import read_funding_csv

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
    # One reader for every funding file (analysis.market.store.read_funding_csv); the venue key is
    # the file's: "binance" for the vendored history, the stem of a cached file.
    frames = [read_funding_csv(reference_path(VENDORED_FILE)).assign(source=VENDORED_SOURCE)]
    folder = default_cache_dir(cache_dir) / "funding"
    if folder.is_dir():
        for path in sorted(folder.glob("*.csv")):
            frames.append(read_funding_csv(path).assign(source=path.stem))
    payments = pd.concat(frames, ignore_index=True)
    payments = payments.drop_duplicates(subset=["source", "time"], keep="last")
    return payments.sort_values(["time", "source"]).reset_index(drop=True)[COLUMNS]


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
    if payments.empty:
        return pd.DataFrame(columns=["rate_per_day", "hours_covered", "sources"],
                            index=pd.DatetimeIndex([], name="date"))
    day = payments["time"].dt.tz_convert("UTC").dt.tz_localize(None).dt.floor("D")
    per_source = (payments.assign(date=day)
                  .groupby(["date", "source"])
                  .agg(rate=("rate", "sum"), hours=("interval_hours", "sum")))
    per_source["rate_per_day"] = per_source["rate"] * 24.0 / per_source["hours"]
    grouped = per_source.reset_index().groupby("date")
    out = pd.DataFrame({
        "rate_per_day": grouped["rate_per_day"].mean(),
        "hours_covered": grouped["hours"].mean(),
        "sources": grouped["source"].agg(lambda s: ",".join(sorted(s))),
    })
    out.index = pd.DatetimeIndex(out.index, name="date")
    return out


@overload
def annualised(rate_per_day: float) -> float: ...
@overload
def annualised(rate_per_day: np.ndarray) -> np.ndarray: ...
def annualised(rate_per_day: float | np.ndarray) -> float | np.ndarray:
    """Daily funding as a fraction per 365-day year (simple, not compounded)."""
    return rate_per_day * DAYS_PER_YEAR


def historical_mean_rate_per_day(daily: pd.DataFrame) -> float:
    """The mean daily funding over every day on record (shown for context; never used to fill days)."""
    if daily.empty:
        raise DataError("funding history is empty; run cocoon-econ fetch funding or give "
                        "[treasury] funding = \"fixed\" with funding_rate_annual")
    return float(daily["rate_per_day"].mean())


def funding_rates_per_day(funding_rate_annual: float | str, horizon_days: int,
                          dates: pd.DatetimeIndex | np.ndarray | None = None,
                          daily: pd.DataFrame | None = None,
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


def recorded_on(daily: pd.DataFrame, dates: pd.DatetimeIndex | np.ndarray) -> np.ndarray:
    """The recorded daily funding on each of ``dates`` (any shape of ``datetime64[D]``), NaN where none."""
    days = np.asarray(dates, dtype="datetime64[D]")
    known = pd.Series(daily["rate_per_day"].to_numpy(dtype=float), index=daily.index.to_numpy().astype("datetime64[D]"))
    return known.reindex(days.ravel()).to_numpy().reshape(days.shape)


def joint_returns_and_funding(closes: pd.Series, daily: pd.DataFrame) -> pd.DataFrame:
    """The days with both a TON log return (close of the day before -> close of the day) and a
    funding record: columns ``log_return``, ``rate_per_day``, indexed by day (what
    ``[treasury] funding = "bootstrap"`` resamples, day by day together)."""
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
    frame = pd.read_csv(reference_path(READINGS_FILE))
    frame["annualised"] = pd.to_numeric(frame["annualised"].astype(str).str.extract(r"^\s*(-?[0-9.]+)")[0],
                                        errors="coerce")
    return frame


def _rate(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise InputError(f"[treasury] funding_rate_annual = {value!r} must be a finite number (fraction per year)")
    return float(value)
