"""Vast.ai marketplace offers (``api/v0/bundles/``): what hosts ask per GPU-hour.

API facts used here (Vast.ai REST API and its official CLI, ``vast.py search offers``):

- ``POST https://console.vast.ai/api/v0/bundles/`` with the search query as the JSON body
  (the CLI's form; ``GET .../bundles/?q=<same JSON>`` is equivalent). Field filters are
  ``{"field": {"eq"|"in"|"gte"|...: value}}``; ``"type"`` is ``"on-demand"`` or ``"bid"``
  (interruptible); ``"order"`` is ``[["field", "asc"|"desc"]]``; ``"limit"`` caps the offers
  (without it the server returns a few dozen per query). The CLI's default filters are
  ``verified=true external=false rentable=true rented=false``.
- The answer is ``{"offers": [offer, ...]}``, one object per offer with (among ~100 keys)
  ``id``, ``gpu_name`` (``"H100 SXM"``, ``"A100 PCIE"``, ``"RTX 4090"`` ...), ``num_gpus``,
  ``gpu_ram`` (MB per GPU), ``dph_total`` (USD per hour for the whole offer, storage included),
  ``dph_base`` (the GPU part), ``min_bid`` (lowest interruptible bid, USD per hour),
  ``geolocation`` (``"France, FR"``), ``rentable``, ``rented``, ``verification``
  (``"verified"``/``"unverified"``/``"deverified"``) and ``reliability2``.
- The price per GPU-hour is ``dph_total / num_gpus``. An interruptible offer costs its
  ``min_bid`` plus the non-GPU part ``dph_total - dph_base`` (as gpuhunt's Vast provider does).
- An API key is optional for searching; when ``VAST_API_KEY`` is set it is sent as
  ``Authorization: Bearer``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Any

import pandas as pd
import requests

from analysis.core.env import env_value
from analysis.core.errors import FetchError, InputError
from analysis.core.gpus import CANONICAL_GPUS, canonical_gpu, warn_unknown_gpus
from analysis.sources.http import HttpClient
from analysis.sources.rate_table import concat_rates, empty_rates, rates_frame, summarise_prices

BASE_URL = "https://console.vast.ai"
BUNDLES_PATH = "api/v0/bundles/"
SOURCE = "Vast.ai offer search (api/v0/bundles)"
OFFER_TYPES = ("on-demand", "bid")
DEFAULT_LIMIT = 3000
API_KEY_ENV = "COCOON_ECON_VAST_API_KEY"  # alias VAST_API_KEY
# Vast's gpu_name values for each canonical GPU (A100s differ only by gpu_ram).
VAST_GPU_NAMES: dict[str, tuple[str, ...]] = {
    "H100-SXM": ("H100 SXM",),
    "H100-PCIe": ("H100 PCIE",),
    "H100-NVL": ("H100 NVL",),
    "H200": ("H200",),
    "H200-NVL": ("H200 NVL",),
    "B200": ("B200",),
    "A100-80GB": ("A100 SXM4", "A100 PCIE"),
    "A100-40GB": ("A100 SXM4", "A100 PCIE"),
    "L40S": ("L40S",),
    "RTX-4090": ("RTX 4090",),
}


def vastai_query(gpus: Iterable[str] = CANONICAL_GPUS, *, offer_type: str = "on-demand",
                 verified: bool = True, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """The search body for the offers of ``gpus`` (canonical names) of one ``offer_type``."""
    if offer_type not in OFFER_TYPES:
        raise InputError(f"offer_type: use one of {', '.join(OFFER_TYPES)}, not {offer_type!r}")
    names = sorted({name for gpu in gpus for name in VAST_GPU_NAMES[gpu]})
    query: dict[str, Any] = {"external": {"eq": False}, "rentable": {"eq": True}, "rented": {"eq": False},
                             "gpu_name": {"in": names}, "type": offer_type,
                             "order": [["dph_total", "asc"]], "limit": int(limit)}
    if verified:
        query["verified"] = {"eq": True}
    return query


def _offers(payload: Any) -> tuple[list[dict], str | None]:
    """The offers in a bundles answer, or in an archive that wraps them by model
    (``{"collected_utc", "offers_by_model": {name: [offer, ...]}}``)."""
    if isinstance(payload, list):
        return payload, None
    if isinstance(payload, dict) and isinstance(payload.get("offers"), list):
        return payload["offers"], None
    if isinstance(payload, dict) and isinstance(payload.get("offers_by_model"), dict):
        offers = [o for group in payload["offers_by_model"].values() for o in (group or [])]
        return offers, payload.get("collected_utc")
    raise FetchError("vastai: expected {'offers': [...]} from api/v0/bundles, got "
                     f"{type(payload).__name__} with keys {sorted(payload)[:5] if isinstance(payload, dict) else ''}")


def _is_verified(offer: dict) -> bool:
    if isinstance(offer.get("verified"), bool):
        return offer["verified"]
    return offer.get("verification") == "verified"


def _region(geolocation: Any) -> str:
    if not geolocation:
        return ""
    return str(geolocation).rsplit(",", 1)[-1].strip()


def parse_vastai_offers(payload: Any, *, observed_at: dt.datetime | str | None = None,
                        offer_type: str = "on-demand", verified_only: bool = True,
                        rentable_only: bool = True) -> pd.DataFrame:
    """Vast.ai offers as normalised rate rows, one per offer.

    Parameters
    ----------
    payload : dict or list
        The decoded ``api/v0/bundles/`` answer (``{"offers": [...]}``), a bare list of
        offers, or an archive wrapping offers by model with ``collected_utc``.
    observed_at : datetime or str, optional
        When the offers were seen (UTC); default the archive's ``collected_utc``, else now.
    offer_type : {"on-demand", "bid"}
        ``"on-demand"`` rows get pricing ``marketplace`` at ``dph_total``; ``"bid"`` rows
        pricing ``spot`` at ``min_bid + (dph_total - dph_base)``.
    verified_only, rentable_only : bool
        Keep only verified machines and rentable offers (default).

    Returns
    -------
    DataFrame
        The normalised rate columns; ``attrs`` counts ``offers``, ``unverified``,
        ``unrentable``, ``malformed`` and ``unknown_gpu`` rows.
    """
    if offer_type not in OFFER_TYPES:
        raise InputError(f"offer_type: use one of {', '.join(OFFER_TYPES)}, not {offer_type!r}")
    offers, collected = _offers(payload)
    when = observed_at or collected or dt.datetime.now(dt.UTC)
    counts = Counter(offers=len(offers))
    unknown: list[str] = []
    rows = []
    for offer in offers:
        if not isinstance(offer, dict):
            counts["malformed"] += 1
            continue
        if rentable_only and not offer.get("rentable", True):
            counts["unrentable"] += 1
            continue
        if verified_only and not _is_verified(offer):
            counts["unverified"] += 1
            continue
        try:
            num_gpus = int(offer["num_gpus"])
            dph_total = float(offer["dph_total"])
            if offer_type == "bid":
                usd_per_hour = float(offer["min_bid"]) + dph_total - float(offer.get("dph_base", dph_total))
            else:
                usd_per_hour = dph_total
        except (KeyError, TypeError, ValueError):
            counts["malformed"] += 1
            continue
        if num_gpus <= 0 or not usd_per_hour > 0:
            counts["malformed"] += 1
            continue
        name = str(offer.get("gpu_name") or "")
        ram_mb = offer.get("gpu_ram")
        gpu = canonical_gpu(name, memory_gb=float(ram_mb) / 1024 if ram_mb else None)
        if gpu is None:
            unknown.append(name)
        rows.append({"observed_at": when, "provider": "vastai", "region": _region(offer.get("geolocation")),
                     "offering": str(offer.get("id", "")), "gpu": gpu or "", "gpus": num_gpus,
                     "usd_per_hour": usd_per_hour, "usd_per_gpu_hour": usd_per_hour / num_gpus,
                     "pricing": "spot" if offer_type == "bid" else "marketplace",
                     "source": SOURCE + (" interruptible" if offer_type == "bid" else "")})
    frame = rates_frame(rows) if rows else empty_rates()
    counts["unknown_gpu"] = len(unknown)
    warn_unknown_gpus("vastai", unknown)
    frame.attrs.update({k: int(v) for k, v in counts.items()})
    return frame


def summarise_vastai_offers(frame: pd.DataFrame) -> pd.DataFrame:
    """Per GPU model and pricing kind: ``count``, ``min``, ``p25``, ``median``, ``p75`` of
    ``usd_per_gpu_hour`` (linear-interpolated quantiles). Rows with an unknown GPU are left out."""
    return summarise_prices(frame)


def get_vastai_offers(gpus: Iterable[str] | None = None, *, offer_types: Iterable[str] = OFFER_TYPES,
                      verified: bool = True, limit: int = DEFAULT_LIMIT, base_url: str = BASE_URL,
                      session: requests.Session | None = None, api_key: str | None = None,
                      **http_options: Any) -> tuple[pd.DataFrame, dict]:
    """Search Vast.ai for the offers of ``gpus`` and return them normalised.

    Parameters
    ----------
    gpus : iterable of str, optional
        Canonical GPU names (default: all of :data:`~analysis.core.gpus.CANONICAL_GPUS`).
    offer_types : iterable of {"on-demand", "bid"}
        One search per type; ``bid`` gives the interruptible (spot) prices.
    verified : bool
        Ask only for verified machines (and keep only those).
    limit : int
        Offers per search.
    base_url : str
        API root (override for a mirror or a test server).
    session : requests.Session, optional
    api_key : str, optional
        Default ``$VAST_API_KEY``; sent as a bearer token, never logged.
    **http_options
        Passed to :class:`~analysis.sources.http.HttpClient` (``timeout_s``, ``max_retries``,
        ``backoff_s`` ...).

    Returns
    -------
    (DataFrame, dict)
        Normalised rows (one per offer and type) and metadata (``source``, ``url``,
        ``observed_at``, ``offers`` per type, ``unknown_gpu``).
    """
    wanted = tuple(gpus) if gpus else CANONICAL_GPUS
    for gpu in wanted:
        if gpu not in VAST_GPU_NAMES:
            raise InputError(f"gpu: unknown GPU {gpu!r}; use one of: {', '.join(CANONICAL_GPUS)}")
    key = api_key or env_value(API_KEY_ENV)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    client = HttpClient(base_url, "vastai", session=session, headers=headers, **http_options)
    observed_at = dt.datetime.now(dt.UTC)
    frames = []
    meta: dict[str, Any] = {"source": SOURCE, "url": client.url(BUNDLES_PATH),
                            "observed_at": observed_at.isoformat(), "offers": {}, "unknown_gpu": 0}
    for offer_type in offer_types:
        payload = client.post_json(BUNDLES_PATH, vastai_query(wanted, offer_type=offer_type,
                                                              verified=verified, limit=limit))
        frame = parse_vastai_offers(payload, observed_at=observed_at, offer_type=offer_type,
                                    verified_only=verified)
        meta["offers"][offer_type] = int(frame.attrs.get("offers", 0))
        skipped = meta.setdefault("skipped", {})
        for reason in ("unverified", "unrentable", "malformed"):
            skipped[reason] = skipped.get(reason, 0) + int(frame.attrs.get(reason, 0))
        meta["unknown_gpu"] += int(frame.attrs.get("unknown_gpu", 0))
        # A100 40 GB and 80 GB share Vast names; keep the asked-for ones (and unknown names).
        frames.append(frame[frame["gpu"].isin(wanted) | (frame["gpu"] == "")])
    return concat_rates(frames), meta
