"""Pure statistics of a daily close series: log returns, drawdown from the running peak,
rolling annualised volatility, and where each span of days comes from.

Input is what :func:`analysis.market.prices.daily_closes` returns (a DataFrame indexed by
``date`` with ``close_usd`` and ``source``) or a plain Series of closes indexed by date.
Crypto trades every day, so a year is 365 days. Missing days are never filled: a return
needs both its day and the day before, and a rolling window needs every one of its returns.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.core.errors import DataError
from analysis.core.units import DAYS_PER_YEAR


def close_series(closes: pd.DataFrame | pd.Series) -> pd.Series:
    """The ``close_usd`` column as a Series indexed by date (ascending), checked.

    Raises
    ------
    DataError
        If there is no close column, a date repeats, or a close is not a positive number.
    """
    if isinstance(closes, pd.DataFrame):
        if "close_usd" not in closes.columns:
            raise DataError("closes: no close_usd column; pass the frame from analysis.market.prices.daily_closes")
        series = closes["close_usd"]
    else:
        series = closes
    series = series.astype(float).sort_index()
    if not isinstance(series.index, pd.DatetimeIndex):
        raise DataError("closes: the index must be dates (a DatetimeIndex of UTC days)")
    if series.index.has_duplicates:
        raise DataError("closes: a date appears twice; keep one close per UTC day")
    values = series.to_numpy()
    if not np.all(np.isfinite(values) & (values > 0)):
        raise DataError("closes: every close must be a positive number of USD")
    series.name = "close_usd"
    return series


def daily_log_returns(closes: pd.DataFrame | pd.Series) -> pd.Series:
    """Daily log returns ``ln(close_t / close_{t-1})`` on the calendar of UTC days.

    Returns
    -------
    Series ``log_return`` indexed by every calendar day from the second day of the series to
    the last; NaN where the day or the day before is missing (a gap is not one day's move).
    """
    close = close_series(closes)
    if close.empty:
        return pd.Series([], index=pd.DatetimeIndex([], name="date"), name="log_return", dtype=float)
    calendar = pd.date_range(close.index[0], close.index[-1], freq="D", name="date")
    full = close.reindex(calendar)
    returns = np.log(full / full.shift(1)).iloc[1:]
    returns.name = "log_return"
    return returns


def annualised_volatility(log_returns: pd.Series | np.ndarray, days_per_year: int = DAYS_PER_YEAR) -> float:
    """``sqrt(days_per_year)`` times the sample standard deviation (ddof=1) of daily log returns,
    ignoring missing ones; NaN with fewer than two returns."""
    values = np.asarray(log_returns, dtype=float)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return math.nan
    return float(math.sqrt(days_per_year) * np.std(values, ddof=1))


def rolling_volatility(closes: pd.DataFrame | pd.Series, window_days: int = 30,
                       days_per_year: int = DAYS_PER_YEAR) -> pd.Series:
    """Rolling annualised volatility: ``sqrt(days_per_year)`` times the sample standard deviation
    (ddof=1) of the last ``window_days`` daily log returns.

    The value on day ``t`` uses the returns of days ``t - window_days + 1 .. t`` (so the closes of
    ``t - window_days .. t``); it is NaN unless all of them are present.

    Returns
    -------
    Series ``volatility_annual`` (a fraction per year, e.g. 0.65 = 65 %) indexed by calendar day.
    """
    if window_days < 2:
        raise DataError(f"window_days: {window_days} is too short; use at least 2 days")
    returns = daily_log_returns(closes)
    vol = returns.rolling(window_days, min_periods=window_days).std(ddof=1) * math.sqrt(days_per_year)
    vol.name = "volatility_annual"
    return vol


def drawdown(closes: pd.DataFrame | pd.Series) -> pd.DataFrame:
    """Drawdown from the running peak: ``close / max(close up to that day) - 1`` (0 at a new high,
    -0.6 when 60 % below the highest close so far).

    Returns
    -------
    DataFrame indexed by ``date`` with ``close_usd``, ``running_peak_usd``, ``peak_date`` (the
    day of that running peak) and ``drawdown_fraction`` (<= 0).
    """
    close = close_series(closes)
    peak = close.cummax()
    at_peak = close.eq(peak)
    peak_date = pd.Series(close.index.where(at_peak), index=close.index).ffill()
    return pd.DataFrame({
        "close_usd": close,
        "running_peak_usd": peak,
        "peak_date": peak_date,
        "drawdown_fraction": close / peak - 1.0,
    })


@dataclass(frozen=True)
class MaxDrawdown:
    """The deepest fall from a running peak."""

    drawdown_fraction: float      # <= 0
    peak_date: dt.date
    peak_usd: float
    trough_date: dt.date
    trough_usd: float
    recovered_date: dt.date | None  # first close back at or above the peak; None if not yet


def max_drawdown(closes: pd.DataFrame | pd.Series) -> MaxDrawdown:
    """The maximum drawdown of the series, with its peak, trough and recovery days."""
    dd = drawdown(closes)
    if dd.empty:
        raise DataError("closes: empty series; nothing to measure")
    trough = dd["drawdown_fraction"].idxmin()
    peak_day = dd.at[trough, "peak_date"]
    peak_usd = float(dd.at[trough, "running_peak_usd"])
    after = dd.loc[dd.index > trough, "close_usd"]
    recovered = after[after >= peak_usd]
    return MaxDrawdown(
        drawdown_fraction=float(dd.at[trough, "drawdown_fraction"]),
        peak_date=peak_day.date(),
        peak_usd=peak_usd,
        trough_date=trough.date(),
        trough_usd=float(dd.at[trough, "close_usd"]),
        recovered_date=recovered.index[0].date() if len(recovered) else None,
    )


def source_spans(closes: pd.DataFrame, by: Sequence[str] = ("source",)) -> pd.DataFrame:
    """Consecutive runs of days that share one ``source`` (the venue of each close), or the
    same values of every column in ``by`` (e.g. ``("source", "origin")``).

    A run ends where one of those values changes or a day is missing.

    Returns
    -------
    DataFrame with the ``by`` columns, ``first``, ``last`` (dates) and ``days``, in date order.
    """
    by = list(by)
    missing = [c for c in by if c not in closes.columns]
    if missing:
        raise DataError(f"closes: no {missing[0]} column; pass the frame from analysis.market.prices.daily_closes")
    frame = closes.sort_index()
    columns = [*by, "first", "last", "days"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    keys = frame[by].astype(str)
    dates = frame.index
    new_run = (keys != keys.shift(1)).any(axis=1).to_numpy().copy()
    new_run[1:] |= (dates[1:] - dates[:-1]) != pd.Timedelta(days=1)
    runs = keys.assign(date=dates, run=np.cumsum(new_run)).groupby("run", sort=True)
    spans = runs.agg(**{c: (c, "first") for c in by}, first=("date", "min"), last=("date", "max"),
                     days=("date", "size")).reset_index(drop=True)
    spans["first"] = spans["first"].dt.date
    spans["last"] = spans["last"].dt.date
    return spans[columns]


def missing_days(closes: pd.DataFrame | pd.Series) -> list[tuple[dt.date, dt.date]]:
    """Runs of calendar days missing inside the series' span, as ``(first, last)`` dates."""
    index = pd.DatetimeIndex(closes.index).sort_values()
    if len(index) < 2:
        return []
    step = index[1:] - index[:-1]
    gaps = np.flatnonzero(step > pd.Timedelta(days=1))
    return [((index[i] + pd.Timedelta(days=1)).date(), (index[i + 1] - pd.Timedelta(days=1)).date()) for i in gaps]


def day_origins(closes: pd.DataFrame, snapshot: pd.DataFrame) -> pd.Series:
    """Where each day of ``closes`` comes from: ``"snapshot"`` where the embedded snapshot has that
    day with the same source and close, else ``"cache"`` (fetched data).

    Returns
    -------
    Series ``origin`` indexed like ``closes``.
    """
    snap = snapshot.reindex(closes.index)
    same = (snap["source"].astype(str).eq(closes["source"].astype(str))
            & np.isclose(snap["close_usd"].to_numpy(dtype=float), closes["close_usd"].to_numpy(dtype=float),
                         rtol=1e-12, atol=0.0, equal_nan=False))
    return pd.Series(np.where(same, "snapshot", "cache"), index=closes.index, name="origin")


def volatility_by_year(closes: pd.DataFrame | pd.Series, days_per_year: int = DAYS_PER_YEAR) -> pd.DataFrame:
    """Per calendar year (UTC): the number of daily returns, the annualised volatility of daily log
    returns (``sqrt(days_per_year)`` x sample std) and the price change over the year's closes.

    Returns
    -------
    DataFrame indexed by ``year`` with ``returns``, ``volatility_annual``, ``first_close_usd``,
    ``last_close_usd`` and ``change_fraction`` (last / first - 1, over the closes in that year).
    """
    close = close_series(closes)
    returns = daily_log_returns(close).dropna()
    by_year = returns.groupby(returns.index.year)
    closes_by_year = close.groupby(close.index.year)
    frame = pd.DataFrame({
        "returns": by_year.size(),
        "volatility_annual": by_year.apply(lambda r: annualised_volatility(r, days_per_year)),
        "first_close_usd": closes_by_year.first(),
        "last_close_usd": closes_by_year.last(),
    })
    frame["returns"] = frame["returns"].fillna(0).astype(int)
    frame["change_fraction"] = frame["last_close_usd"] / frame["first_close_usd"] - 1.0
    frame.index.name = "year"
    return frame


def horizon_volatility(volatility_annual: float | np.ndarray, days: float,
                       days_per_year: int = DAYS_PER_YEAR) -> float | np.ndarray:
    """A volatility per year scaled to ``days`` (square-root of time): ``vol * sqrt(days / 365)``,
    the standard deviation of the log return over that many days under i.i.d. daily returns."""
    return volatility_annual * np.sqrt(days / days_per_year)


def tail_summary(log_returns: pd.Series, sigmas: float = 3.0) -> dict[str, object]:
    """How fat the tails of daily log returns are, against a normal distribution.

    Returns
    -------
    dict with ``days``, ``std_daily``, ``worst_return`` / ``worst_date``, ``best_return`` /
    ``best_date``, ``share_beyond`` (fraction of days further than ``sigmas`` standard
    deviations from the mean) and ``share_beyond_if_normal`` (``2 * (1 - Phi(sigmas))``).
    """
    from scipy.stats import norm

    r = log_returns.dropna()
    if len(r) < 2:
        raise DataError("log_returns: fewer than two returns; nothing to measure")
    std = float(r.std(ddof=1))
    return {
        "days": int(len(r)),
        "std_daily": std,
        "worst_return": float(r.min()),
        "worst_date": r.idxmin().date(),
        "best_return": float(r.max()),
        "best_date": r.idxmax().date(),
        "share_beyond": float(((r - r.mean()).abs() > sigmas * std).mean()),
        "share_beyond_if_normal": float(2.0 * norm.sf(sigmas)),
    }
