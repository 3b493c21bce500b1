"""RunPod GraphQL gpuTypes: parser and fetcher over real HTTP, GraphQL errors and faults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.core.errors import FetchError
from analysis.core.gpus import UnknownGpuWarning
from analysis.sources.runpod import GPU_TYPES_QUERY, get_runpod_gpu_prices, parse_runpod_gpu_types

DATA = Path(__file__).parent / "data" / "rates"
FAST = {"timeout_s": 2, "max_retries": 2, "backoff_s": 0}


@pytest.fixture
def gpu_types() -> dict:
    return json.loads((DATA / "runpod_gpu_types.json").read_text())


def test_parse_one_row_per_price_kind(gpu_types):
    with pytest.warns(UnknownGpuWarning, match="RTX A6000"):
        frame = parse_runpod_gpu_types(gpu_types, observed_at="2026-05-22T12:00:00Z")
    rows = {(r.offering, r.pricing): r for r in frame.itertuples()}
    h100 = rows[("secure H100 SXM", "secure")]
    assert h100.gpu == "H100-SXM" and h100.usd_per_gpu_hour == 2.69 and h100.gpus == 1
    assert rows[("community H100 SXM", "community")].usd_per_hour == 1.99
    assert rows[("secure spot H100 SXM", "spot")].usd_per_hour == 1.75
    # communitySpotPrice null, communityPrice 0 and an unoffered cloud give no rows
    assert ("community spot H100 SXM", "spot") not in rows
    assert ("community H100 PCIe", "community") not in rows
    assert rows[("secure H100 PCIe", "secure")].gpu == "H100-PCIe"
    assert rows[("secure H200 SXM", "secure")].gpu == "H200"
    assert rows[("community spot A100 SXM", "spot")].gpu == "A100-80GB"
    assert rows[("community RTX 4090", "community")].gpu == "RTX-4090"
    # unknown GPUs are kept with gpu empty: RTX A6000 (2 prices) and MI300X (1)
    assert frame.attrs["unknown_gpu"] == 3
    assert set(frame.loc[frame["gpu"] == "", "offering"]) == {"secure RTX A6000", "community RTX A6000",
                                                              "secure MI300X"}
    assert (frame["provider"] == "runpod").all() and (frame["region"] == "global").all()


def test_graphql_errors_become_fetch_errors():
    errors = json.loads((DATA / "runpod_errors.json").read_text())
    with pytest.raises(FetchError, match='Cannot query field "secureSpotPrice"'):
        parse_runpod_gpu_types(errors)
    with pytest.raises(FetchError, match="gpuTypes"):
        parse_runpod_gpu_types({"data": {}})


def test_fetch_posts_the_query_with_the_key_in_a_header(httpserver, gpu_types, monkeypatch):
    monkeypatch.setenv("RUNPOD_API_KEY", "rp-secret-key")
    httpserver.expect_request("/graphql", method="POST", headers={"Authorization": "Bearer rp-secret-key"},
                              json={"query": GPU_TYPES_QUERY}).respond_with_json(gpu_types)
    with pytest.warns(UnknownGpuWarning):
        frame, meta = get_runpod_gpu_prices(base_url=httpserver.url_for("/"), **FAST)
    # prices: H100 SXM 3, H100 PCIe 1, H200 1, A100 4, RTX 4090 4, RTX A6000 2, MI300X 1
    assert meta["gpu_types"] == 7 and len(frame) == 16
    assert "rp-secret-key" not in json.dumps(meta)
    assert "rp-secret-key" not in httpserver.log[0][0].url


def test_fetch_reports_graphql_errors_from_a_200(httpserver, monkeypatch):
    monkeypatch.setenv("RUNPOD_API_KEY", "rp-secret-key")
    httpserver.expect_request("/graphql").respond_with_json(json.loads((DATA / "runpod_errors.json").read_text()))
    with pytest.raises(FetchError) as info:
        get_runpod_gpu_prices(base_url=httpserver.url_for("/"), **FAST)
    assert "GraphQL error" in str(info.value) and "rp-secret-key" not in str(info.value)


def test_fetch_retries_429_and_500(httpserver, gpu_types):
    httpserver.expect_ordered_request("/graphql").respond_with_data("", status=429, headers={"Retry-After": "0"})
    httpserver.expect_ordered_request("/graphql").respond_with_data("upstream", status=502)
    httpserver.expect_ordered_request("/graphql").respond_with_json(gpu_types)
    with pytest.warns(UnknownGpuWarning):
        frame, _ = get_runpod_gpu_prices(base_url=httpserver.url_for("/"), **FAST)
    httpserver.check_assertions()
    assert (frame["gpu"] == "H100-SXM").sum() == 3


def test_truncated_json_twice_then_gives_up(httpserver):
    httpserver.expect_request("/graphql").respond_with_data('{"data": {"gpuTypes": [{"id": "NVIDIA',
                                                            content_type="application/json")
    with pytest.raises(FetchError, match="truncated JSON"):
        get_runpod_gpu_prices(base_url=httpserver.url_for("/"), timeout_s=2, max_retries=1, backoff_s=0)
    assert len(httpserver.log) == 2


def test_empty_gpu_list(httpserver):
    httpserver.expect_request("/graphql").respond_with_json({"data": {"gpuTypes": []}})
    frame, meta = get_runpod_gpu_prices(base_url=httpserver.url_for("/"), **FAST)
    assert frame.empty and meta["gpu_types"] == 0
