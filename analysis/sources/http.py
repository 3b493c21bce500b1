"""The one HTTP layer every remote source uses.

Timeouts, retries that honour ``Retry-After``, a base-URL override for mirrors,
proxies and tests, a client-side rate limit, and API keys that never reach a log
or an error message. Errors become :class:`HttpError` (a :class:`FetchError`)
carrying the API's own message.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from analysis import __version__
from analysis.core.env import env_value
from analysis.core.errors import FetchError, InputError

USER_AGENT = f"cocoon-econ/{__version__} (+https://github.com/cocoon-econ)"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
# Query parameters whose values are secrets: redacted in every message.
_SECRET_PARAM = re.compile(r"(key|token|secret|signature|password)", re.IGNORECASE)


class PayloadError(Exception):
    """An error an API reports inside an HTTP 200 body (OKX ``code``, Bybit ``retCode``,
    Kraken ``error``). Raised by a source's ``validate`` hook of :meth:`HttpClient.request_json`.

    ``retryable=True`` (rate limits, "service busy") makes the client retry it like a 429.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class HttpError(FetchError):
    """An HTTP or payload failure from a remote source.

    Attributes
    ----------
    status_code : int or None
        HTTP status (None for timeouts, connection errors and bad JSON).
    payload : Any
        The decoded JSON error body where there was one, else the text (truncated).
    url : str
        The request URL with secrets redacted.
    """

    def __init__(self, message: str, *, status_code: int | None = None,
                 payload: Any = None, url: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.payload = payload
        self.url = url


def make_session() -> requests.Session:
    """A :class:`requests.Session` with the project's User-Agent."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept"] = "application/json"
    return session


def redact_url(url: str) -> str:
    """``url`` with the values of key/token-like query parameters replaced by ``***``."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [(k, "***" if _SECRET_PARAM.search(k) else v)
             for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="$,:*")))


def api_message(payload: Any) -> str:
    """Best-effort extraction of an API's own error text from a decoded body."""
    if isinstance(payload, dict):
        for key in ("msg", "message", "error_message", "retMsg", "error", "errors", "detail"):
            value = payload.get(key)
            if isinstance(value, dict):
                inner = api_message(value)
                if inner:
                    return inner
            elif isinstance(value, list) and value:
                return "; ".join(str(v) for v in value)
            elif value not in (None, ""):
                return str(value)
        status = payload.get("status")
        if isinstance(status, dict):
            return api_message(status)
    if isinstance(payload, str):
        return payload.strip()[:300]
    return ""


