"""Bybit v5 funding history and linear klines: newest-first paging by end time, retCode errors,
and the real Bybit kline exports."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import price_api_fakes as fakes
import pytest

from analysis.sources import bybit
from analysis.sources.http import HttpError

UTC = dt.UTC
NOW = dt.datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
FAST = {"timeout_s": 2.0, "max_retries": 2, "backoff_s": 0.0, "min_interval_s": 0.0}
FUNDING = "/v5/market/funding/history"


def _funding_server(httpserver, events, **fault_args):
    records = fakes.bybit_funding(events)
    faults = fakes.Faults(fakes.bybit_handler(records, lambda r: int(r["fundingRateTimestamp"]),
                                              start_key="startTime", end_key="endTime", max_limit=200), **fault_args)
    httpserver.expect_request(FUNDING).respond_with_handler(faults)
    return records, faults


def test_funding_pages_back_by_end_time(httpserver):
    t0 = fakes.day_ms(dt.date(2024, 11, 1))
    events = [(t0 + i * 8 * 3_600_000, 0.0001 * ((i % 3) - 1)) for i in range(360)]   # 120 days, every 8 h
    records, faults = _funding_server(httpserver, events)
    frame, meta = bybit.get_bybit_funding(dt.date(2024, 11, 1), dt.date(2025, 3, 10), "TONUSDT",
                                          base_url=httpserver.url_for("/"), now=NOW, **FAST)
    first, second = faults.args[:2]
    assert first == {"category": "linear", "symbol": "TONUSDT", "startTime": str(t0),
                     "endTime": str(fakes.day_ms(dt.date(2025, 3, 11)) - 1), "limit": "200"}
    assert int(second["endTime"]) == int(records[199]["fundingRateTimestamp"]) - 1   # oldest of page 1, minus 1 ms
    assert faults.calls == 2 == meta["pages"]                 # 200 + 160 (< limit: the end)
    assert len(frame) == 360 and frame["time"].is_monotonic_increasing
    assert (frame["interval_hours"] == 8).all()
    np.testing.assert_allclose(frame["rate"], [r for _, r in events], rtol=0, atol=1e-15)
    assert (frame["source"] == "bybit TONUSDT").all()


def test_retcode_error_is_raised_with_bybit_message(httpserver):
    body = {"retCode": 10001, "retMsg": "params error: symbol invalid", "result": {}, "retExtInfo": {}, "time": 1}
    _, faults = _funding_server(httpserver, [], always_from=(1, "fail"), fail_body=body, fail_status=200)
    with pytest.raises(HttpError, match="symbol invalid"):
        bybit.get_bybit_funding(dt.date(2025, 1, 1), dt.date(2025, 1, 2), "NOPEUSDT", base_url=httpserver.url_for("/"),
                                now=NOW, **FAST)
    assert faults.calls == 1


def test_too_many_visits_is_retried(httpserver):
    t0 = fakes.day_ms(dt.date(2025, 1, 1))
    busy = {"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "retExtInfo": {}, "time": 1}
    _, faults = _funding_server(httpserver, [(t0 + i * 28_800_000, 0.0001) for i in range(9)],
                                plan={1: "fail"}, fail_body=busy, fail_status=200)
    frame, _ = bybit.get_bybit_funding(dt.date(2025, 1, 1), dt.date(2025, 1, 3), base_url=httpserver.url_for("/"),
                                       now=NOW, **FAST)
    assert faults.calls == 2 and len(frame) == 9


@pytest.mark.parametrize("name, rows", [("ton_usd_daily_bybit_linear.csv", 806),
                                        ("render_usd_daily_bybit_linear.csv", 476)])
def test_parser_reads_the_real_bybit_exports(shared_data, name, rows):
    raw = pd.read_csv(shared_data / name)
    listed = [[str(t), repr(o), repr(h), repr(lo), repr(c), repr(v), repr(tv)]
              for t, o, h, lo, c, v, tv in zip(raw["timestamp"], raw["open"], raw["high"], raw["low"], raw["close"],
                                               raw["volume"], raw["turnover"])][::-1]          # newest first
    payload = {"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "symbol": "TONUSDT", "list": listed},
               "retExtInfo": {}, "time": 1}
    frame = bybit.parse_bybit_klines(payload, now=dt.datetime(2026, 1, 1, tzinfo=UTC))
    assert len(frame) == len(raw) == rows
    assert list(frame.index.strftime("%Y-%m-%d")) == raw["date"].tolist()
    np.testing.assert_array_equal(frame["close"].to_numpy(), raw["close"].to_numpy())


def test_the_newest_kline_is_dropped_while_its_day_is_open(httpserver):
    data = fakes.daily_frame(dt.date(2025, 3, 1), dt.date(2025, 3, 10))
    httpserver.expect_request("/v5/market/kline").respond_with_handler(
        fakes.bybit_handler(fakes.bybit_klines(data), lambda r: int(r[0]), start_key="start", end_key="end",
                            max_limit=1000))
    frame, meta = bybit.get_bybit_klines(dt.date(2025, 3, 1), dt.date(2025, 3, 10), base_url=httpserver.url_for("/"),
                                         now=NOW, **FAST)
    assert frame.index[-1] == pd.Timestamp("2025-03-09") and len(frame) == 9
    assert meta["label"] == "bybit TONUSDT linear"
