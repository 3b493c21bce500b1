"""The normalised GPU rental table every rate source returns.

One row per offer and pricing kind, columns (units in the names, times in UTC):

``observed_at`` (tz-aware UTC timestamp), ``provider``, ``region``, ``offering``
(instance type, SKU or offer id), ``gpu`` (canonical name, empty if unknown), ``gpus``
(GPUs in the offering), ``usd_per_hour`` (the whole offering), ``usd_per_gpu_hour``,
``pricing`` and ``source`` (where the figure came from).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

COLUMNS: tuple[str, ...] = ("observed_at", "provider", "region", "offering", "gpu", "gpus",
                            "usd_per_hour", "usd_per_gpu_hour", "pricing", "source")
# Pricing kinds the live sources produce.
PRICING: tuple[str, ...] = ("on_demand", "spot", "reserved_1y", "reserved_3y", "community", "secure",
                            "marketplace")
_STRING_COLUMNS = ("provider", "region", "offering", "gpu", "pricing", "source")


def rates_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build the normalised table from dicts holding (at least) :data:`COLUMNS`.

    ``usd_per_gpu_hour`` is derived as ``usd_per_hour / gpus`` where a row leaves it out.
    """
    frame = pd.DataFrame(list(rows), columns=list(COLUMNS))
    return tidy_rates(frame)


def tidy_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Coerce a frame to the normalised columns and dtypes (extra columns are kept at the end)."""
    frame = frame.copy()
    for column in COLUMNS:
        if column not in frame.columns:
            frame[column] = np.nan
    frame["observed_at"] = pd.to_datetime(frame["observed_at"], utc=True, format="ISO8601")
    for column in _STRING_COLUMNS:
        frame[column] = frame[column].fillna("").astype(str)
    frame["gpus"] = pd.to_numeric(frame["gpus"], errors="coerce").fillna(1).astype("int64")
    frame["usd_per_hour"] = pd.to_numeric(frame["usd_per_hour"], errors="coerce").astype("float64")
    per_gpu = pd.to_numeric(frame["usd_per_gpu_hour"], errors="coerce").astype("float64")
    derived = frame["usd_per_hour"] / frame["gpus"].where(frame["gpus"] > 0)
    frame["usd_per_gpu_hour"] = per_gpu.fillna(derived)
    extra = [c for c in frame.columns if c not in COLUMNS]
    return frame[list(COLUMNS) + extra].reset_index(drop=True)


def empty_rates() -> pd.DataFrame:
    """An empty normalised table with the right dtypes."""
    return rates_frame([])


def concat_rates(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Stack normalised tables (empty ones are skipped, so pandas never warns about them)."""
    frames = [f for f in frames if not f.empty]
    if not frames:
        return empty_rates()
    return tidy_rates(pd.concat(frames, ignore_index=True))


def summarise_prices(frame: pd.DataFrame) -> pd.DataFrame:
    """Per GPU and pricing kind: ``count``, ``min``, ``p25``, ``median``, ``p75`` of
    ``usd_per_gpu_hour`` (linear-interpolated quantiles, as numpy's default). Rows with an
    unknown GPU or no per-GPU price are left out."""
    known = frame[(frame["gpu"] != "") & frame["usd_per_gpu_hour"].notna()]
    columns = ["gpu", "pricing", "count", "min", "p25", "median", "p75"]
    if known.empty:
        return pd.DataFrame(columns=columns)
    grouped = known.groupby(["gpu", "pricing"])["usd_per_gpu_hour"]
    summary = pd.DataFrame({"count": grouped.size(), "min": grouped.min(),
                            "p25": grouped.quantile(0.25), "median": grouped.median(),
                            "p75": grouped.quantile(0.75)}).reset_index()
    return summary[columns]
