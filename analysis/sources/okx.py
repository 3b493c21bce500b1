"""OKX: daily candles (``api/v5/market/history-candles``) and perpetual funding history
(``api/v5/public/funding-rate-history``).

API facts used here (OKX API v5 docs, "Get candlesticks history" and "Get funding rate history"):

- Every response is ``{"code": "0", "msg": "", "data": [...]}``; ``code != "0"`` is an error
  (e.g. ``51001`` "Instrument ID does not exist", ``50011`` rate limit, usually with HTTP 429).
- ``history-candles?instId=TON-USDT&bar=1Dutc&after=<ms>&limit=100``: rows
  ``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]`` (strings), **newest first**, only
  rows older than ``after``. ``bar=1Dutc`` aligns days on 00:00 UTC (``1D`` would use
  Hong Kong time). ``confirm`` is ``"0"`` for the still-open candle. ``limit`` is at most 100
  (300 in newer docs; 100 works with both). Paging: the next ``after`` is the oldest ``ts``.
  For spot, ``vol`` is in the base currency (TON).
- ``funding-rate-history?instId=TON-USDT-SWAP&after=<ms>&limit=100``: objects with
  ``fundingRate``, ``realizedRate`` (the rate actually settled), ``fundingTime`` (ms),
  ``method``, ``instId``, ``instType``; newest first, about three months kept.
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

BASE_URL = "https://www.okx.com"
CANDLES_PATH = "api/v5/market/history-candles"
FUNDING_PATH = "api/v5/public/funding-rate-history"
CANDLE_LIMIT = 100
FUNDING_LIMIT = 100
MAX_PAGES = 1000
# Codes that mean "slow down / try again" (OKX error-code table: 50001 service unavailable,
# 50004 endpoint timeout, 50011 rate limit, 50013 system busy, 50026 system error, 50061 rate limit).
RETRYABLE_CODES = frozenset({"50001", "50004", "50011", "50013", "50026", "50061"})


def _validate(payload: Any) -> None:
    if not isinstance(payload, dict) or "code" not in payload:
        raise PayloadError(f"unexpected response shape {str(payload)[:80]!r}")
    code = str(payload.get("code"))
    if code != "0":
        message = payload.get("msg") or "no message"
        raise PayloadError(f"error {code}: {message}", retryable=code in RETRYABLE_CODES)
    if not isinstance(payload.get("data"), list):
        raise PayloadError("response has no 'data' list")


def parse_okx_candles(payload: Any, *, now: dt.datetime | None = None) -> pd.DataFrame:
    """OKX ``1Dutc`` candles as a tidy daily frame indexed by UTC ``date``.

    Parameters
    ----------
    payload : dict or list
        One response (``{"code": "0", "data": [...]}``) or a list of candle rows (pages
        concatenated, any order).
    now : datetime, optional
        Moment of the fetch; candles with ``confirm == "0"`` or dated today or later are
        dropped as open.
    """
    rows_in = payload.get("data", []) if isinstance(payload, dict) else payload
    if not isinstance(rows_in, list):
        raise FetchError("okx: expected a list of candles")
    rows, unconfirmed = [], 0
    for row in rows_in:
        if not isinstance(row, list) or len(row) < 6:
            raise FetchError(f"okx: malformed candle {row!r:.80}")
        if len(row) >= 9 and str(row[8]) == "0":
            unconfirmed += 1
            continue
        try:
            rows.append(ms_candle_row(row))
        except (TypeError, ValueError) as exc:
            raise FetchError(f"okx: malformed candle ({exc})") from None
    frame, counts = tidy_daily(rows, now=now)
    counts["open_dropped"] += unconfirmed
    frame.attrs.update(counts)
    return frame


def _page_cursor_pages(client: HttpClient, path: str, params: dict[str, Any], *, first_after: int,
                       floor_ms: int, time_of: Any, limit: int, desc: str) -> tuple[list, int]:
    """Walk a newest-first OKX history backwards with ``after`` (exclusive) until ``floor_ms``."""
    return walk_newest_first(
        lambda after: client.get_json(path, {**params, "after": after, "limit": limit}, validate=_validate)["data"],
        source="okx", path=path, first_cursor=first_after, floor_ms=floor_ms, time_of=time_of, limit=limit,
        max_pages=MAX_PAGES, desc=desc)


def get_okx_candles(start: dt.date, end: dt.date, inst_id: str = "TON-USDT", *, bar: str = "1Dutc",
                    base_url: str | None = None, session: requests.Session | None = None,
                    now: dt.datetime | None = None, **http_options: Any) -> tuple[pd.DataFrame, dict]:
    """Daily closed candles of ``inst_id`` (spot ``TON-USDT`` by default) for ``start..end``.

    Parameters
    ----------
    start, end : date
        First and last UTC day wanted (inclusive).
    inst_id : str
        OKX instrument, ``"TON-USDT"`` (``"RENDER-USDT"`` for Render).
    bar : str
        ``"1Dutc"``: days starting 00:00 UTC.
    base_url, session, now, **http_options
        As for :func:`analysis.sources.binance.get_binance_klines`.

    Returns
    -------
    (frame, metadata)
    """
    client = HttpClient(base_url or BASE_URL, "okx", session=session, **http_options)
    fetched_at = utc_now() if now is None else now
    rows, pages = _page_cursor_pages(
        client, CANDLES_PATH, {"instId": inst_id, "bar": bar},
        first_after=day_start_ms(end) + DAY_MS, floor_ms=day_start_ms(start),
        time_of=lambda row: row[0], limit=CANDLE_LIMIT, desc=f"okx {inst_id} candles")
    frame = trim_days(parse_okx_candles(rows, now=fetched_at), start, end)
    meta = {"source": "okx", "label": f"okx {inst_id}", "symbol": inst_id, "url": client.url(CANDLES_PATH),
            "fetched_at": iso_utc(fetched_at), "pages": pages, "rows": len(frame),
            "gaps": find_gaps(frame.index)}
    return frame, meta


def parse_okx_funding(payload: Any, *, inst_id: str = "TON-USDT-SWAP") -> pd.DataFrame:
    """OKX funding records as a tidy frame (``time, rate, interval_hours, source``).

    ``rate`` is ``realizedRate`` (the rate actually settled) where present, else
    ``fundingRate``. ``payload`` is one response or a list of records (any order).
    """
    records = payload.get("data", []) if isinstance(payload, dict) else payload
    if not isinstance(records, list):
        raise FetchError("okx: expected a list of funding records")
    try:
        times = [int(r["fundingTime"]) for r in records]
        rates = [to_float(r.get("realizedRate")) if r.get("realizedRate") not in (None, "")
                 else to_float(r["fundingRate"]) for r in records]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise FetchError(f"okx: malformed funding record ({exc})") from None
    frame, counts = tidy_funding(times, rates, f"okx {inst_id}")
    frame.attrs.update(counts)
    return frame


def get_okx_funding(start: dt.date, end: dt.date, inst_id: str = "TON-USDT-SWAP", *,
                    base_url: str | None = None, session: requests.Session | None = None,
                    now: dt.datetime | None = None, **http_options: Any) -> tuple[pd.DataFrame, dict]:
    """Funding history of the OKX perpetual ``inst_id`` for UTC days ``start..end``.

    OKX keeps about three months of funding history; older days come back empty.
    """
    client = HttpClient(base_url or BASE_URL, "okx", session=session, **http_options)
    fetched_at = utc_now() if now is None else now
    lo, hi = day_start_ms(start), day_start_ms(end) + DAY_MS
    rows, pages = _page_cursor_pages(
        client, FUNDING_PATH, {"instId": inst_id}, first_after=hi, floor_ms=lo,
        time_of=lambda r: r["fundingTime"], limit=FUNDING_LIMIT, desc=f"okx {inst_id} funding")
    frame = parse_okx_funding(rows, inst_id=inst_id)
    keep = (frame["time"] >= pd.Timestamp(lo, unit="ms", tz="UTC")) & (frame["time"] < pd.Timestamp(hi, unit="ms", tz="UTC"))
    missing = frame.attrs.get("missing_events", 0)
    frame = frame[keep].reset_index(drop=True)
    meta = {"source": "okx", "label": f"okx {inst_id}", "symbol": inst_id, "url": client.url(FUNDING_PATH),
            "fetched_at": iso_utc(fetched_at), "pages": pages, "rows": len(frame), "missing_events": missing}
    return frame, meta
