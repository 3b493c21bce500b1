"""TON funding history: reading, daily aggregation, the per-day rates a short hedge receives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.core.errors import DataError, InputError
from analysis.core.resources import reference_path
from analysis.market import funding


def _payments(rows: list[tuple[str, float, float, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["time", "rate", "interval_hours", "source"])
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return frame


def test_a_complete_day_is_the_sum_of_its_payments():
    rows = [(f"2024-03-02T{h:02d}:00:00Z", 0.0001 * (i + 1), 4, "binance") for i, h in enumerate(range(0, 24, 4))]
    daily = funding.daily_funding(_payments(rows))
    assert daily.loc["2024-03-02", "rate_per_day"] == pytest.approx(0.0001 * (1 + 2 + 3 + 4 + 5 + 6))
    assert daily.loc["2024-03-02", "hours_covered"] == 24


def test_missing_payments_are_scaled_up_and_sources_averaged():
    rows = [
        # two of six 4-hour payments: mean 0.0002 per 4 h -> 0.0012 per day
        ("2024-03-03T00:00:00Z", 0.0001, 4, "binance"),
        ("2024-03-03T04:00:00Z", 0.0003, 4, "binance"),
        # an 8-hour venue with all three payments: 0.0006 per day
        ("2024-03-03T00:00:00Z", 0.0002, 8, "okx"),
        ("2024-03-03T08:00:00Z", 0.0002, 8, "okx"),
        ("2024-03-03T16:00:00Z", 0.0002, 8, "okx"),
    ]
    daily = funding.daily_funding(_payments(rows))
    assert daily.loc["2024-03-03", "rate_per_day"] == pytest.approx((0.0012 + 0.0006) / 2)
    assert daily.loc["2024-03-03", "sources"] == "binance,okx"


def test_a_venue_without_recorded_hours_is_left_out_of_the_days_mean():
    # a damaged record (every interval_hours blank): 0/0 for that venue, skipped by the mean over venues
    # as pandas' mean skipped it; a day with no other venue has no rate (NaN), and no warning is raised
    rows = [
        ("2024-03-03T00:00:00Z", 0.0, float("nan"), "bybit"),
        ("2024-03-03T00:00:00Z", 0.0002, 8, "okx"),
        ("2024-03-03T08:00:00Z", 0.0002, 8, "okx"),
        ("2024-03-03T16:00:00Z", 0.0002, 8, "okx"),
        ("2024-03-04T00:00:00Z", 0.0, float("nan"), "bybit"),
    ]
    daily = funding.daily_funding(_payments(rows))
    assert daily.loc["2024-03-03", "rate_per_day"] == pytest.approx(0.0006, rel=1e-12)
    assert daily.loc["2024-03-03", "sources"] == "bybit,okx"
    assert np.isnan(daily.loc["2024-03-04", "rate_per_day"])


def test_days_are_utc():
    rows = [("2024-03-04T23:30:00-02:00", 0.001, 24, "x")]  # 01:30 UTC on the 5th
    daily = funding.daily_funding(_payments(rows))
    assert list(daily.index) == [pd.Timestamp("2024-03-05")]


def test_vendored_history_matches_its_documented_averages(isolated_cache):
    # data/README: Binance TONUSDT 4-hourly, mean +0.033% per payment in spring 2024, -0.003% in 2026
    raw = pd.read_csv(reference_path("ton_funding_binance.csv"))
    payments = funding.read_funding()
    assert len(payments) == len(raw)
    assert set(payments["source"]) == {"binance"}
    spring = payments[payments["time"] < "2025-01-01"]["rate"].mean()
    assert spring == pytest.approx(0.00033, abs=0.00002)
    daily = funding.daily_funding(payments)
    # shorts were paid about 70% a year in spring 2024 (6 payments a day x 365)
    assert funding.annualised(daily.loc["2024"]["rate_per_day"].mean()) == pytest.approx(spring * 6 * 365, rel=0.05)
    assert funding.annualised(daily.loc["2026"]["rate_per_day"].mean()) < 0


def test_cached_venue_files_are_added_and_override(isolated_cache):
    folder = isolated_cache / "funding"
    folder.mkdir(parents=True)
    pd.DataFrame({"time": ["2030-01-01T00:00:00Z", "2030-01-01T08:00:00Z", "2030-01-01T16:00:00Z"],
                  "rate": [0.0001, 0.0002, 0.0003], "interval_hours": [8, 8, 8], "source": "okx"}
                 ).to_csv(folder / "okx.csv", index=False)
    # the same Binance payment as the vendored file, with a corrected rate
    pd.DataFrame({"time": ["2024-03-01T16:00:00Z"], "rate": [0.0005], "interval_hours": [4],
                  "source": "binance"}).to_csv(folder / "binance.csv", index=False)
    payments = funding.read_funding()
    assert set(payments["source"]) == {"binance", "okx"}
    first = payments[(payments["source"] == "binance") & (payments["time"] == "2024-03-01T16:00:00Z")]
    assert first["rate"].tolist() == [0.0005]
    daily = funding.daily_funding(payments)
    assert daily.loc["2030-01-01", "rate_per_day"] == pytest.approx(0.0006)


def test_a_broken_cache_file_is_a_data_error(isolated_cache):
    folder = isolated_cache / "funding"
    folder.mkdir(parents=True)
    (folder / "bybit.csv").write_text("when,rate\n2024-01-01,0.1\n")
    with pytest.raises(DataError, match="bybit.csv"):
        funding.read_funding()


def test_rates_per_day_from_a_number_and_from_history():
    np.testing.assert_allclose(funding.funding_rates_per_day(0.365, 4), [0.001] * 4)
    daily = pd.DataFrame({"rate_per_day": [0.002, 0.004]},
                         index=pd.DatetimeIndex(["2024-03-02", "2024-03-03"], name="date"))
    # without dates (random paths) no day is on record: every day takes the fallback, never the mean
    flat = funding.funding_rates_per_day("historical", 3, daily=daily)
    np.testing.assert_allclose(flat, [0.0] * 3)
    dated = funding.funding_rates_per_day("historical", 3, dates=pd.date_range("2024-03-01", periods=3), daily=daily)
    np.testing.assert_allclose(dated, [0.0, 0.002, 0.004])  # the unknown day gets the fallback, 0
    fallback = funding.funding_rates_per_day("historical", 3, dates=pd.date_range("2024-03-01", periods=3),
                                             daily=daily, fallback_rate_annual=-0.365)
    np.testing.assert_allclose(fallback, [-0.001, 0.002, 0.004])
    per_path = funding.funding_rates_per_day(
        "historical", 2, daily=daily,
        dates=np.array([["2024-03-02", "2024-03-03"], ["2024-03-03", "2024-03-04"]], dtype="datetime64[D]"))
    np.testing.assert_allclose(per_path, [[0.002, 0.004], [0.004, 0.0]])


def test_joint_days_pair_each_funding_record_with_that_days_return():
    closes = pd.Series([1.0, 1.1, 0.99, 1.2], index=pd.date_range("2024-03-01", periods=4))
    daily = pd.DataFrame({"rate_per_day": [0.002, 0.004, 0.001]},
                         index=pd.DatetimeIndex(["2024-03-01", "2024-03-03", "2024-03-09"], name="date"))
    joint = funding.joint_returns_and_funding(closes, daily)
    # 03-01 has no return (no close before it), 03-09 no price: only 03-03 has both
    assert list(joint.index) == [pd.Timestamp("2024-03-03")]
    assert joint["log_return"].iloc[0] == pytest.approx(np.log(0.99 / 1.1))
    assert joint["rate_per_day"].iloc[0] == 0.004


def test_vendored_readings_keep_their_sources():
    readings = funding.funding_readings()
    assert readings["source"].str.startswith("http").all()
    # mostly negative across venues: shorts pay
    assert (readings["annualised"].dropna() < 0).mean() > 0.8


def test_bad_rate_is_an_input_error():
    with pytest.raises(InputError, match="funding_rate_annual"):
        funding.funding_rates_per_day("recent", 3)


def test_coinalyze_readings_of_2025_average_about_plus_3_percent_a_year(shared_data):
    """The issue's figure, from the real Coinalyze file in ../shared/data (not vendored: fetch funding adds
    such days to the cache): Binance TONUSDT closed at +2.7 %/year on average in Jul-Oct 2025."""
    raw = pd.read_csv(shared_data / "ton_funding_binance_coinalyze_daily.csv")
    full_days = raw[raw["date"] < "2025-10-25"]               # the last day is partial (SOURCES.md)
    rate_per_4h = full_days["funding_rate"] / 100.0           # percent per 4-hour interval
    per_day = pd.Series(6 * rate_per_4h.to_numpy())
    assert len(per_day) == 89
    assert funding.annualised(per_day.mean()) == pytest.approx(0.027, abs=0.002)
