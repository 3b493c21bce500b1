"""Observed demand on COCOON: adjusted tokens a worker is actually paid per day.

Read here, in the market layer, so the scenario (econ) can take ``utilisation = "observed"``
without importing the chain layer that writes the reading
(:func:`analysis.chain.network.read_network`, ``cocoon-econ chain network``).

Two origins, in this order:

1. the newest cached chain reading, ``<cache>/chain/network/summary.json``: the median over
   the workers paid in a trailing window (default 30 days) of each worker's paid adjusted
   tokens / window days;
2. else the vendored reference figure (``data/reference/cocoon_network_activity.csv``, a public
   crawl by tongateway/cocoon-dashboard on 2026-04-07): cumulative worker revenue / workers
   found / days since launch / the worker fee. A *mean* over all workers since launch, not a
   median over a window; the crawl may be incomplete (the source says so).
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis.core.errors import DataError
from analysis.core.resources import reference_path
from analysis.market.paths import cache_dir as resolve_cache_dir

if TYPE_CHECKING:   # the observed demand is csv and json; only the parameter history is a frame (issue 20)
    import pandas as pd

NETWORK_DIR = Path("chain") / "network"
SUMMARY_FILE = "summary.json"
PARAMS_HISTORY_FILE = "params.csv"
DEFAULT_WINDOW_DAYS = 30
PARAM_HISTORY_COLUMNS = ("time", "date", "scope", "address", "price_per_token", "worker_fee_per_token",
                         "params_version", "source")
REFERENCE_FILE = "cocoon_network_activity.csv"
# COCOON mainnet launch (the reference file's revenue row: "since launch 2025-11-30").
LAUNCH_DAY = date(2025, 11, 30)


@dataclass(frozen=True)
class ObservedDemand:
    """Paid adjusted tokens per worker per day, with where the figure came from.

    ``origin`` is ``"chain"`` (a cached reading) or ``"reference"`` (the vendored figure).
    """

    adjusted_tokens_per_worker_day: float
    window_days: int
    window_start: str
    window_end: str
    workers: int
    origin: str
    source: str
    as_of: str
    statistic: str           # "median" (chain) or "mean" (reference)
    caveat: str = ""

    def describe(self) -> str:
        """One line: the figure, its window, workers, date and source."""
        text = (f"{self.statistic} {self.adjusted_tokens_per_worker_day:,.0f} paid adjusted tokens per worker per "
                f"day over {self.window_days} days ({self.window_start} .. {self.window_end}), {self.workers} "
                f"worker(s), as of {self.as_of}; source: {self.source}")
        return text + (f" ({self.caveat})" if self.caveat else "")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_network_summary(cache_dir: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """The newest cached ``summary.json`` (None when there is none)."""
    path = resolve_cache_dir(cache_dir) / NETWORK_DIR / SUMMARY_FILE
    if not path.exists():
        return None
    try:
        summary = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable network reading ({exc}); run 'cocoon-econ chain network' again") from None
    if not isinstance(summary, dict) or "median_adjusted_tokens_per_worker_day" not in summary:
        raise DataError(f"{path}: not a network reading; run 'cocoon-econ chain network' again")
    return summary


def reference_demand() -> ObservedDemand:
    """The vendored figure: worker revenue / workers / days since launch / worker fee."""
    rows = {}
    with open(reference_path(REFERENCE_FILE), newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            rows[row["metric"]] = row
    try:
        revenue = rows["cumulative worker revenue (ext_worker_payout_signed into worker contracts)"]
        workers_row = rows["worker contracts discovered"]
    except KeyError as exc:
        raise DataError(f"{REFERENCE_FILE}: no row {exc}; the vendored file is damaged") from None
    with open(reference_path("network_parameters.csv"), newline="", encoding="utf-8") as handle:
        fee = next(float(r["value"]) for r in csv.DictReader(handle)
                   if r["network"] == "cocoon" and r["parameter"] == "worker_fee_per_token")
    as_of = date.fromisoformat(revenue["as_of"])
    days = (as_of - LAUNCH_DAY).days + 1
    workers = int(float(workers_row["value"]))
    tokens = float(revenue["value"]) * 1e9 / workers / days / fee
    return ObservedDemand(
        adjusted_tokens_per_worker_day=tokens, window_days=days, window_start=str(LAUNCH_DAY),
        window_end=str(as_of), workers=workers, origin="reference", as_of=str(as_of),
        source=f"{REFERENCE_FILE} ({revenue['source']})", statistic="mean",
        caveat=f"{revenue['value']} TON paid to {workers} worker contracts since launch at {fee:g} nanoTON per "
               "adjusted token; a mean since launch from a public crawl that may be incomplete, not a chain "
               "reading (run 'cocoon-econ chain network' for one)")


def observed_demand(cache_dir: str | os.PathLike[str] | None = None) -> ObservedDemand:
    """The newest cached chain reading, else the vendored reference figure."""
    summary = read_network_summary(cache_dir)
    if summary is None or not summary.get("workers_paid_in_window"):
        reference = reference_demand()
        if summary is not None:  # a reading exists but nobody was paid in its window
            return ObservedDemand(0.0, int(summary["window_days"]), summary["window_start"], summary["window_end"], 0,
                                  "chain", summary.get("source", "chain reading"), summary.get("read_at", ""),
                                  "median", "no worker was paid in the window")
        return reference
    return ObservedDemand(
        adjusted_tokens_per_worker_day=float(summary["median_adjusted_tokens_per_worker_day"]),
        window_days=int(summary["window_days"]), window_start=str(summary["window_start"]),
        window_end=str(summary["window_end"]), workers=int(summary["workers_paid_in_window"]), origin="chain",
        source=str(summary.get("source", "chain reading")), as_of=str(summary.get("read_at", "")), statistic="median",
        caveat="median over the workers paid in the window; payouts are batched (about 10 TON each), so a "
               "worker's tokens arrive in lumps")


# ----------------------------------------------------------------------------- parameter history

def typed_parameter_history(frame: pd.DataFrame) -> pd.DataFrame:
    """The dated parameter table with its types (times UTC, integers nullable)."""
    import pandas as pd

    out = frame.loc[:, list(PARAM_HISTORY_COLUMNS)].copy()
    out["time"] = pd.to_datetime(out["time"], utc=True, format="mixed")
    out["date"] = out["time"].dt.tz_localize(None).dt.normalize()
    for col in ("price_per_token", "worker_fee_per_token", "params_version"):
        out[col] = pd.to_numeric(out[col].replace("", np.nan), errors="coerce").astype("Int64")
    return out.sort_values(["time", "scope", "address"], kind="stable").reset_index(drop=True)


def read_parameter_history(cache_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame | None:
    """``<cache>/chain/network/params.csv`` as written by ``cocoon-econ chain network`` (None when absent).

    Rows: ``scope`` ``root`` (a ``root_change_price`` / ``root_change_params`` update, or the
    root's state when read) or ``proxy`` (the price and fee a proxy was deployed with: each
    proxy has its own, and a price change redeploys proxies).
    """
    import pandas as pd

    path = resolve_cache_dir(cache_dir) / NETWORK_DIR / PARAMS_HISTORY_FILE
    if not path.exists():
        return None
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        return typed_parameter_history(frame)
    except (OSError, ValueError, KeyError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: unreadable parameter history ({exc}); run 'cocoon-econ chain network' again") from None


def parameters_in_force(history: pd.DataFrame, days) -> pd.DataFrame:
    """The network's ``price_per_token`` / ``worker_fee_per_token`` (nanoTON) in force on each day.

    The last root update on or before the day. Before the first root update the values the
    oldest proxy was deployed with (when it is older), else the first update's values (the
    earliest thing known). Indexed by ``date``.
    """
    import pandas as pd

    index = pd.DatetimeIndex(pd.to_datetime(days), name="date").normalize()
    cols = ["price_per_token", "worker_fee_per_token"]
    known = history[history["price_per_token"].notna() & history["worker_fee_per_token"].notna()]
    root = known[known["scope"] == "root"].sort_values("time", kind="stable")
    proxies = known[known["scope"] == "proxy"].sort_values("time", kind="stable")
    if len(proxies) and (root.empty or proxies["time"].iloc[0] < root["time"].iloc[0]):
        root = pd.concat([proxies.iloc[[0]], root], ignore_index=True)
    if root.empty:
        return pd.DataFrame(np.nan, index=index, columns=cols)
    daily = root.groupby("date")[cols].last().astype("float64")
    merged = daily.reindex(daily.index.union(index)).ffill().bfill()
    return merged.reindex(index)
