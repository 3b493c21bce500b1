"""Binance spot/USD-M klines and USD-M funding: paging, errors, and the real exported files."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import price_api_fakes as fakes
import pytest

from analysis.sources import binance, common
from analysis.sources.http import HttpError

UTC = dt.UTC
NOW = dt.datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
FAST = {"timeout_s": 2.0, "max_retries": 2, "backoff_s": 0.0, "min_interval_s": 0.0}


def test_klines_page_by_start_time_1000_at_a_time(httpserver):
    data = fakes.daily_frame(dt.date(2022, 1, 1), dt.date(2025, 3, 10))
    faults = fakes.Faults(fakes.binance_klines_handler(fakes.binance_klines(data)))
    httpserver.expect_request("/api/v3/klines").respond_with_handler(faults)
    frame, meta = binance.get_binance_klines(dt.date(2022, 1, 1), dt.date(2025, 3, 10), "TONUSDT",
                                             base_url=httpserver.url_for("/"), now=NOW, **FAST)
    first, second = faults.args
    assert first == {"symbol": "TONUSDT", "interval": "1d", "startTime": str(fakes.day_ms(dt.date(2022, 1, 1))),
                     "endTime": str(fakes.day_ms(dt.date(2025, 3, 11)) - 1), "limit": "1000"}
    # Page 2 starts the day after page 1's last open time (2022-01-01 + 1000 days).
    assert second["startTime"] == str(fakes.day_ms(dt.date(2022, 1, 1) + dt.timedelta(days=1000)))
    assert meta["pages"] == 2
    assert frame.index[-1] == pd.Timestamp("2025-03-09")     # 2025-03-10 is open at NOW
    assert frame.index.is_unique and frame.index.is_monotonic_increasing
    assert meta["label"] == "binance TONUSDT spot"


def test_multi_page_fetch_drives_a_progress_bar(httpserver, monkeypatch):
    updates = []

    class Bar:
        def __init__(self, desc, total=None, unit="page"):
            self.total = total

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n):
            updates.append((self.total, n))

    monkeypatch.setattr(common, "progress_bar", Bar)     # the pager all sources share
    data = fakes.daily_frame(dt.date(2022, 1, 1), dt.date(2025, 3, 9))
    httpserver.expect_request("/api/v3/klines").respond_with_handler(fakes.binance_klines_handler(fakes.binance_klines(data)))
    binance.get_binance_klines(dt.date(2022, 1, 1), dt.date(2025, 3, 9), base_url=httpserver.url_for("/"), now=NOW, **FAST)
    assert updates == [(2, 1), (2, 1)]                    # 1164 days: two pages of at most 1000, announced


def test_api_error_is_not_retried_and_carries_binance_message(httpserver):
    faults = fakes.Faults(lambda r: None, always_from=(1, "fail"))
    httpserver.expect_request("/api/v3/klines").respond_with_handler(faults)
    with pytest.raises(HttpError) as info:
        binance.get_binance_klines(dt.date(2024, 1, 1), dt.date(2024, 2, 1), "NOPEUSDT",
                                   base_url=httpserver.url_for("/"), now=NOW, **FAST)
    assert faults.calls == 1
    assert info.value.status_code == 400
    assert "Invalid symbol." in str(info.value)
    assert info.value.payload == {"code": -1121, "msg": "Invalid symbol."}


def test_duplicate_and_open_candles_are_dropped():
    data = fakes.daily_frame(dt.date(2025, 3, 7), dt.date(2025, 3, 11))
    klines = fakes.binance_klines(data)
    payload = klines[:3] + [klines[2]] + klines[3:]              # a repeated day, then today and tomorrow
    frame = binance.parse_binance_klines(payload, now=NOW)
    assert list(frame.index.strftime("%Y-%m-%d")) == ["2025-03-07", "2025-03-08", "2025-03-09"]
    assert frame.attrs["duplicates"] == 1
    assert frame.attrs["open_dropped"] == 2


def test_funding_pages_and_derives_a_4_hour_interval(httpserver):
    start = fakes.day_ms(dt.date(2024, 6, 1))
    events = [(start + i * 4 * 3_600_000 + (i % 7), 0.0001 * np.sin(i)) for i in range(1500)]  # ms jitter
    faults = fakes.Faults(fakes.binance_funding_handler(fakes.binance_funding(events)))
    httpserver.expect_request("/fapi/v1/fundingRate").respond_with_handler(faults)
    frame, meta = binance.get_binance_funding(dt.date(2024, 6, 1), dt.date(2025, 2, 28), "TONUSDT",
                                              base_url=httpserver.url_for("/"), now=NOW, **FAST)
    assert faults.calls == 2
    assert int(faults.args[1]["startTime"]) == events[999][0] + 1
    assert list(frame.columns) == ["time", "rate", "interval_hours", "source"]
    assert len(frame) == 1500
    assert (frame["interval_hours"] == 4).all()
    np.testing.assert_allclose(frame["rate"], [float(f"{r:.8f}") for _, r in events], rtol=0, atol=0)
    assert str(frame["time"].dt.tz) == "UTC"
    assert frame["time"].iloc[1] == pd.Timestamp("2024-06-01T04:00:00Z")   # jitter rounded to the second
    assert meta["missing_events"] == 0


def test_funding_interval_is_read_from_the_timestamps_not_assumed():
    t0 = fakes.day_ms(dt.date(2024, 1, 1))
    h = 3_600_000
    times = [t0, t0 + 8 * h, t0 + 16 * h, t0 + 20 * h, t0 + 24 * h, t0 + 32 * h, t0 + 36 * h]
    #  8h, 8h, then the contract moves to 4h; an event is missing at +28h.
    frame = binance.parse_binance_funding(fakes.binance_funding([(t, 0.0001) for t in times]))
    assert frame["interval_hours"].tolist() == [8, 8, 8, 4, 4, 4, 4]
    assert frame.attrs["missing_events"] == 1


def test_futures_klines_use_the_fapi_path(httpserver):
    data = fakes.daily_frame(dt.date(2025, 1, 1), dt.date(2025, 1, 10))
    httpserver.expect_request("/fapi/v1/klines").respond_with_handler(
        fakes.binance_klines_handler(fakes.binance_klines(data), max_limit=1500))
    frame, meta = binance.get_binance_klines(dt.date(2025, 1, 1), dt.date(2025, 1, 10), "RENDERUSDT",
                                             market="futures", base_url=httpserver.url_for("/"), now=NOW, **FAST)
    assert len(frame) == 10
    assert meta["label"] == "binance RENDERUSDT perpetual"


# --- The real files (Binance exports in ../shared/data) --------------------------------------

def _klines_from_export(raw: pd.DataFrame, time_col: str) -> list[list]:
    """Rebuild the API's kline arrays from an exported CSV (prices back to strings)."""
    if pd.api.types.is_numeric_dtype(raw[time_col]):
        open_ms = raw[time_col].astype("int64").tolist()
    else:
        open_ms = fakes.to_ms(raw[time_col])
    return [[t, repr(o), repr(h), repr(lo), repr(c), repr(v), t + 86_399_999, "0", 0, "0", "0", "0"]
            for t, o, h, lo, c, v in zip(open_ms, raw["open"], raw["high"], raw["low"], raw["close"], raw["volume"])]


