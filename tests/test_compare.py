"""Provider and customer comparisons (analysis/compare.py), the CLI and the report section."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from econ_support import EXAMPLES, SCENARIO_DIR, scenario, simple_scenario

from analysis.cli.main import main
from analysis.econ import compare as cmp
from analysis.econ.costs import power_usd_per_gpu_day
from analysis.econ.scenario import load_scenario, reference_table, scenario_with
from analysis.market import rates
from analysis.market.prices import daily_closes
from analysis.report import ReportContext
from analysis.report import compare as section

# The H100 SXM example (H100-SXM has the deepest rental history; SXM only comes in HGX nodes).
HGX = SCENARIO_DIR / "hgx_h100_8x_colo.toml"

ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def test_cocoon_price_per_million_tokens_hand_worked():
    # 20 nanoTON x coefficient 1.0 x 10000/10000 x 1e6 tokens / 1e9 = 0.02 TON per M prompt tokens;
    # at 1.51 USD/TON: 0.0302 USD. Completion 8x: 0.16 TON = 0.2416 USD. Cached 0.1x: 0.00302 USD.
    per_m = cmp.cocoon_usd_per_m_tokens(scenario(), 1.51)
    assert per_m["prompt"] == pytest.approx(0.0302, rel=1e-12)
    assert per_m["completion"] == pytest.approx(0.2416, rel=1e-12)
    assert per_m["cached_prompt"] == pytest.approx(0.00302, rel=1e-12)
    # ... the vendored api_token_prices.csv cocoon row says the same.
    row = next(r for r in reference_table("api_token_prices.csv") if r["provider"] == "cocoon")
    assert per_m["prompt"] == pytest.approx(float(row["usd_per_m_input"]), rel=1e-9)
    assert per_m["completion"] == pytest.approx(float(row["usd_per_m_output"]), rel=1e-9)
    # A 1.5x worker coefficient scales every price: 0.03 TON per M prompt tokens at 1 USD/TON.
    assert cmp.cocoon_usd_per_m_tokens(scenario(network__coefficient=1.5), 1.0)["prompt"] == pytest.approx(0.03)


def test_cocoon_price_per_output_token_at_the_workload_hand_worked():
    # simple_scenario: completion only at 1.0x, price 50 nanoTON: 50e-9 TON per output token;
    # at 2 USD/TON = 1e-7 USD per token = 0.1 USD per million.
    assert cmp.cocoon_usd_per_m_output_at_workload(simple_scenario(), 2.0) == pytest.approx(0.1, rel=1e-12)


def test_gpu_rental_per_million_output_tokens_hand_worked():
    # 2.0 USD per GPU-hour serving 1000 tokens/s = 3.6e6 tokens per hour: 2 / 3.6 = 0.5556 USD per M.
    assert cmp.usd_per_m_output_at_throughput(2.0, 1000) == pytest.approx(2.0 / 3.6, rel=1e-12)
    # 6.88 USD/h (AWS p5 per GPU) at 2060 tok/s: 6.88 / (2060 * 3600) * 1e6 = 0.92773 USD per M
    assert cmp.usd_per_m_output_at_throughput(6.88, 2060) == pytest.approx(0.927724, rel=1e-5)
    assert math.isnan(cmp.usd_per_m_output_at_throughput(6.88, 0))


def test_gpu_rental_alternatives_use_the_cheapest_hyperscaler_and_the_measured_throughput():
    alts = cmp.gpu_rental_token_alternatives()
    throughput = reference_table("inference_throughput.csv")
    assert len(alts) >= len(throughput)
    for a in alts.itertuples():
        assert a.usd_per_m_completion == pytest.approx(a.usd_per_gpu_hour / (a.output_tokens_per_s * 3600) * 1e6)
        summary = rates.summarise_rates(rates.rate_history(a.gpu))
        kind = a.kind[len("rent GPU ("):-1]
        assert a.usd_per_gpu_hour == summary[summary["kind"] == kind]["latest_usd_per_gpu_hour"].min()


def _market_frame():
    def row(day, provider, pricing, price, source):
        return {"observed_at": pd.Timestamp(day, tz="UTC"), "provider": provider, "region": "", "offering": "",
                "gpu": "H100-SXM", "gpus": 1, "usd_per_hour": price, "usd_per_gpu_hour": price, "pricing": pricing,
                "source": source, "confidence": "test", "origin": "reference"}
    return pd.DataFrame([row("2024-01-10", "vastai", "marketplace_median", 2.0, "a"),
                         row("2024-06-10", "vastai", "marketplace_median", 1.5, "b"),
                         row("2024-03-01", "lambda", "on_demand", 3.0, "c"),
                         row("2024-04-01", "nebius", "on_demand", 2.5, "d"),
                         row("2024-04-01", "aws", "on_demand", 12.0, "e")])  # hyperscaler: not rental


def test_market_rental_rate_is_the_median_of_each_providers_latest_price():
    frame = _market_frame()
    # latest: vastai 1.5 (Jun), lambda 3.0, nebius 2.5 -> median 2.5; aws is a hyperscaler, left out
    market = cmp.market_rental_rate(frame)
    assert market["usd_per_gpu_hour"] == 2.5 and market["quotes"] == 3 and market["observed_at"] == "2024-06-10"
    # as of 2024-03-31 with a 365-day window: vastai 2.0 (Jan), lambda 3.0 -> 2.5; nebius not yet
    early = cmp.market_rental_rate(frame, as_of="2024-03-31", window_days=365)
    assert early["usd_per_gpu_hour"] == 2.5 and early["quotes"] == 2
    # a 31-day window as of 2024-03-31, i.e. (2024-02-29, 2024-03-31], keeps only lambda (03-01)
    assert cmp.market_rental_rate(frame, as_of="2024-03-31", window_days=31)["usd_per_gpu_hour"] == 3.0
    assert cmp.market_rental_rate(frame, as_of="2024-03-31", window_days=30) is None
    assert cmp.market_rental_rate(frame, as_of="2023-12-31", window_days=365) is None


def test_solved_ton_price_equalises_the_two_incomes():
    s = scenario()
    rental_net = cmp.rental_net_usd_per_gpu_hour(s, 2.5)
    price = cmp.solve_token_price(s, rental_net)
    assert price > 0
    assert cmp.network_net_usd_per_gpu_hour(s, price) == pytest.approx(rental_net, rel=1e-10)
    # independent: income per GPU-hour is linear in the price through 0 (fixed nanoTON price), so
    # price = (rental_net + power/24) / (income per GPU-hour at 1 USD/TON)
    power = power_usd_per_gpu_day(s.operations, s.workload.utilisation) / 24
    assert price == pytest.approx((rental_net + power) / cmp.network_usd_per_gpu_hour(s, 1.0), rel=1e-10)
    # rental net of power, rented all the time: 2.5 - 1.0 kW * 1.3 PUE * 0.10 USD/kWh = 2.37
    assert rental_net == pytest.approx(2.5 - 0.13, rel=1e-12)


def test_solved_utilisation_equalises_the_two_incomes():
    s = scenario()
    price = 6.0
    target = cmp.rental_net_usd_per_gpu_hour(s, 2.0, occupancy=0.8, rental_fee=0.1)
    u = cmp.solve_utilisation(s, price, target)
    assert 0 < u < 1
    moved = scenario_with(s, {"workload.utilisation": u})
    assert cmp.network_net_usd_per_gpu_hour(moved, price) == pytest.approx(target, rel=1e-10)


def test_usd_pegged_income_has_no_price_to_solve_for():
    s = scenario(pricing__mode="usd_pegged")
    assert math.isnan(cmp.solve_token_price(s, 100.0))
    assert cmp.solve_token_price(s, -100.0) == 0.0  # beats a (silly) negative target at any price


def test_every_alternative_carries_its_source_and_date():
    result = cmp.compare(load_scenario(HGX), 1.5, with_history=False)
    provider = result["provider"]["alternatives"]
    assert {a["statistic"] for a in provider} == {"latest", "median"}
    assert {a["kind"] for a in provider} >= {"marketplace", "neocloud", "hyperscaler on demand", "hyperscaler reserved"}
    customer = result["customer"]["alternatives"]
    assert {a["kind"] for a in customer} >= {"inference API", "rent GPU (hyperscaler on demand)"}
    for a in provider + customer:
        assert a["source"] and ISO_DAY.match(a["observed_at"]), a
    assert all(a["usd_per_gpu_hour"] > 0 for a in provider)
    assert all(a["usd_per_m_completion"] > 0 for a in customer)
    # the latest price of each provider is the one on its last day in the history
    history = rates.rate_history("H100-SXM")
    for a in (x for x in provider if x["statistic"] == "latest"):
        rows = history[(history["provider"] == a["provider"]) & (history["pricing"] == a["pricing"])]
        last = rows[rows["observed_at"].dt.strftime("%Y-%m-%d") == a["observed_at"]]
        assert a["usd_per_gpu_hour"] == pytest.approx(last["usd_per_gpu_hour"].median())


def test_history_solves_each_month_against_that_months_rate():
    s = load_scenario(HGX)
    hist = cmp.beat_market_history(s)
    closes = daily_closes("ton")["close_usd"]
    month_ends = closes.groupby(closes.index.to_period("M")).tail(1)
    assert list(hist.index) == list(month_ends.index)
    known = hist[hist["rental_quotes"] > 0]
    assert len(known) >= 12
    for month, row in known.iloc[::6].iterrows():
        assert row["close_usd"] == closes.loc[month]
        market = cmp.market_rental_rate(rates.rate_history("H100-SXM"), as_of=month, window_days=365)
        assert row["rental_usd_per_gpu_hour"] == market["usd_per_gpu_hour"]
        rental_net = cmp.rental_net_usd_per_gpu_hour(s, market["usd_per_gpu_hour"])
        assert cmp.network_net_usd_per_gpu_hour(s, row["token_usd_to_beat"]) == pytest.approx(rental_net, rel=1e-10)
        assert row["beats"] == (row["close_usd"] >= row["token_usd_to_beat"])
    # both move: the rate to beat is not one number over the history
    assert known["rental_usd_per_gpu_hour"].nunique() > 1


def test_compare_json_cli(capsys):
    assert main(["compare", "--scenario", str(HGX), "--ton-usd", "1.51", "--json"]) == 0
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1
    data = json.loads(out)
    assert data["token"] == "TON" and data["token_usd"] == 1.51 and data["token_usd_origin"] == "given"
    assert data["provider"]["cocoon_usd_per_gpu_hour"] == pytest.approx(
        cmp.network_usd_per_gpu_hour(load_scenario(HGX), 1.51))
    for alt in data["provider"]["alternatives"]:
        assert {"usd_per_gpu_hour", "source", "observed_at"} <= set(alt)
    assert data["customer"]["cocoon_usd_per_m_prompt"] == pytest.approx(0.0302)
    assert data["customer"]["cocoon_usd_per_m_completion"] == pytest.approx(0.2416)
    assert data["customer"]["alternatives"] and data["history"]
    # default price: the latest TON close, and the text output names it
    assert main(["compare", "--scenario", str(HGX)]) == 0
    text = capsys.readouterr().out
    closes = daily_closes("ton")
    assert f"close of {closes.index[-1].date()}" in text and "market rental rate" in text


@pytest.mark.parametrize("argv, field", [
    (["compare", "--scenario", "missing.toml"], "--scenario"),
    (["compare", "--scenario", "EX", "--ton-usd", "abc"], "--ton-usd"),
    (["compare", "--scenario", "EX", "--token-usd", "0"], "--ton-usd/--token-usd"),
    (["compare", "--scenario", "EX", "--rental-occupancy", "1.5"], "--rental-occupancy"),
    (["compare", "--scenario", "EX", "--rental-fee", "1"], "--rental-fee"),
    (["compare"], "--scenario"),
])
def test_compare_bad_inputs_one_line_exit_2(argv, field, capsys):
    argv = [str(EXAMPLES[0]) if a == "EX" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and field in err and "Traceback" not in err


def test_report_section_covers_the_examples_quickly():
    import time

    t0 = time.perf_counter()
    built = section.build(ReportContext())
    assert time.perf_counter() - t0 < 20
    assert built.anchor == "compare"
    for path in sorted(EXAMPLES[0].parent.glob("*.toml")):
        assert load_scenario(path).name.replace("&", "&amp;") in built.intro_html + built.after_html
    assert "net of power" in built.intro_html
    for fig in built.figures:
        assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert any("price needed to beat" in f.layout.title.text for f in built.figures)
    assert any("per million output" in f.layout.xaxis.title.text for f in built.figures)


def _generated_rates(rows: int, seed: int) -> pd.DataFrame:
    """A rates history of ``rows`` rows: rental and hyperscaler providers, several rows a day,
    gaps of months, some rows unpriced (the shape of rates/history.csv after many fetches)."""
    rng = np.random.default_rng(seed)
    pairs = [("vastai", "marketplace"), ("runpod", "community"), ("runpod", "secure"), ("lambda", "on_demand"),
             ("nebius", "on_demand"), ("marketplace_index", "index"), ("aws", "on_demand"), ("gcp", "spot")]
    pick = rng.integers(len(pairs), size=rows)
    day = pd.Timestamp("2022-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 4 * 365, size=rows), unit="D")
    day = day + pd.to_timedelta(rng.integers(0, 86_400, size=rows), unit="s")
    usd = np.round(rng.uniform(0.5, 6.0, size=rows), 2)
    usd[rng.random(rows) < 0.05] = np.nan
    return pd.DataFrame({"provider": [pairs[i][0] for i in pick], "pricing": [pairs[i][1] for i in pick],
                         "observed_at": day, "usd_per_gpu_hour": usd,
                         "source": [f"src{i % 3}" for i in pick]})


def test_history_in_one_pass_equals_the_month_by_month_scan():
    # Reference: market_rental_rate scanned for each month (the old loop) on a generated table,
    # window 365 days and a short 40-day window that leaves months without quotes.
    s = load_scenario(EXAMPLES[0])
    frame = _generated_rates(6000, seed=3)
    days = pd.date_range("2021-11-01", "2026-03-31", freq="D")
    closes = pd.Series(1.0 + 0.001 * np.arange(len(days)), index=days)
    for window in (365, 40):
        hist = cmp.beat_market_history(s, closes, frame, window_days=window)
        assert len(hist) == 53
        empty = 0
        for month, row in hist.iterrows():
            market = cmp.market_rental_rate(frame, as_of=month, window_days=window)
            if market is None:
                empty += 1
                assert row["rental_quotes"] == 0 and math.isnan(row["rental_usd_per_gpu_hour"])
                assert not row["beats"]
                continue
            assert row["rental_usd_per_gpu_hour"] == market["usd_per_gpu_hour"]
            assert row["rental_quotes"] == market["quotes"]
            be = cmp.break_even_vs_rental(s, row["close_usd"], market["usd_per_gpu_hour"])
            assert row["token_usd_to_beat"] == be["token_usd_to_beat"]
            assert row["beats"] == (be["network_net_usd_per_gpu_hour"] >= be["rental_net_usd_per_gpu_hour"])
        assert empty >= 2  # the months before the first row


def test_compare_without_the_customer_side_has_the_same_provider_numbers():
    # The report asks for the customer's side once (issue 20: it summarises every GPU's rates);
    # leaving it out changes nothing else.
    s = load_scenario(HGX)
    full = cmp.compare(s, with_history=False)
    lean = cmp.compare(s, with_history=False, with_customer=False)
    assert lean["customer"] is None and full["customer"]["alternatives"]
    assert {k: v for k, v in lean.items() if k != "customer"} == {k: v for k, v in full.items() if k != "customer"}


def test_reference_table_rows_are_fresh_and_an_edited_file_is_read_again(tmp_path, monkeypatch):
    import os

    from analysis.econ import scenario as scenario_module

    table = tmp_path / "t.csv"
    table.write_text("a,b\n1,2\n", encoding="utf-8")
    monkeypatch.setattr(scenario_module, "reference_path", lambda name: tmp_path / name)
    rows = scenario_module.reference_table("t.csv")
    assert rows == [{"a": "1", "b": "2"}]
    rows[0]["a"] = "changed"   # a caller's edit does not reach the next caller
    assert scenario_module.reference_table("t.csv") == [{"a": "1", "b": "2"}]
    table.write_text("a,b\n3,4\n5,6\n", encoding="utf-8")
    stat = table.stat()
    os.utime(table, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a later version, even on a coarse clock
    assert scenario_module.reference_table("t.csv") == [{"a": "3", "b": "4"}, {"a": "5", "b": "6"}]


def test_compare_on_rates_read_before_equals_reading_them_itself():
    # The report reads the rates history once and hands it to every scenario's comparison.
    for path in EXAMPLES:
        s = load_scenario(path)
        given = cmp.compare(s, all_rates=rates.all_rates())
        assert given == cmp.compare(s)
        gpu = s.hardware.gpu
        pd.testing.assert_frame_equal(rates.gpu_rows(rates.all_rates(), gpu), rates.rate_history(gpu))
