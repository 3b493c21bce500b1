"""The normalised rates table: GPU names, history in the cache, reference table, summaries, report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.core.errors import DataError, FetchError, InputError
from analysis.core.gpus import CANONICAL_GPUS, UnknownGpuWarning, canonical_gpu, validate_gpu
from analysis.core.resources import reference_path
from analysis.market import rates
from analysis.sources.rate_table import COLUMNS, rates_frame

DATA = Path(__file__).parent / "data" / "rates"


@pytest.mark.parametrize("name, kwargs, expected", [
    ("H100 SXM", {}, "H100-SXM"),
    ("H100_80GB_SXM5", {}, "H100-SXM"),
    ("NVIDIA H100 80GB HBM3", {}, "H100-SXM"),
    ("H100 PCIE", {}, "H100-PCIe"),
    ("NVIDIA H100 NVL", {}, "H100-NVL"),
    ("H100NVL", {"memory_gb": 94}, "H100-NVL"),
    ("H100", {"memory_gb": 80}, None),  # SXM or PCIe? not said
    ("H100", {"memory_gb": 80, "hint": "gpu_1x_h100_pcie"}, "H100-PCIe"),
    ("H100", {"memory_gb": 80, "assume_sxm": True}, "H100-SXM"),
    ("H200", {}, "H200"),
    ("H200 NVL", {}, "H200-NVL"),
    ("NVIDIA B200", {}, "B200"),
    ("GB200", {}, None),
    ("GH200_96GB", {}, None),
    ("NVIDIA A100-SXM4-80GB", {}, "A100-80GB"),
    ("A100 PCIE", {"memory_gb": 40}, "A100-40GB"),
    ("A100", {}, None),
    ("A100X", {"memory_gb": 80}, None),
    ("NVIDIA L40S", {}, "L40S"),
    ("L40", {}, None),
    ("NVIDIA GeForce RTX 4090", {}, "RTX-4090"),
    ("RTX4090", {}, "RTX-4090"),
    ("h100-sxm", {}, "H100-SXM"),
    ("Tesla V100", {}, None),
    ("", {}, None),
])
def test_canonical_gpu(name, kwargs, expected):
    assert canonical_gpu(name, **kwargs) == expected


def test_validate_gpu_lists_the_names():
    assert validate_gpu("rtx-4090") == "RTX-4090"
    with pytest.raises(InputError) as info:
        validate_gpu("H300")
    assert all(g in str(info.value) for g in CANONICAL_GPUS) and "\n" not in str(info.value)


def _rows(observed_at: str, price: float) -> pd.DataFrame:
    return rates_frame([
        {"observed_at": observed_at, "provider": "vastai", "region": "US", "offering": "1", "gpu": "H100-SXM",
         "gpus": 2, "usd_per_hour": price * 2, "pricing": "marketplace", "source": "test"},
        {"observed_at": observed_at, "provider": "azure", "region": "eastus", "offering": "Standard_X", "gpu": "",
         "gpus": 0, "usd_per_hour": 48.0, "usd_per_gpu_hour": float("nan"), "pricing": "on_demand",
         "source": "test"},
    ])


def test_history_appends_without_duplicates(tmp_path):
    first = _rows("2026-03-06T15:00:18.123456Z", 1.0 / 3)
    path, added = rates.append_history(first, tmp_path)
    assert added == 2 and path == tmp_path / "rates" / "history.csv"
    before = path.read_bytes()
    assert rates.append_history(first, tmp_path)[1] == 0
    assert path.read_bytes() == before  # nothing new: not rewritten
    _, added = rates.append_history(_rows("2026-03-07T15:00:00Z", 0.5), tmp_path)
    history = rates.read_history(tmp_path)
    assert added == 2 and len(history) == 4
    vast = history[history["provider"] == "vastai"]
    assert vast["usd_per_gpu_hour"].iloc[0] == 1.0 / 3  # floats survive the CSV exactly
    assert history["usd_per_gpu_hour"].isna().sum() == 2
    assert list(history.columns) == list(COLUMNS)
    with open(path, newline="") as handle:
        assert next(csv.reader(handle)) == list(COLUMNS)


def test_bad_history_is_a_data_error(tmp_path):
    path = rates.history_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("when,what\n1,2\n")
    with pytest.raises(DataError, match="missing columns"):
        rates.read_history(tmp_path)


def test_reference_keeps_source_and_confidence():
    reference = rates.read_reference()
    with open(reference_path("gpu_rates_reference.csv"), newline="") as handle:
        raw = list(csv.DictReader(handle))
    assert len(reference) == len(raw)
    for ours, theirs in zip(reference.itertuples(), raw):
        assert ours.observed_at.strftime("%Y-%m-%d") == theirs["observed"]
        assert ours.source == theirs["source"] and ours.confidence == theirs["confidence"]
        assert ours.usd_per_gpu_hour == float(theirs["usd_per_gpu_hour"])


def test_rate_history_combines_reference_and_fetched(tmp_path):
    rates.append_history(_rows("2026-09-01T10:00:00Z", 1.9), tmp_path)
    history = rates.rate_history("H100 SXM", tmp_path)
    with open(reference_path("gpu_rates_reference.csv"), newline="") as handle:
        n_reference = sum(1 for row in csv.DictReader(handle) if row["gpu"] == "H100-SXM")
    assert (history["origin"] == "reference").sum() == n_reference
    fetched = history[history["origin"] == "fetched"]
    assert len(fetched) == 1 and fetched["confidence"].iloc[0] == "measured"
    assert history["observed_at"].is_monotonic_increasing
    assert list(history.columns) == list(rates.HISTORY_COLUMNS)
    with pytest.raises(InputError):
        rates.rate_history("Voodoo2", tmp_path)


def test_summarise_rates_latest_and_median():
    frame = rates_frame([
        {"observed_at": day, "provider": "aws", "region": region, "offering": "p5", "gpu": "H100-SXM", "gpus": 8,
         "usd_per_hour": price * 8, "pricing": "on_demand", "source": src}
        for day, region, price, src in [("2025-01-01", "us-east-1", 12.0, "a"), ("2025-06-05", "us-east-1", 7.0, "b"),
                                        ("2025-06-05", "eu-north-1", 8.0, "b"), ("2024-01-01", "us-east-1", 12.0, "a")]])
    row = rates.summarise_rates(frame).iloc[0]
    # latest = median of the two 2025-06-05 rows (7, 8) = 7.5; median of 7, 8, 12, 12 = 10
    assert row["latest_usd_per_gpu_hour"] == 7.5 and row["median_usd_per_gpu_hour"] == 10.0
    assert row["n"] == 4 and row["kind"] == "hyperscaler on demand" and row["latest_source"] == "b"
    assert row["first"].strftime("%Y-%m-%d") == "2024-01-01"


@pytest.mark.parametrize("provider, pricing, kind", [
    ("aws", "on_demand", "hyperscaler on demand"), ("gcp", "committed_3y", "hyperscaler reserved"),
    ("azure", "reserved_1y", "hyperscaler reserved"), ("aws", "spot", "hyperscaler spot"),
    ("lambda", "on_demand", "neocloud"), ("runpod", "secure", "neocloud"), ("runpod", "community", "marketplace"),
    ("vastai", "spot", "marketplace"), ("marketplace_index", "index_contract_1y", "market index")])
def test_provider_kind(provider, pricing, kind):
    assert rates.provider_kind(provider, pricing) == kind


def test_daily_points_take_the_median_of_a_fetch(tmp_path):
    bundles = json.loads((DATA / "vastai_bundles.json").read_text())
    from analysis.sources.vastai import parse_vastai_offers
    with pytest.warns(UnknownGpuWarning):
        offers = parse_vastai_offers(bundles, observed_at="2026-09-02T08:00:00Z")
    rates.append_history(offers, tmp_path)
    history = rates.rate_history("H100-SXM", tmp_path)
    points = rates.daily_points(history)
    fetched = points[points["origin"] == "fetched"]
    assert len(fetched) == 1 and fetched["n"].iloc[0] == 3
    # per GPU-hour 1.6022, 2.0022, 1.9511 -> median 1.9511
    assert fetched["usd_per_gpu_hour"].iloc[0] == pytest.approx(1.9511)
    assert fetched["offering"].iloc[0] == "median of 3 offers"
    assert (points["origin"] == "reference").sum() == (history["origin"] == "reference").sum()


def test_failed_fetch_leaves_history_byte_identical(httpserver, tmp_path):
    rates.append_history(_rows("2026-03-06T15:00:00Z", 1.5), tmp_path)
    before = rates.history_path(tmp_path).read_bytes()
    httpserver.expect_request("/graphql").respond_with_data("down", status=503)
    with pytest.raises(FetchError, match="503"):
        rates.fetch_rates("runpod", base_url=httpserver.url_for("/"), cache_dir=tmp_path,
                          timeout_s=2, max_retries=1, backoff_s=0)
    assert rates.history_path(tmp_path).read_bytes() == before


def test_fetch_rates_appends_and_checks_options(httpserver, tmp_path):
    httpserver.expect_request("/graphql").respond_with_json(json.loads((DATA / "runpod_gpu_types.json").read_text()))
    with pytest.warns(UnknownGpuWarning):
        frame, meta = rates.fetch_rates("runpod", gpu="H100 SXM", base_url=httpserver.url_for("/"), cache_dir=tmp_path,
                                        timeout_s=2, max_retries=0)
    assert set(frame["gpu"]) == {"H100-SXM"} and meta["added"] == 3
    assert len(rates.read_history(tmp_path)) == 3
    for kwargs, field in [({"providers": ["aws"]}, "--provider"), ({"region": "eastus"}, "--region"),
                          ({"catalog_version": "20260101"}, "--catalog-version"), ({"gpu": "K80"}, "--gpu")]:
        with pytest.raises(InputError, match=field):
            rates.fetch_rates("vastai", cache_dir=tmp_path, **kwargs)


def test_report_section_shows_h100_and_h200_with_sources(isolated_cache):
    from analysis.report import ReportContext
    from analysis.report.rates import build
    section = build(ReportContext(cache_dir=isolated_cache))
    assert section is not None and len(section.figures) == 2
    h100 = section.figures[0]
    assert "USD per GPU-hour" in h100.layout.yaxis.title.text
    names = {trace.name for trace in h100.data}
    assert {"hyperscaler on demand", "neocloud", "marketplace"} <= names
    hover = " ".join(t for trace in h100.data for t in trace.text)
    assert "source: NextPlatform 2023-07-27" in hover
    assert "<table>" in section.after_html


def test_report_section_survives_a_damaged_cache(isolated_cache):
    from analysis.report import ReportContext
    from analysis.report.rates import build
    path = rates.history_path(isolated_cache)
    path.parent.mkdir(parents=True)
    path.write_text("not,a,rates,table\n")
    section = build(ReportContext(cache_dir=isolated_cache))
    assert len(section.figures) == 2 and "Fetched rates left out" in section.intro_html