def test_parser_reads_the_real_spot_export(shared_data):
    raw = pd.read_csv(shared_data / "ton_usd_daily_binance.csv")
    frame = binance.parse_binance_klines(_klines_from_export(raw, "open_time"), now=dt.datetime(2026, 6, 1, tzinfo=UTC))
    assert len(frame) == len(raw) == 513
    assert frame.index[0] == pd.Timestamp("2024-08-08") and frame.index[-1] == pd.Timestamp("2026-01-02")
    np.testing.assert_array_equal(frame["close"].to_numpy(), raw["close"].to_numpy())
    np.testing.assert_array_equal(frame["volume"].to_numpy(), raw["volume"].to_numpy())


def test_parser_drops_the_real_futures_files_partial_last_day(shared_data):
    raw = pd.read_csv(shared_data / "ton_usd_daily_binance_futures_2026.csv")
    collected = dt.datetime(2026, 3, 19, 20, 0, tzinfo=UTC)        # when the file was collected
    frame = binance.parse_binance_klines(_klines_from_export(raw, "timestamp"), now=collected)
    assert len(frame) == len(raw) - 1
    assert frame.index[-1] == pd.Timestamp("2026-03-18")
    np.testing.assert_array_equal(frame["close"].to_numpy(), raw["close"].to_numpy()[:-1])


def test_parser_reads_the_real_funding_export_with_its_ms_jitter(shared_data):
    raw = pd.read_csv(shared_data / "ton_funding_binance.csv")
    payload = [{"symbol": s, "fundingTime": int(t), "fundingRate": f"{r:.8f}", "markPrice": ""}
               for t, s, r in zip(raw["timestamp"], raw["symbol"], raw["funding_rate"])]
    frame = binance.parse_binance_funding(payload)
    assert len(frame) == 200
    assert (frame["interval_hours"] == 4).all()                    # TONUSDT funds every 4 hours
    assert frame.attrs["missing_events"] == 0
    np.testing.assert_array_equal(frame["rate"].to_numpy(), raw["funding_rate"].to_numpy())
    assert (frame["time"].dt.hour % 4 == 0).all() and (frame["time"].dt.second == 0).all()


def test_missing_funding_events_in_the_real_2024_window_are_counted(shared_data):
    raw = pd.read_csv(shared_data / "ton_funding_binance_2024_xbx.csv")
    ms = fakes.to_ms(raw["funding_time_utc"])
    frame = binance.parse_binance_funding(fakes.binance_funding(list(zip(ms, raw["funding_rate"]))))
    assert (frame["interval_hours"] == 4).all()
    assert frame.attrs["missing_events"] == 36                     # SOURCES.md: 36 funding events missing
