"""gpuhunt catalogs: a catalog zip in the published format, served from a loopback server."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from gpuhunt import AcceleratorVendor, Catalog, CatalogItem
from gpuhunt._internal.storage import CATALOG_V2_FIELDS, item_to_row
from werkzeug import Response

from analysis.core.errors import FetchError, InputError
from analysis.core.gpus import UnknownGpuWarning
from analysis.sources.gpuhunt_catalog import (
    PROVIDERS,
    CatalogWarning,
    catalog_layout,
    get_gpuhunt_catalog,
    parse_gpuhunt_catalog,
    version_date,
)

FAST = {"timeout_s": 2, "max_retries": 2, "backoff_s": 0}
VERSION = "20260301-4242"
NVIDIA = AcceleratorVendor.NVIDIA


def item(provider, name, location, price, gpu_count, gpu_name, gpu_memory, spot=False, flags=()):
    return CatalogItem(provider=provider, instance_name=name, location=location, price=price, cpu=8 * max(gpu_count, 1),
                       memory=64.0, gpu_count=gpu_count, gpu_name=gpu_name, gpu_memory=gpu_memory, spot=spot,
                       disk_size=None, gpu_vendor=NVIDIA if gpu_count else None, flags=list(flags))


ITEMS = {
    "aws": [item("aws", "p5.48xlarge", "us-east-1", 55.04, 8, "H100", 80.0),
            item("aws", "p5.48xlarge", "us-east-1", 26.1, 8, "H100", 80.0, spot=True),
            item("aws", "p5en.48xlarge", "us-east-1", 63.296, 8, "H200", 141.0),
            item("aws", "p4d.24xlarge", "us-east-1", 21.958, 8, "A100", 40.0),
            item("aws", "g5.xlarge", "us-east-1", 1.006, 1, "A10G", 24.0),
            item("aws", "m5.large", "us-east-1", 0.096, 0, None, None)],
    "lambdalabs": [item("lambdalabs", "gpu_1x_h100_pcie", "us-east-1", 2.49, 1, "H100", 80.0),
                   item("lambdalabs", "gpu_8x_h100_sxm5", "us-east-3", 23.92, 8, "H100", 80.0)],
    "runpod": [item("runpod", "NVIDIA H100 80GB HBM3", "US-KS-2", 2.69, 1, "H100", 80.0),
               item("runpod", "NVIDIA H100 80GB HBM3", "US", 1.99, 1, "H100", 80.0),
               item("runpod", "NVIDIA H100 80GB HBM3", "CA-MTL-1", 2.39 * 8, 8, "H100", 80.0,
                    flags=["runpod-cluster"])],
}


def test_published_location_and_providers_match_gpuhunt():
    """Our constants are gpuhunt's (its catalog module), so the catalogs read are the ones it publishes."""
    from gpuhunt._internal import catalog as gh_catalog

    from analysis.sources import gpuhunt_catalog as ours

    assert ours.DEFAULT_CATALOG_URL == gh_catalog.CATALOG_URL
    assert set(ours.PROVIDERS) == set(gh_catalog.OFFLINE_PROVIDERS)


def catalog_csv(provider: str, fields=CATALOG_V2_FIELDS) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(fields), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for it in ITEMS.get(provider, []):
        writer.writerow(item_to_row(it))
    return out.getvalue()


