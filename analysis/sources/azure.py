"""Azure GPU virtual machine prices from the Azure Retail Prices API.

API facts used here (learn.microsoft.com, "Azure Retail Prices overview"):

- ``GET https://prices.azure.com/api/retail/prices?$filter=...&api-version=2023-01-01-preview``,
  no authentication. OData ``$filter`` on ``serviceName``, ``armSkuName``, ``armRegionName``,
  ``priceType`` ..., combined with ``and``/``or``.
- An answer is ``{"BillingCurrency": "USD", "CustomerEntityId", "CustomerEntityType",
  "Items": [...], "NextPageLink": <absolute URL or null>, "Count": n}``: up to 1000 items a
  page with the 2023-01-01-preview version (100 without); the next page is at
  ``NextPageLink`` (``https://prices.azure.com:443/api/retail/prices?...&$skip=1000``) until it
  is null.
- Each item has ``currencyCode``, ``retailPrice``, ``unitPrice``, ``armRegionName``,
  ``location``, ``effectiveStartDate``, ``meterName``, ``productName``, ``skuName``,
  ``serviceName``, ``armSkuName``, ``unitOfMeasure`` (``"1 Hour"``) and ``type``:
  ``"Consumption"`` (pay as you go; Spot and Low Priority VMs are Consumption meters whose
  ``skuName``/``meterName`` end in ``" Spot"`` / ``" Low Priority"``), ``"DevTestConsumption"``
  (dev/test subscriptions only; left out here) or ``"Reservation"`` with ``reservationTerm``
  ``"1 Year"`` or ``"3 Years"``.
- For ``Reservation`` items the price is for the **whole term** although ``unitOfMeasure``
  says ``"1 Hour"``: the hourly equivalent is the price divided by 8760 hours (1 year) or
  26280 hours (3 years). E.g. the ND96isr H200 v5 3-year reservation of USD 1,109,592 in
  eastus2 is 1109592 / 26280 = USD 42.22 per hour = 5.28 per GPU-hour.
- Windows meters (``productName`` containing "Windows") include the OS licence; they are
  filtered out so the prices compare with Linux instances elsewhere.

GPU model and count per VM size come from :data:`analysis.core.gpus.AZURE_GPU_SKUS`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import requests

from analysis.core.errors import FetchError, InputError
from analysis.core.gpus import AZURE_GPU_SKUS, CANONICAL_GPUS, warn_unknown_gpus
from analysis.core.progress import progress_bar
from analysis.sources.http import HttpClient
from analysis.sources.rate_table import empty_rates, rates_frame

BASE_URL = "https://prices.azure.com"
PRICES_PATH = "api/retail/prices"
API_VERSION = "2023-01-01-preview"
SOURCE = "Azure Retail Prices API"
MAX_PAGES = 200
HOURS_PER_TERM = {"1 Year": 8760, "3 Years": 3 * 8760}
RESERVED_PRICING = {"1 Year": "reserved_1y", "3 Years": "reserved_3y"}


def azure_filter(skus: Iterable[str], regions: Iterable[str] | None = None) -> str:
    """The OData ``$filter`` for Linux prices of the VM sizes ``skus`` (optionally in ``regions``)."""
    skus = list(skus)
    if not skus:
        raise InputError("azure: no VM sizes to ask for")
    parts = ["serviceName eq 'Virtual Machines'",
             "(" + " or ".join(f"armSkuName eq '{s}'" for s in skus) + ")",
             "contains(productName, 'Windows') eq false"]
    regions = list(regions or [])
    if regions:
        parts.append("(" + " or ".join(f"armRegionName eq '{r}'" for r in regions) + ")")
    return " and ".join(parts)


def _hourly(item: dict, counts: Counter) -> tuple[str, float, str] | None:
    """(pricing, USD per hour, note) of one price item, or None (and a count) to leave it out."""
    if item.get("currencyCode", "USD") != "USD":
        counts["not_usd"] += 1
        return None
    if "windows" in str(item.get("productName", "")).lower():
        counts["windows"] += 1
        return None
    price = item.get("retailPrice", item.get("unitPrice"))
    if not isinstance(price, (int, float)) or price <= 0:
        counts["no_price"] += 1
        return None
    if str(item.get("unitOfMeasure", "1 Hour")).strip() != "1 Hour":
        counts["other_unit"] += 1
        return None
    kind = item.get("type")
    if kind == "Consumption":
        names = f"{item.get('skuName', '')} {item.get('meterName', '')}"
        if "Low Priority" in names:
            return "spot", float(price), "low priority"
        if names.rstrip().endswith("Spot") or " Spot " in f"{names} ":
            return "spot", float(price), ""
        return "on_demand", float(price), ""
    if kind == "Reservation":
        term = item.get("reservationTerm")
        if term not in HOURS_PER_TERM:
            counts["other_term"] += 1
            return None
        # The reservation price is for the whole term (see the module docstring).
        return RESERVED_PRICING[term], float(price) / HOURS_PER_TERM[term], f"{term} reservation, {price:,.0f} USD for the term"
    counts["other_type"] += 1  # DevTestConsumption and anything new
    return None


def parse_azure_prices(payload: Any, *, observed_at: dt.datetime | str | None = None) -> pd.DataFrame:
    """Azure Retail Prices items (one page, or the ``Items`` of several) as normalised rate rows.

    Parameters
    ----------
    payload : dict or list
        A decoded page (``{"Items": [...], "NextPageLink": ...}``) or a list of items.
    observed_at : datetime or str, optional
        When the prices were read (UTC); default now.

    Returns
    -------
    DataFrame
        Normalised rate columns; ``offering`` is the ``armSkuName`` (``" (low priority)"``
        appended for Low Priority meters), ``region`` the ``armRegionName``. VM sizes not in
        :data:`~analysis.core.gpus.AZURE_GPU_SKUS` are kept with ``gpu`` empty, ``gpus`` 0 and
        no per-GPU price. ``attrs`` counts the items and those left out by reason.
    """
    if isinstance(payload, dict):
        if "Items" not in payload:
            raise FetchError("azure: expected {'Items': [...]} from the Retail Prices API, got keys "
                             f"{sorted(payload)[:5]}")
        items = payload["Items"] or []
    elif isinstance(payload, list):
        items = payload
    else:
        raise FetchError(f"azure: expected a JSON object, got {type(payload).__name__}")
    when = observed_at or dt.datetime.now(dt.UTC)
    counts: Counter = Counter(items=len(items))
    rows, unknown = [], []
    for item in items:
        if not isinstance(item, dict):
            counts["malformed"] += 1
            continue
        hourly = _hourly(item, counts)
        if hourly is None:
            continue
        pricing, usd_per_hour, note = hourly
        sku = str(item.get("armSkuName") or "")
        gpu, gpus = AZURE_GPU_SKUS.get(sku, ("", 0))
        if not gpu:
            unknown.append(sku)
        rows.append({"observed_at": when, "provider": "azure", "region": str(item.get("armRegionName") or ""),
                     "offering": sku + (" (low priority)" if note == "low priority" else ""),
                     "gpu": gpu, "gpus": gpus, "usd_per_hour": usd_per_hour,
                     "usd_per_gpu_hour": usd_per_hour / gpus if gpus else float("nan"),
                     "pricing": pricing,
                     "source": SOURCE + (f" ({note})" if note and note != "low priority" else "")})
    frame = rates_frame(rows) if rows else empty_rates()
    counts["unknown_gpu"] = len(unknown)
    warn_unknown_gpus("azure", unknown)
    frame.attrs.update({k: int(v) for k, v in counts.items()})
    return frame


def _next_url(link: str, base_url: str) -> str:
    """``NextPageLink`` on the host we are talking to: the API answers with absolute links to
    ``prices.azure.com:443``, which must stay on a mirror or test server when ``base_url`` is one."""
    parts, base = urlsplit(link), urlsplit(base_url)
    if not parts.scheme:
        return base_url.rstrip("/") + "/" + link.lstrip("/")
    if parts.netloc == base.netloc:
        return link
    return base_url.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")


def get_azure_gpu_prices(gpus: Iterable[str] | None = None, *, regions: Iterable[str] | None = None,
                         base_url: str = BASE_URL, session: requests.Session | None = None,
                         api_version: str | None = API_VERSION, max_pages: int = MAX_PAGES,
                         **http_options: Any) -> tuple[pd.DataFrame, dict]:
    """Fetch Azure's on-demand, spot and reservation prices of the GPU VM sizes.

    Parameters
    ----------
    gpus : iterable of str, optional
        Canonical GPU names; default every GPU that has a VM size in
        :data:`~analysis.core.gpus.AZURE_GPU_SKUS`.
    regions : iterable of str, optional
        ``armRegionName`` values (``eastus``, ``westeurope`` ...); default all regions.
    base_url : str
        API root; ``NextPageLink`` is followed on this host.
    session : requests.Session, optional
    api_version : str or None
        ``api-version`` query parameter (None: leave it out).
    max_pages : int
        Stop with an error after this many pages (a guard against a link loop).
    **http_options
        Passed to :class:`~analysis.sources.http.HttpClient`.

    Returns
    -------
    (DataFrame, dict)
        Normalised rows and metadata (``source``, ``url``, ``observed_at``, ``pages``, ``items``,
        and the counts of items left out).
    """
    wanted = set(gpus) if gpus else set(CANONICAL_GPUS)
    skus = [sku for sku, (gpu, _) in AZURE_GPU_SKUS.items() if gpu in wanted]
    if not skus:
        raise InputError(f"--gpu: Azure has no VM size with {', '.join(sorted(wanted))}; "
                         f"it has {', '.join(sorted({g for g, _ in AZURE_GPU_SKUS.values()}))}")
    client = HttpClient(base_url, "azure", session=session, **http_options)
    params = {"$filter": azure_filter(skus, regions)}
    if api_version:
        params["api-version"] = api_version
    observed_at = dt.datetime.now(dt.UTC)
    items: list = []
    pages, seen = 0, set()
    target: str = PRICES_PATH
    query: dict | None = params
    with progress_bar("azure prices") as bar:
        while True:
            page = client.get_json(target, query)
            if not isinstance(page, dict) or "Items" not in page:
                raise FetchError(f"azure: page {pages + 1} has no 'Items' ({client.url(target)})")
            items.extend(page["Items"] or [])
            pages += 1
            bar.update(1)
            link = page.get("NextPageLink")
            if not link:
                break
            if link in seen:
                raise FetchError(f"azure: NextPageLink repeats itself after {pages} pages ({link})")
            if pages >= max_pages:
                raise FetchError(f"azure: more than {max_pages} pages; narrow the filter (--gpu, region)")
            seen.add(link)
            target, query = _next_url(link, base_url), None
    frame = parse_azure_prices(items, observed_at=observed_at)
    meta = {"source": SOURCE, "url": client.url(PRICES_PATH), "filter": params["$filter"],
            "observed_at": observed_at.isoformat(), "pages": pages, **frame.attrs}
    frame = frame[frame["gpu"].isin(wanted) | (frame["gpu"] == "")].reset_index(drop=True)
    return frame, meta
