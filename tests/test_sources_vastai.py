"""Vast.ai offer search: parser, summary, and the fetcher over real HTTP (faults included)."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from analysis.core.errors import FetchError, InputError
from analysis.core.gpus import UnknownGpuWarning
from analysis.sources.vastai import (
    BUNDLES_PATH,
    get_vastai_offers,
    parse_vastai_offers,
    summarise_vastai_offers,
    vastai_query,
)

DATA = Path(__file__).parent / "data" / "rates"
FAST = {"timeout_s": 2, "max_retries": 2, "backoff_s": 0}
PATH = "/" + BUNDLES_PATH


@pytest.fixture
def bundles() -> dict:
    return json.loads((DATA / "vastai_bundles.json").read_text())


def test_parse_keeps_verified_rentable_and_divides_by_gpus(bundles):
    with pytest.warns(UnknownGpuWarning, match="Tesla V100"):
        frame = parse_vastai_offers(bundles, observed_at="2026-03-06T15:00:00Z")
    # 10 offers: one unverified RTX 4090 and one unrentable L40S are dropped; Tesla V100 is kept
    # with gpu empty.
    assert frame.attrs["offers"] == 10
    assert frame.attrs["unverified"] == 1 and frame.attrs["unrentable"] == 1
    assert frame.attrs["unknown_gpu"] == 1
    assert len(frame) == 8
    eight = frame[frame["offering"] == "31000002"].iloc[0]
    # dph_total = 16.00 + 0.0176 storage for 8 GPUs -> 2.0022 per GPU-hour
    assert eight["gpu"] == "H100-SXM" and eight["gpus"] == 8
    assert eight["usd_per_gpu_hour"] == pytest.approx(16.0176 / 8)
    assert eight["pricing"] == "marketplace" and eight["region"] == "US"
    a100 = frame.set_index("offering")
    assert a100.loc["31000005", "gpu"] == "A100-40GB"   # gpu_ram 40960 MB
    assert a100.loc["31000006", "gpu"] == "A100-80GB"   # gpu_ram 81920 MB
    assert a100.loc["31000004", "gpu"] == "H200"
    assert a100.loc["31000009", "gpu"] == ""
    assert str(frame["observed_at"].dt.tz) == "UTC"


def test_parse_bid_prices_are_min_bid_plus_storage(bundles):
    with pytest.warns(UnknownGpuWarning):
        frame = parse_vastai_offers(bundles, offer_type="bid")
    row = frame[frame["offering"] == "31000001"].iloc[0]
    # min_bid = 0.6 * 1.60 = 0.96, plus the 0.0022 storage part of dph_total
    assert row["usd_per_hour"] == pytest.approx(0.96 + 0.0022)
    assert row["pricing"] == "spot"


def test_summary_matches_hand_computation(bundles):
    with pytest.warns(UnknownGpuWarning):
        frame = parse_vastai_offers(bundles)
    summary = summarise_vastai_offers(frame).set_index("gpu")
    # H100 SXM per GPU-hour: 1.6022, 2.0022, (3.90 + 0.0022) / 2 = 1.9511; sorted 1.6022, 1.9511, 2.0022.
    h100 = summary.loc["H100-SXM"]
    assert h100["count"] == 3
    assert h100["median"] == pytest.approx(1.9511)
    assert h100["p25"] == pytest.approx((1.6022 + 1.9511) / 2)  # linear, position 0.5
    assert h100["p75"] == pytest.approx((1.9511 + 2.0022) / 2)
    assert "" not in summary.index


def test_parser_on_the_real_archive(shared_data):
    raw = json.loads((shared_data / "gpu_vastai_bundles_raw_2026-03-06.json").read_text())
    with pytest.warns(UnknownGpuWarning):
        frame = parse_vastai_offers(raw)
    assert frame["observed_at"].iloc[0].isoformat().startswith("2026-03-06T15:00:18")
    ours = summarise_vastai_offers(frame).set_index(["gpu", "pricing"])
    # Independent computation straight from the raw offers (statistics.quantiles, inclusive method
    # = linear interpolation), with its own name table.
    names = {"H100 SXM": "H100-SXM", "H100 PCIE": "H100-PCIe", "H100 NVL": "H100-NVL", "H200": "H200",
             "H200 NVL": "H200-NVL", "L40S": "L40S", "RTX 4090": "RTX-4090"}
    prices: dict[str, list[float]] = {}
    for offers in raw["offers_by_model"].values():
        for o in offers:
            if not o["rentable"] or o["verification"] != "verified":
                continue
            name = o["gpu_name"]
            gpu = (("A100-80GB" if o["gpu_ram"] > 60000 else "A100-40GB") if name.startswith("A100")
                   else names.get(name))
            if gpu:
                prices.setdefault(gpu, []).append(o["dph_total"] / o["num_gpus"])
    assert set(g for g, _ in ours.index) == set(prices)
    for gpu, values in prices.items():
        row = ours.loc[(gpu, "marketplace")]
        assert row["count"] == len(values)
        assert row["min"] == pytest.approx(min(values))
        assert row["median"] == pytest.approx(statistics.median(values))
        if len(values) > 1:
            q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
            assert row["p25"] == pytest.approx(q1) and row["p75"] == pytest.approx(q3)


def test_query_asks_for_vast_names_and_filters():
    query = vastai_query(["H100-SXM", "A100-80GB"], offer_type="bid", limit=50)
    assert query["gpu_name"] == {"in": ["A100 PCIE", "A100 SXM4", "H100 SXM"]}
    assert query["type"] == "bid" and query["limit"] == 50
    assert query["verified"] == {"eq": True} and query["rentable"] == {"eq": True}
    with pytest.raises(InputError):
        vastai_query(["H100-SXM"], offer_type="reserved-ish")


def test_fetch_over_http(httpserver, bundles, monkeypatch):
    monkeypatch.setenv("VAST_API_KEY", "vast-secret")
    httpserver.expect_ordered_request(PATH, method="POST", headers={"Authorization": "Bearer vast-secret"},
                                      json=vastai_query(["H100-SXM"], offer_type="on-demand")
                                      ).respond_with_json(bundles)
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_json({"offers": []})
    with pytest.warns(UnknownGpuWarning):
        frame, meta = get_vastai_offers(["H100-SXM"], base_url=httpserver.url_for("/"), **FAST)
    httpserver.check_assertions()
    # Only the asked-for GPU (and unknown names) stay; the bid search came back empty.
    assert set(frame["gpu"]) == {"H100-SXM", ""}
    assert (frame["pricing"] == "marketplace").all()
    assert meta["offers"] == {"on-demand": 10, "bid": 0}
    assert "vast-secret" not in json.dumps(meta)


def test_fetch_retries_429_500_and_truncated_json(httpserver, bundles):
    httpserver.expect_ordered_request(PATH).respond_with_data("slow down", status=429, headers={"Retry-After": "0"})
    httpserver.expect_ordered_request(PATH).respond_with_data('{"error": "boom"}', status=500,
                                                              content_type="application/json")
    httpserver.expect_ordered_request(PATH).respond_with_data('{"offers": [{"id": 1, "gpu_n',
                                                              content_type="application/json")
    httpserver.expect_ordered_request(PATH).respond_with_json(bundles)
    with pytest.warns(UnknownGpuWarning):
        frame, _ = get_vastai_offers(["H100-SXM"], offer_types=["on-demand"], base_url=httpserver.url_for("/"),
                                     timeout_s=2, max_retries=3, backoff_s=0)
    httpserver.check_assertions()
    assert (frame["gpu"] == "H100-SXM").sum() == 3


@pytest.fixture
def threaded_server():
    """A loopback server that answers requests concurrently (a slow answer does not hold up the retry)."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_fetch_timeout_then_success(threaded_server, bundles):
    def slow(request):
        time.sleep(0.5)
        return Response(json.dumps(bundles), content_type="application/json")
    threaded_server.expect_ordered_request(PATH).respond_with_handler(slow)
    threaded_server.expect_ordered_request(PATH).respond_with_json(bundles)
    with pytest.warns(UnknownGpuWarning):
        frame, _ = get_vastai_offers(["H200"], offer_types=["on-demand"], base_url=threaded_server.url_for("/"),
                                     timeout_s=0.2, max_retries=2, backoff_s=0)
    assert (frame["gpu"] == "H200").sum() == 1


def test_fetch_gives_up_with_the_api_message(httpserver):
    httpserver.expect_request(PATH).respond_with_json({"success": False, "error": "invalid_args",
                                                      "msg": "bad query field gpu_nam"}, status=400)
    with pytest.raises(FetchError, match="bad query field"):
        get_vastai_offers(["H100-SXM"], base_url=httpserver.url_for("/"), **FAST)


def test_empty_answer_gives_empty_frame(httpserver):
    httpserver.expect_request(PATH).respond_with_json({"offers": []})
    frame, meta = get_vastai_offers(["B200"], base_url=httpserver.url_for("/"), **FAST)
    assert frame.empty and list(frame.columns)[:3] == ["observed_at", "provider", "region"]
    assert meta["offers"] == {"on-demand": 0, "bid": 0}


def test_unexpected_payload_is_a_fetch_error():
    with pytest.raises(FetchError, match="offers"):
        parse_vastai_offers({"something": "else"})
