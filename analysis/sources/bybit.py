"""Bybit v5: perpetual funding history (``v5/market/funding/history``) and daily klines
(``v5/market/kline``, linear USDT perpetual by default).

API facts used here (Bybit v5 docs, "Get Funding Rate History" and "Get Kline"):

- Every response is ``{"retCode": 0, "retMsg": "OK", "result": {...}, "retExtInfo": {},
  "time": ms}``; ``retCode != 0`` is an error (e.g. ``10001`` bad parameters, ``10006``
  too many visits, which is transient), usually with HTTP 200.
- ``funding/history?category=linear&symbol=TONUSDT&startTime=..&endTime=..&limit=200``:
  ``result.list`` of ``{"symbol", "fundingRate", "fundingRateTimestamp"}`` (strings), **newest
  first**, at most 200. Passing only ``startTime`` is an error; paging walks ``endTime`` back
  to the oldest timestamp minus 1 ms.
- ``kline?category=linear&symbol=TONUSDT&interval=D&start=..&end=..&limit=1000``:
  ``result.list`` of ``[startTime, open, high, low, close, volume, turnover]`` (strings),
  newest first; the newest row is the open candle when the range reaches today.
  ``volume`` is in the base coin for USDT contracts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import requests

from analysis.core.errors import FetchError
from analysis.sources.common import (
    DAY_MS,
    day_start_ms,
    find_gaps,
    iso_utc,
    ms_candle_row,
    tidy_daily,
    tidy_funding,
    to_float,
    trim_days,
    utc_now,
    walk_newest_first,
)
from analysis.sources.http import HttpClient, PayloadError

BASE_URL = "https://api.bybit.com"
FUNDING_PATH = "v5/market/funding/history"
KLINE_PATH = "v5/market/kline"
FUNDING_LIMIT = 200
KLINE_LIMIT = 1000
MAX_PAGES = 1000
# 10000 server timeout, 10006 too many visits, 10016 server error: try again.
RETRYABLE_CODES = frozenset({10000, 10006, 10016})


def _validate(payload: Any) -> None:
    if not isinstance(payload, dict) or "retCode" not in payload:
        raise PayloadError(f"unexpected response shape {str(payload)[:80]!r}")
    try:
        code = int(payload["retCode"])
    except (TypeError, ValueError):
        raise PayloadError(f"unexpected retCode {payload['retCode']!r}") from None
    if code != 0:
        raise PayloadError(f"retCode {code}: {payload.get('retMsg') or 'no message'}",
                           retryable=code in RETRYABLE_CODES)
    result = payload.get("result")
    if not isinstance(result, dict) or not isinstance(result.get("list"), list):
        raise PayloadError("response has no 'result.list'")


def _records(payload: Any) -> list:
    if isinstance(payload, dict):
        result = payload.get("result")
        if not isinstance(result, dict) or not isinstance(result.get("list"), list):
            raise FetchError("bybit: response has no 'result.list'")
        return result["list"]
    if isinstance(payload, list):
        return payload
    raise FetchError("bybit: expected a response object or a list of records")


def _walk_back(client: HttpClient, path: str, params: dict[str, Any], *, lo: int, hi: int, start_key: str,
               end_key: str, time_of: Any, limit: int, desc: str) -> tuple[list, int]:
    """Page a newest-first Bybit history backwards by moving the (inclusive) end time."""
    if hi < lo:
        return [], 0
    return walk_newest_first(
        lambda before: client.get_json(path, {**params, start_key: lo, end_key: before - 1, "limit": limit},
                                       validate=_validate)["result"]["list"],
        source="bybit", path=path, first_cursor=hi + 1, floor_ms=lo, time_of=time_of, limit=limit,
        max_pages=MAX_PAGES, desc=desc)


def parse_bybit_funding(payload: Any, *, symbol: str = "TONUSDT") -> pd.DataFrame:
    """Bybit funding records as a tidy frame (``time, rate, interval_hours, source``).

    ``payload`` is one response or a list of ``{"symbol", "fundingRate",
    "fundingRateTimestamp"}`` records (pages concatenated, any order).
    """
    records = _records(payload)
    try:
        times = [int(r["fundingRateTimestamp"]) for r in records]
        rates = [to_float(r["fundingRate"]) for r in records]
    except (KeyError, TypeError, ValueError) as exc:
        raise FetchError(f"bybit: malformed funding record ({exc})") from None
    frame, counts = tidy_funding(times, rates, f"bybit {symbol}")
    frame.attrs.update(counts)
    return frame


def get_bybit_funding(start: dt.date, end: dt.date, symbol: str = "TONUSDT", *, category: str = "linear",
                      base_url: str | None = None, session: requests.Session | None = None,
                      now: dt.datetime | None = None, **http_options: Any) -> tuple[pd.DataFrame, dict]:
    """Funding history of the Bybit perpetual ``symbol`` for UTC days ``start..end``.

    See :func:`analysis.sources.binance.get_binance_klines` for the common parameters.
    """
    client = HttpClient(base_url or BASE_URL, "bybit", session=session, **http_options)
    fetched_at = utc_now() if now is None else now
    lo, hi = day_start_ms(start), day_start_ms(end) + DAY_MS - 1
    rows, pages = _walk_back(client, FUNDING_PATH, {"category": category, "symbol": symbol}, lo=lo, hi=hi,
                             start_key="startTime", end_key="endTime",
                             time_of=lambda r: r["fundingRateTimestamp"], limit=FUNDING_LIMIT,
                             desc=f"bybit {symbol} funding")
    frame = parse_bybit_funding(rows, symbol=symbol)
    keep = (frame["time"] >= pd.Timestamp(lo, unit="ms", tz="UTC")) & (frame["time"] <= pd.Timestamp(hi, unit="ms", tz="UTC"))
    missing = frame.attrs.get("missing_events", 0)
    frame = frame[keep].reset_index(drop=True)
    meta = {"source": "bybit", "label": f"bybit {symbol}", "symbol": symbol, "url": client.url(FUNDING_PATH),
            "fetched_at": iso_utc(fetched_at), "pages": pages, "rows": len(frame), "missing_events": missing}
    return frame, meta


def parse_bybit_klines(payload: Any, *, now: dt.datetime | None = None) -> pd.DataFrame:
    """Bybit daily klines as a tidy frame indexed by UTC ``date`` (open candles dropped)."""
    rows = []
    try:
        for row in _records(payload):
            rows.append(ms_candle_row(row))
    except (IndexError, TypeError, ValueError) as exc:
        raise FetchError(f"bybit: malformed kline ({exc})") from None
    frame, counts = tidy_daily(rows, now=now)
    frame.attrs.update(counts)
    return frame


def get_bybit_klines(start: dt.date, end: dt.date, symbol: str = "TONUSDT", *, category: str = "linear",
                     base_url: str | None = None, session: requests.Session | None = None,
                     now: dt.datetime | None = None, **http_options: Any) -> tuple[pd.DataFrame, dict]:
    """Daily closed candles of ``symbol`` (linear USDT perpetual by default) for ``start..end``."""
    client = HttpClient(base_url or BASE_URL, "bybit", session=session, **http_options)
    fetched_at = utc_now() if now is None else now
    lo, hi = day_start_ms(start), day_start_ms(end) + DAY_MS - 1
    rows, pages = _walk_back(client, KLINE_PATH, {"category": category, "symbol": symbol, "interval": "D"},
                             lo=lo, hi=hi, start_key="start", end_key="end", time_of=lambda r: r[0],
                             limit=KLINE_LIMIT, desc=f"bybit {symbol} klines")
    frame = trim_days(parse_bybit_klines(rows, now=fetched_at), start, end)
    meta = {"source": "bybit", "label": f"bybit {symbol} {category}", "symbol": symbol,
            "url": client.url(KLINE_PATH), "fetched_at": iso_utc(fetched_at), "pages": pages,
            "rows": len(frame), "gaps": find_gaps(frame.index)}
    return frame, meta
