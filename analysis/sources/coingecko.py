"""CoinGecko: daily USD closes from ``coins/{id}/market_chart/range``.

API facts used here (CoinGecko API v3 docs, "Coin Historical Chart Data within Time Range"):

- ``GET /coins/the-open-network/market_chart/range?vs_currency=usd&from=<unix s>&to=<unix s>``
  returns ``{"prices": [[ms, price], ...], "market_caps": [[ms, usd], ...],
  "total_volumes": [[ms, usd], ...]}``.
- Granularity is automatic: above 90 days, one point a day at 00:00 UTC; 2-90 days, hourly.
  The latest point of a range reaching the present is the current price (not at midnight).
- Keys: a demo key goes in header ``x-cg-demo-api-key`` (root https://api.coingecko.com/api/v3),
  a paid key in ``x-cg-pro-api-key`` (root https://pro-api.coingecko.com/api/v3). They are read
  from ``COINGECKO_DEMO_API_KEY`` / ``COINGECKO_PRO_API_KEY`` and never put in URLs or messages.
- Keyless and demo use are limited to the past 365 days: older ``from`` gives HTTP 401 with
  ``{"error": {"status": {"error_code": 10012, "error_message": "Your request exceeds the
  allowed time range. Public API users are limited to querying historical data within the past
  365 days. ..."}}}``.

Daily semantics (decided here, documented in docs/data-sources.md): a price stamped 00:00 UTC on day
D is the price at that instant, i.e. the **close of day D-1**, the same instant at which an
exchange's daily candle for D-1 closes. Only points within 15 minutes of a UTC midnight are
used (hourly data is reduced to its midnight points); CoinGecko gives no open/high/low, and
its ``total_volumes`` are rolling 24-hour USD volumes across all venues, so ``open, high,
low, volume`` are left empty (NaN).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import requests

from analysis.core.env import env_value
from analysis.core.errors import FetchError
from analysis.core.progress import progress_bar
from analysis.sources.common import (
    DAY_MS,
    day_start_ms,
    find_gaps,
    iso_utc,
    tidy_daily,
    to_float,
    today_utc,
    trim_days,
    utc_now,
)
from analysis.sources.http import HttpClient, HttpError

PUBLIC_URL = "https://api.coingecko.com/api/v3"
PRO_URL = "https://pro-api.coingecko.com/api/v3"
DEMO_KEY_ENV = "COCOON_ECON_COINGECKO_DEMO_API_KEY"  # alias COINGECKO_DEMO_API_KEY
PRO_KEY_ENV = "COCOON_ECON_COINGECKO_PRO_API_KEY"  # alias COINGECKO_PRO_API_KEY
KEY_HEADER = {"demo": "x-cg-demo-api-key", "pro": "x-cg-pro-api-key"}
WINDOW_DAYS = 365          # closes per request (the free tier's whole window)
MIDNIGHT_TOLERANCE_MS = 15 * 60 * 1000
# Keyless use allows a handful of calls a minute; stay polite unless a paid key is used.
MIN_INTERVAL_S = {"public": 6.0, "demo": 2.0, "pro": 0.0}


def api_plan(environ: dict[str, str] | None = None) -> tuple[str, str | None]:
    """``(plan, key)`` from the environment: ``("pro", key)``, ``("demo", key)`` or ``("public", None)``."""
    if pro := env_value(PRO_KEY_ENV, environ):
        return "pro", pro
    if demo := env_value(DEMO_KEY_ENV, environ):
        return "demo", demo
    return "public", None


def parse_coingecko_market_chart(payload: Any, *, now: dt.datetime | None = None) -> pd.DataFrame:
    """Daily closes from a ``market_chart`` or ``market_chart/range`` response.

    A point at 00:00 UTC (within 15 minutes) of day D becomes the ``close`` of day D-1;
    other points are ignored. Where two points fall near the same midnight, the nearer wins.
    Days today (UTC) or later are dropped. ``open, high, low, volume`` are NaN.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("prices"), list):
        raise FetchError("coingecko: response has no 'prices' list")
    best: dict[dt.date, tuple[int, float]] = {}
    try:
        for point in payload["prices"]:
            ms, price = int(point[0]), to_float(point[1])
            midnight = round(ms / DAY_MS) * DAY_MS
            distance = abs(ms - midnight)
            if distance > MIDNIGHT_TOLERANCE_MS:
                continue
            day = dt.datetime.fromtimestamp(midnight // 1000, tz=dt.UTC).date() - dt.timedelta(days=1)
            if day not in best or distance < best[day][0]:
                best[day] = (distance, price)
    except (IndexError, TypeError, ValueError) as exc:
        raise FetchError(f"coingecko: malformed price point ({exc})") from None
    nan = float("nan")
    rows = [(day, nan, nan, nan, price, nan) for day, (_, price) in best.items()]
    frame, counts = tidy_daily(rows, now=now)
    frame.attrs.update(counts)
    return frame


def _error_code(payload: Any) -> int | None:
    if isinstance(payload, dict):
        if "error_code" in payload:
            try:
                return int(payload["error_code"])
            except (TypeError, ValueError):
                return None
        for value in payload.values():
            code = _error_code(value)
            if code is not None:
                return code
    return None


def _explain(exc: HttpError, plan: str) -> HttpError:
    code = _error_code(exc.payload)
    if code == 10012:
        who = "keyless" if plan == "public" else plan
        return HttpError(
            f"coingecko: the {who} API serves only the past 365 days (HTTP {exc.status_code}, error 10012); "
            f"use a --start within the last 365 days, set {PRO_KEY_ENV} (paid plan) for older days, "
            f"or use --source binance or okx", status_code=exc.status_code, payload=exc.payload, url=exc.url)
    if exc.status_code in (401, 403):
        hint = (f"check the key in {PRO_KEY_ENV if plan == 'pro' else DEMO_KEY_ENV}" if plan != "public"
                else f"set {DEMO_KEY_ENV} (free demo key) or {PRO_KEY_ENV}")
        return HttpError(f"{exc}; {hint}", status_code=exc.status_code, payload=exc.payload, url=exc.url)
    return exc


def get_coingecko_market_chart(start: dt.date, end: dt.date, coin_id: str = "the-open-network", *,
                               vs_currency: str = "usd", base_url: str | None = None,
                               session: requests.Session | None = None, now: dt.datetime | None = None,
                               environ: dict[str, str] | None = None,
                               **http_options: Any) -> tuple[pd.DataFrame, dict]:
    """Daily USD closes of ``coin_id`` for UTC days ``start..end``.

    Parameters
    ----------
    start, end : date
        First and last UTC day wanted; days from today on are not closed yet and skipped.
    coin_id : str
        CoinGecko coin id: ``"the-open-network"`` (TON) or ``"render-token"`` (RENDER).
    vs_currency : str
        Quote currency (``"usd"``).
    base_url : str, optional
        API root override; by default the public root, or the pro root with a pro key.
    environ : dict, optional
        Where to read the API keys (default ``os.environ``).
    session, now, **http_options
        As for :func:`analysis.sources.binance.get_binance_klines`.

    Returns
    -------
    (frame, metadata); requests go in windows of at most 365 closes.

    Raises
    ------
    HttpError
        With a clear remedy for the free tier's 365-day limit (error 10012) and key problems.
    """
    plan, key = api_plan(environ)
    headers = {KEY_HEADER[plan]: key} if key else {}
    http_options.setdefault("min_interval_s", MIN_INTERVAL_S[plan])
    root = base_url or (PRO_URL if plan == "pro" else PUBLIC_URL)
    client = HttpClient(root, "coingecko", session=session, headers=headers, **http_options)
    fetched_at = utc_now() if now is None else now
    path = f"coins/{coin_id}/market_chart/range"
    last = min(end, today_utc(fetched_at) - dt.timedelta(days=1))
    windows = []
    day = start
    while day <= last:
        stop = min(last, day + dt.timedelta(days=WINDOW_DAYS - 1))
        windows.append((day, stop))
        day = stop + dt.timedelta(days=1)
    points: list = []
    with progress_bar(f"coingecko {coin_id}", total=len(windows)) as bar:
        for first, stop in windows:
            # Closes of first..stop are the prices at the midnights first+1 .. stop+1.
            lo = day_start_ms(first) + DAY_MS - MIDNIGHT_TOLERANCE_MS
            hi = day_start_ms(stop) + DAY_MS + MIDNIGHT_TOLERANCE_MS
            try:
                payload = client.get_json(path, {"vs_currency": vs_currency, "from": lo // 1000, "to": hi // 1000})
            except HttpError as exc:
                raise _explain(exc, plan) from None
            bar.update(1)
            if not isinstance(payload, dict) or not isinstance(payload.get("prices"), list):
                raise FetchError("coingecko: response has no 'prices' list")
            points.extend(payload["prices"])
    frame = trim_days(parse_coingecko_market_chart({"prices": points}, now=fetched_at), start, end)
    meta = {"source": "coingecko", "label": f"coingecko {coin_id}", "symbol": coin_id, "plan": plan,
            "url": client.url(path), "fetched_at": iso_utc(fetched_at), "pages": len(windows),
            "rows": len(frame), "gaps": find_gaps(frame.index)}
    return frame, meta
