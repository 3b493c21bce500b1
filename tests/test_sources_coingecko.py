"""CoinGecko market_chart/range: midnight points as the previous day's close, 365-day windows,
API keys in headers only, and the free tier's 401 / error 10012 turned into a remedy."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import price_api_fakes as fakes
import pytest

from analysis.sources import coingecko
from analysis.sources.http import HttpError

UTC = dt.UTC
NOW = dt.datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
FAST = {"timeout_s": 2.0, "max_retries": 2, "backoff_s": 0.0, "min_interval_s": 0.0}
PATH = "/coins/the-open-network/market_chart/range"


def test_midnight_point_is_the_close_of_the_previous_day():
    # Hourly data (what a range of 2-90 days returns): price = hours since 2025-01-01 00:00.
    t0 = fakes.day_ms(dt.date(2025, 1, 1))
    points = [[t0 + h * 3_600_000 + 137, float(h)] for h in range(0, 24 * 3 + 1)]   # ms jitter
    points.append([t0 + 73 * 3_600_000 + 60_000, 999.0])                              # a "now" point
    frame = coingecko.parse_coingecko_market_chart({"prices": points}, now=NOW)
    # 00:00 on Jan 2, 3, 4 (hours 24, 48, 72) close Jan 1, 2, 3; Jan 1 00:00 (hour 0) closes Dec 31.
    assert list(frame.index.strftime("%Y-%m-%d")) == ["2024-12-31", "2025-01-01", "2025-01-02", "2025-01-03"]
    assert frame["close"].tolist() == [0.0, 24.0, 48.0, 72.0]
    assert frame[["open", "high", "low", "volume"]].isna().all().all()


def test_windows_of_365_closes_and_their_from_to(httpserver):
    closes = fakes.daily_frame(dt.date(2023, 1, 1), dt.date(2025, 3, 9))["close"]
    faults = fakes.Faults(fakes.coingecko_range_handler(fakes.coingecko_points(closes, NOW)))
    httpserver.expect_request(PATH).respond_with_handler(faults)
    frame, meta = coingecko.get_coingecko_market_chart(dt.date(2023, 1, 1), dt.date(2025, 3, 10),
                                                       base_url=httpserver.url_for("/"), now=NOW, environ={}, **FAST)
    assert faults.calls == 3 == meta["pages"]
    quarter = 15 * 60
    first = faults.args[0]
    assert first["vs_currency"] == "usd"
    assert int(first["from"]) == fakes.day_ms(dt.date(2023, 1, 2)) // 1000 - quarter
    assert int(first["to"]) == fakes.day_ms(dt.date(2024, 1, 1)) // 1000 + quarter      # 365 closes
    assert int(faults.args[1]["from"]) == fakes.day_ms(dt.date(2024, 1, 2)) // 1000 - quarter
    np.testing.assert_array_equal(frame["close"].to_numpy(), closes.to_numpy())
    assert list(frame.index) == list(closes.index)
    assert meta["plan"] == "public"


def test_free_tier_365_day_limit_gives_a_remedy(httpserver):
    faults = fakes.Faults(lambda r: None, always_from=(1, "fail"), fail_body=fakes.COINGECKO_10012, fail_status=401)
    httpserver.expect_request(PATH).respond_with_handler(faults)
    with pytest.raises(HttpError) as info:
        coingecko.get_coingecko_market_chart(dt.date(2022, 1, 1), dt.date(2022, 6, 1),
                                             base_url=httpserver.url_for("/"), now=NOW, environ={}, **FAST)
    message = str(info.value)
    assert faults.calls == 1
    assert info.value.status_code == 401
    assert "10012" in message and "365 days" in message
    assert "--start" in message and coingecko.PRO_KEY_ENV in message and "--source binance" in message
    assert "\n" not in message


def test_demo_key_goes_in_its_header_and_never_in_the_url_or_errors(httpserver):
    secret = "CG-demo-s3cr3t"
    httpserver.expect_request(PATH, headers={"x-cg-demo-api-key": secret}).respond_with_json(
        {"error": {"status": {"error_code": 10002, "error_message": "API Key Missing"}}}, status=401)
    with pytest.raises(HttpError) as info:
        coingecko.get_coingecko_market_chart(dt.date(2025, 1, 1), dt.date(2025, 1, 5), base_url=httpserver.url_for("/"),
                                             now=NOW, environ={coingecko.DEMO_KEY_ENV: secret}, **FAST)
    request, _ = httpserver.log[0]
    assert request.headers["x-cg-demo-api-key"] == secret
    assert secret not in request.url
    assert secret not in str(info.value)
    assert coingecko.DEMO_KEY_ENV in str(info.value)          # says which key to check


def test_pro_key_uses_the_pro_header_and_root():
    assert coingecko.api_plan({coingecko.PRO_KEY_ENV: "k", coingecko.DEMO_KEY_ENV: "d"}) == ("pro", "k")
    assert coingecko.api_plan({coingecko.DEMO_KEY_ENV: "d"}) == ("demo", "d")
    assert coingecko.api_plan({}) == ("public", None)
    assert coingecko.KEY_HEADER["pro"] == "x-cg-pro-api-key"
    assert coingecko.PRO_URL == "https://pro-api.coingecko.com/api/v3"


def test_pro_key_is_sent_in_the_pro_header(httpserver):
    closes = fakes.daily_frame(dt.date(2025, 1, 1), dt.date(2025, 1, 10))["close"]
    httpserver.expect_request(PATH, headers={"x-cg-pro-api-key": "pro-key"}).respond_with_handler(
        fakes.coingecko_range_handler(fakes.coingecko_points(closes)))
    frame, meta = coingecko.get_coingecko_market_chart(dt.date(2025, 1, 1), dt.date(2025, 1, 10),
                                                       base_url=httpserver.url_for("/"), now=NOW,
                                                       environ={coingecko.PRO_KEY_ENV: "pro-key"}, **FAST)
    assert len(frame) == 10 and meta["plan"] == "pro"


def test_parser_reads_real_closes_stamped_the_coingecko_way(shared_data):
    """Real Yahoo TON closes, stamped at the next midnight as CoinGecko does, come back on their own days."""
    raw = pd.read_csv(shared_data / "ton_usd_daily_yahoo.csv")
    days = pd.to_datetime(raw["Date"], utc=True).dt.tz_localize(None).dt.normalize()
    closes = pd.Series(raw["Close"].to_numpy(), index=days)
    frame = coingecko.parse_coingecko_market_chart({"prices": fakes.coingecko_points(closes)},
                                                   now=dt.datetime(2026, 1, 1, tzinfo=UTC))
    assert len(frame) == len(raw) == 1199
    np.testing.assert_array_equal(frame["close"].to_numpy(), raw["Close"].to_numpy())
    assert list(frame.index) == list(days)
