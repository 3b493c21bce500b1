"""analysis.market.series against hand-worked numbers and independent numpy/pandas calculations."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from analysis.core.errors import DataError
from analysis.market.prices import daily_closes, read_snapshot
from analysis.market.series import (
    annualised_volatility,
    daily_log_returns,
    day_origins,
    drawdown,
    max_drawdown,
    missing_days,
    rolling_volatility,
    source_spans,
)


def _frame(closes, start="2024-01-01", sources=None, dates=None):
    index = pd.DatetimeIndex(dates if dates is not None else pd.date_range(start, periods=len(closes), freq="D"),
                             name="date")
    return pd.DataFrame({"close_usd": np.asarray(closes, dtype=float),
                         "source": sources if sources is not None else ["x"] * len(closes)}, index=index)


# Hand-worked 4-day example: closes 100, 110, 99, 121 USD.
#   log returns: ln(1.1) = 0.09531, ln(0.9) = -0.10536, ln(121/99) = ln(11/9) = 0.20067
#   running peak: 100, 110, 110, 121 -> drawdown 0, 0, 99/110 - 1 = -0.10, 0
#   std (ddof=1) of two numbers a, b is |a - b| / sqrt(2), so with a 2-day window:
#   day 3: |ln 1.1 - ln 0.9| / sqrt 2 * sqrt 365 = 0.20067 / 1.41421 * 19.10497 = 2.7110
#   day 4: |ln 0.9 - ln(11/9)| / sqrt 2 * sqrt 365 = 0.30603 / 1.41421 * 19.10497 = 4.1342
FOUR_DAYS = [100.0, 110.0, 99.0, 121.0]


def test_log_returns_hand_worked():
    r = daily_log_returns(_frame(FOUR_DAYS))
    assert list(r.index.strftime("%Y-%m-%d")) == ["2024-01-02", "2024-01-03", "2024-01-04"]
    np.testing.assert_allclose(r.to_numpy(), [0.0953102, -0.1053605, 0.2006707], atol=1e-7)


def test_drawdown_hand_worked():
    dd = drawdown(_frame(FOUR_DAYS))
    np.testing.assert_allclose(dd["running_peak_usd"], [100, 110, 110, 121])
    np.testing.assert_allclose(dd["drawdown_fraction"], [0.0, 0.0, -0.10, 0.0], atol=1e-15)
    assert list(dd["peak_date"].dt.strftime("%Y-%m-%d")) == ["2024-01-01", "2024-01-02", "2024-01-02", "2024-01-04"]
    worst = max_drawdown(_frame(FOUR_DAYS))
    assert worst.drawdown_fraction == pytest.approx(-0.10)
    assert (worst.peak_date, worst.trough_date, worst.recovered_date) == (
        dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 1, 4))
    assert (worst.peak_usd, worst.trough_usd) == (110.0, 99.0)


def test_rolling_volatility_hand_worked():
    vol = rolling_volatility(_frame(FOUR_DAYS), window_days=2)
    assert math.isnan(vol.iloc[0])  # one return only
    assert vol.iloc[1] == pytest.approx(2.7110, abs=5e-4)
    assert vol.iloc[2] == pytest.approx(4.1342, abs=5e-4)
    assert vol.iloc[1] == pytest.approx(abs(math.log(1.1) - math.log(0.9)) / math.sqrt(2) * math.sqrt(365))


def test_rolling_volatility_matches_numpy_on_the_snapshot():
    closes = read_snapshot("ton")
    vol = rolling_volatility(closes, window_days=30)
    log_close = np.log(closes["close_usd"].to_numpy())
    returns = np.diff(log_close)
    # Independent: an explicit window loop with numpy's sample standard deviation.
    expected = np.full(returns.size, np.nan)
    for end in range(29, returns.size):
        expected[end] = np.std(returns[end - 29:end + 1], ddof=1) * np.sqrt(365)
    np.testing.assert_allclose(vol.to_numpy(), expected, rtol=1e-9, equal_nan=True)
    assert annualised_volatility(daily_log_returns(closes)) == pytest.approx(np.std(returns, ddof=1) * np.sqrt(365))


def test_drawdown_matches_numpy_on_the_snapshot():
    close = read_snapshot("ton")["close_usd"].to_numpy()
    peak = np.maximum.accumulate(close)
    dd = drawdown(read_snapshot("ton"))
    np.testing.assert_allclose(dd["drawdown_fraction"].to_numpy(), close / peak - 1.0)
    assert max_drawdown(read_snapshot("ton")).drawdown_fraction == pytest.approx((close / peak - 1.0).min())


def test_a_gap_is_not_a_daily_return_and_blanks_its_windows():
    closes = _frame(np.linspace(1.0, 2.0, 12)).drop(pd.Timestamp("2024-01-05"))
    r = daily_log_returns(closes)
    assert r.index[0] == pd.Timestamp("2024-01-02") and len(r) == 11  # calendar days, gap included
    assert r.loc["2024-01-05":"2024-01-06"].isna().all()
    assert r.drop([pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-06")]).notna().all()
    vol = rolling_volatility(closes, window_days=3)
    # Windows ending 01-05 .. 01-08 contain a missing return.
    assert vol.loc["2024-01-05":"2024-01-08"].isna().all()
    assert vol.loc["2024-01-09":].notna().all()
    assert missing_days(closes) == [(dt.date(2024, 1, 5), dt.date(2024, 1, 5))]


def test_source_spans_and_origins():
    closes = _frame([1, 2, 3, 4, 5, 6], sources=["a", "a", "b", "b", "a", "a"])
    spans = source_spans(closes.drop(pd.Timestamp("2024-01-02")))
    assert spans.to_dict("records") == [
        {"source": "a", "first": dt.date(2024, 1, 1), "last": dt.date(2024, 1, 1), "days": 1},
        {"source": "b", "first": dt.date(2024, 1, 3), "last": dt.date(2024, 1, 4), "days": 2},
        {"source": "a", "first": dt.date(2024, 1, 5), "last": dt.date(2024, 1, 6), "days": 2},
    ]
    snapshot = closes.iloc[:4]
    fetched = closes.copy()
    fetched.loc[pd.Timestamp("2024-01-04"), "source"] = "binance"  # cache overrides the snapshot's day
    origins = day_origins(fetched, snapshot)
    assert list(origins) == ["snapshot", "snapshot", "snapshot", "cache", "cache", "cache"]


def test_snapshot_spans_match_the_venue_column():
    closes = daily_closes("ton")
    spans = source_spans(closes)
    assert spans["days"].sum() == len(closes)
    assert list(spans["source"]) == list(pd.unique(closes["source"]))


@pytest.mark.parametrize("bad, field", [
    (_frame([1.0, -2.0]), "positive"),
    (_frame([1.0, np.nan]), "positive"),
    (pd.DataFrame({"close": [1.0]}), "close_usd"),
])
def test_bad_series_is_a_data_error(bad, field):
    with pytest.raises(DataError, match=field):
        drawdown(bad)


def test_window_must_be_at_least_two_days():
    with pytest.raises(DataError, match="window_days"):
        rolling_volatility(_frame(FOUR_DAYS), window_days=1)


def test_volatility_by_year_matches_a_direct_calculation():
    from analysis.market.series import volatility_by_year

    closes = read_snapshot("ton")
    table = volatility_by_year(closes)
    close = closes["close_usd"]
    for year in (2022, 2025):
        # Returns dated in the year: the first one is Jan 1 over Dec 31 of the year before.
        window = close[f"{year - 1}-12-31":f"{year}-12-31"].to_numpy()
        r = np.diff(np.log(window))
        assert table.at[year, "returns"] == r.size == 365
        assert table.at[year, "volatility_annual"] == pytest.approx(np.std(r, ddof=1) * math.sqrt(365))
        in_year = close[str(year)]
        assert table.at[year, "change_fraction"] == pytest.approx(in_year.iloc[-1] / in_year.iloc[0] - 1)
    assert table["returns"].sum() == len(closes) - 1


def test_horizon_volatility_square_root_of_time():
    from analysis.market.series import horizon_volatility

    # 73 days is a fifth of a year: sigma / sqrt(5).
    assert horizon_volatility(0.5, 73) == pytest.approx(0.5 / math.sqrt(5))
    assert horizon_volatility(0.5, 365) == pytest.approx(0.5)


def test_tail_summary_against_the_hand_worked_example_and_normal_tails():
    from analysis.market.series import tail_summary

    stats = tail_summary(daily_log_returns(_frame(FOUR_DAYS)), sigmas=1.0)
    r = [math.log(1.1), math.log(0.9), math.log(11 / 9)]
    assert stats["days"] == 3 and stats["worst_return"] == pytest.approx(math.log(0.9))
    assert stats["worst_date"] == dt.date(2024, 1, 3) and stats["best_date"] == dt.date(2024, 1, 4)
    assert stats["std_daily"] == pytest.approx(np.std(r, ddof=1))
    assert stats["share_beyond_if_normal"] == pytest.approx(0.3173, abs=1e-4)  # P(|Z| > 1)
    # Normal returns put ~0.27 % of days beyond 3 sigma.
    rng = np.random.default_rng(7)
    normal = pd.Series(rng.normal(0, 0.03, 200_000), index=pd.date_range("1700-01-01", periods=200_000, freq="D"))
    assert tail_summary(normal)["share_beyond"] == pytest.approx(0.0027, abs=0.0005)
