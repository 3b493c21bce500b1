"""Kraken: daily OHLC (``0/public/OHLC``).

API facts used here (Kraken REST docs, "Get OHLC Data"):

- ``GET /0/public/OHLC?pair=TONUSD&interval=1440[&since=<unix s>]`` returns
  ``{"error": [], "result": {"<PAIRKEY>": [[time, open, high, low, close, vwap, volume,
  count], ...], "last": <unix s>}}``. ``time`` is the candle's open (unix seconds), prices and
  volume are strings, volume is in the base asset (TON).
- The pair key in ``result`` is Kraken's own name for the pair and may differ from the
  ``pair`` asked for (e.g. ``XXBTZUSD`` for ``XBTUSD``), so it is read from the response.
- The last entry is the current, not-yet-committed candle and is always present: dropped.
- At most the 720 most recent candles are served, whatever ``since`` says: for daily
  candles, about two years. Older days cannot come from Kraken (reported, not an error).
- Errors come in ``error`` (HTTP 200), e.g. ``["EQuery:Unknown asset pair"]``;
  ``EAPI:Rate limit exceeded``, ``EGeneral:Too many requests`` and ``EService:*`` are transient.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import requests

from analysis.core.errors import FetchError
from analysis.core.progress import progress_bar
from analysis.sources.common import day_start_ms, find_gaps, iso_utc, tidy_daily, to_float, trim_days, utc_now
from analysis.sources.http import HttpClient, PayloadError

BASE_URL = "https://api.kraken.com"
OHLC_PATH = "0/public/OHLC"
MAX_ROWS = 720
_TRANSIENT = ("EAPI:Rate limit", "EGeneral:Too many requests", "EService:Unavailable", "EService:Busy",
              "EGeneral:Temporary lockout")


def _validate(payload: Any) -> None:
    if not isinstance(payload, dict):
        raise PayloadError(f"unexpected response shape {str(payload)[:80]!r}")
    errors = payload.get("error") or []
    if errors:
        text = "; ".join(str(e) for e in errors)
        raise PayloadError(text, retryable=any(str(e).startswith(_TRANSIENT) for e in errors))
    if not isinstance(payload.get("result"), dict):
        raise PayloadError("response has no 'result' object")


def _pair_rows(payload: dict) -> tuple[str, list]:
    result = payload.get("result", {})
    keys = [k for k in result if k != "last"]
    if len(keys) != 1:
        raise FetchError(f"kraken: expected one pair in the result, got {keys}")
    rows = result[keys[0]]
    if not isinstance(rows, list):
        raise FetchError(f"kraken: result[{keys[0]!r}] is not a list")
    return keys[0], rows


def parse_kraken_ohlc(payload: Any, *, now: dt.datetime | None = None) -> pd.DataFrame:
    """Kraken daily OHLC as a tidy frame indexed by UTC ``date``.

    The last row (the current, uncommitted candle) is always dropped, and so is any
    candle dated today (UTC) or later. ``attrs["pair_key"]`` is the key the pair came under.
    """
    if not isinstance(payload, dict):
        raise FetchError("kraken: expected a JSON object")
    _validate_or_raise(payload)
    key, raw = _pair_rows(payload)
    committed = raw[:-1]
    rows = []
    try:
        for row in committed:
            day = dt.datetime.fromtimestamp(int(row[0]), tz=dt.UTC).date()
            rows.append((day, to_float(row[1]), to_float(row[2]), to_float(row[3]), to_float(row[4]),
                         to_float(row[6])))
    except (IndexError, TypeError, ValueError) as exc:
        raise FetchError(f"kraken: malformed OHLC row ({exc})") from None
    frame, counts = tidy_daily(rows, now=now)
    counts["open_dropped"] += 1 if raw else 0
    frame.attrs.update(counts)
    frame.attrs["pair_key"] = key
    return frame


def _validate_or_raise(payload: dict) -> None:
    try:
        _validate(payload)
    except PayloadError as exc:
        raise FetchError(f"kraken: {exc}") from None


def get_kraken_ohlc(start: dt.date, end: dt.date, pair: str = "TONUSD", *, interval: int = 1440,
                    base_url: str | None = None, session: requests.Session | None = None,
                    now: dt.datetime | None = None, **http_options: Any) -> tuple[pd.DataFrame, dict]:
    """Daily committed candles of ``pair`` (``TONUSD``; ``RENDERUSD`` for Render) for ``start..end``.

    One request (Kraken serves at most the latest 720 candles). ``since`` is set to the
    day before ``start`` so a short range does not download all 720 rows. Days before the
    first candle served are reported in ``metadata["note"]``.

    Returns
    -------
    (frame, metadata)
    """
    client = HttpClient(base_url or BASE_URL, "kraken", session=session, **http_options)
    fetched_at = utc_now() if now is None else now
    since_s = day_start_ms(start) // 1000 - 86_400
    with progress_bar(f"kraken {pair} OHLC", total=1) as bar:
        payload = client.get_json(OHLC_PATH, {"pair": pair, "interval": interval, "since": since_s},
                                  validate=_validate)
        bar.update(1)
    full = parse_kraken_ohlc(payload, now=fetched_at)
    frame = trim_days(full, start, end)
    meta = {"source": "kraken", "label": f"kraken {pair}", "symbol": pair, "pair_key": full.attrs["pair_key"],
            "url": client.url(OHLC_PATH), "fetched_at": iso_utc(fetched_at), "pages": 1, "rows": len(frame),
            "gaps": find_gaps(frame.index)}
    if len(full) and full.index[0].date() > start:
        meta["note"] = (f"Kraken returned no candles before {full.index[0].date().isoformat()} "
                        f"(it serves at most the latest {MAX_ROWS} daily candles)")
    return frame, meta
