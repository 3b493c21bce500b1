"""Live checks of the rate sources against the real APIs (opt in: ``pytest -m remote_data``)."""

from __future__ import annotations

import warnings

import pytest

from analysis.sources.azure import get_azure_gpu_prices
from analysis.sources.gpuhunt_catalog import get_gpuhunt_catalog
from analysis.sources.runpod import get_runpod_gpu_prices
from analysis.sources.vastai import get_vastai_offers

pytestmark = pytest.mark.remote_data
LIVE = {"timeout_s": 60, "max_retries": 2}


@pytest.fixture(autouse=True)
def _quiet_unknown_gpus():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def test_vastai_live():
    frame, meta = get_vastai_offers(["H100-SXM"], offer_types=["on-demand"], limit=200, **LIVE)
    assert meta["offers"]["on-demand"] > 0
    assert frame["usd_per_gpu_hour"].between(0.2, 20).all()


def test_runpod_live():
    frame, _ = get_runpod_gpu_prices(**LIVE)
    h100 = frame[frame["gpu"] == "H100-SXM"]
    assert not h100.empty and h100["usd_per_gpu_hour"].between(0.5, 20).all()


def test_azure_live():
    frame, meta = get_azure_gpu_prices(["H100-SXM"], regions=["eastus"], **LIVE)
    assert meta["pages"] >= 1
    on_demand = frame[(frame["gpu"] == "H100-SXM") & (frame["pricing"] == "on_demand")]
    assert not on_demand.empty and on_demand["usd_per_gpu_hour"].between(2, 30).all()


def test_gpuhunt_live():
    frame, meta = get_gpuhunt_catalog(["lambdalabs"], **LIVE)
    assert meta["versions"]["lambdalabs"] and not frame.empty
