"""Report: the "Network demand" section and the summary's two verdicts (assumed and observed)."""

from __future__ import annotations

import re

import pytest
from network_builders import Network, network_handler

from analysis.chain import network
from analysis.econ.demand import observed_utilisation
from analysis.econ.scenario import load_scenario
from analysis.market.network_demand import observed_demand
from analysis.report import ReportContext, build_sections, summary
from analysis.report import network as section
from analysis.sources.toncenter import toncenter_client


@pytest.fixture
def cached(httpserver, isolated_cache):
    httpserver.expect_request(re.compile(r"^/api/.*")).respond_with_handler(network_handler(Network()))
    client = toncenter_client(httpserver.url_for("/"), api_key="", min_interval_s=0.0)
    network.read_network(client=client, cache_dir=isolated_cache, progress=False)
    return isolated_cache


def test_section_from_the_cached_reading(cached):
    ctx = ReportContext(cache_dir=cached)
    built = section.build(ctx)
    assert built is not None and len(built.figures) == 2
    assert "median 3,333,333 paid adjusted tokens per worker per day" in built.intro_html
    assert "5.62&nbsp;TON" in built.intro_html and "2 / 3 / 2" in built.intro_html
    assert "Proxies (each has its own price and fee" in built.after_html
    spend, util = built.figures
    assert sum(spend.data[1].y) == pytest.approx(5.62)  # worker payouts bars
    # the implied utilisation on the last day: the 30-day median (W3) over the first COCOON example
    scenario = next(s for s in map(load_scenario, ctx.scenario_paths()) if s.network.name == "cocoon")
    expected = observed_utilisation(scenario.workload, scenario.network, observed_demand(cached)).utilisation
    assert util.data[0].y[-1] == pytest.approx(expected * 100)


def test_section_without_a_reading_shows_the_reference_figure(isolated_cache):
    built = section.build(ReportContext(cache_dir=isolated_cache))
    assert not built.figures
    assert "No chain reading is cached" in built.intro_html and "tongateway/cocoon-dashboard" in built.intro_html


def test_summary_shows_both_verdicts_and_the_utilisation_needed(cached):
    ctx = ReportContext(cache_dir=cached)
    built = summary.build(ctx)
    text = built.intro_html + built.after_html
    assert "utilisation assumed" in text and "utilisation observed" in text and "utilisation needed" in text
    assert text.count("(observed on the network)") == 3  # the three COCOON examples, not the Render one
    assert "n/a (not COCOON)" in text
    assert "(assumed)" in text


def test_whole_report_has_the_section(cached):
    titles = [s.title for s in build_sections(ReportContext(cache_dir=cached))]
    assert section.TITLE in titles and titles.index(section.TITLE) > titles.index("Summary")
