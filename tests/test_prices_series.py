"""The canonical daily close series (cache where present, else the snapshot), per-day sources,
gaps reported not filled, and the cross-source disagreement report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.core.errors import InputError
from analysis.core.resources import reference_path
from analysis.market import prices, store


def _write_cache(cache, asset, source, days, closes, label):
    index = pd.DatetimeIndex(pd.to_datetime(days), name="date")
    frame = pd.DataFrame({"open": closes, "high": closes, "low": closes, "close": closes, "volume": np.nan,
                          "source": label}, index=index)
    store.write_prices_csv(frame, store.price_cache_path(asset, source, cache))
    return frame


def test_without_a_cache_the_snapshot_is_the_series(isolated_cache):
    for asset in ("ton", "render"):
        series = prices.daily_closes(asset)
        snap = prices.read_snapshot(asset)
        pd.testing.assert_frame_equal(series, snap, check_freq=False)
        assert series.attrs["origin"] == "snapshot"
        assert series.attrs["gaps"] == []
    assert prices.daily_closes("render").index[0] == pd.Timestamp("2020-06-11")


def test_cache_days_win_in_source_order_and_the_rest_come_from_the_snapshot(isolated_cache):
    snap = prices.read_snapshot("ton")
    tail = snap.index[-5:]                                   # the snapshot's last five days
    _write_cache(isolated_cache, "ton", "okx", list(tail[-2:].strftime("%Y-%m-%d")) + ["2026-03-19", "2026-03-20"],
                 [9.0, 9.0, 9.0, 9.0], "okx TON-USDT")
    _write_cache(isolated_cache, "ton", "binance", list(tail[-3:].strftime("%Y-%m-%d")), [7.0, 7.0, 7.0],
                 "binance TONUSDT spot")
    _write_cache(isolated_cache, "ton", "coingecko", ["2026-03-23"], [8.0], "coingecko the-open-network")
    series = prices.daily_closes("ton", cache_dir=isolated_cache)
    # binance (preferred) for the last 3 snapshot days, okx for the two days after, coingecko after a hole.
    assert series.loc[tail[-3:], "source"].tolist() == ["binance TONUSDT spot"] * 3
    assert series.loc[["2026-03-19", "2026-03-20"], "source"].tolist() == ["okx TON-USDT"] * 2
    assert series.loc["2026-03-23", "close_usd"] == 8.0
    assert series.loc[tail[0], "source"] == snap.loc[tail[0], "source"]
    assert series.attrs["origin"] == "cache+snapshot"
    assert series.attrs["days_by_origin"] == {"cache": 6, "snapshot": len(snap) - 3}
    assert series.attrs["gaps"] == [("2026-03-21", "2026-03-22")]        # reported, not filled
    assert pd.Timestamp("2026-03-21") not in series.index
    assert series.index.is_unique and series.index.is_monotonic_increasing


def test_disagreement_is_median_and_max_relative_difference(isolated_cache):
    snap = prices.read_snapshot("ton")
    days = snap.index[-4:]
    ref = snap.loc[days, "close_usd"].to_numpy()
    bumps = np.array([0.01, -0.02, 0.0, 0.005])
    _write_cache(isolated_cache, "ton", "binance", list(days.strftime("%Y-%m-%d")), list(ref * (1 + bumps)), "b")
    table = prices.source_disagreement("ton", cache_dir=isolated_cache)
    row = table.iloc[0]
    assert (row.source_a, row.source_b, row.days) == ("binance", "snapshot", 4)
    # |a/b - 1| = |bumps|: median of (0.01, 0.02, 0, 0.005) = 0.0075, max 0.02 on the second day.
    assert row.median_rel_diff == pytest.approx(0.0075, abs=1e-12)
    assert row.max_rel_diff == pytest.approx(0.02, abs=1e-12)
    assert row.max_date == days[1].strftime("%Y-%m-%d")


def test_unknown_asset_is_an_input_error():
    with pytest.raises(InputError, match="asset"):
        prices.daily_closes("doge")


def test_funding_history_merges_the_reference_file_and_the_cache(isolated_cache):
    reference = store.read_funding_csv(reference_path("ton_funding_binance.csv"))
    new = pd.DataFrame({"time": pd.to_datetime(["2026-03-20T04:00:00Z", "2026-03-20T08:00:00Z"], utc=True),
                        "rate": [1e-5, 2e-5], "interval_hours": [4.0, 4.0], "source": "binance TONUSDT"})
    store.write_funding_csv(new, store.funding_cache_path("binance", isolated_cache))
    history = prices.funding_history("binance", cache_dir=isolated_cache)
    assert len(history) == len(reference) + 2
    assert history["time"].is_monotonic_increasing and history["time"].is_unique


def test_funding_gaps_count_the_missing_events_of_the_reference_file():
    frame = store.read_funding_csv(reference_path("ton_funding_binance.csv"))
    gaps = prices.funding_gaps(frame)
    hours = frame["time"].diff().dt.total_seconds().to_numpy()[1:] / 3600
    expected = int(np.sum(np.round(hours[hours > 6] / 4) - 1))       # 4-hour grid: events skipped per hole
    assert sum(g[2] for g in gaps) == expected
    assert ("2024-04-25T20:00Z", "2026-02-14T20:00Z") == gaps[-1][:2]     # the two windows' divide
