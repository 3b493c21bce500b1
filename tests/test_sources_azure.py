"""Azure Retail Prices: SKU mapping, reservation terms, spot, paging via NextPageLink, faults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from werkzeug import Response

from analysis.core.errors import FetchError, InputError
from analysis.core.gpus import UnknownGpuWarning
from analysis.sources.azure import API_VERSION, azure_filter, get_azure_gpu_prices, parse_azure_prices

DATA = Path(__file__).parent / "data" / "rates"
FAST = {"timeout_s": 2, "max_retries": 2, "backoff_s": 0}
PATH = "/api/retail/prices"


def page(n: int) -> dict:
    return json.loads((DATA / f"azure_prices_page{n}.json").read_text())


def all_items() -> list:
    return [item for n in (1, 2, 3) for item in page(n)["Items"]]


def test_parse_maps_skus_terms_and_spot():
    with pytest.warns(UnknownGpuWarning, match="MI300X"):
        frame = parse_azure_prices(all_items(), observed_at="2026-06-11T00:00:00Z")
    rows = {(r.offering, r.region, r.pricing): r for r in frame.itertuples()}
    on_demand = rows[("Standard_ND96isr_H100_v5", "eastus", "on_demand")]
    # 98.32 USD an hour for 8 H100 SXM = 12.29 per GPU-hour
    assert on_demand.gpu == "H100-SXM" and on_demand.gpus == 8
    assert on_demand.usd_per_gpu_hour == pytest.approx(12.29)
    spot = rows[("Standard_ND96isr_H100_v5", "eastus", "spot")]
    assert spot.usd_per_hour == pytest.approx(39.328)
    low_priority = rows[("Standard_ND96isr_H100_v5 (low priority)", "eastus", "spot")]
    assert low_priority.usd_per_hour == pytest.approx(19.66)
    # A reservation price is for the whole term: 1,109,592 USD / (3 x 8760 h) = 42.2219 USD/h,
    # / 8 GPUs = 5.2777 per GPU-hour (the reference table's 5.28).
    r3 = rows[("Standard_ND96isr_H200_v5", "eastus2", "reserved_3y")]
    assert r3.gpu == "H200" and r3.usd_per_hour == pytest.approx(1109592 / 26280)
    assert r3.usd_per_gpu_hour == pytest.approx(5.2777, abs=1e-4)
    assert "3 Years reservation" in r3.source
    r1 = rows[("Standard_ND96isr_H200_v5", "eastus2", "reserved_1y")]
    assert r1.usd_per_hour == pytest.approx(558000 / 8760)
    nvl = rows[("Standard_NC40ads_H100_v5", "eastus", "on_demand")]
    assert nvl.gpu == "H100-NVL" and nvl.gpus == 1 and nvl.usd_per_gpu_hour == pytest.approx(6.98)
    unknown = rows[("Standard_ND96isr_MI300X_v5", "eastus", "on_demand")]
    assert unknown.gpu == "" and unknown.gpus == 0 and unknown.usd_per_gpu_hour != unknown.usd_per_gpu_hour
    # The Windows meter and the DevTestConsumption price are left out, and counted.
    assert frame.attrs["windows"] == 1 and frame.attrs["other_type"] == 1
    assert frame.attrs["items"] == 10 and len(frame) == 8


def test_filter_names_each_sku_and_region():
    text = azure_filter(["Standard_ND96isr_H100_v5", "Standard_ND96isr_H200_v5"], ["eastus"])
    assert text == ("serviceName eq 'Virtual Machines' and (armSkuName eq 'Standard_ND96isr_H100_v5' or "
                    "armSkuName eq 'Standard_ND96isr_H200_v5') and contains(productName, 'Windows') eq false "
                    "and (armRegionName eq 'eastus')")


def _pager(requests_seen: list):
    """Serve pages 1..3 by $skip, as the API does; its NextPageLinks point at prices.azure.com:443."""
    def handler(request):
        requests_seen.append(dict(request.args))
        skip = int(request.args.get("$skip", "0"))
        return Response(json.dumps(page(skip // 1000 + 1)), content_type="application/json")
    return handler


def test_fetch_follows_next_page_links_on_the_override_host(httpserver):
    seen: list = []
    httpserver.expect_request(PATH).respond_with_handler(_pager(seen))
    with pytest.warns(UnknownGpuWarning):
        frame, meta = get_azure_gpu_prices(base_url=httpserver.url_for("/"), **FAST)
    assert meta["pages"] == 3 and len(seen) == 3
    assert seen[0]["api-version"] == API_VERSION
    assert "armSkuName eq 'Standard_ND96isr_H100_v5'" in seen[0]["$filter"]
    assert [s.get("$skip") for s in seen] == [None, "1000", "2000"]
    assert set(frame["pricing"]) == {"on_demand", "spot", "reserved_1y", "reserved_3y"}
    assert meta["windows"] == 1


def test_fetch_filters_by_gpu_and_region(httpserver):
    seen: list = []
    httpserver.expect_request(PATH).respond_with_handler(_pager(seen))
    with pytest.warns(UnknownGpuWarning):
        frame, _ = get_azure_gpu_prices(["H200"], regions=["eastus2"], base_url=httpserver.url_for("/"), **FAST)
    assert "Standard_ND96isr_H100_v5" not in seen[0]["$filter"]
    assert "armRegionName eq 'eastus2'" in seen[0]["$filter"]
    # the server here ignores the filter; rows of other GPUs are dropped, unknown SKUs kept
    assert set(frame["gpu"]) == {"H200", ""}


def test_gpu_without_azure_vm_is_an_input_error():
    with pytest.raises(InputError, match="RTX-4090"):
        get_azure_gpu_prices(["RTX-4090"], base_url="http://127.0.0.1:9")


def test_faults_429_500_truncated_then_pages(httpserver):
    httpserver.expect_ordered_request(PATH).respond_with_data("", status=429, headers={"Retry-After": "0"})
    httpserver.expect_ordered_request(PATH).respond_with_data("oops", status=500)
    httpserver.expect_ordered_request(PATH).respond_with_json(page(1))
    httpserver.expect_ordered_request(PATH).respond_with_data('{"BillingCurrency": "USD", "Items": [{"curr',
                                                              content_type="application/json")
    httpserver.expect_ordered_request(PATH).respond_with_json(page(2))
    httpserver.expect_ordered_request(PATH).respond_with_json(page(3))
    with pytest.warns(UnknownGpuWarning):
        frame, meta = get_azure_gpu_prices(base_url=httpserver.url_for("/"), **FAST)
    httpserver.check_assertions()
    assert meta["pages"] == 3 and len(frame) == 8


def test_empty_page_ends_the_fetch(httpserver):
    httpserver.expect_request(PATH).respond_with_json({"BillingCurrency": "USD", "CustomerEntityId": "Default",
                                                       "CustomerEntityType": "Retail", "Items": [],
                                                       "NextPageLink": None, "Count": 0})
    frame, meta = get_azure_gpu_prices(base_url=httpserver.url_for("/"), **FAST)
    assert frame.empty and meta["pages"] == 1


def test_a_looping_next_page_link_is_an_error(httpserver):
    looping = {"Items": [], "NextPageLink": httpserver.url_for(PATH) + "?$skip=1000", "Count": 0}
    httpserver.expect_request(PATH).respond_with_json(looping)
    with pytest.raises(FetchError, match="repeats"):
        get_azure_gpu_prices(base_url=httpserver.url_for("/"), **FAST)


def test_api_error_message_is_passed_on(httpserver):
    httpserver.expect_request(PATH).respond_with_json(
        {"error": {"code": "InvalidFilter", "message": "Invalid OData filter"}}, status=400)
    with pytest.raises(FetchError, match="Invalid OData filter"):
        get_azure_gpu_prices(base_url=httpserver.url_for("/"), **FAST)
