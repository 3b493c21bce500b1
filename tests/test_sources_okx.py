"""OKX history candles and funding history: newest-first paging with ``after``, ``confirm``,
errors inside HTTP 200 bodies, and a real price history in OKX's format."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import price_api_fakes as fakes
import pytest

from analysis.sources import okx
from analysis.sources.http import HttpError

UTC = dt.UTC
NOW = dt.datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
FAST = {"timeout_s": 2.0, "max_retries": 2, "backoff_s": 0.0, "min_interval_s": 0.0}


def test_candles_walk_back_with_after_newest_first(httpserver):
    data = fakes.daily_frame(dt.date(2024, 9, 1), dt.date(2025, 3, 10))
    rows = fakes.okx_candles(data, open_days={dt.date(2025, 3, 10)})
    faults = fakes.Faults(fakes.okx_after_handler(rows, lambda r: int(r[0])))
    httpserver.expect_request("/api/v5/market/history-candles").respond_with_handler(faults)
    frame, meta = okx.get_okx_candles(dt.date(2024, 10, 1), dt.date(2025, 3, 10), "TON-USDT",
                                      base_url=httpserver.url_for("/"), now=NOW, **FAST)
    first, second = faults.args[:2]
    assert first == {"instId": "TON-USDT", "bar": "1Dutc", "after": str(fakes.day_ms(dt.date(2025, 3, 11))),
                     "limit": "100"}
    assert second["after"] == rows[99][0]            # the oldest ts of page 1
    assert faults.calls == 2                         # page 2 reaches back past 2024-10-01
    expected = data.loc["2024-10-01":"2025-03-09"]
    assert list(frame.index) == list(expected.index)
    np.testing.assert_array_equal(frame["close"].to_numpy(), expected["close"].to_numpy())
    assert meta["label"] == "okx TON-USDT"


def test_unconfirmed_candle_is_dropped_even_if_dated_before_today():
    data = fakes.daily_frame(dt.date(2025, 3, 1), dt.date(2025, 3, 3))
    payload = {"code": "0", "msg": "", "data": fakes.okx_candles(data, open_days={dt.date(2025, 3, 3)})}
    frame = okx.parse_okx_candles(payload, now=NOW)
    assert list(frame.index.strftime("%d")) == ["01", "02"]
    assert frame.attrs["open_dropped"] == 1


def test_error_code_in_a_200_body_is_an_error_with_okx_message(httpserver):
    body = {"code": "51001", "msg": "Instrument ID does not exist", "data": []}
    faults = fakes.Faults(lambda r: None, always_from=(1, "fail"), fail_body=body, fail_status=200)
    httpserver.expect_request("/api/v5/market/history-candles").respond_with_handler(faults)
    with pytest.raises(HttpError) as info:
        okx.get_okx_candles(dt.date(2025, 1, 1), dt.date(2025, 1, 31), "NOPE-USDT",
                            base_url=httpserver.url_for("/"), now=NOW, **FAST)
    assert faults.calls == 1
    assert "51001" in str(info.value) and "Instrument ID does not exist" in str(info.value)


def test_rate_limit_code_in_body_is_retried(httpserver):
    data = fakes.daily_frame(dt.date(2025, 1, 1), dt.date(2025, 1, 20))
    busy = {"code": "50011", "msg": "Too Many Requests", "data": []}
    faults = fakes.Faults(fakes.okx_after_handler(fakes.okx_candles(data), lambda r: int(r[0])),
                          plan={1: "fail"}, fail_body=busy, fail_status=200)
    httpserver.expect_request("/api/v5/market/history-candles").respond_with_handler(faults)
    frame, _ = okx.get_okx_candles(dt.date(2025, 1, 1), dt.date(2025, 1, 20), base_url=httpserver.url_for("/"),
                                   now=NOW, **FAST)
    assert faults.calls == 2
    assert len(frame) == 20


def test_funding_history_pages_back_and_uses_the_realized_rate(httpserver):
    t0 = fakes.day_ms(dt.date(2025, 1, 1))
    events = [(t0 + i * 8 * 3_600_000, 0.0001 + 0.00001 * (i % 5)) for i in range(200)]   # every 8 h
    records = fakes.okx_funding(events)
    records[0]["fundingRate"] = "0.00099999"      # the newest: predicted differs from what was settled
    faults = fakes.Faults(fakes.okx_after_handler(records, lambda r: int(r["fundingTime"])))
    httpserver.expect_request("/api/v5/public/funding-rate-history").respond_with_handler(faults)
    frame, meta = okx.get_okx_funding(dt.date(2025, 1, 1), dt.date(2025, 3, 10), base_url=httpserver.url_for("/"),
                                      now=NOW, **FAST)
    assert faults.args[0]["instId"] == "TON-USDT-SWAP"
    assert faults.calls == 2
    assert len(frame) == 200
    assert frame["time"].is_monotonic_increasing
    assert (frame["interval_hours"] == 8).all()
    np.testing.assert_allclose(frame["rate"], [r for _, r in events], rtol=0, atol=1e-15)
    assert meta["source"] == "okx"


def test_funding_outside_the_range_is_trimmed(httpserver):
    t0 = fakes.day_ms(dt.date(2025, 1, 1))
    events = [(t0 + i * 8 * 3_600_000, 0.0001) for i in range(30)]        # 10 days
    httpserver.expect_request("/api/v5/public/funding-rate-history").respond_with_handler(
        fakes.okx_after_handler(fakes.okx_funding(events), lambda r: int(r["fundingTime"])))
    frame, _ = okx.get_okx_funding(dt.date(2025, 1, 3), dt.date(2025, 1, 5), base_url=httpserver.url_for("/"),
                                   now=NOW, **FAST)
    assert frame["time"].dt.strftime("%d").unique().tolist() == ["03", "04", "05"]
    assert len(frame) == 9


def test_parser_reads_a_real_history_served_in_okx_format(shared_data):
    """The real Binance TONUSDT daily history, served as OKX rows (newest first), parses back exactly."""
    raw = pd.read_csv(shared_data / "ton_usd_daily_binance.csv")
    ms = fakes.to_ms(raw["open_time"])
    rows = [[str(t), repr(o), repr(h), repr(lo), repr(c), repr(v), "0", "0", "1"]
            for t, o, h, lo, c, v in zip(ms, raw["open"], raw["high"], raw["low"], raw["close"], raw["volume"])][::-1]
    frame = okx.parse_okx_candles({"code": "0", "msg": "", "data": rows}, now=dt.datetime(2026, 6, 1, tzinfo=UTC))
    np.testing.assert_array_equal(frame["close"].to_numpy(), raw["close"].to_numpy())
    assert frame.index[0] == pd.Timestamp("2024-08-08")


def test_predicted_rate_is_used_only_when_no_realized_rate_is_given():
    t0 = fakes.day_ms(dt.date(2025, 1, 1))
    records = fakes.okx_funding([(t0, 0.0001), (t0 + 28_800_000, 0.0002)])
    records[0]["realizedRate"] = ""                       # the newest: not settled into realizedRate
    records[0]["fundingRate"] = "0.00030000"
    frame = okx.parse_okx_funding({"code": "0", "msg": "", "data": records})
    assert frame["rate"].tolist() == [0.0001, 0.0003]
