"""The normalised GPU rental table and its history.

History comes from two places:

- the vendored reference table ``data/reference/gpu_rates_reference.csv`` (dated prices from
  2023 on, each with its ``source`` and ``confidence``), and
- the cache, ``cache_dir()/rates/history.csv``: every ``cocoon-econ fetch rates`` appends
  its snapshot there (atomically, without duplicate rows), so history grows with use.

:func:`rate_history` returns both for one GPU; :func:`summarise_rates` gives the latest and
median price per provider and pricing kind.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import requests

from analysis.core.errors import DataError, FetchError, InputError
from analysis.core.gpus import CANONICAL_GPUS, validate_gpu
from analysis.core.resources import reference_path
from analysis.market import store
from analysis.market.store import atomic_write_text
from analysis.sources import azure, gpuhunt_catalog, runpod, vastai
from analysis.sources.rate_table import COLUMNS, PRICING, concat_rates, empty_rates, summarise_prices, tidy_rates

__all__ = ["COLUMNS", "PRICING", "REFERENCE_PRICING", "HISTORY_COLUMNS", "PROVIDER_KINDS", "history_path",
           "read_history", "append_history", "read_reference", "all_rates", "rate_history",
           "summarise_rates", "provider_kind", "to_csv_text", "fetch_rates", "SOURCES", "daily_points", "history_span",
           "summarise_prices"]

SOURCES = ("vastai", "runpod", "azure", "gpuhunt")
REFERENCE_FILE = "gpu_rates_reference.csv"
HISTORY_FILE = Path("rates") / "history.csv"
# Pricing kinds that only the reference table uses (kept as published, not forced into PRICING).
REFERENCE_PRICING = ("capacity_block", "committed_3y", "marketplace_median", "marketplace_floor",
                     "index", "index_median", "index_contract_1y")
# rate_history adds where each row came from.
HISTORY_COLUMNS = (*COLUMNS, "confidence", "origin")

HYPERSCALERS = frozenset({"aws", "gcp", "azure", "oci"})
MARKETPLACES = frozenset({"vastai"})
INDEXES = frozenset({"marketplace_index"})
PROVIDER_KINDS = ("hyperscaler on demand", "hyperscaler reserved", "hyperscaler spot", "neocloud",
                  "marketplace", "market index")


def provider_kind(provider: str, pricing: str) -> str:
    """Which of :data:`PROVIDER_KINDS` a row belongs to.

    Hyperscalers are AWS, GCP, Azure and OCI (split by on-demand, reserved/committed and spot);
    Vast.ai and RunPod's community cloud are marketplaces; price indexes are their own kind;
    every other cloud (Lambda, Nebius, RunPod secure cloud, Hyperbolic ...) is a neocloud.
    """
    if provider in INDEXES or pricing.startswith("index"):
        return "market index"
    if provider in HYPERSCALERS:
        if pricing == "spot":
            return "hyperscaler spot"
        if pricing.startswith(("reserved", "committed")) or pricing == "capacity_block":
            return "hyperscaler reserved"
        return "hyperscaler on demand"
    if provider in MARKETPLACES or pricing in ("community", "marketplace") or pricing.startswith("marketplace"):
        return "marketplace"
    return "neocloud"


def to_csv_text(frame: pd.DataFrame) -> str:
    """The normalised columns as CSV text (UTC times as ISO 8601 with ``Z``; floats exact)."""
    out = frame[list(COLUMNS)].copy()
    out["observed_at"] = out["observed_at"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return out.to_csv(index=False, lineterminator="\n", float_format=None)


def _read_rates_csv(text: str, what: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(io.StringIO(text), dtype={c: str for c in ("provider", "region", "offering", "gpu",
                                                                        "pricing", "source")},
                            keep_default_na=False, na_values={"usd_per_hour": [""], "usd_per_gpu_hour": [""]})
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{what}: cannot be read as CSV ({exc}); move it away and fetch again") from None
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{what}: missing columns {', '.join(missing)}; move it away and fetch again")
    try:
        return tidy_rates(frame[list(COLUMNS)])
    except (ValueError, TypeError) as exc:
        raise DataError(f"{what}: bad values ({exc}); move it away and fetch again") from None


def history_path(cache_dir: str | Path | None = None) -> Path:
    """``cache_dir()/rates/history.csv``."""
    return store.cache_dir(cache_dir) / HISTORY_FILE


def read_history(cache_dir: str | Path | None = None) -> pd.DataFrame:
    """The fetched snapshots (normalised columns); empty when nothing was fetched yet."""
    path = history_path(cache_dir)
    if not path.exists():
        return empty_rates()
    return _read_rates_csv(path.read_text(encoding="utf-8"), str(path))


def append_history(frame: pd.DataFrame, cache_dir: str | Path | None = None) -> tuple[Path, int]:
    """Append a fetched snapshot to the history, atomically, dropping exact duplicate rows.

    Returns
    -------
    (Path, int)
        The history file and how many rows were new.
    """
    path = history_path(cache_dir)
    # Round-trip the new rows through CSV so they compare exactly with the stored ones.
    new = _read_rates_csv(to_csv_text(tidy_rates(frame)), "new rates")
    # Rate snapshots cannot be fetched again: read-merge-write under the cache lock so a
    # concurrent `fetch rates` never drops this one's rows (issue 13).
    with store.cache_lock(path):
        old = read_history(cache_dir)
        combined = concat_rates([old, new])
        key = to_csv_text(combined).splitlines()[1:]
        keep = ~pd.Series(key).duplicated().to_numpy()
        combined = combined[keep].sort_values(["observed_at", "provider", "gpu", "pricing", "offering", "region"],
                                              kind="stable").reset_index(drop=True)
        added = len(combined) - len(old)
        if added or not path.exists():
            atomic_write_text(path, to_csv_text(combined))
    return path, added


def read_reference() -> pd.DataFrame:
    """The vendored reference table in the normalised columns, plus ``confidence``.

    Its ``observed`` day becomes ``observed_at`` (00:00 UTC).
    """
    path = reference_path(REFERENCE_FILE)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot be read ({exc})") from None
    raw = raw.rename(columns={"observed": "observed_at"})
    frame = tidy_rates(raw)
    frame["confidence"] = raw["confidence"].astype(str).to_numpy()
    return frame[[*COLUMNS, "confidence"]]


def all_rates(cache_dir: str | Path | None = None, *, include_fetched: bool = True) -> pd.DataFrame:
    """Reference table and fetched history together (:data:`HISTORY_COLUMNS`), oldest first.

    ``origin`` is ``reference`` or ``fetched``; ``confidence`` is the reference's
    (``high``/``medium``/``low``) and ``measured`` for fetched rows. ``include_fetched=False``
    leaves the cache out.
    """
    reference = read_reference()
    reference["origin"] = "reference"
    fetched = read_history(cache_dir) if include_fetched else empty_rates()
    fetched["confidence"] = "measured"
    fetched["origin"] = "fetched"
    frames = [f for f in (reference, fetched) if not f.empty]
    combined = pd.concat(frames, ignore_index=True) if frames else empty_rates()
    for column in ("confidence", "origin"):
        if column not in combined.columns:
            combined[column] = ""
    return combined[list(HISTORY_COLUMNS)].sort_values("observed_at", kind="stable").reset_index(drop=True)


def rate_history(gpu: str, cache_dir: str | Path | None = None) -> pd.DataFrame:
    """Every dated price of one GPU: the reference table plus fetched snapshots, oldest first.

    Parameters
    ----------
    gpu : str
        A canonical GPU name (vendor spellings accepted, e.g. ``"H100 SXM"``).
    cache_dir : path, optional
        Cache folder (default :func:`analysis.market.store.cache_dir`).

    Raises
    ------
    InputError
        For a GPU outside :data:`~analysis.core.gpus.CANONICAL_GPUS`.
    """
    return gpu_rows(all_rates(cache_dir), gpu)


def gpu_rows(rates: pd.DataFrame, gpu: str) -> pd.DataFrame:
    """The rows of one GPU in ``rates`` (:func:`all_rates`), as :func:`rate_history` gives them:
    a report reads the rates once and takes each scenario's GPU from them."""
    name = validate_gpu(gpu)
    return rates[rates["gpu"] == name].reset_index(drop=True)