def _retry_after_s(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:  # an HTTP-date is always GMT
        parsed = parsed.replace(tzinfo=UTC)
    return max(0.0, parsed.timestamp() - time.time())


@dataclass
class HttpClient:
    """A small, explicit HTTP client for one API root.

    Parameters
    ----------
    base_url : str
        The API root as documented (e.g. ``https://api.binance.com``); override it
        for a mirror, a proxy or a loopback test server.
    source : str
        Name used in error messages (``"binance"``).
    session : requests.Session, optional
        Reused if given; otherwise one is made.
    timeout_s : float
        Connect and read timeout per request.
    max_retries : int
        Further attempts after the first, for timeouts, connection errors, 429,
        5xx and truncated JSON.
    backoff_s : float
        First back-off when the server gave no ``Retry-After``; doubles each retry.
    max_wait_s : float
        Longest single wait honoured from ``Retry-After`` (longer: give up with a clear error).
    min_interval_s : float
        Client-side rate limit: at least this long between requests (e.g. 1.0 for
        toncenter without a key).
    headers : dict
        Extra headers (API keys go here, never into URLs that may be logged).
    """

    base_url: str
    source: str
    session: requests.Session | None = None
    timeout_s: float = 30.0
    max_retries: int = 4
    backoff_s: float = 1.0
    max_wait_s: float = 120.0
    min_interval_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    _last_request: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.base_url or not urlsplit(self.base_url).scheme.startswith("http"):
            raise ValueError(f"{self.source}: base URL must start with http:// or https://, got {self.base_url!r}")
        self.base_url = self.base_url.rstrip("/")
        if self.session is None:
            self.session = make_session()

    def url(self, path: str) -> str:
        """Absolute URL for ``path`` (returned as is when already absolute)."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def _throttle(self) -> None:
        if self.min_interval_s > 0 and self._last_request:
            wait = self._last_request + self.min_interval_s - time.monotonic()
            if wait > 0:
                self.sleep(wait)
        self._last_request = time.monotonic()

    def request_json(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                     json_body: Any = None, headers: dict[str, str] | None = None,
                     ok_statuses: frozenset[int] = frozenset({200}),
                     validate: Callable[[Any], None] | None = None) -> Any:
        """Send a request and return the decoded JSON body, retrying transient failures.

        ``validate(payload)`` may raise :class:`PayloadError` for an error reported inside
        a successful response; retryable ones are retried, the others raise :class:`HttpError`.

        Raises
        ------
        HttpError
            On a non-retryable status (with the API's message), or when retries run out.
        """
        url = self.url(path)
        merged = {**self.headers, **(headers or {})}
        session = self.session
        assert session is not None          # __post_init__ made one
        attempt = 0
        while True:
            self._throttle()
            prepared = requests.Request(method, url, params=params, json=json_body).prepare()
            shown = redact_url(prepared.url or url)
            wait: float | None = None
            try:
                response = session.request(method, url, params=params, json=json_body,
                                           headers=merged, timeout=self.timeout_s)
            except requests.Timeout:
                problem, status, payload = f"timed out after {self.timeout_s:g} s", None, None
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError) as exc:
                # A dropped connection or a body cut short (ChunkedEncodingError) is transient.
                problem, status, payload = f"connection failed ({type(exc).__name__})", None, None
            else:
                status = response.status_code
                payload = _decode(response)
                if status in ok_statuses:
                    if isinstance(payload, _Undecodable):
                        problem = f"returned invalid or truncated JSON ({payload.reason})"
                        payload = None
                    elif validate is None:
                        return payload
                    else:
                        try:
                            validate(payload)
                        except PayloadError as exc:
                            problem = f"API error: {exc}"
                            if not exc.retryable:
                                raise HttpError(f"{self.source}: {exc} ({shown})", status_code=status,
                                                payload=payload, url=shown) from None
                        else:
                            return payload
                else:
                    if isinstance(payload, _Undecodable):
                        payload = response.text[:300]
                    message = api_message(payload)
                    problem = f"HTTP {status}" + (f": {message}" if message else "")
                    if status not in RETRY_STATUS:
                        raise HttpError(f"{self.source}: {problem} ({shown})",
                                        status_code=status, payload=payload, url=shown)
                    wait = _retry_after_s(response)
            if attempt >= self.max_retries:
                raise HttpError(f"{self.source}: {problem} ({shown}); gave up after "
                                f"{attempt + 1} attempts", status_code=status, payload=payload, url=shown)
            if wait is None:
                wait = self.backoff_s * (2 ** attempt)
            if wait > self.max_wait_s:
                raise HttpError(f"{self.source}: {problem} ({shown}); the server asks to wait "
                                f"{wait:.0f} s, more than the {self.max_wait_s:.0f} s allowed; try again later",
                                status_code=status, payload=payload, url=shown)
            self.sleep(wait)
            attempt += 1

    def get_json(self, path: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """GET ``path`` and return the decoded JSON (see :meth:`request_json`)."""
        return self.request_json("GET", path, params=params, **kwargs)

    def post_json(self, path: str, json_body: Any, **kwargs: Any) -> Any:
        """POST a JSON body to ``path`` and return the decoded JSON (see :meth:`request_json`)."""
        return self.request_json("POST", path, json_body=json_body, **kwargs)


@dataclass(frozen=True)
class _Undecodable:
    reason: str


def _decode(response: requests.Response) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        return _Undecodable(str(exc).split(":")[0])


def keyed_client(source: str, base_url: str, default_base_url: str, session: requests.Session | None, *,
                 key_env: str, api_key: str | None, auth_header: Callable[[str], dict[str, str]],
                 keyed_interval_s: float, keyless_interval_s: float, min_interval_s: float | None = None,
                 timeout_s: float = 30.0, max_retries: int = 4, backoff_s: float = 1.0,
                 max_wait_s: float = 120.0) -> HttpClient:
    """An :class:`HttpClient` for an API with an optional key that sets its rate limit.

    ``api_key`` None reads ``$key_env`` ("" = no key); the key travels in the headers
    ``auth_header(key)`` only. ``min_interval_s`` None picks ``keyed_interval_s`` with a key and
    ``keyless_interval_s`` without. A bad base URL is an :class:`InputError` naming ``--base-url``.
    """
    key = env_value(key_env) if api_key is None else api_key
    if min_interval_s is None:
        min_interval_s = keyed_interval_s if key else keyless_interval_s
    try:
        return HttpClient(base_url=base_url, source=source, session=session, timeout_s=timeout_s,
                          max_retries=max_retries, backoff_s=backoff_s, max_wait_s=max_wait_s,
                          min_interval_s=min_interval_s, headers=auth_header(key) if key else {})
    except ValueError as exc:
        raise InputError(f"--base-url: {exc}; use the API root, e.g. {default_base_url}") from None
