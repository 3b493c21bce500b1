"""Where data lives: committed reference tables and snapshot, and the git-ignored cache
(its layout, CSV formats, merge rules and manifest).

Every cache write is atomic (temp file in the same folder, fsync, then rename), so an
interrupted or failed fetch leaves the previous file byte-identical. Every read-merge-write
of a cache file runs under :func:`cache_lock` (a cross-process file lock), so two fetches
into the same cache at once both keep their rows (issue 13).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.core.errors import DataError, FetchError
from analysis.core.outputs import atomic_write_bytes  # the cache writes as user outputs do
from analysis.market.paths import CACHE_ENV, cache_dir, funding_cache_path, price_cache_path  # noqa: F401 (re-exported)
from analysis.sources.common import as_date

#: Longest wait for another process's lock on a cache file before giving up with a clear error.
LOCK_TIMEOUT_S = 120.0


@contextmanager
def cache_lock(path: str | os.PathLike[str], timeout_s: float | None = None) -> Iterator[Path]:
    """Hold a cross-process lock on the cache file ``path`` (``.<name>.lock`` beside it).

    Wrap every read-merge-write of a cache file in it: the lock is taken *after* the network
    fetch (so two fetches run side by side) and held while the file is re-read, merged and
    replaced, so neither fetch's rows are lost::

        with cache_lock(path):
            old = read(path)                 # re-read under the lock
            atomic_write_text(path, merge(old, new))

    The lock is re-entrant within a process. Raises :class:`~analysis.core.errors.FetchError`
    naming the lock file when another process holds it for longer than ``timeout_s``.
    """
    import filelock

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.with_name(f".{target.name}.lock")  # stays (unlinking a lock file races)
    lock = filelock.FileLock(str(lock_path), timeout=LOCK_TIMEOUT_S if timeout_s is None else timeout_s)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise FetchError(f"{target}: another cocoon-econ process holds {lock_path.name} for more than "
                         f"{lock.timeout:.0f} s; wait for it to finish (or delete {lock_path} if none runs)") from None
    try:
        yield target
    finally:
        lock.release()


def locked_update(path: str | os.PathLike[str], merge: Callable[[Path], str | bytes | None]) -> Path:
    """Under :func:`cache_lock`, call ``merge(path)`` (it re-reads the current file) and write what it returns.

    ``merge`` returns the new text or bytes, or None to leave the file as it is. The write is
    atomic (:func:`atomic_write_bytes`).
    """
    with cache_lock(path) as target:
        data = merge(target)
        if data is not None:
            atomic_write_bytes(target, data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Atomically write UTF-8 text (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_csv(frame: pd.DataFrame, path: str | os.PathLike[str], *, index: bool = False) -> Path:
    """Atomically write ``frame`` as CSV (LF line endings, UTF-8)."""
    return atomic_write_text(path, frame.to_csv(index=index, lineterminator="\n"))


# --- The price and funding cache --------------------------------------------------------
#
# Layout (others rely on it):
#   <cache>/prices/<asset>_<source>.csv   date,open,high,low,close,volume,source (one row a UTC day)
#   <cache>/funding/<source>.csv          time,rate,interval_hours,source (time ISO UTC)
#   <cache>/manifest.json                 per file: last update, source, URL, and the day spans
#                                         already requested (so a refresh asks only for missing days)

PRICE_COLUMNS = ("date", "open", "high", "low", "close", "volume", "source")
FUNDING_COLUMNS = ("time", "rate", "interval_hours", "source")
MANIFEST_NAME = "manifest.json"
_PRICE_FIELDS = ("open", "high", "low", "close", "volume")


def manifest_key(path: Path, cache: str | os.PathLike[str] | None = None) -> str:
    """The manifest's key for a cache file: its path relative to the cache, with ``/``."""
    return Path(path).resolve().relative_to(cache_dir(cache).resolve()).as_posix()


def prices_csv_text(frame: pd.DataFrame) -> str:
    """CSV text of a daily price frame (index ``date``; ``source`` column) in the cache format."""
    out = pd.DataFrame({"date": pd.DatetimeIndex(frame.index).strftime("%Y-%m-%d")})
    for col in _PRICE_FIELDS:
        out[col] = frame[col].to_numpy(dtype=float) if col in frame else float("nan")
    out["source"] = frame["source"].to_numpy() if "source" in frame else ""
    return out.to_csv(index=False, lineterminator="\n")


def write_prices_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Atomically write a daily price frame in the cache format."""
    return atomic_write_text(path, prices_csv_text(frame))


def read_prices_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a cache-format price CSV: index ``date`` (UTC days), ``open..volume`` and ``source``.

    Raises
    ------
    DataError
        When the file lacks a column or has unparseable or duplicate dates.
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype={"source": str})
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read ({exc}); delete it and fetch again") from None
    missing = [c for c in PRICE_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; delete it and fetch again")
    try:
        dates = pd.to_datetime(raw["date"], format="%Y-%m-%d")
        values = {c: raw[c].astype(float).to_numpy() for c in _PRICE_FIELDS}
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: bad value ({exc}); delete it and fetch again") from None
    frame = pd.DataFrame({**values, "source": raw["source"].fillna("").to_numpy()},
                         index=pd.DatetimeIndex(dates, name="date"))
    if frame.index.has_duplicates:
        raise DataError(f"{path}: duplicate dates; delete it and fetch again")
    return frame.sort_index()


def merge_prices(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Union of two daily price frames; on a day present in both, ``new`` wins."""
    if old is None or old.empty:
        return new.sort_index()
    if new is None or new.empty:
        return old.sort_index()
    kept = old[~old.index.isin(new.index)]
    combined = pd.concat([kept, new]) if not kept.empty else new.copy()
    combined.index.name = "date"
    return combined.sort_index()


