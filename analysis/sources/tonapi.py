"""tonapi.io: raw account states and get-methods (an alternative to toncenter for COCOON's params).

Endpoints (``tonkeeper/opentonapi`` ``api/openapi.yml``):

- ``GET v2/blockchain/accounts/{account_id}`` -> ``BlockchainRawAccount`` ``{"address", "balance"
  (int), "code", "data" (hex BOC), "last_transaction_lt", "status", "storage", …}``.
- ``GET v2/blockchain/accounts/{account_id}/methods/{method_name}`` -> ``MethodExecutionResult``
  ``{"success", "exit_code", "stack": [{"type": "num", "num": "0x…"}, {"type": "cell", "cell":
  "<BOC>"}, {"type": "slice", "slice": "<BOC>"}, {"type": "tuple", "tuple": […]}, {"type":
  "null"}], "decoded": …}``.

Errors are ``{"error": "…"}`` with a 4xx/5xx status. Without a key tonapi allows about one
request per 4 seconds, so the client waits 4 s between requests; ``TONAPI_KEY`` is sent as
``Authorization: Bearer …`` (never in a URL or a message) and the wait drops to 0.1 s.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import requests
from pytoniq_core import Address

from analysis.core.errors import FetchError
from analysis.sources.http import HttpClient, keyed_client
from analysis.sources.toncenter import GetMethodError, decode_boc, parse_tvm_int, raw_form

DEFAULT_BASE_URL = "https://tonapi.io"
SOURCE = "tonapi"
API_KEY_ENV = "COCOON_ECON_TONAPI_KEY"  # alias TONAPI_KEY
KEYLESS_INTERVAL_S = 4.0   # tonapi without a key: 1 request per 4 seconds
KEYED_INTERVAL_S = 0.1


def tonapi_client(base_url: str = DEFAULT_BASE_URL, session: requests.Session | None = None, *,
                  api_key: str | None = None, min_interval_s: float | None = None,
                  timeout_s: float = 30.0, max_retries: int = 4, backoff_s: float = 1.0,
                  max_wait_s: float = 120.0) -> HttpClient:
    """An :class:`HttpClient` for tonapi; ``api_key`` None reads ``$TONAPI_KEY`` ("" = no key)."""
    return keyed_client(SOURCE, base_url, DEFAULT_BASE_URL, session, key_env=API_KEY_ENV, api_key=api_key,
                        auth_header=lambda key: {"Authorization": f"Bearer {key}"}, keyed_interval_s=KEYED_INTERVAL_S,
                        keyless_interval_s=KEYLESS_INTERVAL_S, min_interval_s=min_interval_s, timeout_s=timeout_s,
                        max_retries=max_retries, backoff_s=backoff_s, max_wait_s=max_wait_s)


def _client(client: HttpClient | None, base_url: str, session: requests.Session | None) -> HttpClient:
    return client if client is not None else tonapi_client(base_url, session)


def parse_tonapi_account_state(payload: Any) -> dict[str, Any]:
    """Account state from a ``BlockchainRawAccount`` payload (same keys as toncenter's parser)."""
    if not isinstance(payload, dict) or "balance" not in payload or "status" not in payload:
        raise FetchError(f"tonapi: unexpected raw account payload {str(payload)[:200]!r}")
    lt = payload.get("last_transaction_lt")
    return {
        "status": payload.get("status"),
        "balance_nanoton": int(payload.get("balance") or 0),
        "data": decode_boc(payload.get("data"), what="tonapi account data"),
        "last_transaction_lt": int(lt) if lt not in (None, "") else None,
        "last_transaction_hash": payload.get("last_transaction_hash"),
        "api": "v2",
    }


def get_tonapi_account_state(address: str | Address, *, base_url: str = DEFAULT_BASE_URL,
                             session: requests.Session | None = None,
                             client: HttpClient | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read an account's raw state from ``v2/blockchain/accounts/{account_id}``.

    Returns the state (see :func:`parse_tonapi_account_state`) and ``{"source", "url", "read_at"}``.
    """
    http = _client(client, base_url, session)
    path = f"v2/blockchain/accounts/{raw_form(address)}"
    state = parse_tonapi_account_state(http.get_json(path))
    return state, {"source": "tonapi v2", "url": http.url(path), "address": raw_form(address),
                   "read_at": datetime.now(UTC)}


def parse_tonapi_stack(stack: Sequence[Any]) -> list[Any]:
    """Decode a ``TvmStackRecord`` list: num -> int, cell/slice -> Cell, tuple -> list, else None."""
    out: list[Any] = []
    for entry in stack:
        kind = entry.get("type") if isinstance(entry, dict) else None
        if kind == "num":
            out.append(parse_tvm_int(entry.get("num")))
        elif kind in ("cell", "slice"):
            out.append(decode_boc(entry.get(kind) or entry.get("cell") or entry.get("slice"),
                                  what=f"tonapi stack {kind}"))
        elif kind == "tuple":
            out.append(parse_tonapi_stack(entry.get("tuple") or []))
        else:
            out.append(None)
    return out


def run_tonapi_get_method(address: str | Address, method: str, *, base_url: str = DEFAULT_BASE_URL,
                          session: requests.Session | None = None,
                          client: HttpClient | None = None) -> tuple[list[Any], dict[str, Any]]:
    """Run a get-method through ``v2/blockchain/accounts/{id}/methods/{name}``.

    Raises
    ------
    GetMethodError
        When ``success`` is false or the exit code is not 0/1.
    """
    http = _client(client, base_url, session)
    path = f"v2/blockchain/accounts/{raw_form(address)}/methods/{method}"
    payload = http.get_json(path)
    if not isinstance(payload, dict) or "stack" not in payload:
        raise FetchError(f"tonapi: {method} returned {str(payload)[:200]!r}")
    exit_code = payload.get("exit_code")
    if not payload.get("success", True) or exit_code not in (0, 1):
        raise GetMethodError(f"tonapi: {method} exited with code {exit_code}", exit_code)
    return parse_tonapi_stack(payload["stack"]), {"exit_code": exit_code, "source": "tonapi v2 get-method"}


__all__ = ["DEFAULT_BASE_URL", "get_tonapi_account_state", "parse_tonapi_account_state",
           "parse_tonapi_stack", "run_tonapi_get_method", "tonapi_client"]
