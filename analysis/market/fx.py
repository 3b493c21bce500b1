"""Fiat currencies: the ECB's euro reference rates (embedded snapshot + cache) and the
conversion of TON/USD closes into TON/X.

Rules (docs/currency.md):

- The ECB publishes units of each currency per euro; USD -> X crosses through the euro:
  ``X per USD = (X per EUR) / (USD per EUR)`` of the same fixing (EUR: ``1 / (USD per EUR)``).
- A day's TON/X close = TON/USD close x X per USD of that day.
- The ECB fixes at 14:15 CET on TARGET business days. A UTC day without a fixing (weekend,
  TARGET holiday) takes the last fixing before it, never a later one; the longest such wait in
  the ECB's calendar is 4 days (24 December to the next business day after Christmas), so a day
  more than :data:`MAX_STALE_DAYS` after the last fixing known is missing, not guessed.
- A day before the first fixing known (the ECB series starts 1999-01-04; the embedded snapshot
  2020-01-02) is an error naming the day and the fix.

The embedded snapshot is ``data/snapshot/ecb_eurofxref_daily.csv`` (provenance in data/README.md);
``cocoon-econ fetch fx`` adds newer (or older) fixings to ``<cache>/fx/ecb_<CUR>.csv``.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.core.errors import DataError, InputError
from analysis.core.resources import SNAPSHOT_DIR
from analysis.market.currencies import (  # noqa: F401 (re-exported; the csv readers of breakeven, issue 20)
    MAX_STALE_DAYS,
    SNAPSHOT_FILE,
    check_currency,
    ecb_currencies,
    fx_cache_path,
)
from analysis.market.prices import Refresh
from analysis.market.store import (
    atomic_write_text,
    cache_lock,
    manifest_key,
    merge_spans,
    missing_day_runs,
    read_manifest,
    write_manifest_entry,
)
from analysis.sources.common import iso_utc, today_utc, utc_now

if TYPE_CHECKING:   # requests only when refresh_fx fetches: converting amounts needs no HTTP client
    import requests

#: First day of the ECB's euro reference rates.
ECB_SERIES_START = dt.date(1999, 1, 4)
BASE_CURRENCY = "USD"


# --------------------------------------------------------------------------- reading


@functools.lru_cache(maxsize=1)
def _snapshot() -> pd.DataFrame:
    raw = pd.read_csv(SNAPSHOT_DIR / SNAPSHOT_FILE, dtype={"date": str})
    frame = raw.drop(columns="date").astype(float)
    frame.index = pd.DatetimeIndex(pd.to_datetime(raw["date"], format="%Y-%m-%d"), name="date")
    return frame.sort_index()


def read_fx_snapshot() -> pd.DataFrame:
    """The embedded ECB reference rates: units of each currency per euro, one column a currency,
    one row a fixing day (blank where the ECB published none for that currency)."""
    return _snapshot().copy()


def _read_cache(path: Path) -> pd.Series:
    try:
        raw = pd.read_csv(path, dtype={"date": str})
        series = pd.Series(raw["rate"].astype(float).to_numpy(),
                           index=pd.DatetimeIndex(pd.to_datetime(raw["date"], format="%Y-%m-%d"), name="date"))
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"{path}: not a date,rate CSV ({exc}); delete it and run 'cocoon-econ fetch fx'") from None
    if not np.all(np.isfinite(series.to_numpy())) or (series <= 0).any():
        raise DataError(f"{path}: rates must be positive numbers; delete it and run 'cocoon-econ fetch fx'")
    return series.sort_index()


def euro_rates(currency: str, cache_dir: str | os.PathLike[str] | None = None) -> pd.Series:
    """Units of ``currency`` per euro on each fixing day: the cache where it has the day, else the
    snapshot. ``attrs["origin"]`` says which contributed."""
    snap = _snapshot()[currency].dropna() if currency in _snapshot().columns else pd.Series(dtype=float)
    path = fx_cache_path(currency, cache_dir)
    cached = _read_cache(path) if path.exists() else pd.Series(dtype=float)
    merged = pd.concat([cached, snap[~snap.index.isin(cached.index)]]).sort_index()
    merged.index = pd.DatetimeIndex(merged.index, name="date")
    merged.attrs["origin"] = "+".join(name for name, part in (("cache", cached), ("snapshot", snap)) if len(part))
    return merged


def usd_rates(currency: str, cache_dir: str | os.PathLike[str] | None = None) -> pd.Series:
    """Units of ``currency`` per US dollar on each ECB fixing day (crossed through the euro)."""
    code = check_currency(currency)
    usd = euro_rates("USD", cache_dir)
    if code == "USD":
        out = pd.Series(1.0, index=usd.index)
    elif code == "EUR":
        out = 1.0 / usd
    else:
        other = euro_rates(code, cache_dir)
        out = (other / usd).dropna()   # both fixed on the same day
    out.attrs["origin"] = usd.attrs.get("origin", "")
    out.name = f"{code}_per_USD"
    return out


def _missing(day: dt.date, currency: str, first: dt.date | None, last: dt.date | None, field: str) -> Exception:
    where = f"{field}: " if field else ""
    span = f"the ECB rates known here cover {first}..{last}" if first else "no ECB rates are known"
    fix = f"'cocoon-econ fetch fx --currency {currency} --start {day}'"
    if day < ECB_SERIES_START:
        return InputError(f"{where}no ECB rate for USD -> {currency} on {day}: the ECB reference rates start on "
                          f"{ECB_SERIES_START}; use a later day")
    if first is None or day < first:
        return InputError(f"{where}no ECB rate for USD -> {currency} on {day}: {span}; fetch the older fixings with {fix}")
    if currency in _snapshot().columns and last is not None and last < _snapshot().index[-1].date() - dt.timedelta(days=30):
        # The ECB stopped publishing it (RUB suspended, HRK and BGN replaced by the euro).
        return InputError(f"{where}no ECB rate for USD -> {currency} on {day}: the ECB's last {currency} reference "
                          f"rate is of {last}; use another currency for days after it")
    return DataError(f"{where}no ECB rate for USD -> {currency} on {day}: {span} and the last fixing is more than "
                     f"{MAX_STALE_DAYS} days earlier; fetch newer fixings with "
                     f"'cocoon-econ fetch fx --currency {currency}'")


def daily_fx(currency: str, days: pd.DatetimeIndex | list[Any], cache_dir: str | os.PathLike[str] | None = None,
             *, field: str = "") -> pd.Series:
    """Units of ``currency`` per USD for each UTC day in ``days``: the last ECB fixing on or
    before the day (weekends and TARGET holidays take the previous fixing, never a later one).

    Raises
    ------
    InputError
        For a day before the first fixing known (names the day; before 1999-01-04 no fix exists).
    DataError
        For a day more than :data:`MAX_STALE_DAYS` after the last fixing known (fetch fx).
    """
    code = check_currency(currency)
    index = pd.DatetimeIndex(pd.to_datetime(list(days) if not isinstance(days, pd.DatetimeIndex) else days))
    index = index.normalize()
    if code == "USD":
        return pd.Series(1.0, index=index, name="USD_per_USD")
    rates = usd_rates(code, cache_dir)
    fixings = rates.index
    first = fixings[0].date() if len(fixings) else None
    last = fixings[-1].date() if len(fixings) else None
    pos = fixings.searchsorted(index, side="right") - 1          # the last fixing on or before each day
    values = np.full(len(index), np.nan)
    ok = pos >= 0
    values[ok] = rates.to_numpy()[pos[ok]]
    stale = np.zeros(len(index), dtype=bool)
    stale[ok] = (index[ok] - fixings[pos[ok]]).days > MAX_STALE_DAYS
    bad = ~ok | stale
    if bad.any():
        day = index[np.flatnonzero(bad)[0]].date()
        raise _missing(day, code, first, last, field)
    out = pd.Series(values, index=index, name=rates.name)
    out.attrs["origin"] = rates.attrs.get("origin", "")
    return out


def fx_rate(day: dt.date | str, currency: str, cache_dir: str | os.PathLike[str] | None = None,
            *, field: str = "") -> float:
    """Units of ``currency`` per USD on the UTC ``day`` (the last ECB fixing on or before it)."""
    return float(daily_fx(currency, [pd.Timestamp(day)], cache_dir, field=field).iloc[0])


def last_fx_day(currency: str, cache_dir: str | os.PathLike[str] | None = None) -> dt.date:
    """The last UTC day a rate of ``currency`` per USD exists for (last fixing + the allowed wait)."""
    code = check_currency(currency)
    if code == "USD":
        return dt.date.max
    rates = usd_rates(code, cache_dir)
    return rates.index[-1].date() + dt.timedelta(days=MAX_STALE_DAYS)


def convert_closes(closes: pd.DataFrame, currency: str, cache_dir: str | os.PathLike[str] | None = None
                   ) -> pd.DataFrame:
    """TON/USD daily closes (``close_usd``) as TON/``currency``: close x units of X per USD of the day.

    Days after the last one with a rate (last ECB fixing + :data:`MAX_STALE_DAYS`) are cut off,
    never extrapolated; ``attrs["fx_note"]`` says so. The frame keeps the engine's column
    name ``close_usd`` (the engine's fiat unit; ``attrs["currency"]`` names it) and gains
    ``usd_close`` (the TON/USD close) and ``fx_per_usd``.
    """
    code = check_currency(currency)
    frame = closes.copy()
    frame.attrs = dict(closes.attrs)
    frame.attrs["currency"] = code
    if code == "USD":
        return frame
    end = last_fx_day(code, cache_dir)
    keep = frame.index <= pd.Timestamp(end)
    if not keep.all():
        cut = frame.index[~keep]
        frame = frame[keep]
        frame.attrs["fx_note"] = (f"TON/{code} closes end on {end} (the last ECB fixing known, plus "
                                  f"{MAX_STALE_DAYS} days): {len(cut)} later TON/USD close(s) "
                                  f"{cut[0].date()}..{cut[-1].date()} left out; refresh with "
                                  f"'cocoon-econ fetch fx --currency {code}'")
    rate = daily_fx(code, frame.index, cache_dir)
    frame["usd_close"] = frame["close_usd"].to_numpy()
    frame["fx_per_usd"] = rate.to_numpy()
    frame["close_usd"] = frame["usd_close"] * frame["fx_per_usd"]
    frame.attrs["fx_origin"] = f"ECB euro reference rates ({rate.attrs.get('origin', '')})"
    return frame


def convert_amount(amount: float, day: dt.date, source: str, target: str,
                   cache_dir: str | os.PathLike[str] | None = None, *, field: str = "") -> float:
    """``amount`` of ``source`` currency in ``target`` at the ECB rates of ``day``."""
    if source == target:
        return float(amount)
    return float(amount) * fx_rate(day, target, cache_dir, field=field) / fx_rate(day, source, cache_dir, field=field)


# --------------------------------------------------------------------------- refreshing the cache


@dataclass
class FxRefresh(Refresh):
    """What ``fetch fx`` did for one currency (the ECB series of ``currency`` per euro)."""

    currency: str = ""


def _cache_text(series: pd.Series) -> str:
    lines = ["date,rate"] + [f"{d:%Y-%m-%d},{v!r}" for d, v in series.items()]
    return "\n".join(lines) + "\n"


def _manifest_entry(current: dict[str, Any], metas: list[dict], runs: list[tuple[dt.date, dt.date]],
                    merged: pd.Series, moment: dt.datetime) -> dict[str, Any]:
    """The manifest entry of an ECB cache file after a refresh (``current``: as stored now)."""
    out = dict(current)
    out.update({"source": "ecb", "label": metas[-1]["label"], "symbol": metas[-1]["symbol"],
                "url": metas[-1]["url"], "updated_at": iso_utc(moment)})
    out["requested"] = merge_spans([*current.get("requested", []), *[[a.isoformat(), b.isoformat()] for a, b in runs]])
    if len(merged):
        out.update(rows=len(merged), first=merged.index[0].date().isoformat(), last=merged.index[-1].date().isoformat())
    return out


def refresh_fx(currency: str, start: dt.date | None = None, end: dt.date | None = None, *,
               cache_dir: str | os.PathLike[str] | None = None, base_url: str | None = None,
               session: requests.Session | None = None, now: dt.datetime | None = None,
               **http_options: Any) -> list[FxRefresh]:
    """Bring the ECB rates needed for ``currency`` (USD per euro, and CUR per euro unless CUR
    is EUR or USD) up to date in ``<cache>/fx/`` for ``start..end``.

    ``start`` defaults to the day after the last fixing known (snapshot or cache), ``end`` to
    yesterday (today's fixing may not be published yet; days from today on are never asked for).
    Only days neither known nor already requested are fetched; everything is fetched before
    anything is written, and each file and the manifest are replaced atomically, so a failed
    fetch leaves the cache byte-identical.
    """
    from analysis.sources import ecb  # imports requests

    code = check_currency(currency)
    moment = utc_now() if now is None else now
    yesterday = today_utc(moment) - dt.timedelta(days=1)
    end = yesterday if end is None else min(end, yesterday)
    series_codes = ["USD"] + ([code] if code not in ("USD", "EUR") else [])
    plans = []
    for cur in series_codes:
        path = fx_cache_path(cur, cache_dir)
        key = manifest_key(path, cache_dir)
        entry = read_manifest(cache_dir).get(key, {})
        known = euro_rates(cur, cache_dir)
        first = start if start is not None else (known.index[-1].date() + dt.timedelta(days=1) if len(known)
                                                  else ECB_SERIES_START)
        if first < ECB_SERIES_START:
            raise InputError(f"--start {first} is before the ECB reference rates (they start on {ECB_SERIES_START})")
        runs = missing_day_runs(first, end, known.index, entry.get("requested", [])) if first <= end else []
        plans.append((cur, path, key, entry, runs))
    fetched: dict[str, tuple[list[pd.Series], list[dict]]] = {}
    for cur, _path, _key, _entry, runs in plans:          # all requests before any write
        parts, metas = [], []
        for a, b in runs:
            frame, meta = ecb.get_ecb_rates(cur, a, b, base_url=base_url, session=session, now=moment,
                                            **http_options)
            parts.append(frame[cur].dropna())
            metas.append(meta)
        fetched[cur] = (parts, metas)
    results = []
    for cur, path, key, _entry, runs in plans:
        parts, metas = fetched[cur]
        new = pd.concat([p for p in parts if len(p)]) if any(len(p) for p in parts) else pd.Series(dtype=float)
        with cache_lock(path):
            # Re-read under the lock: another process may have merged its own fixings meanwhile.
            old = _read_cache(path) if path.exists() else pd.Series(dtype=float)
            new_rows = int((~new.index.isin(old.index)).sum()) if len(new) else 0
            merged = pd.concat([old[~old.index.isin(new.index)], new]).sort_index() if len(new) else old
            if len(new):
                atomic_write_text(path, _cache_text(merged))
            if runs:
                write_manifest_entry(key, functools.partial(_manifest_entry, metas=metas, runs=runs, merged=merged,
                                                            moment=moment), cache_dir)
        notes = [m["note"] for m in metas if m.get("note")]
        results.append(FxRefresh(currency=cur, path=path, requested=runs, new_rows=new_rows, rows=len(merged),
                                 first=merged.index[0].date().isoformat() if len(merged) else None,
                                 last=merged.index[-1].date().isoformat() if len(merged) else None, notes=notes))
    return results


# --------------------------------------------------------------------------- FX risk in simulations


def joint_return_stats(closes: pd.DataFrame, window_days: int | None = None) -> dict[str, float | int | str]:
    """The two moves inside TON/X daily log returns: TON/USD and X per USD of the same days.

    A TON/X return is exactly the sum of the day's TON/USD and X/USD log returns, so resampling
    TON/X returns (bootstrap) resamples both of a day together, and a GBM fitted to TON/X is the
    correlated two-factor GBM of the pair: ``vol^2 = vol_ton^2 + vol_fx^2 + 2 rho vol_ton vol_fx``,
    drift the sum of the drifts. Annualised over 365 days.

    Parameters
    ----------
    closes : a frame from :func:`convert_closes` (``usd_close`` and ``fx_per_usd`` columns).
    window_days : the last N returns only (as the models' ``window_days``).
    """
    ton = np.diff(np.log(closes["usd_close"].to_numpy(dtype=float)))
    rate = np.diff(np.log(closes["fx_per_usd"].to_numpy(dtype=float)))
    if window_days is not None:
        ton, rate = ton[-window_days:], rate[-window_days:]
    if len(ton) < 3:
        raise DataError("FX: fewer than 3 daily returns of TON/USD and X/USD; need a longer history")
    s_ton, s_fx = float(np.std(ton, ddof=1)), float(np.std(rate, ddof=1))
    rho = float(np.corrcoef(ton, rate)[0, 1]) if s_fx > 0 and s_ton > 0 else 0.0
    year = 365.0
    return {
        "currency": str(closes.attrs.get("currency", "")),
        "days": len(ton),
        "vol_ton_usd_annual": s_ton * np.sqrt(year),
        "vol_fx_annual": s_fx * np.sqrt(year),
        "correlation": rho,
        "vol_ton_fx_annual": float(np.sqrt(s_ton ** 2 + s_fx ** 2 + 2 * rho * s_ton * s_fx) * np.sqrt(year)),
        "mean_log_return_fx_annual": float(np.mean(rate) * year),
    }


def fx_status(cache_dir: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """What ``data status`` shows of the ECB rates: the snapshot, then each cached currency file
    (``origin``, ``currency``, ``first``, ``last``, ``rows``, ``path``, ``updated``)."""
    snap = _snapshot()
    rows: list[dict[str, Any]] = [{"origin": "snapshot", "currency": f"{len(snap.columns)} currencies",
                                   "first": snap.index[0].date().isoformat(), "last": snap.index[-1].date().isoformat(),
                                   "rows": len(snap), "path": None, "updated": None}]
    folder = fx_cache_path("USD", cache_dir).parent
    manifest = read_manifest(cache_dir) if folder.is_dir() else {}
    for path in sorted(folder.glob("ecb_*.csv")) if folder.is_dir() else []:
        series = _read_cache(path)
        rows.append({"origin": "cache", "currency": path.stem.removeprefix("ecb_"), "rows": len(series),
                     "first": series.index[0].date().isoformat() if len(series) else None,
                     "last": series.index[-1].date().isoformat() if len(series) else None, "path": str(path),
                     "updated": manifest.get(manifest_key(path, cache_dir), {}).get("updated_at")})
    return rows
