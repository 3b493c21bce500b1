"""``fetch prices``, ``fetch funding`` and ``data status`` through ``analysis.cli.main.main`` against a
loopback server: the CSVs written, exit codes (2 bad input, 1 failed fetch) and one-line errors."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import price_api_fakes as fakes
import pytest

from analysis.cli.main import main
from analysis.market import store

TODAY = dt.datetime.now(dt.UTC).date()
START = TODAY - dt.timedelta(days=30)
DATA = fakes.daily_frame(TODAY - dt.timedelta(days=60), TODAY)        # today's candle is open


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    return err


@pytest.fixture
def binance_server(httpserver):
    faults = fakes.Faults(fakes.binance_klines_handler(fakes.binance_klines(DATA)))
    httpserver.expect_request("/api/v3/klines").respond_with_handler(faults)
    return httpserver, faults


def test_fetch_prices_out_writes_the_documented_csv(binance_server, tmp_path, capsys, isolated_cache):
    server, _ = binance_server
    out = tmp_path / "ton.csv"
    code = main(["fetch", "prices", "--source", "binance", "--start", START.isoformat(), "--end", TODAY.isoformat(),
                 "--base-url", server.url_for("/"), "--out", str(out)])
    assert code == 0
    written = pd.read_csv(out)
    assert list(written.columns) == ["date", "open", "high", "low", "close", "volume", "source"]
    expected = DATA.loc[str(START):str(TODAY - dt.timedelta(days=1))]            # one row a closed day
    assert written["date"].tolist() == list(expected.index.strftime("%Y-%m-%d"))
    np.testing.assert_array_equal(written["close"].to_numpy(), expected["close"].to_numpy())
    np.testing.assert_array_equal(written["volume"].to_numpy(), expected["volume"].to_numpy())
    assert set(written["source"]) == {"binance TONUSDT spot"}
    assert f"wrote {len(expected)} days" in capsys.readouterr().out
    assert not isolated_cache.exists()                                  # --out leaves the cache alone


def test_fetch_prices_without_out_merges_into_the_cache_then_status_shows_it(binance_server, capsys, isolated_cache):
    server, faults = binance_server
    argv = ["fetch", "prices", "--source", "binance", "--start", START.isoformat(), "--base-url", server.url_for("/")]
    assert main(argv) == 0
    assert "+30 new days" in capsys.readouterr().out
    cached = store.read_prices_csv(isolated_cache / "prices" / "ton_binance.csv")
    assert cached.index[-1].date() == TODAY - dt.timedelta(days=1)
    calls = faults.calls
    assert main(argv) == 0                                              # nothing missing: no request
    assert faults.calls == calls and "nothing requested" in capsys.readouterr().out
    assert main(["data", "status"]) == 0
    out = capsys.readouterr().out
    assert "cache binance" in out and "prices/ton_binance.csv" in out and "updated " in out
    assert "days from cache" in out                                     # the canonical series uses it
    assert "TON perpetual funding" in out and "reference" in out


def test_fetch_funding_out_writes_time_rate_interval_source(httpserver, tmp_path):
    t0 = fakes.day_ms(START)
    events = [(t0 + i * 4 * 3_600_000 + 3, 0.0001 * (i % 4 - 1)) for i in range(60)]
    httpserver.expect_request("/fapi/v1/fundingRate").respond_with_handler(
        fakes.binance_funding_handler(fakes.binance_funding(events)))
    out = tmp_path / "funding.csv"
    code = main(["fetch", "funding", "--source", "binance", "--start", START.isoformat(),
                 "--end", (START + dt.timedelta(days=9)).isoformat(), "--base-url", httpserver.url_for("/"),
                 "--out", str(out)])
    assert code == 0
    written = pd.read_csv(out)
    assert list(written.columns) == ["time", "rate", "interval_hours", "source"]
    assert written["time"].iloc[0] == f"{START.isoformat()}T00:00:00Z"
    assert (written["interval_hours"] == 4).all() and len(written) == 60


@pytest.mark.parametrize("argv, words", [
    (["fetch", "prices", "--source", "binance", "--start", "2025-02-01", "--end", "2025-01-01"], "--start 2025-02-01 is after --end"),
    (["fetch", "prices", "--source", "binance", "--start", "01/02/2025"], "--start: '01/02/2025' is not a date; use YYYY-MM-DD"),
    (["fetch", "prices", "--source", "binance", "--start", "2025-01-01", "--end", "2025-02-30"], "--end"),
    (["fetch", "prices", "--source", "bitstamp", "--start", "2025-01-01"], "invalid choice: 'bitstamp'"),
    (["fetch", "funding", "--source", "kraken", "--start", "2025-01-01"], "invalid choice: 'kraken'"),
    (["fetch", "prices", "--source", "okx"], "--start"),
    (["fetch", "prices", "--source", "okx", "--start", "2999-01-01", "--end", "2999-01-02"], "in the future"),
    (["fetch", "prices", "--source", "okx", "--start", "2025-01-01", "--base-url", "ftp://x"], "--base-url"),
    (["data"], "data"),
])
def test_bad_arguments_are_one_line_and_exit_2(argv, words, capsys, isolated_cache):
    assert main(argv) == 2
    assert words in _one_line_error(capsys)
    assert not isolated_cache.exists()


def test_out_pointing_at_a_folder_is_exit_2(tmp_path, capsys):
    assert main(["fetch", "prices", "--source", "binance", "--start", "2025-01-01", "--out", str(tmp_path)]) == 2
    assert "--out" in _one_line_error(capsys)


def test_a_failed_fetch_is_exit_1_with_the_api_message_and_no_cache_change(httpserver, capsys, isolated_cache):
    httpserver.expect_request("/api/v3/klines").respond_with_json({"code": -1121, "msg": "Invalid symbol."}, status=400)
    code = main(["fetch", "prices", "--source", "binance", "--start", START.isoformat(),
                 "--base-url", httpserver.url_for("/")])
    assert code == 1
    err = _one_line_error(capsys)
    assert err.startswith("cocoon-econ: error: binance: HTTP 400: Invalid symbol.")
    assert not isolated_cache.exists()


def test_coingecko_free_tier_limit_is_exit_1_with_the_remedy(httpserver, capsys, isolated_cache, monkeypatch):
    monkeypatch.delenv("COINGECKO_PRO_API_KEY", raising=False)
    monkeypatch.delenv("COINGECKO_DEMO_API_KEY", raising=False)
    httpserver.expect_request("/coins/the-open-network/market_chart/range").respond_with_json(
        fakes.COINGECKO_10012, status=401)
    code = main(["fetch", "prices", "--source", "coingecko", "--start", "2021-01-01", "--end", "2021-02-01",
                 "--base-url", httpserver.url_for("/")])
    assert code == 1
    err = _one_line_error(capsys)
    assert "365 days" in err and "COINGECKO_PRO_API_KEY" in err


def test_render_prices_use_the_render_symbols(httpserver, tmp_path):
    httpserver.expect_request("/api/v3/klines", query_string={
        "symbol": "RENDERUSDT", "interval": "1d", "startTime": str(fakes.day_ms(START)),
        "endTime": str(fakes.day_ms(START) + 3 * fakes.DAY_MS - 1), "limit": "1000"}).respond_with_handler(
        fakes.binance_klines_handler(fakes.binance_klines(DATA)))
    out = tmp_path / "render.csv"
    assert main(["fetch", "prices", "--asset", "render", "--source", "binance", "--start", START.isoformat(),
                 "--end", (START + dt.timedelta(days=2)).isoformat(), "--base-url", httpserver.url_for("/"),
                 "--out", str(out)]) == 0
    assert pd.read_csv(out)["source"].unique().tolist() == ["binance RENDERUSDT spot"]
