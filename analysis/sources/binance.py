"""Binance: spot daily klines (``api/v3/klines``), USD-M perpetual daily klines
(``fapi/v1/klines``) and USD-M funding history (``fapi/v1/fundingRate``).

API facts used here (Binance spot and USD-M futures REST docs):

- ``GET /api/v3/klines?symbol=TONUSDT&interval=1d&startTime=..&endTime=..&limit=1000``
  returns at most ``limit`` (max 1000) klines, oldest first, from ``startTime``. Each kline is
  an array ``[openTime(ms), open, high, low, close, volume, closeTime(ms), quoteVolume,
  trades, takerBuyBase, takerBuyQuote, ignore]`` with prices and volumes as strings.
  Paging: the next ``startTime`` is the last ``openTime`` plus one day.
- ``GET /fapi/v1/klines`` has the same array format (limit up to 1500; 1000 used).
- ``GET /fapi/v1/fundingRate?symbol=TONUSDT&startTime=..&endTime=..&limit=1000`` returns
  ``[{"symbol", "fundingTime"(ms), "fundingRate"(str), "markPrice"(str)}]`` oldest first,
  at most 1000 per call (the range is filled from ``startTime``).
  TONUSDT funds every 4 hours, so the interval is derived from the timestamps.
- Errors: HTTP 4xx with ``{"code": -1121, "msg": "Invalid symbol."}``; 429/418 with
  ``Retry-After`` when rate limited.
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
    walk_oldest_first,
)
from analysis.sources.http import HttpClient

SPOT_URL = "https://api.binance.com"
FUTURES_URL = "https://fapi.binance.com"
KLINES_PATH = {"spot": "api/v3/klines", "futures": "fapi/v1/klines"}
FUNDING_PATH = "fapi/v1/fundingRate"
KLINE_LIMIT = 1000
FUNDING_LIMIT = 1000
MAX_PAGES = 500


def parse_binance_klines(payload: Any, *, now: dt.datetime | None = None) -> pd.DataFrame:
    """Daily klines (spot or USD-M) as a tidy frame indexed by UTC ``date``.

    Parameters
    ----------
    payload : list
        The decoded JSON array of kline arrays (one or more pages concatenated).
    now : datetime, optional
        The moment of the fetch; candles dated today (UTC) or later are open and dropped.

    Returns
    -------
    DataFrame with ``open, high, low, close, volume`` (volume in base asset);
    ``attrs["duplicates"]`` and ``attrs["open_dropped"]`` count what was dropped.
    """
    if not isinstance(payload, list):
        raise FetchError(f"binance: expected a JSON array of klines, got {type(payload).__name__}")
    rows = []
    for kline in payload:
        if not isinstance(kline, list) or len(kline) < 6:
            raise FetchError(f"binance: malformed kline {kline!r:.80}")
        try:
            rows.append(ms_candle_row(kline))
        except (TypeError, ValueError) as exc:
            raise FetchError(f"binance: malformed kline ({exc})") from None
    frame, counts = tidy_daily(rows, now=now)
    frame.attrs.update(counts)
    return frame


def get_binance_klines(start: dt.date, end: dt.date, symbol: str = "TONUSDT", *, market: str = "spot",
                       base_url: str | None = None, session: requests.Session | None = None,
                       now: dt.datetime | None = None, **http_options: Any) -> tuple[pd.DataFrame, dict]:
    """Daily closed candles of ``symbol`` for ``start..end`` (inclusive UTC days).

    Parameters
    ----------
    start, end : date
        First and last UTC day wanted.
    symbol : str
        Binance symbol, ``"TONUSDT"`` (``"RENDERUSDT"`` for Render).
    market : {"spot", "futures"}
        ``spot`` uses ``api/v3/klines`` on https://api.binance.com; ``futures`` the USD-M
        perpetual ``fapi/v1/klines`` on https://fapi.binance.com.
    base_url : str, optional
        API root override (mirror, proxy, test server).
    session : requests.Session, optional
    now : datetime, optional
        Moment of the fetch (default: now); decides which candle is still open.
    **http_options
        Passed to :class:`~analysis.sources.http.HttpClient` (``timeout_s``, ``max_retries``,
        ``backoff_s``, ``max_wait_s``, ``min_interval_s``).

    Returns
    -------
    (frame, metadata) — see :func:`parse_binance_klines`; metadata has ``source``,
    ``symbol``, ``url``, ``fetched_at``, ``pages``, ``gaps``.
    """
    if market not in KLINES_PATH:
        raise ValueError(f"market must be 'spot' or 'futures', got {market!r}")
    root = base_url or (SPOT_URL if market == "spot" else FUTURES_URL)
    client = HttpClient(root, "binance", session=session, **http_options)
    path = KLINES_PATH[market]
    fetched_at = utc_now() if now is None else now
    stop = day_start_ms(end) + DAY_MS - 1
    klines, pages = walk_oldest_first(
        lambda cursor: client.get_json(path, {"symbol": symbol, "interval": "1d", "startTime": cursor,
                                              "endTime": stop, "limit": KLINE_LIMIT}),
        source="binance", what="kline", first_cursor=day_start_ms(start), stop=stop,
        next_cursor=lambda last: int(last[0]) + DAY_MS, limit=KLINE_LIMIT, max_pages=MAX_PAGES,
        desc=f"binance {symbol} klines", total=max(1, -(-((end - start).days + 1) // KLINE_LIMIT)))
    frame = trim_days(parse_binance_klines(klines, now=fetched_at), start, end)
    label = f"binance {symbol} {'spot' if market == 'spot' else 'perpetual'}"
    meta = {"source": "binance" if market == "spot" else "binance-futures", "label": label, "symbol": symbol,
            "url": client.url(path), "fetched_at": iso_utc(fetched_at), "pages": pages,
            "rows": len(frame), "gaps": find_gaps(frame.index)}
    return frame, meta


def parse_binance_funding(payload: Any, *, symbol: str = "TONUSDT") -> pd.DataFrame:
    """USD-M funding events as a tidy frame (``time, rate, interval_hours, source``).

    ``payload`` is the decoded array of ``{"symbol", "fundingTime", "fundingRate",
    "markPrice"}`` objects (pages concatenated). ``attrs["missing_events"]`` counts events
    missing inside the history (see :func:`analysis.sources.common.funding_intervals`).
    """
    if not isinstance(payload, list):
        raise FetchError(f"binance: expected a JSON array of funding records, got {type(payload).__name__}")
    try:
        times = [int(item["fundingTime"]) for item in payload]
        rates = [to_float(item["fundingRate"]) for item in payload]
    except (KeyError, TypeError, ValueError) as exc:
        raise FetchError(f"binance: malformed funding record ({exc})") from None
    frame, counts = tidy_funding(times, rates, f"binance {symbol}")
    frame.attrs.update(counts)
    return frame


def get_binance_funding(start: dt.date, end: dt.date, symbol: str = "TONUSDT", *,
                        base_url: str | None = None, session: requests.Session | None = None,
                        now: dt.datetime | None = None, **http_options: Any) -> tuple[pd.DataFrame, dict]:
    """Funding history of the USD-M perpetual ``symbol`` for UTC days ``start..end``.

    Pages through ``fapi/v1/fundingRate`` (1000 per call, oldest first; the next
    ``startTime`` is the last ``fundingTime`` + 1 ms). See :func:`get_binance_klines` for the
    common parameters.

    Returns
    -------
    (frame, metadata) — see :func:`parse_binance_funding`.
    """
    client = HttpClient(base_url or FUTURES_URL, "binance", session=session, **http_options)
    fetched_at = utc_now() if now is None else now
    stop = day_start_ms(end) + DAY_MS - 1
    records, pages = walk_oldest_first(
        lambda cursor: client.get_json(FUNDING_PATH, {"symbol": symbol, "startTime": cursor, "endTime": stop,
                                                      "limit": FUNDING_LIMIT}),
        source="binance", what="funding record", first_cursor=day_start_ms(start), stop=stop,
        next_cursor=lambda last: int(last["fundingTime"]) + 1, limit=FUNDING_LIMIT, max_pages=MAX_PAGES,
        desc=f"binance {symbol} funding")
    frame = parse_binance_funding(records, symbol=symbol)
    meta = {"source": "binance", "label": f"binance {symbol}", "symbol": symbol, "url": client.url(FUNDING_PATH),
            "fetched_at": iso_utc(fetched_at), "pages": pages, "rows": len(frame),
            "missing_events": frame.attrs.get("missing_events", 0)}
    return frame, meta
