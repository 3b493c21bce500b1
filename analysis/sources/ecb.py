"""European Central Bank: euro foreign exchange reference rates (ECB Data Portal, dataflow ``EXR``).

API facts used here (data.ecb.europa.eu/help/api/data and /help/api/status-codes):

- ``GET /service/data/EXR/D.<CUR>.EUR.SP00.A?format=csvdata&startPeriod=YYYY-MM-DD&endPeriod=YYYY-MM-DD``
  returns one CSV row per day with a fixing. The series key reads: daily (``D``), ``<CUR>`` units
  per one euro (``CURRENCY_DENOM`` ``EUR``), spot (``SP00``), average/standardised (``A``).
- Columns (header row first, by name; more follow and are ignored): ``KEY, FREQ, CURRENCY,
  CURRENCY_DENOM, EXR_TYPE, EXR_SUFFIX, TIME_PERIOD, OBS_VALUE, OBS_STATUS, OBS_CONF, ...,
  TITLE, UNIT, UNIT_MULT``. ``TIME_PERIOD`` is the fixing day, ``OBS_VALUE`` the rate (may be
  empty, e.g. RUB after the suspension of 2022-03-01: such rows are dropped). The body may start
  with a UTF-8 byte-order mark.
- The reference rates are set at 14:15 CET on TARGET business days: weekends and the TARGET
  holidays (1 January, Good Friday, Easter Monday, 1 May, 25 and 26 December) have no row.
- Status codes: 200 with data; 404 with the plain-text body ``No results found.`` when no
  observation matches (a range of holidays only, a currency the ECB does not publish); 400 for
  a malformed key or period; 500/503 on the ECB's side (retried, as 429 with ``Retry-After``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from typing import Any

import pandas as pd
import requests

from analysis.core.errors import FetchError, InputError
from analysis.core.progress import progress_bar
from analysis.sources.common import iso_utc, utc_now
from analysis.sources.http import BodyFatal, BodyRetry, HttpClient, HttpError, PayloadError, Reply

BASE_URL = "https://data-api.ecb.europa.eu"
DATA_PATH = "service/data/EXR"
#: The columns this module reads, by name (the ECB adds more after OBS_VALUE).
NEEDED_COLUMNS = ("KEY", "FREQ", "CURRENCY", "CURRENCY_DENOM", "EXR_TYPE", "EXR_SUFFIX", "TIME_PERIOD", "OBS_VALUE")


def series_key(currency: str) -> str:
    """The EXR series of the daily reference rate of ``currency`` per euro: ``D.<CUR>.EUR.SP00.A``."""
    return f"D.{currency}.EUR.SP00.A"


def _rows(csv_text: str) -> tuple[list[str], list[list[str]]]:
    text = csv_text.lstrip("\ufeff")
    if not text.strip():
        raise PayloadError("empty body (no header row)")
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    missing = [c for c in NEEDED_COLUMNS if c not in header]
    if missing:
        raise PayloadError(f"CSV has no column(s) {', '.join(missing)} (header starts {','.join(header[:4])!r})")
    rows = [row for row in reader if row]
    width = len(header)
    for number, row in enumerate(rows, start=2):
        if len(row) != width:
            # Every ECB row has the header's width (empty fields included): a shorter one was
            # cut in transit, so the HTTP layer retries it.
            raise PayloadError(f"CSV row {number} has {len(row)} of {width} fields (truncated body?)", retryable=True)
    return header, rows


def parse_ecb_rates(csv_text: str) -> pd.DataFrame:
    """The ECB's ``csvdata`` answer as a frame indexed by fixing ``date``, one column per currency.

    Values are units of the currency per one euro (``CURRENCY_DENOM`` ``EUR``); rows with an
    empty ``OBS_VALUE`` are dropped. Only daily spot reference rates (``D``/``SP00``/``A``) are
    accepted.

    Raises
    ------
    FetchError
        On a body that is not the ECB's CSV (missing columns, a row cut short, a value that is
        not a positive number, another kind of series).
    """
    try:
        header, rows = _rows(csv_text)
    except PayloadError as exc:
        raise FetchError(f"ecb: {exc}") from None
    col = {name: header.index(name) for name in NEEDED_COLUMNS}
    records: dict[str, dict[pd.Timestamp, float]] = {}
    for number, row in enumerate(rows, start=2):
        kind = (row[col["FREQ"]], row[col["CURRENCY_DENOM"]], row[col["EXR_TYPE"]], row[col["EXR_SUFFIX"]])
        if kind != ("D", "EUR", "SP00", "A"):
            raise FetchError(f"ecb: CSV row {number} is series {row[col['KEY']]!r}, not a daily euro reference "
                             "rate (D.<CUR>.EUR.SP00.A)")
        value = row[col["OBS_VALUE"]].strip()
        if not value:
            continue
        try:
            day = pd.Timestamp(dt.date.fromisoformat(row[col["TIME_PERIOD"]].strip()))
            rate = float(value)
        except ValueError:
            raise FetchError(f"ecb: CSV row {number}: TIME_PERIOD {row[col['TIME_PERIOD']]!r} / OBS_VALUE "
                             f"{value!r} is not a day and a number") from None
        if not (math.isfinite(rate) and rate > 0):
            raise FetchError(f"ecb: CSV row {number}: OBS_VALUE {value!r} is not a positive rate")
        records.setdefault(row[col["CURRENCY"]].strip(), {})[day] = rate
    frame = pd.DataFrame(records, dtype=float).sort_index()
    frame.index = pd.DatetimeIndex(frame.index, name="date")
    frame.columns.name = None
    return frame


def _accept(reply: Reply) -> str:
    """The body of a 200 as CSV text, checked: a row cut short is retried, a foreign body is not."""
    try:
        text = reply.body.decode("utf-8-sig")   # the ECB's CSV may start with a byte-order mark
    except UnicodeDecodeError as exc:
        raise BodyFatal(f"returned a body that is not UTF-8 text ({exc.reason})") from None
    try:
        _rows(text)
    except PayloadError as exc:
        if exc.retryable:
            raise BodyRetry(f"CSV body: {exc}") from None
        raise BodyFatal(f"CSV body: {exc}", text[:300]) from None
    return text


def _error_text(body: str) -> str:
    """The ECB's error bodies are plain text, e.g. ``No results found.``."""
    return " ".join(body.split())[:300]


