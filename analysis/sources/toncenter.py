"""toncenter: TON account states, get-methods and transactions (API v3, with v2 for account states).

Endpoints (https://toncenter.com/api/v3/, the ``toncenter/ton-indexer`` service; v2 is
``ton-http-api``):

- ``GET api/v3/addressInformation?address=…`` -> ``{"balance", "code", "data", "last_transaction_lt",
  "last_transaction_hash", "frozen_hash", "status"}`` (``data``: base64 BOC of the persistent data).
- ``GET api/v2/getAddressInformation?address=…`` -> ``{"ok": true, "result": {"@type":
  "raw.fullAccountState", "balance", "code", "data", "last_transaction_id", "state", …}}``.
- ``POST api/v3/runGetMethod`` with ``{"address", "method", "stack": []}`` -> ``{"gas_used",
  "exit_code", "stack": [{"type": "num", "value": "0x…"}, {"type": "cell" | "slice", "value":
  "<base64 BOC>"}, …]}``.
- ``GET api/v3/transactions?account=…&start_utime&end_utime&limit&offset&sort=asc`` ->
  ``{"transactions": [{"hash", "lt", "now", "account", "description": {"aborted", …}, "in_msg":
  {"hash", "source", "destination", "value" (nanoTON string), "opcode" ("0x%08x"), "bounced",
  "message_content": {"body" (base64 BOC), "decoded": {"type": "text_comment", "comment"}}},
  "out_msgs": […]}], "address_book": {…}}``; ``limit`` at most 1000.
- ``GET api/v3/adjacentTransactions?hash=…&direction=in`` -> the transaction that sent this
  transaction's incoming message (same envelope; 404 "adjacent transactions not found").

Errors come back as ``{"error": "…"}`` (v3) or ``{"ok": false, "error": "…", "code": N}`` (v2).
Without an API key toncenter allows about one request per second, so the client waits 1 s
between requests; with ``TONCENTER_API_KEY`` (sent as the ``X-API-Key`` header, never in a URL
or a message) it waits 0.1 s.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import requests
from pytoniq_core import Address, Cell

from analysis.core.errors import FetchError, InputError
from analysis.core.progress import progress_bar
from analysis.sources.http import HttpClient, HttpError, keyed_client

DEFAULT_BASE_URL = "https://toncenter.com"
SOURCE = "toncenter"
API_KEY_ENV = "COCOON_ECON_TONCENTER_API_KEY"  # alias TONCENTER_API_KEY
#: Most transaction pages fetched in one call (2,000 x 500 = 1 million transactions).
MAX_PAGES = 2000
KEYLESS_INTERVAL_S = 1.0   # toncenter's limit without a key: about 1 request per second
KEYED_INTERVAL_S = 0.1     # a free key allows 10 requests per second
MAX_PAGE = 1000            # api/v3 limit maximum

TRANSACTION_COLUMNS = (
    "tx_hash", "lt", "utime", "time", "account", "aborted", "in_msg_hash", "in_source",
    "in_destination", "in_value_nanoton", "in_opcode", "in_bounced", "in_body", "in_comment", "out_msgs",
)


class GetMethodError(FetchError):
    """A get-method ran but exited with a non-zero TVM exit code (e.g. 11: no such method).

    The TVM code is ``tvm_exit_code``; ``exit_code`` stays the CLI's (1, as for every FetchError).
    """

    def __init__(self, message: str, exit_code: int | None) -> None:
        super().__init__(message)
        self.tvm_exit_code = exit_code


_HEX = re.compile(r"^[0-9a-fA-F]+$")


def decode_boc(text: str | None, *, what: str = "BOC") -> Cell | None:
    """A single-root cell from a base64 or hex BOC string (None or "" -> None)."""
    if not text:
        return None
    try:
        raw = bytes.fromhex(text) if _HEX.match(text) and text.lower().startswith("b5ee9c72") \
            else base64.b64decode(text, validate=False)
        return Cell.one_from_boc(raw)
    except Exception as exc:  # binascii.Error, pytoniq's BOC errors
        raise FetchError(f"{what}: not a valid bag of cells ({type(exc).__name__})") from None


def parse_address(value: str, field: str = "address") -> Address:
    """An :class:`Address` from any form (raw ``0:…`` or user-friendly); InputError naming ``field``."""
    try:
        return Address(value.strip())
    except Exception:
        raise InputError(f"{field}: {value!r} is not a TON address; use the raw form 0:<64 hex> or the "
                         "48-character user-friendly form (EQ…/UQ…)") from None


def raw_form(address: Address | str) -> str:
    """``0:<hex>`` form, what the indexer returns and accepts."""
    addr = address if isinstance(address, Address) else parse_address(address)
    return addr.to_str(is_user_friendly=False)


def toncenter_client(base_url: str = DEFAULT_BASE_URL, session: requests.Session | None = None, *,
                     api_key: str | None = None, min_interval_s: float | None = None,
                     timeout_s: float = 30.0, max_retries: int = 4, backoff_s: float = 1.0,
                     max_wait_s: float = 120.0) -> HttpClient:
    """An :class:`HttpClient` for toncenter honouring its rate limit.

    ``api_key`` None reads ``$TONCENTER_API_KEY``; "" means no key. ``min_interval_s`` None picks
    1 s without a key, 0.1 s with one.
    """
    return keyed_client(SOURCE, base_url, DEFAULT_BASE_URL, session, key_env=API_KEY_ENV, api_key=api_key,
                        auth_header=lambda key: {"X-API-Key": key}, keyed_interval_s=KEYED_INTERVAL_S,
                        keyless_interval_s=KEYLESS_INTERVAL_S, min_interval_s=min_interval_s, timeout_s=timeout_s,
                        max_retries=max_retries, backoff_s=backoff_s, max_wait_s=max_wait_s)


def _client(client: HttpClient | None, base_url: str, session: requests.Session | None) -> HttpClient:
    return client if client is not None else toncenter_client(base_url, session)


# ----------------------------------------------------------------------------- account state

def parse_toncenter_account_state(payload: Any) -> dict[str, Any]:
    """Account state from a v3 ``addressInformation`` or v2 ``getAddressInformation`` payload.

    Returns ``{"status", "balance_nanoton", "data" (Cell or None), "code" (Cell or None),
    "last_transaction_lt", "last_transaction_hash", "api"}``.
    """
    if isinstance(payload, dict) and "ok" in payload:  # v2 envelope
        if not payload.get("ok"):
            raise FetchError(f"toncenter: {payload.get('error') or 'request failed'} (code {payload.get('code')})")
        result = payload.get("result") or {}
        last = result.get("last_transaction_id") or {}
        status, lt, tx_hash, api = result.get("state"), last.get("lt"), last.get("hash"), "v2"
    elif isinstance(payload, dict):
        result = payload
        status, lt, tx_hash, api = (result.get("status"), result.get("last_transaction_lt"),
                                    result.get("last_transaction_hash"), "v3")
    else:
        raise FetchError(f"toncenter: unexpected account state payload {str(payload)[:200]!r}")
    if "balance" not in result:
        raise FetchError(f"toncenter: account state without a balance: {str(payload)[:200]!r}")
    return {
        "status": status,
        "balance_nanoton": int(result.get("balance") or 0),
        "data": decode_boc(result.get("data"), what="toncenter account data"),
        "code": decode_boc(result.get("code"), what="toncenter account code"),
        "last_transaction_lt": int(lt) if lt not in (None, "") else None,
        "last_transaction_hash": tx_hash,
        "api": api,
    }


def get_toncenter_account_state(address: str | Address, *, api: str = "v3", base_url: str = DEFAULT_BASE_URL,
                                session: requests.Session | None = None,
                                client: HttpClient | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read an account's raw state (persistent data as a cell).

    Parameters
    ----------
    address : str or Address
        Any address form.
    api : {"v3", "v2"}
        ``api/v3/addressInformation`` or ``api/v2/getAddressInformation``.

    Returns
    -------
    state : dict
        See :func:`parse_toncenter_account_state`.
    metadata : dict
        ``source``, ``url``, ``read_at`` (UTC datetime).
    """
    http = _client(client, base_url, session)
    addr = raw_form(address)
    if api == "v3":
        path = "api/v3/addressInformation"
    elif api == "v2":
        path = "api/v2/getAddressInformation"
    else:
        raise InputError(f"api: unknown toncenter API {api!r}; use v3 or v2")
    payload = http.get_json(path, {"address": addr})
    state = parse_toncenter_account_state(payload)
    return state, {"source": f"toncenter {api}", "url": http.url(path), "address": addr,
                   "read_at": datetime.now(UTC)}


