"""RunPod GPU list prices from its GraphQL API (``gpuTypes``).

API facts used here (RunPod GraphQL schema, as queried by runpod-python and gpuhunt's
RunPod provider):

- ``POST https://api.runpod.io/graphql`` with ``{"query": "..."}``. The ``gpuTypes`` query
  returns, per GPU type, ``id`` (``"NVIDIA H100 80GB HBM3"``), ``displayName``
  (``"H100 SXM"``), ``memoryInGb``, ``secureCloud``/``communityCloud`` (offered there or not),
  ``securePrice``/``communityPrice`` (on-demand USD per GPU-hour),
  ``secureSpotPrice``/``communitySpotPrice`` (interruptible USD per GPU-hour) and
  ``lowestPrice(input: {gpuCount: 1}) {minimumBidPrice uninterruptablePrice stockStatus}``.
  Prices are ``null`` or 0 where a GPU is not offered.
- GraphQL reports errors inside an HTTP 200 answer: ``{"errors": [{"message": ...}],
  "data": null}``; they become a :class:`~analysis.core.errors.FetchError` with those messages.
- The query works without a key; ``RUNPOD_API_KEY``, when set, is sent as
  ``Authorization: Bearer`` (never in the URL, never logged).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import requests

from analysis.core.env import env_value
from analysis.core.errors import FetchError
from analysis.core.gpus import canonical_gpu, warn_unknown_gpus
from analysis.sources.http import HttpClient
from analysis.sources.rate_table import empty_rates, rates_frame

BASE_URL = "https://api.runpod.io"
GRAPHQL_PATH = "graphql"
SOURCE = "RunPod GraphQL gpuTypes"
API_KEY_ENV = "COCOON_ECON_RUNPOD_API_KEY"  # alias RUNPOD_API_KEY
GPU_TYPES_QUERY = """query GpuTypes {
  gpuTypes {
    id
    displayName
    memoryInGb
    secureCloud
    communityCloud
    securePrice
    communityPrice
    secureSpotPrice
    communitySpotPrice
    lowestPrice(input: {gpuCount: 1}) {
      minimumBidPrice
      uninterruptablePrice
      stockStatus
    }
  }
}"""
# (price field, offered-flag field, pricing kind, offering prefix)
_PRICE_FIELDS = (
    ("securePrice", "secureCloud", "secure", "secure"),
    ("communityPrice", "communityCloud", "community", "community"),
    ("secureSpotPrice", "secureCloud", "spot", "secure spot"),
    ("communitySpotPrice", "communityCloud", "spot", "community spot"),
)


def graphql_errors(payload: Any) -> str | None:
    """The messages of a GraphQL ``errors`` list, joined; ``None`` when there are none."""
    if isinstance(payload, dict) and payload.get("errors"):
        errors = payload["errors"]
        if not isinstance(errors, list):
            errors = [errors]
        return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
    return None


def parse_runpod_gpu_types(payload: Any, *, observed_at: dt.datetime | str | None = None) -> pd.DataFrame:
    """RunPod's ``gpuTypes`` answer as normalised rate rows (one per GPU type and price kind).

    Parameters
    ----------
    payload : dict
        The decoded GraphQL answer ``{"data": {"gpuTypes": [...]}}``.
    observed_at : datetime or str, optional
        When the prices were read (UTC); default now.

    Returns
    -------
    DataFrame
        Normalised rate columns; pricing ``secure``, ``community`` or ``spot``;
        ``usd_per_hour`` equals ``usd_per_gpu_hour`` (one GPU). ``attrs["unknown_gpu"]``
        counts rows whose GPU is not a canonical one.

    Raises
    ------
    FetchError
        For GraphQL errors or a payload without ``data.gpuTypes``.
    """
    message = graphql_errors(payload)
    if message:
        raise FetchError(f"runpod: GraphQL error: {message}")
    gpu_types = (payload.get("data") or {}).get("gpuTypes") if isinstance(payload, dict) else None
    if not isinstance(gpu_types, list):
        raise FetchError("runpod: expected {'data': {'gpuTypes': [...]}} from the GraphQL API")
    when = observed_at or dt.datetime.now(dt.UTC)
    rows, unknown = [], []
    for item in gpu_types:
        if not isinstance(item, dict):
            continue
        display = str(item.get("displayName") or item.get("id") or "")
        memory = item.get("memoryInGb")
        memory_gb = float(memory) if isinstance(memory, (int, float)) else None
        gpu = (canonical_gpu(display, memory_gb=memory_gb, hint=str(item.get("id") or ""))
               or canonical_gpu(str(item.get("id") or ""), memory_gb=memory_gb))
        for price_field, offered_field, pricing, prefix in _PRICE_FIELDS:
            price = item.get(price_field)
            if not isinstance(price, (int, float)) or price <= 0 or item.get(offered_field) is False:
                continue
            if gpu is None:
                unknown.append(display)
            rows.append({"observed_at": when, "provider": "runpod", "region": "global",
                         "offering": f"{prefix} {display}", "gpu": gpu or "", "gpus": 1,
                         "usd_per_hour": float(price), "usd_per_gpu_hour": float(price),
                         "pricing": pricing, "source": SOURCE})
    frame = rates_frame(rows) if rows else empty_rates()
    frame.attrs.update({"gpu_types": len(gpu_types), "unknown_gpu": len(unknown)})
    warn_unknown_gpus("runpod", unknown)
    return frame


def get_runpod_gpu_prices(*, base_url: str = BASE_URL, session: requests.Session | None = None,
                          api_key: str | None = None, **http_options: Any) -> tuple[pd.DataFrame, dict]:
    """Fetch RunPod's per-GPU-hour list prices (secure, community, spot).

    Parameters
    ----------
    base_url : str
        API root (``https://api.runpod.io``); override for a proxy or a test server.
    session : requests.Session, optional
    api_key : str, optional
        Default ``$RUNPOD_API_KEY``; optional, sent as a bearer token, never logged.
    **http_options
        Passed to :class:`~analysis.sources.http.HttpClient`.

    Returns
    -------
    (DataFrame, dict)
        Normalised rows and metadata (``source``, ``url``, ``observed_at``, ``gpu_types``,
        ``unknown_gpu``).
    """
    key = api_key or env_value(API_KEY_ENV)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    client = HttpClient(base_url, "runpod", session=session, headers=headers, **http_options)
    observed_at = dt.datetime.now(dt.UTC)
    payload = client.post_json(GRAPHQL_PATH, {"query": GPU_TYPES_QUERY})
    frame = parse_runpod_gpu_types(payload, observed_at=observed_at)
    meta = {"source": SOURCE, "url": client.url(GRAPHQL_PATH), "observed_at": observed_at.isoformat(),
            "gpu_types": frame.attrs.get("gpu_types", 0), "unknown_gpu": frame.attrs.get("unknown_gpu", 0)}
    return frame, meta