def summarise_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Per provider and pricing kind: the latest price and the median over the history.

    Returns
    -------
    DataFrame
        ``provider, pricing, kind, n, first, last, latest_usd_per_gpu_hour`` (median of the
        rows on the last day observed), ``median_usd_per_gpu_hour``, ``min_usd_per_gpu_hour``,
        ``max_usd_per_gpu_hour``, ``latest_source``; sorted by kind then latest price.
    """
    columns = ["provider", "pricing", "kind", "n", "first", "last", "latest_usd_per_gpu_hour",
               "median_usd_per_gpu_hour", "min_usd_per_gpu_hour", "max_usd_per_gpu_hour", "latest_source"]
    priced = frame.dropna(subset=["usd_per_gpu_hour"])
    if priced.empty:
        return pd.DataFrame(columns=columns)
    priced = priced.assign(day=priced["observed_at"].dt.floor("D"))
    rows = []
    for (provider, pricing), group in priced.groupby(["provider", "pricing"], sort=True):
        last_day = group["day"].max()
        latest = group[group["day"] == last_day]
        price = group["usd_per_gpu_hour"]
        rows.append({"provider": provider, "pricing": pricing, "kind": provider_kind(provider, pricing),
                     "n": len(group), "first": group["day"].min(), "last": last_day,
                     "latest_usd_per_gpu_hour": float(latest["usd_per_gpu_hour"].median()),
                     "median_usd_per_gpu_hour": float(price.median()),
                     "min_usd_per_gpu_hour": float(price.min()), "max_usd_per_gpu_hour": float(price.max()),
                     "latest_source": latest["source"].mode().iloc[0]})
    summary = pd.DataFrame(rows, columns=columns)
    order = {k: i for i, k in enumerate(PROVIDER_KINDS)}
    summary = summary.assign(_k=summary["kind"].map(order)).sort_values(["_k", "latest_usd_per_gpu_hour"])
    return summary.drop(columns="_k").reset_index(drop=True)


def history_span(history: pd.DataFrame) -> dict[str, Any]:
    """Rows (reference and fetched), first and last day (``YYYY-MM-DD``) and the price range."""
    priced = history.dropna(subset=["usd_per_gpu_hour"])
    origin = history["origin"] if "origin" in history.columns else pd.Series("", index=history.index)
    return {"rows": int(len(history)),
            "reference_rows": int((origin == "reference").sum()),
            "fetched_rows": int((origin == "fetched").sum()),
            "first": priced["observed_at"].min().strftime("%Y-%m-%d") if len(priced) else None,
            "last": priced["observed_at"].max().strftime("%Y-%m-%d") if len(priced) else None,
            "min_usd_per_gpu_hour": float(priced["usd_per_gpu_hour"].min()) if len(priced) else None,
            "max_usd_per_gpu_hour": float(priced["usd_per_gpu_hour"].max()) if len(priced) else None}


def daily_points(frame: pd.DataFrame) -> pd.DataFrame:
    """One point per day, provider, offering kind and GPU, for charts.

    Reference rows stay as they are (``n`` = 1). Fetched rows of the same UTC day, provider,
    GPU, pricing and source (e.g. the hundreds of Vast.ai offers of one fetch) become their
    median, with ``n`` the number of rows behind it and ``offering`` saying so.
    """
    columns = [*HISTORY_COLUMNS, "n", "kind"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame = frame.dropna(subset=["usd_per_gpu_hour"])
    reference = frame[frame["origin"] == "reference"].assign(n=1)
    fetched = frame[frame["origin"] != "reference"]
    parts = [reference]
    if not fetched.empty:
        fetched = fetched.assign(observed_at=fetched["observed_at"].dt.floor("D"))
        keys = ["observed_at", "provider", "gpu", "pricing", "source", "confidence", "origin"]
        grouped = fetched.groupby(keys, sort=True)
        agg = grouped.agg(usd_per_gpu_hour=("usd_per_gpu_hour", "median"), n=("usd_per_gpu_hour", "size"),
                          offering=("offering", "first"), region=("region", "first"),
                          gpus=("gpus", "first"), usd_per_hour=("usd_per_hour", "median")).reset_index()
        many = agg["n"] > 1
        agg.loc[many, "offering"] = "median of " + agg.loc[many, "n"].astype(str) + " offers"
        agg.loc[many, "region"] = "several"
        parts.append(agg)
    points = pd.concat([p for p in parts if not p.empty], ignore_index=True) if any(
        not p.empty for p in parts) else pd.DataFrame(columns=columns)
    points["kind"] = [provider_kind(p, q) for p, q in zip(points["provider"], points["pricing"])]
    return points[columns].sort_values("observed_at", kind="stable").reset_index(drop=True)


def fetch_rates(source: str, *, gpu: str | None = None, providers: list[str] | None = None,
                region: str | None = None, catalog_version: str | None = None, base_url: str | None = None,
                cache_dir: str | Path | None = None, session: requests.Session | None = None,
                save: bool = True, **http_options: Any) -> tuple[pd.DataFrame, dict]:
    """Fetch one source's rates and append them to the history.

    Parameters
    ----------
    source : {"vastai", "runpod", "azure", "gpuhunt"}
    gpu : str, optional
        Keep only this GPU (canonical name or a vendor spelling).
    providers : list of str, optional
        gpuhunt catalog providers (``--source gpuhunt`` only).
    region : str, optional
        Azure region (``armRegionName``; ``--source azure`` only).
    catalog_version : str, optional
        A dated gpuhunt catalog version (``--source gpuhunt`` only).
    base_url : str, optional
        Override the source's API root (a mirror, a proxy or a test server).
    cache_dir : path, optional
        Cache folder (default :func:`analysis.market.store.cache_dir`).
    session : requests.Session, optional
    save : bool
        Append to the history (default). The history is only written after the whole
        fetch succeeded, so a failed fetch leaves it byte-identical.
    **http_options
        Passed to the HTTP client (``timeout_s``, ``max_retries``, ``backoff_s`` ...).

    Returns
    -------
    (DataFrame, dict)
        The normalised rows and metadata (the source's, plus ``history`` and ``added``).
    """
    if source not in SOURCES:
        raise InputError(f"--source: use one of {', '.join(SOURCES)}, not {source!r}")
    name = validate_gpu(gpu) if gpu else None
    if providers and source != "gpuhunt":
        raise InputError("--provider: only applies to --source gpuhunt (catalog providers such as aws, gcp)")
    if region and source != "azure":
        raise InputError("--region: only applies to --source azure (e.g. eastus)")
    if catalog_version and source != "gpuhunt":
        raise InputError("--catalog-version: only applies to --source gpuhunt")
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise InputError(f"--base-url: must start with http:// or https://, got {base_url!r}")
    options: dict[str, Any] = {"session": session, **http_options}
    if base_url:
        options["base_url"] = base_url
    gpus = [name] if name else None
    if source == "vastai":
        frame, meta = vastai.get_vastai_offers(gpus, **options)
    elif source == "runpod":
        frame, meta = runpod.get_runpod_gpu_prices(**options)
        if name:
            frame = frame[frame["gpu"] == name].reset_index(drop=True)
    elif source == "azure":
        frame, meta = azure.get_azure_gpu_prices(gpus, regions=[region] if region else None, **options)
    else:
        frame, meta = gpuhunt_catalog.get_gpuhunt_catalog(providers, gpus=gpus, version=catalog_version,
                                                          **options)
    meta = {**meta, "rows": len(frame)}
    if frame.empty and source in ("vastai", "runpod"):
        # An answer with no usable offer is a failed fetch (exit 1), not "0 new" (issue 13).
        skipped = ", ".join(f"{n} {why}" for why, n in (meta.get("skipped") or {}).items() if n)
        got = sum((meta.get("offers") or {}).values()) if isinstance(meta.get("offers"), dict) else None
        raise FetchError(f"{source}: the answer has no usable offer"
                         + (f" ({got} offer(s) returned{'; skipped: ' + skipped if skipped else ''})"
                            if got is not None else "")
                         + "; nothing added to the history (try again later, or another --gpu)")
    if save:
        path, added = append_history(frame, cache_dir)
        meta.update(history=str(path), added=added)
    return frame, meta


def canonical_gpus() -> tuple[str, ...]:
    """The GPU names rates are kept under."""
    return CANONICAL_GPUS