def provider_zip(provider: str) -> bytes:
    """A v3 catalog: ``catalog.zip`` holding ``{provider}.csv``, as publish_catalog.sh makes it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{provider}.csv", catalog_csv(provider))
    return buffer.getvalue()


def bundle_zip(version: str) -> bytes:
    """A v1 catalog: every provider's CSV (the old columns only) plus a ``version`` file."""
    old_fields = ["instance_name", "location", "price", "cpu", "memory", "gpu_count", "gpu_name", "gpu_memory",
                  "spot"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for provider in ("aws", "lambdalabs"):
            archive.writestr(f"{provider}.csv", catalog_csv(provider, old_fields))
        archive.writestr("version", version + "\n")
    return buffer.getvalue()


def serve_v3(httpserver, providers=PROVIDERS):
    for provider in providers:
        httpserver.expect_request(f"/v3/{provider}/version").respond_with_data(VERSION + "\n")
        httpserver.expect_request(f"/v3/{provider}/{VERSION}/catalog.zip").respond_with_data(
            provider_zip(provider), content_type="application/zip")


def test_parse_provider_catalog():
    with pytest.warns(UnknownGpuWarning, match="A10G"):
        frame = parse_gpuhunt_catalog(provider_zip("aws"), provider="aws", version=VERSION)
    # CPU-only m5.large is not a GPU row; A10G is kept with gpu empty
    assert frame.attrs["rows"] == 6 and frame.attrs["no_gpu"] == 1 and frame.attrs["unknown_gpu"] == 1
    rows = {(r.offering, r.pricing): r for r in frame.itertuples()}
    p5 = rows[("p5.48xlarge", "on_demand")]
    assert p5.gpu == "H100-SXM" and p5.gpus == 8 and p5.usd_per_gpu_hour == pytest.approx(6.88)  # 55.04 / 8
    assert rows[("p5.48xlarge", "spot")].usd_per_hour == pytest.approx(26.1)
    assert rows[("p5en.48xlarge", "on_demand")].gpu == "H200"
    assert rows[("p4d.24xlarge", "on_demand")].gpu == "A100-40GB"
    assert (frame["observed_at"] == version_date(VERSION)).all()
    assert frame["source"].iloc[0] == f"gpuhunt catalog aws {VERSION}"


def test_parse_uses_instance_names_and_runpod_clouds():
    lam = parse_gpuhunt_catalog(provider_zip("lambdalabs"), provider="lambdalabs", version=VERSION)
    assert dict(zip(lam["offering"], lam["gpu"])) == {"gpu_1x_h100_pcie": "H100-PCIe",
                                                      "gpu_8x_h100_sxm5": "H100-SXM"}
    assert set(lam["provider"]) == {"lambda"}
    rp = parse_gpuhunt_catalog(provider_zip("runpod"), provider="runpod", version=VERSION)
    assert dict(zip(rp["region"], rp["pricing"])) == {"US-KS-2": "secure", "US": "community",
                                                      "CA-MTL-1": "secure"}
    assert set(rp["gpu"]) == {"H100-SXM"}


def test_malformed_rows_are_counted():
    text = catalog_csv("aws") + "p5.bad,us-east-1,not-a-price,8,64,8,H100,80,False,,nvidia,,x86,{}\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("aws.csv", text)
    with pytest.warns(UnknownGpuWarning):
        frame = parse_gpuhunt_catalog(buffer.getvalue(), provider="aws", version=VERSION)
    assert frame.attrs["malformed"] == 1 and len(frame) == 5


def test_same_items_as_gpuhunts_own_catalog_loader(httpserver, monkeypatch):
    """gpuhunt.Catalog pointed at the same server (its GPUHUNT_CATALOG_URL setting) reads the same offers."""
    serve_v3(httpserver)
    root = httpserver.url_for("/v3")
    monkeypatch.setenv("GPUHUNT_CATALOG_URL", root)
    catalog = Catalog(balance_resources=False, auto_reload=False)
    catalog.load(version=VERSION)
    theirs = catalog.query(provider="aws", min_gpu_count=1)
    with pytest.warns(UnknownGpuWarning):
        ours, meta = get_gpuhunt_catalog(["aws"], **FAST)  # base URL from GPUHUNT_CATALOG_URL
    assert meta["url"] == root and meta["versions"] == {"aws": VERSION}
    assert sorted((i.instance_name, i.spot, i.price) for i in theirs) == sorted(
        zip(ours["offering"], ours["pricing"] == "spot", ours["usd_per_hour"]))


def test_fetch_all_providers_skips_missing_ones_with_a_warning(httpserver, monkeypatch):
    monkeypatch.setattr(httpserver, "no_handler_status_code", 404)  # what S3 answers for a missing key
    serve_v3(httpserver, providers=("aws", "lambdalabs", "runpod"))
    with pytest.warns(CatalogWarning, match="gcp"), pytest.warns(UnknownGpuWarning):
        frame, meta = get_gpuhunt_catalog(gpus=["H100-SXM"], base_url=httpserver.url_for("/v3"), **FAST)
    assert set(meta["versions"]) == {"aws", "lambdalabs", "runpod"}
    assert set(meta["failed"]) == set(PROVIDERS) - {"aws", "lambdalabs", "runpod"}
    assert "404" in meta["failed"]["gcp"]
    assert set(frame["gpu"]) == {"H100-SXM"} and set(frame["provider"]) == {"aws", "lambda", "runpod"}


def test_named_provider_that_fails_is_an_error(httpserver):
    httpserver.expect_request("/v3/oci/version").respond_with_data(
        "<?xml version='1.0'?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist."
        "</Message></Error>", status=404, content_type="application/xml")
    with pytest.raises(FetchError, match="The specified key does not exist"):
        get_gpuhunt_catalog(["oci"], base_url=httpserver.url_for("/v3"), **FAST)


def test_pinned_version_and_lambda_alias(httpserver):
    httpserver.expect_request(f"/v3/lambdalabs/{VERSION}/catalog.zip").respond_with_data(provider_zip("lambdalabs"))
    frame, meta = get_gpuhunt_catalog(["lambda"], version=VERSION, base_url=httpserver.url_for("/v3"), **FAST)
    assert meta["versions"] == {"lambdalabs": VERSION} and len(frame) == 2
    assert frame["observed_at"].iloc[0].isoformat() == "2026-03-01T00:00:00+00:00"


def test_faults_429_500_truncated_zip(httpserver):
    data = provider_zip("runpod")
    httpserver.expect_ordered_request("/v3/runpod/version").respond_with_data("", status=429,
                                                                             headers={"Retry-After": "0"})
    httpserver.expect_ordered_request("/v3/runpod/version").respond_with_data(VERSION)
    httpserver.expect_ordered_request(f"/v3/runpod/{VERSION}/catalog.zip").respond_with_data("", status=503)
    httpserver.expect_ordered_request(f"/v3/runpod/{VERSION}/catalog.zip").respond_with_data(data[: len(data) // 2])
    httpserver.expect_ordered_request(f"/v3/runpod/{VERSION}/catalog.zip").respond_with_data(data)
    frame, _ = get_gpuhunt_catalog(["runpod"], base_url=httpserver.url_for("/v3"), timeout_s=2, max_retries=3,
                                   backoff_s=0)
    httpserver.check_assertions()
    assert len(frame) == 3


def test_truncated_zip_every_time_gives_up(httpserver):
    httpserver.expect_request("/v3/aws/version").respond_with_data(VERSION)
    httpserver.expect_request(f"/v3/aws/{VERSION}/catalog.zip").respond_with_data(b"PK\x03\x04 cut")
    with pytest.raises(FetchError, match="truncated or invalid zip"):
        get_gpuhunt_catalog(["aws"], base_url=httpserver.url_for("/v3"), **FAST)


def test_legacy_bundle_layout(httpserver):
    httpserver.expect_request("/v1/20240506/catalog.zip").respond_with_data(bundle_zip("20240506"))
    with pytest.warns(UnknownGpuWarning):
        frame, meta = get_gpuhunt_catalog(["aws", "lambdalabs"], version="20240506",
                                          base_url=httpserver.url_for("/v1"), **FAST)
    assert meta["layout"] == "bundle" and catalog_layout("https://x/v2") == "bundle"
    assert frame["observed_at"].iloc[0].isoformat() == "2024-05-06T00:00:00+00:00"
    assert set(frame["provider"]) == {"aws", "lambda"}
    assert frame.loc[frame["offering"] == "p5.48xlarge", "gpu"].eq("H100-SXM").all()


def test_bad_inputs():
    with pytest.raises(InputError, match="--provider"):
        get_gpuhunt_catalog(["tensordock"], base_url="http://127.0.0.1:9")
    with pytest.raises(InputError, match="--catalog-version"):
        get_gpuhunt_catalog(["aws"], version="latest", base_url="http://127.0.0.1:9")
    with pytest.raises(FetchError, match="not a valid zip"):
        parse_gpuhunt_catalog(b"not a zip")


def test_an_empty_catalog(httpserver):
    httpserver.expect_request("/v3/cloudrift/version").respond_with_data(VERSION)
    httpserver.expect_request(f"/v3/cloudrift/{VERSION}/catalog.zip").respond_with_handler(
        lambda request: Response(provider_zip("cloudrift"), content_type="application/zip"))
    frame, meta = get_gpuhunt_catalog(["cloudrift"], base_url=httpserver.url_for("/v3"), **FAST)
    assert frame.empty and meta["versions"] == {"cloudrift": VERSION}
    assert re.match(r"\d{8}-\d+", VERSION)