def get_ecb_rates(currency: str, start: dt.date, end: dt.date, *, base_url: str | None = None,
                  session: requests.Session | None = None, now: dt.datetime | None = None,
                  **http_options: Any) -> tuple[pd.DataFrame, dict]:
    """Daily euro reference rates of ``currency`` (units per euro) for the fixing days ``start..end``.

    One request. A 404 ``No results found.`` (no fixing in the range: weekends and holidays
    only, or a currency the ECB does not publish) gives an empty frame and a ``note``.

    Returns
    -------
    (frame, metadata)
        ``frame`` indexed by ``date`` with one column named ``currency``; metadata: ``source``,
        ``label``, ``symbol`` (the series key), ``url``, ``fetched_at``, ``rows``, ``note``.
    """
    code = currency.upper()
    if code == "EUR":
        raise InputError("--currency EUR: the ECB publishes other currencies per euro; EUR itself needs no rate")
    try:
        client = HttpClient(base_url or BASE_URL, "ecb", session=session, **http_options)
    except ValueError as exc:
        raise InputError(f"--base-url: {exc}; use the API root, e.g. {BASE_URL}") from None
    path = f"{DATA_PATH}/{series_key(code)}"
    params = {"format": "csvdata", "startPeriod": start.isoformat(), "endPeriod": end.isoformat()}
    fetched_at = utc_now() if now is None else now
    meta: dict[str, Any] = {"source": "ecb", "label": f"ECB EXR {series_key(code)}", "symbol": series_key(code),
                            "url": client.url(path), "fetched_at": iso_utc(fetched_at)}
    with progress_bar(f"ecb {code}/EUR reference rates", total=1) as bar:
        try:
            text = client.request("GET", path, params=params, headers={"Accept": "text/csv"}, accept=_accept,
                                  error_message=_error_text)
        except HttpError as exc:
            if exc.status_code == 404:
                frame = pd.DataFrame({code: pd.Series(dtype=float)}, index=pd.DatetimeIndex([], name="date"))
                meta.update(rows=0, note=f"the ECB has no {code} reference rate for {start}..{end} "
                                          f"(No results found: holidays only, or not a currency it publishes)")
                return frame, meta
            raise
        bar.update(1)
    frame = parse_ecb_rates(text)
    if len(frame.columns) and list(frame.columns) != [code]:
        raise FetchError(f"ecb: asked for {code}, the answer holds {', '.join(map(str, frame.columns))}")
    frame = frame.reindex(columns=[code])
    frame = frame[(frame.index >= pd.Timestamp(start)) & (frame.index <= pd.Timestamp(end))]
    meta["rows"] = len(frame)
    return frame, meta
