"""Cloud GPU prices (AWS, GCP, Azure, OCI, Lambda, Nebius, RunPod, Verda, CloudRift) from the
catalogs that dstack's ``gpuhunt`` package publishes.

How the catalogs are published (gpuhunt 0.1.34 ``_internal/catalog.py`` and its
``publish_catalog.sh``/``catalogs.yml`` workflows):

- Current layout ("provider", ``.../v3``): every offline provider is published on its own,
  ``{CATALOG_URL}/{provider}/version`` holds the latest version as text
  (``YYYYMMDD-<run number>``, e.g. ``20260301-1234``) and
  ``{CATALOG_URL}/{provider}/{version}/catalog.zip`` a zip with one ``{provider}.csv``.
  ``CATALOG_URL`` defaults to ``https://dstack-gpu-pricing.s3.eu-west-1.amazonaws.com/v3`` and
  is overridden by the ``GPUHUNT_CATALOG_URL`` environment variable (gpuhunt's own setting).
- Older layout ("bundle", ``.../v1`` and ``.../v2``): ``{CATALOG_URL}/version`` and
  ``{CATALOG_URL}/{version}/catalog.zip`` holding every provider's CSV plus a ``version``
  file. v1 versions are plain days (``20240506``), v2 ``YYYYMMDD-<run>``. Dated versions stay
  on the bucket, so an older version gives the prices of that day where it is still available.
- The CSV columns are gpuhunt's ``CATALOG_V2_FIELDS`` (``instance_name, location, price, cpu,
  memory, gpu_count, gpu_name, gpu_memory, spot, disk_size, gpu_vendor, flags, cpu_arch,
  provider_data``); older catalogs lack the last columns. ``price`` is USD per hour for the
  whole instance; ``gpu_name`` is gpuhunt's short name (``H100``, ``H100NVL``, ``A100``,
  ``RTX4090``) and ``gpu_memory`` GB per GPU. Rows are read with gpuhunt's own
  ``item_from_row``, so every catalog generation it supports is understood.

The downloads go through the project's HTTP layer (retries, ``Retry-After``, clear errors)
rather than gpuhunt's ``Catalog.load`` (plain ``urllib``, all providers at once, settings
read from the process environment); the base URL is the same ``GPUHUNT_CATALOG_URL``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath
from typing import Any, NamedTuple

import pandas as pd
import requests

from analysis.core.errors import FetchError, InputError
from analysis.core.gpus import SXM_ONLY_PROVIDERS, canonical_gpu, warn_unknown_gpus
from analysis.core.progress import progress_bar
from analysis.sources.http import BodyRetry, HttpClient, Reply
from analysis.sources.rate_table import concat_rates, empty_rates, rates_frame

CATALOG_URL_ENV = "GPUHUNT_CATALOG_URL"
# gpuhunt 0.1.34 ``_internal/catalog.py``: ``CATALOG_URL`` and ``OFFLINE_PROVIDERS`` (the providers
# whose offers are published as catalogs). Kept here so the package is not a runtime dependency;
# tests/test_sources_gpuhunt.py checks both against the installed gpuhunt.
DEFAULT_CATALOG_URL = "https://dstack-gpu-pricing.s3.eu-west-1.amazonaws.com/v3"
PROVIDERS: tuple[str, ...] = ("aws", "azure", "verda", "gcp", "lambdalabs", "nebius", "oci", "runpod", "cloudrift")
# Provider names as the rest of the project spells them.
PROVIDER_NAMES = {"lambdalabs": "lambda"}
PROVIDER_ALIASES = {"lambda": "lambdalabs", "datacrunch": "verda"}
SOURCE = "gpuhunt catalog"
_VERSION = re.compile(r"^(\d{8})(?:-\d+)?$")


class CatalogWarning(UserWarning):
    """A provider's catalog could not be loaded; the others were."""