# ----------------------------------------------------------------------------- get-methods

def parse_tvm_int(value: Any) -> int:
    if isinstance(value, int):
        return value
    text = str(value).strip()
    negative = text.startswith("-")
    text = text.lstrip("-")
    number = int(text, 16) if text.lower().startswith("0x") else int(text)
    return -number if negative else number


def parse_toncenter_stack(stack: Sequence[Any]) -> list[Any]:
    """Decode a v3 ``runGetMethod`` stack: ``num`` -> int, ``cell``/``slice`` -> Cell,
    ``tuple``/``list`` -> list, anything else -> None."""
    out: list[Any] = []
    for entry in stack:
        kind = entry.get("type") if isinstance(entry, dict) else None
        value = entry.get("value") if isinstance(entry, dict) else None
        if kind == "num":
            out.append(parse_tvm_int(value))
        elif kind in ("cell", "slice"):
            out.append(decode_boc(value, what=f"toncenter stack {kind}"))
        elif kind in ("tuple", "list"):
            out.append(parse_toncenter_stack(value or []))
        else:
            out.append(None)
    return out


def run_toncenter_get_method(address: str | Address, method: str, stack: Iterable[dict[str, Any]] = (), *,
                             base_url: str = DEFAULT_BASE_URL, session: requests.Session | None = None,
                             client: HttpClient | None = None) -> tuple[list[Any], dict[str, Any]]:
    """Run a get-method through ``POST api/v3/runGetMethod``.

    Returns the decoded stack and ``{"exit_code", "gas_used", "source"}``.

    Raises
    ------
    GetMethodError
        When the TVM exit code is not 0 or 1 (e.g. 11: the contract has no such method).
    """
    http = _client(client, base_url, session)
    addr = raw_form(address)
    payload = http.post_json("api/v3/runGetMethod", {"address": addr, "method": method, "stack": list(stack)})
    if not isinstance(payload, dict) or "stack" not in payload:
        raise FetchError(f"toncenter: runGetMethod {method} returned {str(payload)[:200]!r}")
    exit_code = payload.get("exit_code")
    if exit_code not in (0, 1):
        raise GetMethodError(f"toncenter: {method} on {addr} exited with code {exit_code}", exit_code)
    return parse_toncenter_stack(payload["stack"]), {"exit_code": exit_code, "gas_used": payload.get("gas_used"),
                                                     "source": "toncenter v3 runGetMethod"}


