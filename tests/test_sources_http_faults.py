"""Every price source over real HTTP (pytest-httpserver) with the real API's paging, and faults:
a 500 then success, 429 with Retry-After, truncated JSON, a timeout, an empty page, giving up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import price_api_fakes as fakes
import pytest

from analysis.sources import binance, bybit, coingecko, kraken, okx
from analysis.sources.http import HttpError

NOW = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)   # 2025-03-10 is still open
TODAY = NOW.date()
FIRST = dt.date(2022, 3, 1)
DATA = fakes.daily_frame(FIRST, TODAY)                           # includes today's open candle
CLOSED = DATA.loc[: str(TODAY - dt.timedelta(days=1))]


@dataclass
class Case:
    name: str
    path: str
    handler: Callable[[], Callable]
    fetch: Callable[..., Any]
    start: dt.date
    pages: int            # requests a clean fetch makes
    empty_body: Any


def _kraken_start() -> dt.date:
    return TODAY - dt.timedelta(days=700)


CASES = [
    Case("binance", "/api/v3/klines", lambda: fakes.binance_klines_handler(fakes.binance_klines(DATA)),
         lambda s, e, **kw: binance.get_binance_klines(s, e, "TONUSDT", **kw), FIRST, 2, []),
    Case("binance-futures", "/fapi/v1/klines", lambda: fakes.binance_klines_handler(fakes.binance_klines(DATA)),
         lambda s, e, **kw: binance.get_binance_klines(s, e, "TONUSDT", market="futures", **kw), FIRST, 2, []),
    Case("okx", "/api/v5/market/history-candles",
         lambda: fakes.okx_after_handler(fakes.okx_candles(DATA, {TODAY}), lambda r: int(r[0])),
         lambda s, e, **kw: okx.get_okx_candles(s, e, "TON-USDT", **kw), FIRST, 12, {"code": "0", "msg": "", "data": []}),
    Case("bybit", "/v5/market/kline",
         lambda: fakes.bybit_handler(fakes.bybit_klines(DATA), lambda r: int(r[0]), start_key="start", end_key="end",
                                     max_limit=1000),
         lambda s, e, **kw: bybit.get_bybit_klines(s, e, "TONUSDT", **kw), FIRST, 2,
         {"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "list": []}, "retExtInfo": {}, "time": 1}),
    Case("coingecko", "/coins/the-open-network/market_chart/range",
         lambda: fakes.coingecko_range_handler(fakes.coingecko_points(CLOSED["close"], NOW)),
         lambda s, e, **kw: coingecko.get_coingecko_market_chart(s, e, environ={}, **kw), FIRST, 4,
         {"prices": [], "market_caps": [], "total_volumes": []}),
    Case("kraken", "/0/public/OHLC", lambda: fakes.kraken_ohlc_handler(DATA),
         lambda s, e, **kw: kraken.get_kraken_ohlc(s, e, "TONUSD", **kw), _kraken_start(), 1,
         {"error": [], "result": {"TONUSD": [[int(fakes.day_ms(TODAY) / 1000), "2", "2", "2", "2", "2", "1", 1]],
                                  "last": 0}}),
]
IDS = [c.name for c in CASES]


def _fast(**extra: Any) -> dict[str, Any]:
    options = {"timeout_s": 2.0, "max_retries": 3, "backoff_s": 0.0, "max_wait_s": 5.0, "min_interval_s": 0.0}
    options.update(extra)
    return options


def _serve(httpserver, case: Case, **fault_args: Any) -> fakes.Faults:
    faults = fakes.Faults(case.handler(), empty_body=case.empty_body, **fault_args)
    httpserver.expect_request(case.path).respond_with_handler(faults)
    return faults


def _expected(case: Case):
    return CLOSED.loc[str(case.start):]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_clean_multi_page_fetch_matches_the_served_history(httpserver, case):
    faults = _serve(httpserver, case)
    frame, meta = case.fetch(case.start, TODAY, base_url=httpserver.url_for("/"), now=NOW, **_fast())
    expected = _expected(case)
    assert faults.calls == case.pages == meta["pages"]
    # Every closed day once, ascending; today's still-open candle is dropped.
    assert list(frame.index) == list(expected.index)
    np.testing.assert_allclose(frame["close"].to_numpy(), expected["close"].to_numpy(), rtol=0, atol=1e-12)
    assert meta["gaps"] == []
    assert meta["fetched_at"] == "2025-03-10T12:00:00Z"
    assert meta["url"].startswith(httpserver.url_for("/"))


@pytest.mark.parametrize("kind", ["500", "truncated"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_transient_failure_mid_history_is_retried(httpserver, case, kind):
    at = 2 if case.pages > 1 else 1
    faults = _serve(httpserver, case, plan={at: kind})
    waits: list[float] = []
    frame, meta = case.fetch(case.start, TODAY, base_url=httpserver.url_for("/"), now=NOW,
                             **_fast(sleep=waits.append))
    assert faults.calls == case.pages + 1
    assert len(frame) == len(_expected(case))
    assert waits == [0.0]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_429_waits_as_long_as_retry_after_says(httpserver, case):
    faults = _serve(httpserver, case, plan={1: "429"}, retry_after="3")
    waits: list[float] = []
    frame, _ = case.fetch(case.start, TODAY, base_url=httpserver.url_for("/"), now=NOW,
                          **_fast(sleep=waits.append, backoff_s=0.5))
    assert waits == [3.0]                 # the server's Retry-After, not the 0.5 s back-off
    assert faults.calls == case.pages + 1
    assert len(frame) == len(_expected(case))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_timeout_is_retried(httpserver, case):
    faults = _serve(httpserver, case, plan={1: "timeout"}, sleep_s=0.35)
    frame, _ = case.fetch(case.start, TODAY, base_url=httpserver.url_for("/"), now=NOW,
                          **_fast(timeout_s=0.15, max_retries=6))
    assert len(frame) == len(_expected(case))
    assert faults.calls > case.pages


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_an_empty_page_gives_an_empty_frame_not_an_error(httpserver, case):
    _serve(httpserver, case, always_from=(1, "empty"))
    frame, meta = case.fetch(case.start, TODAY, base_url=httpserver.url_for("/"), now=NOW, **_fast())
    assert frame.empty
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert meta["rows"] == 0


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_persistent_5xx_gives_up_with_one_fetch_error(httpserver, case):
    faults = _serve(httpserver, case, always_from=(1, "500"))
    with pytest.raises(HttpError) as info:
        case.fetch(case.start, TODAY, base_url=httpserver.url_for("/"), now=NOW, **_fast(max_retries=2))
    assert faults.calls == 3
    assert info.value.status_code == 500
    assert "gave up after 3 attempts" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("retry_after, expected", [("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),   # a past HTTP-date
                                                   ("soon", 0.25)])                          # unreadable: back-off
def test_retry_after_as_http_date_or_garbage(httpserver, retry_after, expected):
    case = CASES[0]
    _serve(httpserver, case, plan={1: "429"}, retry_after=retry_after)
    waits: list[float] = []
    case.fetch(case.start, TODAY, base_url=httpserver.url_for("/"), now=NOW, **_fast(sleep=waits.append, backoff_s=0.25))
    assert waits == [expected]
