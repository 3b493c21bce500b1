"""Loopback stand-ins for the price and funding APIs, for ``pytest-httpserver``.

Each ``*_handler`` serves a dataset the way the real API does: its JSON shapes (taken from
the APIs' documentation, see the source modules' docstrings), its paging parameters and
limits, newest-first order where the API uses it, still-open candles, and its error
bodies. The fetchers under test must page through them correctly.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
from werkzeug import Request, Response

DAY_MS = 86_400_000


def day_ms(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()) * 1000


def to_ms(values: Any) -> list[int]:
    """Milliseconds since the epoch of date/time strings read as UTC (whatever pandas' resolution)."""
    stamps = pd.to_datetime(pd.Series(values), utc=True)
    return ((stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)).astype("int64").tolist()


def daily_frame(first: dt.date, last: dt.date, *, seed: float = 0.0) -> pd.DataFrame:
    """A deterministic daily OHLCV frame (4-decimal prices) indexed by ``date``."""
    days = pd.date_range(first, last, freq="D", name="date")
    rows = []
    for i in range(len(days)):
        close = round(2.0 + 0.5 * math.sin((i + seed) / 9.0) + 0.001 * i, 4)
        open_ = round(close * (1 - 0.01 * math.cos(i / 5.0)), 4)
        rows.append((open_, round(max(open_, close) * 1.02, 4), round(min(open_, close) * 0.98, 4), close,
                     round(100000 + 1000 * i, 2)))
    return pd.DataFrame(rows, index=days, columns=["open", "high", "low", "close", "volume"])


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")


def _num(x: float) -> str:
    return f"{x:.4f}" if abs(x) < 1e6 else f"{x:.2f}"


# --- Binance ---------------------------------------------------------------------------------

def binance_klines(frame: pd.DataFrame) -> list[list]:
    """Binance kline arrays: [openTime, o, h, l, c, v, closeTime, quoteVol, trades, takerBase, takerQuote, ignore]."""
    out = []
    for day, r in frame.iterrows():
        t = day_ms(day.date())
        out.append([t, _num(r.open), _num(r.high), _num(r.low), _num(r.close), f"{r.volume:.2f}", t + DAY_MS - 1,
                    f"{r.volume * r.close:.4f}", 1000, f"{r.volume / 2:.2f}", f"{r.volume * r.close / 2:.4f}", "0"])
    return out


def binance_klines_handler(klines: list[list], max_limit: int = 1000) -> Callable[[Request], Response]:
    """``api/v3/klines`` (and ``fapi/v1/klines``): openTime in [startTime, endTime], oldest first, ``limit`` rows."""
    def handler(request: Request) -> Response:
        start = int(request.args.get("startTime", 0))
        end = int(request.args.get("endTime", 2 ** 62))
        limit = min(int(request.args.get("limit", 500)), max_limit)
        return json_response([k for k in klines if start <= k[0] <= end][:limit])
    return handler


def binance_funding(events: list[tuple[int, float]], symbol: str = "TONUSDT") -> list[dict]:
    return [{"symbol": symbol, "fundingTime": t, "fundingRate": f"{r:.8f}", "markPrice": "2.50000000"}
            for t, r in events]


def binance_funding_handler(records: list[dict], max_limit: int = 1000) -> Callable[[Request], Response]:
    """``fapi/v1/fundingRate``: fundingTime in [startTime, endTime], oldest first, ``limit`` rows."""
    def handler(request: Request) -> Response:
        start = int(request.args.get("startTime", 0))
        end = int(request.args.get("endTime", 2 ** 62))
        limit = min(int(request.args.get("limit", 100)), max_limit)
        return json_response([r for r in records if start <= r["fundingTime"] <= end][:limit])
    return handler


# --- OKX -------------------------------------------------------------------------------------

def okx_candles(frame: pd.DataFrame, open_days: set[dt.date] = frozenset()) -> list[list[str]]:
    """OKX rows ``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]``, newest first."""
    out = []
    for day, r in frame.iterrows():
        confirm = "0" if day.date() in open_days else "1"
        quote = f"{r.volume * r.close:.4f}"
        out.append([str(day_ms(day.date())), _num(r.open), _num(r.high), _num(r.low), _num(r.close),
                    f"{r.volume:.2f}", quote, quote, confirm])
    return sorted(out, key=lambda row: -int(row[0]))


def okx_after_handler(rows: list, time_of: Callable[[Any], int], max_limit: int = 100) -> Callable[[Request], Response]:
    """OKX history endpoints: rows older than ``after``, newest first, at most ``limit``."""
    def handler(request: Request) -> Response:
        after = int(request.args.get("after", 2 ** 62))
        limit = min(int(request.args.get("limit", 100)), max_limit)
        page = [r for r in rows if time_of(r) < after][:limit]
        return json_response({"code": "0", "msg": "", "data": page})
    return handler


def okx_funding(events: list[tuple[int, float]], inst_id: str = "TON-USDT-SWAP") -> list[dict]:
    """OKX funding-rate-history records, newest first."""
    out = [{"instType": "SWAP", "instId": inst_id, "formulaType": "withRate", "method": "current_period",
            "fundingRate": f"{r:.8f}", "realizedRate": f"{r:.8f}", "fundingTime": str(t)} for t, r in events]
    return sorted(out, key=lambda rec: -int(rec["fundingTime"]))


# --- Kraken ----------------------------------------------------------------------------------

def kraken_ohlc_handler(frame: pd.DataFrame, pair_key: str = "TONUSD", max_rows: int = 720) -> Callable[[Request], Response]:
    """``0/public/OHLC``: the latest ``max_rows`` candles after ``since``; the last one is the open candle.

    ``frame``'s last row plays the current, uncommitted candle (it is always returned).
    """
    rows = [[int(day_ms(day.date()) / 1000), _num(r.open), _num(r.high), _num(r.low), _num(r.close),
             _num((r.open + r.close) / 2), f"{r.volume:.8f}", 500] for day, r in frame.iterrows()]
    rows = rows[-max_rows:]

    def handler(request: Request) -> Response:
        since = int(request.args.get("since", 0))
        page = [r for r in rows[:-1] if r[0] > since] + rows[-1:]
        return json_response({"error": [], "result": {pair_key: page, "last": rows[-2][0] if len(rows) > 1 else 0}})
    return handler


# --- CoinGecko -------------------------------------------------------------------------------

def coingecko_points(closes: pd.Series, now: dt.datetime | None = None, now_price: float | None = None) -> list[list]:
    """``[[ms, price], ...]``: the close of day D stamped at 00:00 UTC of D+1 (and an optional "now" point)."""
    points = [[day_ms(day.date()) + DAY_MS, float(c)] for day, c in closes.items()]
    if now is not None:
        points.append([int(now.timestamp() * 1000), float(now_price if now_price is not None else closes.iloc[-1])])
    return points


def coingecko_range_handler(points: list[list]) -> Callable[[Request], Response]:
    """``coins/{id}/market_chart/range``: points with from <= t <= to (seconds)."""
    def handler(request: Request) -> Response:
        lo = int(request.args["from"]) * 1000
        hi = int(request.args["to"]) * 1000
        page = [p for p in points if lo <= p[0] <= hi]
        return json_response({"prices": page, "market_caps": [[t, v * 5e9] for t, v in page],
                              "total_volumes": [[t, v * 1e8] for t, v in page]})
    return handler


COINGECKO_10012 = {"error": {"status": {
    "timestamp": "2024-04-20T22:00:05.123+00:00", "error_code": 10012,
    "error_message": "Your request exceeds the allowed time range. Public API users are limited to querying "
                     "historical data within the past 365 days. Upgrade to a paid plan to enjoy full historical "
                     "data access: https://www.coingecko.com/en/api/pricing. "}}}


# --- Bybit -----------------------------------------------------------------------------------

def bybit_klines(frame: pd.DataFrame) -> list[list[str]]:
    """Bybit kline rows ``[startTime, open, high, low, close, volume, turnover]``, newest first."""
    out = [[str(day_ms(day.date())), _num(r.open), _num(r.high), _num(r.low), _num(r.close), f"{r.volume:.1f}",
            f"{r.volume * r.close:.4f}"] for day, r in frame.iterrows()]
    return sorted(out, key=lambda row: -int(row[0]))


def bybit_funding(events: list[tuple[int, float]], symbol: str = "TONUSDT") -> list[dict]:
    out = [{"symbol": symbol, "fundingRate": f"{r:.8f}", "fundingRateTimestamp": str(t)} for t, r in events]
    return sorted(out, key=lambda rec: -int(rec["fundingRateTimestamp"]))


def bybit_handler(rows: list, time_of: Callable[[Any], int], *, start_key: str, end_key: str,
                  max_limit: int, category: str = "linear") -> Callable[[Request], Response]:
    """Bybit v5 lists: rows in [start, end], newest first, the newest ``limit`` of them."""
    def handler(request: Request) -> Response:
        lo = int(request.args.get(start_key, 0))
        hi = int(request.args.get(end_key, 2 ** 62))
        limit = min(int(request.args.get("limit", 200)), max_limit)
        page = [r for r in rows if lo <= time_of(r) <= hi][:limit]
        return json_response({"retCode": 0, "retMsg": "OK", "result": {"category": category, "list": page},
                              "retExtInfo": {}, "time": int(time.time() * 1000)})
    return handler


# --- Faults ----------------------------------------------------------------------------------

class Faults:
    """Wrap a handler to inject faults by call number (1-based): ``{2: "500", 3: "timeout"}``.

    Kinds: ``"500"``; ``"429"`` (with ``Retry-After: retry_after``); ``"truncated"`` (JSON cut in
    half); ``"timeout"`` (sleep ``sleep_s`` before answering); ``"fail"`` (``fail_status`` with
    ``fail_body``, default Binance's invalid-symbol body); ``"empty"`` (``empty_body``, default ``[]``). ``always_from=(n, kind)`` fails every call from n on.
    """

    def __init__(self, handler: Callable[[Request], Response], plan: dict[int, str] | None = None, *,
                 always_from: tuple[int, str] | None = None, sleep_s: float = 0.4, empty_body: Any = (),
                 fail_body: Any = None, fail_status: int = 400, retry_after: str = "0") -> None:
        self.handler = handler
        self.empty_body = [] if empty_body == () else empty_body
        self.fail_body = fail_body if fail_body is not None else {"code": -1121, "msg": "Invalid symbol."}
        self.fail_status = fail_status
        self.retry_after = retry_after
        self.plan = plan or {}
        self.always_from = always_from
        self.sleep_s = sleep_s
        self.calls = 0
        self.args: list[dict[str, str]] = []

    def __call__(self, request: Request) -> Response:
        self.calls += 1
        self.args.append(dict(request.args))
        kind = self.plan.get(self.calls)
        if kind is None and self.always_from and self.calls >= self.always_from[0]:
            kind = self.always_from[1]
        if kind == "500":
            return Response("Internal Server Error", status=500)
        if kind == "429":
            return json_response({"code": -1003, "msg": "Too many requests; please use the websocket."}, 429,
                                 {"Retry-After": self.retry_after})
        if kind == "fail":
            return json_response(self.fail_body, self.fail_status)
        if kind == "empty":
            return json_response(self.empty_body)
        if kind == "timeout":
            time.sleep(self.sleep_s)
        response = self.handler(request)
        if kind == "truncated":
            body = response.get_data()
            return Response(body[: len(body) // 2], status=200, content_type="application/json")
        return response
