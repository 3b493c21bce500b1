"""Refreshing the cache over HTTP: only missing days are requested, open days never stored,
and a failed or interrupted fetch leaves every cache file byte-identical."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import price_api_fakes as fakes
import pytest

from analysis.core.errors import FetchError
from analysis.market import prices, store
from analysis.sources.http import HttpError

UTC = dt.UTC
NOW = dt.datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
FAST = {"timeout_s": 2.0, "max_retries": 1, "backoff_s": 0.0, "min_interval_s": 0.0}
D = dt.date


def _binance(httpserver, first=D(2024, 6, 1), **fault_args):
    data = fakes.daily_frame(first, NOW.date())
    faults = fakes.Faults(fakes.binance_klines_handler(fakes.binance_klines(data)), **fault_args)
    httpserver.expect_request("/api/v3/klines").respond_with_handler(faults)
    return data, faults


def _refresh(httpserver, cache, start, end, source="binance", **kw):
    return prices.refresh_prices("ton", source, start, end, cache_dir=cache, base_url=httpserver.url_for("/"),
                                 now=NOW, **FAST, **kw)


def _requested_days(args):
    return [(fakes_day(a["startTime"]), fakes_day(a["endTime"])) for a in args]


def fakes_day(ms: str) -> dt.date:
    return dt.datetime.fromtimestamp(int(ms) // 1000, tz=UTC).date()


def _snapshot(cache):
    return {p.relative_to(cache).as_posix(): p.read_bytes() for p in sorted(cache.rglob("*")) if p.is_file()}


def test_refresh_stores_closed_days_and_a_manifest(httpserver, tmp_path):
    data, _ = _binance(httpserver)
    result = _refresh(httpserver, tmp_path, D(2025, 1, 1), D(2025, 3, 31))
    path = tmp_path / "prices" / "ton_binance.csv"
    assert result.path == path and result.requested == [(D(2025, 1, 1), D(2025, 3, 9))]   # open days not asked
    stored = store.read_prices_csv(path)
    expected = data.loc["2025-01-01":"2025-03-09"]
    assert list(stored.index) == list(expected.index)
    np.testing.assert_array_equal(stored["close"].to_numpy(), expected["close"].to_numpy())
    assert (stored["source"] == "binance TONUSDT spot").all()
    entry = json.loads((tmp_path / "manifest.json").read_text())["prices/ton_binance.csv"]
    assert entry["updated_at"] == "2025-03-10T12:00:00Z"
    assert entry["requested"] == [["2025-01-01", "2025-03-09"]]
    assert entry["url"].endswith("/api/v3/klines") and entry["rows"] == len(expected)


def test_second_refresh_asks_only_for_missing_days(httpserver, tmp_path):
    _, faults = _binance(httpserver)
    _refresh(httpserver, tmp_path, D(2025, 1, 10), D(2025, 1, 20))
    faults.args.clear()
    result = _refresh(httpserver, tmp_path, D(2025, 1, 1), D(2025, 1, 25))
    assert _requested_days(faults.args) == [(D(2025, 1, 1), D(2025, 1, 9)), (D(2025, 1, 21), D(2025, 1, 25))]
    assert result.new_rows == 14 and result.rows == 25 and result.gaps == []
    faults.args.clear()
    again = _refresh(httpserver, tmp_path, D(2025, 1, 1), D(2025, 1, 25))
    assert faults.args == [] and again.requested == []


def test_days_the_source_lacks_are_asked_for_once(httpserver, tmp_path):
    _, faults = _binance(httpserver, first=D(2025, 2, 1))                 # listed on 2025-02-01
    result = _refresh(httpserver, tmp_path, D(2025, 1, 1), D(2025, 2, 10))
    assert result.first == "2025-02-01" and result.rows == 10
    calls = faults.calls
    _refresh(httpserver, tmp_path, D(2025, 1, 1), D(2025, 2, 10))
    assert faults.calls == calls                                         # January is not asked again


def test_nothing_at_all_is_a_fetch_error_and_writes_nothing(httpserver, tmp_path):
    _binance(httpserver, first=D(2025, 2, 1))
    with pytest.raises(FetchError, match="no TON candles for 2024-01-01..2024-01-31; the cache is unchanged"):
        _refresh(httpserver, tmp_path, D(2024, 1, 1), D(2024, 1, 31))
    assert not tmp_path.exists() or _snapshot(tmp_path) == {}


def test_interrupted_fetch_leaves_the_cache_byte_identical(httpserver, tmp_path):
    """OKX pages 100 days at a time; the server fails from page 3 on."""
    data = fakes.daily_frame(D(2024, 1, 1), NOW.date())
    rows = fakes.okx_candles(data, {NOW.date()})
    handler = fakes.okx_after_handler(rows, lambda r: int(r[0]))
    faults = fakes.Faults(handler)
    httpserver.expect_request("/api/v5/market/history-candles").respond_with_handler(faults)
    _refresh(httpserver, tmp_path, D(2025, 2, 1), D(2025, 3, 9), source="okx")
    _binance(httpserver)
    _refresh(httpserver, tmp_path, D(2025, 2, 1), D(2025, 3, 9), source="binance")
    before = _snapshot(tmp_path)
    faults.calls, faults.always_from = 0, (3, "500")
    with pytest.raises(HttpError):
        _refresh(httpserver, tmp_path, D(2024, 1, 1), D(2025, 3, 9), source="okx")
    assert faults.calls == 3 + FAST["max_retries"]
    assert _snapshot(tmp_path) == before                                  # data files and manifest alike
    assert prices.daily_closes("ton", cache_dir=tmp_path).attrs["origin"] == "cache+snapshot"


def test_funding_refresh_rerequests_today_only(httpserver, tmp_path):
    t0 = fakes.day_ms(D(2025, 3, 1))
    events = [(t0 + i * 4 * 3_600_000, 0.0001) for i in range(9 * 6 + 3)]   # to 2025-03-10 08:00
    faults = fakes.Faults(fakes.binance_funding_handler(fakes.binance_funding(events)))
    httpserver.expect_request("/fapi/v1/fundingRate").respond_with_handler(faults)
    result = prices.refresh_funding("binance", D(2025, 3, 1), D(2025, 3, 31), cache_dir=tmp_path,
                                    base_url=httpserver.url_for("/"), now=NOW, **FAST)
    assert result.rows == 57 and result.last == "2025-03-10T08:00:00Z"
    lines = (tmp_path / "funding" / "binance.csv").read_text().splitlines()
    assert lines[0] == "time,rate,interval_hours,source" and lines[1] == "2025-03-01T00:00:00Z,0.0001,4,binance TONUSDT"
    faults.args.clear()
    prices.refresh_funding("binance", D(2025, 3, 1), D(2025, 3, 31), cache_dir=tmp_path,
                           base_url=httpserver.url_for("/"), now=NOW, **FAST)
    assert _requested_days(faults.args) == [(D(2025, 3, 10), D(2025, 3, 10))]