def funding_csv_text(frame: pd.DataFrame) -> str:
    """CSV text of a funding frame in the cache format (``time`` as ``YYYY-MM-DDTHH:MM:SSZ``)."""
    times = pd.to_datetime(frame["time"], utc=True)
    hours = ["" if pd.isna(h) else f"{float(h):g}" for h in frame["interval_hours"]]
    out = pd.DataFrame({"time": times.dt.strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy(),
                        "rate": frame["rate"].to_numpy(dtype=float),
                        "interval_hours": hours,
                        "source": frame["source"].to_numpy()})
    return out.to_csv(index=False, lineterminator="\n")


def write_funding_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Atomically write a funding frame in the cache format."""
    return atomic_write_text(path, funding_csv_text(frame))


def read_funding_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a funding CSV (cache format, or the reference file whose ``venue`` column is the source).

    Returns ``time`` (tz-aware UTC), ``rate``, ``interval_hours`` and ``source``, ascending.
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype={"source": str, "venue": str})
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read ({exc}); delete it and fetch again") from None
    if "source" not in raw.columns and "venue" in raw.columns:
        raw = raw.rename(columns={"venue": "source"})
    missing = [c for c in FUNDING_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; delete it and fetch again")
    try:
        frame = pd.DataFrame({"time": pd.to_datetime(raw["time"], utc=True, format="ISO8601"),
                              "rate": raw["rate"].astype(float),
                              "interval_hours": raw["interval_hours"].astype(float),
                              "source": raw["source"].fillna("")})
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: bad value ({exc}); delete it and fetch again") from None
    if (frame["interval_hours"] <= 0).any() or not np.isfinite(frame["rate"]).all():
        raise DataError(f"{path}: interval_hours must be positive and rates finite; delete it and fetch again")
    return frame.sort_values("time", kind="stable").reset_index(drop=True)


def merge_funding(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Union of two funding frames; on a time present in both, ``new`` wins.

    Each row keeps the ``interval_hours`` computed when it was fetched (from a contiguous
    API history); a missing one is filled from the time since the previous event.
    """
    parts = [f for f in (old, new) if f is not None and not f.empty]
    if not parts:
        return new if new is not None else old
    combined = pd.concat(parts, ignore_index=True)
    combined = combined.drop_duplicates("time", keep="last").sort_values("time").reset_index(drop=True)
    gaps = combined["interval_hours"].isna()
    if gaps.any() and len(combined) > 1:
        since_prev = combined["time"].diff().dt.total_seconds() / 3600.0
        since_prev.iloc[0] = since_prev.iloc[1]
        combined.loc[gaps, "interval_hours"] = since_prev[gaps].round()
    return combined


# --- Manifest ------------------------------------------------------------------------------

def read_manifest(cache: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The cache manifest (``{}`` when there is none yet)."""
    path = cache_dir(cache) / MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc}); delete it (data files are kept) and fetch again") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object; delete it (data files are kept) and fetch again")
    return data


def write_manifest_entry(key: str, entry: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]],
                         cache: str | os.PathLike[str] | None = None) -> Path:
    """Atomically replace one manifest entry (the others are kept), under :func:`cache_lock`.

    ``entry`` may be a function of the entry as stored now (``{}`` when absent), called under
    the lock, so concurrent writers merge rather than overwrite each other's spans.
    """
    path = cache_dir(cache) / MANIFEST_NAME
    with cache_lock(path):
        manifest = read_manifest(cache)
        manifest[key] = entry(manifest.get(key, {})) if callable(entry) else entry
        text = json.dumps(dict(sorted(manifest.items())), indent=2, sort_keys=True) + "\n"
        return atomic_write_text(path, text)


def merge_spans(spans: Iterable[Sequence[Any]]) -> list[list[str]]:
    """Merge ``[first, last]`` day spans (ISO strings or dates) that overlap or touch."""
    parsed = sorted((as_date(a), as_date(b)) for a, b in spans)
    merged: list[list[dt.date]] = []
    for a, b in parsed:
        if merged and a <= merged[-1][1] + dt.timedelta(days=1):
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [[a.isoformat(), b.isoformat()] for a, b in merged]


def missing_day_runs(start: dt.date, end: dt.date, have: Iterable[Any],
                     spans: Iterable[Sequence[Any]] = ()) -> list[tuple[dt.date, dt.date]]:
    """Contiguous runs of days in ``start..end`` neither in ``have`` nor inside ``spans``.

    This is what an incremental refresh requests: days already stored, and days already
    asked for (even if the source had nothing for them), are not asked for again.
    """
    known = {as_date(d) for d in have}
    for a, b in spans:
        day, last = max(as_date(a), start), min(as_date(b), end)
        while day <= last:
            known.add(day)
            day += dt.timedelta(days=1)
    runs: list[tuple[dt.date, dt.date]] = []
    day = start
    while day <= end:
        if day not in known:
            if runs and runs[-1][1] == day - dt.timedelta(days=1):
                runs[-1] = (runs[-1][0], day)
            else:
                runs.append((day, day))
        day += dt.timedelta(days=1)
    return runs