def default_catalog_url() -> str:
    """``$GPUHUNT_CATALOG_URL`` if set, else gpuhunt's published location."""
    return (os.environ.get(CATALOG_URL_ENV) or DEFAULT_CATALOG_URL).rstrip("/")


def catalog_layout(base_url: str) -> str:
    """``"bundle"`` for the v1/v2 all-provider zips, ``"provider"`` for the per-provider v3 ones."""
    return "bundle" if re.search(r"/v[12]/?$", base_url) else "provider"


def version_date(version: str) -> dt.datetime | None:
    """The UTC day a catalog version was collected (``20260301-1234`` -> 2026-03-01)."""
    match = _VERSION.match(version.strip())
    if not match:
        return None
    return dt.datetime.strptime(match.group(1), "%Y%m%d").replace(tzinfo=dt.UTC)


def check_providers(providers: Iterable[str] | None) -> tuple[str, ...]:
    """gpuhunt's names for ``providers`` (``lambda`` -> ``lambdalabs``); all offline ones by default."""
    if not providers:
        return PROVIDERS
    result = []
    for name in providers:
        key = PROVIDER_ALIASES.get(name.lower(), name.lower())
        if key not in PROVIDERS:
            raise InputError(f"--provider: unknown gpuhunt catalog provider {name!r}; use one of: "
                             f"{', '.join(PROVIDERS)}")
        result.append(key)
    return tuple(dict.fromkeys(result))


class CatalogRow(NamedTuple):
    """The fields of one catalog row that a rental rate needs."""

    instance_name: str
    location: str
    price: float
    gpu_count: int
    gpu_name: str | None
    gpu_memory: float | None
    spot: bool
    flags: list[str]


def catalog_row(row: dict[str, str]) -> CatalogRow:
    """One CSV row of a catalog, read as gpuhunt's ``storage.item_from_row`` reads it (0.1.34).

    Required: ``instance_name``, ``location``, ``price``, ``gpu_count``, ``spot`` (``True``/``False``);
    optional (empty = none): ``gpu_name``, ``gpu_memory``; ``flags`` space-separated. Old catalogs
    name TPUs ``tpu-<name>``; they keep the name as it is here (no canonical GPU matches it).
    A malformed row raises ``ValueError`` / ``KeyError``.
    """
    spot = row["spot"]
    if spot.lower() not in ("true", "false"):
        raise ValueError(f"not a boolean: {spot!r}")
    gpu_memory = row.get("gpu_memory") or ""
    return CatalogRow(instance_name=row["instance_name"], location=row["location"], price=float(row["price"]),
                      gpu_count=int(row["gpu_count"]), gpu_name=row.get("gpu_name") or None,
                      gpu_memory=float(gpu_memory) if gpu_memory else None, spot=spot.lower() == "true",
                      flags=(row.get("flags") or "").split())


def _pricing(provider: str, location: str, spot: bool, flags: list[str]) -> str:
    if spot:
        return "spot"
    if provider == "runpod":
        # gpuhunt lists RunPod secure cloud by data centre ("US-KS-2") and community cloud by
        # country code ("US") (providers/runpod.py); clusters are secure cloud.
        return "community" if len(location) == 2 and "runpod-cluster" not in flags else "secure"
    return "on_demand"


