"""Canonical daily USD closes for TON and RENDER (the cache where present, else the embedded
snapshot, with the origin of every day), cross-source disagreement, and fetching into the
cache (incremental: only days not yet stored or requested are asked for).

Convention: a tidy DataFrame indexed by ``date`` (tz-naive ``DatetimeIndex`` of UTC
days, ascending, unique) with ``close_usd`` and ``source`` columns. Stablecoin quotes
(USDT) are taken as USD; the ``source`` column says which venue and market each day is from.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.core.errors import DataError, FetchError, InputError
from analysis.core.resources import DATA_DIR, REFERENCE_DIR, SNAPSHOT_DIR
from analysis.market.latest import (  # noqa: F401 -- re-exported; read with csv, not pandas (issue 20)
    SNAPSHOT_FILES,
    STALE_AFTER_DAYS,
    LatestClose,
    latest_close,
    stale_note,
)
from analysis.market.store import cache_dir as _cache_dir
from analysis.market.store import (
    cache_lock,
    funding_cache_path,
    manifest_key,
    merge_funding,
    merge_prices,
    merge_spans,
    missing_day_runs,
    price_cache_path,
    read_funding_csv,
    read_manifest,
    read_prices_csv,
    write_funding_csv,
    write_manifest_entry,
    write_prices_csv,
)
from analysis.sources.common import find_gaps, iso_utc, today_utc, utc_now

if TYPE_CHECKING:
    import requests

REFERENCE_FUNDING_FILE = "ton_funding_binance.csv"


@dataclass(frozen=True)
class Asset:
    """Instrument names of one asset at each venue."""

    name: str
    coingecko: str
    binance: str
    okx: str
    kraken: str
    bybit: str
    okx_swap: str


ASSETS = {
    "ton": Asset("TON", coingecko="the-open-network", binance="TONUSDT", okx="TON-USDT", kraken="TONUSD",
                 bybit="TONUSDT", okx_swap="TON-USDT-SWAP"),
    "render": Asset("RENDER", coingecko="render-token", binance="RENDERUSDT", okx="RENDER-USDT",
                    kraken="RENDERUSD", bybit="RENDERUSDT", okx_swap="RENDER-USDT-SWAP"),
}


def _source(name: str) -> Any:
    """The module ``analysis.sources.<name>``, imported on first use (requests stays out of start-up)."""
    return importlib.import_module(f"analysis.sources.{name}")


# Price sources, in the canonical series' order of preference for a day several cover:
# spot venues with deep TON books first, then the aggregate, then perpetual futures.
PRICE_SOURCES: dict[str, Callable[..., tuple[pd.DataFrame, dict]]] = {
    "binance": lambda a, s, e, **kw: _source("binance").get_binance_klines(s, e, a.binance, market="spot", **kw),
    "okx": lambda a, s, e, **kw: _source("okx").get_okx_candles(s, e, a.okx, **kw),
    "kraken": lambda a, s, e, **kw: _source("kraken").get_kraken_ohlc(s, e, a.kraken, **kw),
    "coingecko": lambda a, s, e, **kw: _source("coingecko").get_coingecko_market_chart(s, e, a.coingecko, **kw),
    "bybit": lambda a, s, e, **kw: _source("bybit").get_bybit_klines(s, e, a.bybit, **kw),
    "binance-futures": lambda a, s, e, **kw: _source("binance").get_binance_klines(s, e, a.binance, market="futures", **kw),
}
FUNDING_SOURCES: dict[str, Callable[..., tuple[pd.DataFrame, dict]]] = {
    "binance": lambda a, s, e, **kw: _source("binance").get_binance_funding(s, e, a.binance, **kw),
    "okx": lambda a, s, e, **kw: _source("okx").get_okx_funding(s, e, a.okx_swap, **kw),
    "bybit": lambda a, s, e, **kw: _source("bybit").get_bybit_funding(s, e, a.bybit, **kw),
}


def _asset(asset: str) -> Asset:
    try:
        return ASSETS[asset]
    except KeyError:
        raise InputError(f"asset: unknown {asset!r}; use one of {', '.join(ASSETS)}") from None


def _check_source(source: str, table: dict) -> None:
    if source not in table:
        raise InputError(f"source: unknown {source!r}; use one of {', '.join(table)}")


# --- Reading -------------------------------------------------------------------------------

def read_snapshot(asset: str = "ton") -> pd.DataFrame:
    """The embedded snapshot of ``asset`` (``"ton"`` or ``"render"``) daily closes.

    Returns
    -------
    DataFrame indexed by ``date`` with ``close_usd`` and ``source`` (the venue).
    """
    try:
        name = SNAPSHOT_FILES[asset]
    except KeyError:
        raise DataError(f"asset: unknown {asset!r}; use one of {', '.join(SNAPSHOT_FILES)}") from None
    raw = pd.read_csv(SNAPSHOT_DIR / name, dtype={"venue": str})
    frame = pd.DataFrame(
        {"close_usd": raw["close_usd"].astype(float).to_numpy(), "source": raw["venue"].to_numpy()},
        index=pd.DatetimeIndex(pd.to_datetime(raw["date"], format="%Y-%m-%d"), name="date"),
    )
    return frame.sort_index()


def read_price_caches(asset: str = "ton", cache_dir: str | Path | None = None, *,
                      strict: bool = True) -> dict[str, pd.DataFrame]:
    """The cached daily prices of ``asset``, one frame per source present (in preference order).

    ``strict`` (default): a close that is 0, negative or infinite is a :class:`DataError`
    naming the file and the fix; ``strict=False`` returns the frame as stored (``data status``).
    """
    out = {}
    for source in PRICE_SOURCES:
        path = price_cache_path(asset, source, cache_dir)
        if path.exists():
            frame = read_prices_csv(path)
            if strict and (problem := bad_close_problem(frame, path, asset, source)):
                raise DataError(problem)
            if not frame.empty:
                out[source] = frame
    return out


def bad_close_problem(frame: pd.DataFrame, path: Path, asset: str, source: str) -> str | None:
    """What is wrong with a cached price file whose closes are <= 0 or infinite (None when none is)."""
    close = frame["close"].to_numpy(dtype=float)
    bad = ~np.isnan(close) & ~(np.isfinite(close) & (close > 0))
    if not bad.any():
        return None
    day = frame.index[bad][0].date()
    return (f"{path}: the close of {day} is {close[bad][0]:g}, not a positive finite price "
            f"({int(bad.sum())} such day(s)); delete the file and run 'cocoon-econ fetch prices --asset {asset} "
            f"--source {source} --start {frame.index[0].date()}' to fetch it again")


def stale_close_note(closes: pd.DataFrame, asset: str = "ton", today: dt.date | None = None) -> str | None:
    """A warning when the latest close in ``closes`` is more than :data:`STALE_AFTER_DAYS` days old.

    Names the command that refreshes it; None when the close is recent.
    """
    return stale_note(None if closes.empty else closes.index[-1].date(), asset, today)


def latest_of(closes: pd.DataFrame) -> LatestClose:
    """The last day of a :func:`daily_closes` frame as a :class:`LatestClose` (the pandas route of
    :func:`analysis.market.latest.latest_close`, which reads plain files without pandas)."""
    source = str(closes["source"].iloc[-1]) if "source" in closes.columns else ""
    origin = ", ".join(x for x in (closes.attrs.get("origin", ""), source) if x)
    return LatestClose(float(closes["close_usd"].iloc[-1]), closes.index[-1].date(), origin)


def daily_closes(asset: str = "ton", cache_dir: str | Path | None = None, currency: str = "USD") -> pd.DataFrame:
    """The canonical daily close series of ``asset``.

    ``currency`` other than USD converts each close with that day's ECB rate
    (:func:`analysis.market.fx.convert_closes`: ``attrs["currency"]``, ``attrs["fx_note"]``).

    Each day comes from the cache where a cached source has it (sources in the order of
    :data:`PRICE_SOURCES`), else from the embedded snapshot. Days neither has are left
    out, never filled: ``attrs["gaps"]`` lists them.

    Returns
    -------
    DataFrame indexed by ``date`` with ``close_usd`` and ``source`` (the venue of that day).
    ``attrs["origin"]`` is ``"snapshot"``, ``"cache"`` or ``"cache+snapshot"``;
    ``attrs["days_by_origin"]`` counts days from each; ``attrs["gaps"]`` is a list of
    ``(first, last)`` ISO dates of missing days inside the span.
    """
    _asset(asset)
    snapshot = read_snapshot(asset)
    pieces = []
    taken = pd.DatetimeIndex([], name="date")
    for frame in read_price_caches(asset, cache_dir).values():
        fresh = frame[~frame.index.isin(taken) & frame["close"].notna()]
        pieces.append(pd.DataFrame({"close_usd": fresh["close"], "source": fresh["source"]}))
        taken = taken.union(fresh.index)
    from_cache = len(taken)
    rest = snapshot[~snapshot.index.isin(taken)]
    pieces.append(rest)
    series = pd.concat([p for p in pieces if not p.empty]) if any(not p.empty for p in pieces) else snapshot
    series = series.sort_index()
    series.index.name = "date"
    series.attrs = {}
    if from_cache == 0:
        origin = "snapshot"
    elif len(rest) == 0:
        origin = "cache"
    else:
        origin = "cache+snapshot"
    series.attrs["origin"] = origin
    series.attrs["days_by_origin"] = {"cache": from_cache, "snapshot": len(rest)}
    series.attrs["gaps"] = [(a.isoformat(), b.isoformat()) for a, b in find_gaps(series.index)]
    if currency != "USD":
        from analysis.market.fx import convert_closes

        return convert_closes(series, currency, cache_dir)
    return series


def source_disagreement(asset: str = "ton", cache_dir: str | Path | None = None, *,
                        include_snapshot: bool = True) -> pd.DataFrame:
    """How far the sources' closes differ where they overlap.

    For every pair of sources (cached sources, plus the snapshot), over the days both
    have, the relative difference ``|close_a / close_b - 1|``.

    Returns
    -------
    DataFrame with ``source_a, source_b, days, median_rel_diff, max_rel_diff, max_date``
    (fractions; ``max_date`` the day of the largest difference), one row per overlapping pair.
    """
    closes = {s: f["close"].dropna() for s, f in read_price_caches(asset, cache_dir).items()}
    if include_snapshot:
        closes["snapshot"] = read_snapshot(asset)["close_usd"]
    names = list(closes)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            joined = pd.concat([closes[a].rename("a"), closes[b].rename("b")], axis=1, join="inner").dropna()
            joined = joined[joined["b"] > 0]
            if joined.empty:
                continue
            rel = (joined["a"] / joined["b"] - 1.0).abs()
            rows.append({"source_a": a, "source_b": b, "days": len(rel),
                         "median_rel_diff": float(rel.median()), "max_rel_diff": float(rel.max()),
                         "max_date": rel.idxmax().date().isoformat()})
    return pd.DataFrame(rows, columns=["source_a", "source_b", "days", "median_rel_diff", "max_rel_diff",
                                       "max_date"])


def funding_history(source: str = "binance", cache_dir: str | Path | None = None, *,
                    include_reference: bool = True) -> pd.DataFrame:
    """TON perpetual funding events of ``source``: the cache, plus (for Binance) the vendored
    reference file ``data/reference/ton_funding_binance.csv`` where the cache has no event.

    Returns ``time`` (UTC), ``rate`` (fraction per interval), ``interval_hours``, ``source``.
    """
    _check_source(source, FUNDING_SOURCES)
    parts = []
    if include_reference and source == "binance":
        parts.append(read_funding_csv(REFERENCE_DIR / REFERENCE_FUNDING_FILE))
    path = funding_cache_path(source, cache_dir)
    if path.exists():
        parts.append(read_funding_csv(path))
    if not parts:
        return read_funding_csv(REFERENCE_DIR / REFERENCE_FUNDING_FILE).iloc[0:0]
    merged = parts[0]
    for part in parts[1:]:
        merged = merge_funding(merged, part)
    return merged


def funding_gaps(frame: pd.DataFrame) -> list[tuple[str, str, int]]:
    """Holes in a funding history: ``(after, before, missing_events)`` where the time between
    two events exceeds 1.5 funding intervals (``missing_events`` = whole intervals skipped)."""
    if len(frame) < 2:
        return []
    times = pd.to_datetime(frame["time"], utc=True).reset_index(drop=True)
    hours = (times.diff().dt.total_seconds() / 3600.0).to_numpy()
    interval = frame["interval_hours"].to_numpy(dtype=float)
    out = []
    for i in range(1, len(times)):
        step = interval[i] if interval[i] > 0 else np.nan
        if np.isnan(step) or hours[i] <= 1.5 * step:
            continue
        out.append((times[i - 1].strftime("%Y-%m-%dT%H:%MZ"), times[i].strftime("%Y-%m-%dT%H:%MZ"),
                    int(round(hours[i] / step)) - 1))
    return out


# --- Fetching --------------------------------------------------------------------------------

def fetch_prices(asset: str, source: str, start: dt.date, end: dt.date, *, base_url: str | None = None,
                 session: requests.Session | None = None, now: dt.datetime | None = None,
                 **http_options: Any) -> tuple[pd.DataFrame, dict]:
    """Fetch daily candles of ``asset`` from ``source`` for ``start..end`` (no cache involved).

    Returns the source's frame with a ``source`` column (venue, symbol, market) and its metadata.
    """
    info = _asset(asset)
    _check_source(source, PRICE_SOURCES)
    frame, meta = PRICE_SOURCES[source](info, start, end, base_url=base_url, session=session, now=now,
                                        **http_options)
    frame = frame.copy()
    frame["source"] = meta["label"]
    meta["source"] = source
    return frame, meta


def fetch_funding(source: str, start: dt.date, end: dt.date, *, asset: str = "ton", base_url: str | None = None,
                  session: requests.Session | None = None, now: dt.datetime | None = None,
                  **http_options: Any) -> tuple[pd.DataFrame, dict]:
    """Fetch perpetual funding events of ``asset`` from ``source`` for UTC days ``start..end``."""
    info = _asset(asset)
    _check_source(source, FUNDING_SOURCES)
    return FUNDING_SOURCES[source](info, start, end, base_url=base_url, session=session, now=now, **http_options)


@dataclass
class Refresh:
    """What a cache refresh did."""

    path: Path
    requested: list[tuple[dt.date, dt.date]]
    new_rows: int
    rows: int
    first: str | None
    last: str | None
    gaps: list[tuple[dt.date, dt.date]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing_events: int = 0


def refresh_prices(asset: str, source: str, start: dt.date, end: dt.date, *, cache_dir: str | Path | None = None,
                   base_url: str | None = None, session: requests.Session | None = None,
                   now: dt.datetime | None = None, **http_options: Any) -> Refresh:
    """Bring ``<cache>/prices/<asset>_<source>.csv`` up to date for ``start..end``.

    Only days neither stored nor already requested are fetched (days from today on are not
    closed yet and are never requested). All pages are fetched before anything is written,
    and the file and manifest are replaced atomically: a failed or interrupted fetch leaves
    the cache byte-identical.
    """
    _asset(asset)
    _check_source(source, PRICE_SOURCES)
    moment = utc_now() if now is None else now
    path = price_cache_path(asset, source, cache_dir)
    key = manifest_key(path, cache_dir)
    old = read_prices_csv(path) if path.exists() else None
    entry = read_manifest(cache_dir).get(key, {})
    last_closed = min(end, today_utc(moment) - dt.timedelta(days=1))
    have = old.index if old is not None else []
    runs = missing_day_runs(start, last_closed, have, entry.get("requested", [])) if start <= last_closed else []
    frames, notes, metas = [], [], []
    for first, last in runs:
        frame, meta = fetch_prices(asset, source, first, last, base_url=base_url, session=session, now=moment,
                                   **http_options)
        frames.append(frame)
        metas.append(meta)
        if meta.get("note"):
            notes.append(meta["note"])
    filled = [f for f in frames if not f.empty]
    new = pd.concat(filled) if filled else None
    if runs and new is None:
        hint = "; ".join(notes) or "check --start/--end (was the instrument listed then?)"
        raise FetchError(f"{source}: no {asset.upper()} candles for {_runs_text(runs)}; "
                         f"the cache is unchanged ({hint})")
    with cache_lock(path):
        # Re-read under the lock: another process may have merged its own days meanwhile.
        old = read_prices_csv(path) if path.exists() else None
        have = old.index if old is not None else []
        new_rows = 0 if new is None else int((~new.index.isin(have)).sum())
        merged = merge_prices(old, new) if new is not None else old
        if new is not None:
            write_prices_csv(merged, path)
        if runs:
            write_manifest_entry(key, lambda current: _manifest_entry(current, metas, runs, merged, moment),
                                 cache_dir)
    rows = 0 if merged is None else len(merged)
    return Refresh(path=path, requested=runs, new_rows=new_rows, rows=rows,
                   first=None if merged is None or not rows else merged.index[0].date().isoformat(),
                   last=None if merged is None or not rows else merged.index[-1].date().isoformat(),
                   gaps=find_gaps(merged.index) if merged is not None and rows else [], notes=notes)


def refresh_funding(source: str, start: dt.date, end: dt.date, *, asset: str = "ton",
                    cache_dir: str | Path | None = None, base_url: str | None = None,
                    session: requests.Session | None = None, now: dt.datetime | None = None,
                    **http_options: Any) -> Refresh:
    """Bring ``<cache>/funding/<source>.csv`` up to date for UTC days ``start..end``.

    Days already requested in full (before today) are not asked for again; today is always
    re-requested because more events may settle. Atomic as :func:`refresh_prices`.
    """
    _check_source(source, FUNDING_SOURCES)
    moment = utc_now() if now is None else now
    path = funding_cache_path(source, cache_dir)
    key = manifest_key(path, cache_dir)
    old = read_funding_csv(path) if path.exists() else None
    entry = read_manifest(cache_dir).get(key, {})
    last = min(end, today_utc(moment))
    runs = missing_day_runs(start, last, [], entry.get("requested", [])) if start <= last else []
    frames, metas, missing = [], [], 0
    for first, stop in runs:
        frame, meta = fetch_funding(source, first, stop, asset=asset, base_url=base_url, session=session,
                                    now=moment, **http_options)
        frames.append(frame)
        metas.append(meta)
        missing += int(meta.get("missing_events", 0))
    filled = [f for f in frames if not f.empty]
    new = pd.concat(filled, ignore_index=True) if filled else None
    if new is None and any(a < today_utc(moment) for a, _ in runs):
        raise FetchError(f"{source}: no {asset.upper()} funding events for {_runs_text(runs)}; the cache is "
                         f"unchanged (check --start/--end; OKX keeps only about three months)")
    with cache_lock(path):
        old = read_funding_csv(path) if path.exists() else None  # re-read under the lock
        before = set() if old is None else set(old["time"])
        new_rows = 0 if new is None else int((~new["time"].isin(before)).sum())
        merged = merge_funding(old, new) if new is not None else old
        if new is not None:
            write_funding_csv(merged, path)
        if runs:
            closed = [(a, min(b, today_utc(moment) - dt.timedelta(days=1))) for a, b in runs]
            closed = [(a, b) for a, b in closed if a <= b]
            write_manifest_entry(key, lambda current: _manifest_entry(current, metas, closed, merged, moment,
                                                                      time_col=True), cache_dir)
    rows = 0 if merged is None else len(merged)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return Refresh(path=path, requested=runs, new_rows=new_rows, rows=rows,
                   first=None if merged is None or not rows else merged["time"].iloc[0].strftime(fmt),
                   last=None if merged is None or not rows else merged["time"].iloc[-1].strftime(fmt),
                   missing_events=missing)


def _runs_text(runs: list[tuple[dt.date, dt.date]]) -> str:
    return ", ".join(a.isoformat() if a == b else f"{a.isoformat()}..{b.isoformat()}" for a, b in runs)


def _manifest_entry(entry: dict, metas: list[dict], runs: list[tuple[dt.date, dt.date]], merged: Any,
                    moment: dt.datetime, *, time_col: bool = False) -> dict:
    from analysis.sources.http import redact_url  # here: it imports requests, which breakeven does not need

    out = dict(entry)
    if metas:
        meta = metas[-1]
        out.update({"source": meta.get("source"), "label": meta.get("label"), "symbol": meta.get("symbol"),
                    # no user:password@ or key-like query values in the manifest (issue 13)
                    "url": redact_url(meta["url"]) if meta.get("url") else meta.get("url")})
    out["updated_at"] = iso_utc(moment)
    out["requested"] = merge_spans([*entry.get("requested", []), *[[a.isoformat(), b.isoformat()] for a, b in runs]])
    if merged is not None and len(merged):
        out["rows"] = len(merged)
        if time_col:
            out["first"] = merged["time"].iloc[0].strftime("%Y-%m-%dT%H:%M:%SZ")
            out["last"] = merged["time"].iloc[-1].strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            out["first"] = merged.index[0].date().isoformat()
            out["last"] = merged.index[-1].date().isoformat()
    return out


# --- Status --------------------------------------------------------------------------------

def data_status(cache_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """What the snapshot, the reference file and the cache hold: one dict per dataset.

    Keys: ``kind`` ("prices"/"funding"), ``asset``, ``origin`` ("snapshot", "reference",
    "cache", "canonical"), ``path``, ``first``, ``last``, ``rows``, ``gaps`` (list of
    ``(first, last)`` for prices; ``(after, before, missing_events)`` for funding),
    ``updated`` (ISO time of the last fetch, from the manifest) and, for the canonical
    series, ``detail`` (days by origin).
    """
    manifest = read_manifest(cache_dir)
    root = _cache_dir(cache_dir)
    out: list[dict[str, Any]] = []
    for asset in ASSETS:
        snap = read_snapshot(asset)
        out.append(_price_row("prices", asset, "snapshot", SNAPSHOT_DIR / SNAPSHOT_FILES[asset], snap, None))
        problems = []
        for source, frame in read_price_caches(asset, cache_dir, strict=False).items():
            path = price_cache_path(asset, source, cache_dir)
            updated = manifest.get(manifest_key(path, cache_dir), {}).get("updated_at")
            out.append(_price_row("prices", asset, "cache", path, frame, updated, source=source))
            if problem := bad_close_problem(frame, path, asset, source):  # flagged, not fatal, here
                out[-1]["problem"] = problem
                problems.append(problem)
        if problems:   # the canonical series cannot be built from a bad file: say so instead
            row = _price_row("prices", asset, "canonical", None, snap.iloc[:0], None)
            row["problem"] = "not built: a cached file has a bad close (see above)"
            out.append(row)
            continue
        canon = daily_closes(asset, cache_dir)
        row = _price_row("prices", asset, "canonical", None, canon, None)
        row["detail"] = f"{canon.attrs['origin']}: " + ", ".join(
            f"{n} days from {o}" for o, n in canon.attrs["days_by_origin"].items() if n)
        if note := stale_close_note(canon, asset):
            row["stale"] = note
        out.append(row)
    reference = read_funding_csv(REFERENCE_DIR / REFERENCE_FUNDING_FILE)
    out.append(_funding_row("reference", REFERENCE_DIR / REFERENCE_FUNDING_FILE, reference, None, "binance"))
    for source in FUNDING_SOURCES:
        path = funding_cache_path(source, cache_dir)
        if path.exists():
            frame = read_funding_csv(path)
            updated = manifest.get(manifest_key(path, cache_dir), {}).get("updated_at")
            out.append(_funding_row("cache", path, frame, updated, source))
    for row in out:
        if row["path"] is not None:
            for base in (root, DATA_DIR.parent):   # cache files relative to the cache, the rest to the data folder
                try:
                    row["path"] = Path(row["path"]).resolve().relative_to(base.resolve()).as_posix()
                    break
                except ValueError:
                    continue
    return out


def _price_row(kind: str, asset: str, origin: str, path: Path | None, frame: pd.DataFrame, updated: str | None,
               source: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "asset": asset, "origin": origin, "source": source, "path": path,
            "first": frame.index[0].date().isoformat() if len(frame) else None,
            "last": frame.index[-1].date().isoformat() if len(frame) else None,
            "rows": len(frame), "gaps": find_gaps(frame.index), "updated": updated}


def _funding_row(origin: str, path: Path, frame: pd.DataFrame, updated: str | None, source: str) -> dict[str, Any]:
    fmt = "%Y-%m-%dT%H:%MZ"
    intervals = sorted({f"{h:g}" for h in frame["interval_hours"].dropna()})
    return {"kind": "funding", "asset": "ton", "origin": origin, "source": source, "path": path,
            "first": frame["time"].iloc[0].strftime(fmt) if len(frame) else None,
            "last": frame["time"].iloc[-1].strftime(fmt) if len(frame) else None,
            "rows": len(frame), "gaps": funding_gaps(frame), "updated": updated,
            "detail": f"interval {'/'.join(intervals) or '?'} h"}
