"""Kraken OHLC: the pair key read from the response, the open last candle dropped,
the 720-row limit reported, errors in the ``error`` list."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import price_api_fakes as fakes
import pytest

from analysis.sources import kraken
from analysis.sources.http import HttpError

UTC = dt.UTC
NOW = dt.datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
FAST = {"timeout_s": 2.0, "max_retries": 2, "backoff_s": 0.0, "min_interval_s": 0.0}


def test_pair_key_comes_from_the_response_and_since_is_sent(httpserver):
    data = fakes.daily_frame(dt.date(2025, 1, 1), dt.date(2025, 3, 10))
    faults = fakes.Faults(fakes.kraken_ohlc_handler(data, pair_key="XTONZUSD"))   # not the name asked for
    httpserver.expect_request("/0/public/OHLC").respond_with_handler(faults)
    frame, meta = kraken.get_kraken_ohlc(dt.date(2025, 2, 1), dt.date(2025, 3, 10), "TONUSD",
                                         base_url=httpserver.url_for("/"), now=NOW, **FAST)
    assert faults.args == [{"pair": "TONUSD", "interval": "1440",
                            "since": str(fakes.day_ms(dt.date(2025, 1, 31)) // 1000)}]
    assert meta["pair_key"] == "XTONZUSD"
    expected = data.loc["2025-02-01":"2025-03-09"]
    assert list(frame.index) == list(expected.index)
    np.testing.assert_array_equal(frame["close"].to_numpy(), expected["close"].to_numpy())
    np.testing.assert_array_equal(frame["volume"].to_numpy(), expected["volume"].to_numpy())


def test_last_candle_is_always_dropped_as_uncommitted():
    # Three candles, the newest dated well before `now`: Kraken still marks it as the open one.
    rows = [[int(fakes.day_ms(dt.date(2025, 1, d)) / 1000), "2.0", "2.1", "1.9", str(2 + d / 100), "2.0", "10.0", 5]
            for d in (1, 2, 3)]
    frame = kraken.parse_kraken_ohlc({"error": [], "result": {"TONUSD": rows, "last": rows[-2][0]}}, now=NOW)
    assert list(frame["close"]) == [2.01, 2.02]
    assert frame.attrs["open_dropped"] == 1


def test_days_before_the_720_served_are_reported_not_invented(httpserver):
    data = fakes.daily_frame(dt.date(2021, 1, 1), dt.date(2025, 3, 10))
    httpserver.expect_request("/0/public/OHLC").respond_with_handler(fakes.kraken_ohlc_handler(data))
    frame, meta = kraken.get_kraken_ohlc(dt.date(2022, 1, 1), dt.date(2025, 3, 10), base_url=httpserver.url_for("/"),
                                         now=NOW, **FAST)
    assert len(frame) == 719                      # 720 rows served, the last one open
    assert frame.index[0] == pd.Timestamp(dt.date(2025, 3, 10) - dt.timedelta(days=719))
    assert "720" in meta["note"] and frame.index[0].strftime("%Y-%m-%d") in meta["note"]


def test_error_list_is_an_error_and_rate_limit_is_retried(httpserver):
    unknown = {"error": ["EQuery:Unknown asset pair"]}
    faults = fakes.Faults(lambda r: None, always_from=(1, "fail"), fail_body=unknown, fail_status=200)
    httpserver.expect_request("/0/public/OHLC").respond_with_handler(faults)
    with pytest.raises(HttpError, match="EQuery:Unknown asset pair"):
        kraken.get_kraken_ohlc(dt.date(2025, 1, 1), dt.date(2025, 1, 31), "NOPEUSD",
                               base_url=httpserver.url_for("/"), now=NOW, **FAST)
    assert faults.calls == 1


def test_rate_limit_in_error_list_is_retried(httpserver):
    data = fakes.daily_frame(dt.date(2025, 1, 1), dt.date(2025, 1, 31))
    limited = {"error": ["EAPI:Rate limit exceeded"]}
    faults = fakes.Faults(fakes.kraken_ohlc_handler(data), plan={1: "fail"}, fail_body=limited, fail_status=200)
    httpserver.expect_request("/0/public/OHLC").respond_with_handler(faults)
    frame, _ = kraken.get_kraken_ohlc(dt.date(2025, 1, 1), dt.date(2025, 1, 31), base_url=httpserver.url_for("/"),
                                      now=NOW, **FAST)
    assert faults.calls == 2
    assert len(frame) == 30


def test_parser_reads_a_real_history_served_in_kraken_format(shared_data):
    """The last 720 real Bybit TONUSDT daily candles, served as Kraken rows, parse back exactly."""
    raw = pd.read_csv(shared_data / "ton_usd_daily_bybit_linear.csv").tail(720)
    rows = [[int(t) // 1000, repr(o), repr(h), repr(lo), repr(c), "0", repr(v), 1]
            for t, o, h, lo, c, v in zip(raw["timestamp"], raw["open"], raw["high"], raw["low"], raw["close"],
                                         raw["volume"])]
    frame = kraken.parse_kraken_ohlc({"error": [], "result": {"TONUSD": rows, "last": rows[-2][0]}},
                                     now=dt.datetime(2026, 1, 1, tzinfo=UTC))
    assert len(frame) == 719
    np.testing.assert_array_equal(frame["close"].to_numpy(), raw["close"].to_numpy()[:-1])
    assert list(frame.index.strftime("%Y-%m-%d")) == raw["date"].tolist()[:-1]