def parse_gpuhunt_catalog(data: bytes, *, provider: str | None = None, version: str | None = None,
                          observed_at: dt.datetime | str | None = None) -> pd.DataFrame:
    """A catalog zip (per-provider or bundle layout) as normalised rate rows.

    Parameters
    ----------
    data : bytes
        The ``catalog.zip`` content.
    provider : str, optional
        Read only ``{provider}.csv`` (gpuhunt's name); default every CSV in the zip.
    version : str, optional
        The catalog version; default the zip's ``version`` file (bundle layout). Its day is
        ``observed_at`` unless that is given.
    observed_at : datetime or str, optional

    Returns
    -------
    DataFrame
        Normalised rate columns, one row per GPU instance, region and on-demand/spot price
        (CPU-only instances are left out). ``attrs`` counts ``rows``, ``no_gpu``,
        ``malformed`` and ``unknown_gpu``.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise FetchError(f"gpuhunt: the catalog is not a valid zip ({exc})") from None
    with archive:
        names = [n for n in archive.namelist() if n.endswith(".csv")]
        if provider is not None:
            names = [n for n in names if PurePosixPath(n).stem == provider]
            if not names:
                raise FetchError(f"gpuhunt: the catalog has no {provider}.csv (it has "
                                 f"{', '.join(archive.namelist()) or 'nothing'})")
        if version is None and "version" in archive.namelist():
            version = archive.read("version").decode("utf-8").strip()
        when = observed_at or (version_date(version) if version else None) or dt.datetime.now(dt.UTC)
        counts: Counter = Counter()
        rows, unknown = [], []
        for name in names:
            gh_provider = PurePosixPath(name).stem
            provider_name = PROVIDER_NAMES.get(gh_provider, gh_provider)
            source = f"{SOURCE} {gh_provider} {version or 'unversioned'}"
            with archive.open(name) as handle:
                for row in csv.DictReader(io.TextIOWrapper(handle, "utf-8")):
                    counts["rows"] += 1
                    try:
                        item = catalog_row(row)
                    except (ValueError, TypeError, KeyError):
                        counts["malformed"] += 1
                        continue
                    if not item.gpu_count or not item.gpu_name:
                        counts["no_gpu"] += 1
                        continue
                    gpu = canonical_gpu(item.gpu_name, memory_gb=item.gpu_memory, hint=item.instance_name,
                                        assume_sxm=gh_provider in SXM_ONLY_PROVIDERS)
                    if gpu is None:
                        unknown.append(f"{item.gpu_name} {item.gpu_memory or ''}".strip())
                    rows.append({"observed_at": when, "provider": provider_name, "region": item.location,
                                 "offering": item.instance_name, "gpu": gpu or "", "gpus": item.gpu_count,
                                 "usd_per_hour": item.price, "usd_per_gpu_hour": item.price / item.gpu_count,
                                 "pricing": _pricing(gh_provider, item.location, item.spot, item.flags),
                                 "source": source})
    frame = rates_frame(rows) if rows else empty_rates()
    counts["unknown_gpu"] = len(unknown)
    warn_unknown_gpus("gpuhunt", unknown)
    frame.attrs.update({k: int(v) for k, v in counts.items()})
    frame.attrs["version"] = version
    return frame


def _s3_message(text: str) -> str:
    match = re.search(r"<Message>(.*?)</Message>", text, re.S)
    return match.group(1).strip() if match else " ".join(text.split())[:200]


def _get_bytes(client: HttpClient, path: str, check: Callable[[bytes], str | None] | None = None) -> bytes:
    """GET raw bytes with the client's retry policy (timeouts, connection errors, 429 with
    ``Retry-After``, 5xx, and content that ``check`` finds cut short).

    :class:`HttpClient` only decodes JSON; catalogs are a text file and a zip.
    """
    def accept(reply: Reply) -> bytes:
        problem = check(reply.body) if check else None
        if problem is not None:
            raise BodyRetry(problem)
        return reply.body

    # The client's deadline, size cap, redirect and secret rules apply here too.
    return client.request("GET", path, accept=accept, error_message=_s3_message)


def _check_zip(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            bad = archive.testzip()
    except zipfile.BadZipFile:
        return "returned a truncated or invalid zip"
    return f"returned a corrupt zip (bad member {bad})" if bad else None


def _check_version(data: bytes) -> str | None:
    text = data.decode("utf-8", "replace").strip().strip('"')
    return None if _VERSION.match(text) else f"returned an invalid catalog version {text[:40]!r}"


def get_gpuhunt_catalog(providers: Iterable[str] | None = None, *, gpus: Iterable[str] | None = None,
                        version: str | None = None, base_url: str | None = None, layout: str | None = None,
                        session: requests.Session | None = None, **http_options: Any) -> tuple[pd.DataFrame, dict]:
    """Download gpuhunt catalogs and return their GPU offers normalised.

    Parameters
    ----------
    providers : iterable of str, optional
        gpuhunt offline providers (``aws``, ``gcp``, ``azure``, ``oci``, ``lambdalabs`` or
        ``lambda``, ``nebius``, ``runpod``, ``verda``, ``cloudrift``); default all. When they
        are named, any failure is an error; otherwise a failing provider is skipped with a
        :class:`CatalogWarning` (as gpuhunt itself does).
    gpus : iterable of str, optional
        Keep only these canonical GPUs (default: every GPU row, unknown names included).
    version : str, optional
        A dated catalog version (``20260301-1234``; ``20240506`` on v1); default the latest.
    base_url : str, optional
        Catalog root; default ``$GPUHUNT_CATALOG_URL`` or gpuhunt's S3 bucket (v3).
    layout : {"provider", "bundle"}, optional
        Default from ``base_url`` (``/v1`` and ``/v2`` are bundles).
    session : requests.Session, optional
    **http_options
        Passed to :class:`~analysis.sources.http.HttpClient`.

    Returns
    -------
    (DataFrame, dict)
        Normalised rows and metadata (``source``, ``url``, ``versions`` per provider,
        ``failed`` providers, row counts).
    """
    explicit = bool(providers)
    wanted = check_providers(providers)
    root = (base_url or default_catalog_url()).rstrip("/")
    layout = layout or catalog_layout(root)
    if layout not in ("provider", "bundle"):
        raise InputError(f"layout: use 'provider' or 'bundle', not {layout!r}")
    if version is not None and not _VERSION.match(version):
        raise InputError(f"--catalog-version: expected YYYYMMDD or YYYYMMDD-<run>, got {version!r}")
    # A full catalog bundle is a zip of every provider (tens of MB): a larger cap than a JSON API.
    http_options.setdefault("max_bytes", 256 * 2**20)
    client = HttpClient(root, "gpuhunt", session=session, **http_options)
    meta: dict[str, Any] = {"source": SOURCE, "url": root, "layout": layout, "versions": {}, "failed": {},
                            "rows": 0, "unknown_gpu": 0}
    frames = []
    if layout == "bundle":   # one zip for every provider, fetched once
        bundle_ver = version or _get_bytes(client, "version", _check_version).decode().strip().strip('"')
        bundle = _get_bytes(client, f"{bundle_ver}/catalog.zip", _check_zip)

        def load(provider: str) -> tuple[str, bytes]:
            return bundle_ver, bundle
    else:                    # a version and a zip per provider

        def load(provider: str) -> tuple[str, bytes]:
            ver = version or _get_bytes(client, f"{provider}/version", _check_version).decode().strip().strip('"')
            return ver, _get_bytes(client, f"{provider}/{ver}/catalog.zip", _check_zip)

    with progress_bar("gpuhunt catalogs", total=len(wanted), unit="provider") as bar:
        for provider in wanted:
            try:
                ver, data = load(provider)
                frame = parse_gpuhunt_catalog(data, provider=provider, version=ver)
            except FetchError as exc:
                if explicit:
                    raise
                meta["failed"][provider] = str(exc)
                continue
            finally:
                bar.update(1)
            meta["versions"][provider] = ver
            meta["unknown_gpu"] += frame.attrs.get("unknown_gpu", 0)
            frames.append(frame)
    if meta["failed"]:
        if not meta["versions"]:
            raise FetchError("gpuhunt: no catalog could be loaded: " +
                             "; ".join(f"{p}: {m}" for p, m in meta["failed"].items()))
        warnings.warn(f"gpuhunt: skipped {', '.join(meta['failed'])} (could not be loaded)",
                      CatalogWarning, stacklevel=2)
    result = concat_rates(frames)
    if gpus:
        result = result[result["gpu"].isin(list(gpus))].reset_index(drop=True)
    meta["rows"] = len(result)
    return result, meta