# ----------------------------------------------------------------------------- transactions

def _opcode(value: Any) -> int | None:
    if value in (None, ""):
        return None
    return parse_tvm_int(value) & 0xFFFFFFFF


def parse_toncenter_transactions(payload: Any) -> pd.DataFrame:
    """One row per transaction from a v3 ``transactions`` / ``adjacentTransactions`` payload.

    Columns: ``tx_hash`` (base64, as the API gives it), ``lt``, ``utime``, ``time`` (UTC),
    ``account`` (raw form), ``aborted``, and of the incoming message: ``in_msg_hash``,
    ``in_source`` (None for external messages), ``in_destination``, ``in_value_nanoton``
    (int; 0 when absent), ``in_opcode`` (int or None), ``in_bounced``, ``in_body`` (base64 BOC
    or None), ``in_comment`` (text comment or None), and ``out_msgs``: a tuple of
    ``{"destination", "value_nanoton", "opcode", "body"}`` dicts, one per outgoing message.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("transactions"), list):
        raise FetchError(f"toncenter: expected {{'transactions': [...]}}, got {str(payload)[:200]!r}")
    rows = []
    for i, tx in enumerate(payload["transactions"]):
        if not isinstance(tx, dict):
            raise FetchError(f"toncenter: transaction #{i} is a {type(tx).__name__}, not an object; "
                             "the server's answer is malformed (try again later or another --base-url)")
        missing = [k for k in ("hash", "lt", "now") if tx.get(k) in (None, "")]
        if missing:
            raise FetchError(f"toncenter: transaction #{i} has no {', '.join(missing)}; the server's answer is "
                             "malformed (try again later or another --base-url)")
        msg = tx.get("in_msg") or {}
        content = msg.get("message_content") or {}
        decoded = content.get("decoded") or {}
        try:
            lt, now, value = int(tx["lt"]), int(tx["now"]), int(msg.get("value") or 0)
            opcode = _opcode(msg.get("opcode"))
        except (TypeError, ValueError):
            raise FetchError(f"toncenter: transaction {tx['hash']} has a non-integer lt, now, value or opcode; "
                             "the server's answer is malformed") from None
        rows.append({
            "tx_hash": tx["hash"],
            "lt": lt,
            "utime": now,
            "account": tx.get("account"),
            "aborted": bool((tx.get("description") or {}).get("aborted", False)),
            "in_msg_hash": msg.get("hash"),
            "in_source": msg.get("source"),
            "in_destination": msg.get("destination"),
            "in_value_nanoton": value,
            "in_opcode": opcode,
            "in_bounced": bool(msg.get("bounced") or False),
            "in_body": content.get("body"),
            "in_comment": decoded.get("comment") if decoded.get("type") == "text_comment" else None,
            "out_msgs": tuple({"destination": out.get("destination"), "value_nanoton": int(out.get("value") or 0),
                               "opcode": _opcode(out.get("opcode")),
                               "body": (out.get("message_content") or {}).get("body")}
                              for out in tx.get("out_msgs") or ()),
        })
    frame = pd.DataFrame(rows, columns=[c for c in TRANSACTION_COLUMNS if c != "time"])
    frame["lt"] = frame["lt"].astype("int64")
    frame["utime"] = frame["utime"].astype("int64")
    frame["in_value_nanoton"] = frame["in_value_nanoton"].astype("int64")
    frame["in_opcode"] = frame["in_opcode"].astype("Int64")
    frame.insert(3, "time", pd.to_datetime(frame["utime"], unit="s", utc=True))
    return frame


def _epoch(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def get_toncenter_transactions(account: str | Address, *, start: datetime | None = None,
                               end: datetime | None = None, start_lt: int | None = None, page_size: int = 500,
                               base_url: str = DEFAULT_BASE_URL, session: requests.Session | None = None,
                               client: HttpClient | None = None,
                               progress: bool | None = None,
                               max_pages: int = MAX_PAGES) -> tuple[pd.DataFrame, dict[str, Any]]:
    """All transactions of ``account`` between ``start`` and ``end`` (UTC), oldest first.

    Pages through ``api/v3/transactions`` with ``limit``/``offset`` and ``sort=asc`` until a
    page comes back shorter than ``page_size``. ``start_lt`` (inclusive, the API's own
    parameter) reads only transactions from that logical time on: an incremental refresh.
    A page with no transaction not seen before (the server ignoring ``offset``), or more than
    ``max_pages`` pages, is a :class:`~analysis.core.errors.FetchError`, never an endless loop.

    Returns
    -------
    frame : DataFrame
        See :func:`parse_toncenter_transactions`; de-duplicated on ``tx_hash``.
    metadata : dict
        ``source``, ``url``, ``pages``, ``account``.
    """
    if not 1 <= page_size <= MAX_PAGE:
        raise InputError(f"page_size: {page_size} is out of range; use 1..{MAX_PAGE}")
    http = _client(client, base_url, session)
    addr = raw_form(account)
    params: dict[str, Any] = {"account": addr, "limit": page_size, "sort": "asc"}
    if (s := _epoch(start)) is not None:
        params["start_utime"] = s
    if (e := _epoch(end)) is not None:
        params["end_utime"] = e
    if start_lt is not None:
        params["start_lt"] = int(start_lt)
    frames, offset, pages = [], 0, 0
    seen: set[str] = set()
    with progress_bar("toncenter transactions", enabled=progress) as bar:
        while True:
            if pages >= max_pages:
                raise FetchError(f"toncenter: more than {max_pages} pages of {page_size} transactions for {addr}; "
                                 "narrow the range (--start/--end) and fetch it in parts")
            payload = http.get_json("api/v3/transactions", {**params, "offset": offset})
            page = parse_toncenter_transactions(payload)
            pages += 1
            bar.update(1)
            fresh = set(page["tx_hash"]) - seen
            if len(page) and not fresh:
                # A server that repeats a page (ignores offset) would otherwise be paged forever.
                raise FetchError(f"toncenter: page {pages} (offset {offset}) repeats transactions already received; "
                                 "the server's paging makes no progress (try again later or another --base-url)")
            seen |= fresh
            frames.append(page)
            if len(page) < page_size:
                break
            offset += page_size
    frame = pd.concat(frames, ignore_index=True) if frames else parse_toncenter_transactions({"transactions": []})
    frame = frame.drop_duplicates("tx_hash").sort_values(["lt"], kind="stable").reset_index(drop=True)
    if (s := _epoch(start)) is not None:
        frame = frame[frame["utime"] >= s]
    if (e := _epoch(end)) is not None:
        frame = frame[frame["utime"] <= e]
    if start_lt is not None:
        frame = frame[frame["lt"] >= int(start_lt)]
    return frame.reset_index(drop=True), {"source": "toncenter v3 transactions", "url": http.url("api/v3/transactions"),
                                          "pages": pages, "account": addr}


def get_toncenter_parent_transaction(tx_hash: str, *, base_url: str = DEFAULT_BASE_URL,
                                     session: requests.Session | None = None,
                                     client: HttpClient | None = None) -> pd.Series | None:
    """The transaction that sent ``tx_hash``'s incoming message (``adjacentTransactions``,
    ``direction=in``), as one row of :func:`parse_toncenter_transactions`; None when the indexer
    has none (404)."""
    http = _client(client, base_url, session)
    try:
        payload = http.get_json("api/v3/adjacentTransactions", {"hash": tx_hash, "direction": "in"})
    except HttpError as exc:
        if exc.status_code == 404:
            return None
        raise
    frame = parse_toncenter_transactions(payload)
    return frame.iloc[0] if len(frame) else None


__all__ = [
    "DEFAULT_BASE_URL", "GetMethodError", "decode_boc", "get_toncenter_account_state",
    "get_toncenter_parent_transaction", "get_toncenter_transactions", "parse_address",
    "parse_toncenter_account_state", "parse_toncenter_stack", "parse_toncenter_transactions",
    "raw_form", "run_toncenter_get_method", "toncenter_client",
]
