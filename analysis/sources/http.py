"""The one HTTP layer every remote source uses.

Timeouts, retries that honour ``Retry-After``, a base-URL override for mirrors,
proxies and tests, a client-side rate limit, and API keys that never reach a log
or an error message. Errors become :class:`HttpError` (a :class:`FetchError`)
carrying the API's own message.

Reliability rules (issue 13, docs/reliability.md):

- every attempt has a total wall-clock deadline (``deadline_s``), not only a per-read
  timeout: the body is streamed and a server dripping a byte at a time is cut off;
- the body read and its decompressed size are capped per source (``max_bytes``,
  ``$COCOON_ECON_MAX_RESPONSE_MB``), so a huge body or a gzip bomb ends in a clear error;
- redirects are followed here, not by requests, and a redirect to another host drops
  every key header (``X-API-Key``, ``x-cg-demo-api-key``, ``Authorization``...);
- every configured key value and any ``user:password@`` in a URL is scrubbed from every
  message; HTML error pages are reported as their status and ``<title>``;
- each retry says on stderr what is retried and why.
"""

from __future__ import annotations

import email.utils
import html
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests
import requests.adapters
import urllib3
import urllib3.connection

from analysis import __version__
from analysis.core.env import env_value, scrub_secrets
from analysis.core.errors import FetchError, InputError

USER_AGENT = f"cocoon-econ/{__version__} (+https://github.com/cocoon-econ)"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
# Query parameters whose values are secrets: redacted in every message.
_SECRET_PARAM = re.compile(r"(key|token|secret|signature|password)", re.IGNORECASE)
# Request headers that carry credentials: dropped on a redirect to another host.
_SECRET_HEADER = re.compile(r"(key|token|secret|auth|cookie|signature|password)", re.IGNORECASE)
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
#: Default cap on one response body (decompressed), per source; ``$COCOON_ECON_MAX_RESPONSE_MB`` overrides it.
DEFAULT_MAX_BYTES = 64 * 2**20
MAX_RESPONSE_ENV = "COCOON_ECON_MAX_RESPONSE_MB"
#: Default total deadline of one attempt (connect, headers and the whole body).
DEFAULT_DEADLINE_S = 120.0
_CHUNK = 64 * 1024


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
    """A :class:`requests.Session` with the project's User-Agent, whose connections the total
    deadline can cut while the status line and headers are awaited (:class:`_DeadlineAdapter`)."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept"] = "application/json"
    adapter = _DeadlineAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# --- The deadline while headers are awaited ------------------------------------------------
# requests returns from ``session.request(stream=True)`` only once the headers are in, and a
# server dripping them a byte at a time never trips the per-read timeout. The connections of a
# session from make_session() register their socket while they wait for the response; a timer
# started per attempt shuts that socket down at the deadline, which ends the wait with an error.

_WAITING: dict[int, socket.socket] = {}   # thread id -> the socket its request is waiting on


class _WatchedConnection:
    sock: Any

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _WAITING[threading.get_ident()] = self.sock
        try:
            return super().getresponse(*args, **kwargs)  # type: ignore[misc]
        finally:
            _WAITING.pop(threading.get_ident(), None)


class _WatchedHTTPConnection(_WatchedConnection, urllib3.connection.HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnection, urllib3.connection.HTTPSConnection):
    pass


class _WatchedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _DeadlineAdapter(requests.adapters.HTTPAdapter):
    """An adapter whose pools use the watched connections above (direct connections; a proxy's keep
    requests' own, bounded by the per-read timeout)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


@contextmanager
def _cut_at(seconds: float) -> Iterator[list[bool]]:
    """Shut down the socket this thread's request waits on after ``seconds``; yields ``[True]`` if it did."""
    ident, fired = threading.get_ident(), []

    def cut() -> None:
        sock = _WAITING.get(ident)
        if sock is not None:
            fired.append(True)
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(max(seconds, 0.0), cut)
    timer.daemon = True
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()


def redact_url(url: str) -> str:
    """``url`` without ``user:password@`` and with key/token-like query parameter values as ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" in parts.netloc:
        parts = parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1])
    if parts.query:
        query = [(k, "***" if _SECRET_PARAM.search(k) else v)
                 for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        parts = parts._replace(query=urlencode(query, safe="$,:*"))
    return urlunsplit(parts)


_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


def redact_text(text: str, extra: tuple[str, ...] = ()) -> str:
    """``text`` with every configured key value, each of ``extra`` and any URL userinfo redacted."""
    return _URL_USERINFO.sub(r"\g<scheme>***@", scrub_secrets(text, extra))


def page_title(text: str) -> str:
    """The ``<title>`` of an HTML page (unescaped, whitespace collapsed), else its first visible text."""
    match = re.search(r"<title[^>]*>(.*?)</title\s*>", text, re.IGNORECASE | re.DOTALL)
    if match is None:
        match = re.search(r"<h1[^>]*>(.*?)</h1\s*>", text, re.IGNORECASE | re.DOTALL)
    raw = match.group(1) if match else re.sub(r"<[^>]*>", " ", text)
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", raw)).split())[:120]


def _looks_like_html(text: str, content_type: str = "") -> bool:
    head = text.lstrip()[:200].lower()
    return "html" in content_type.lower() or head.startswith(("<!doctype html", "<html", "<head", "<body"))


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
        if _looks_like_html(payload):  # a proxy's or CDN's error page: its title, not the markup
            return f"HTML page: {page_title(payload)}"
        return " ".join(payload.split())[:300]
    return ""


def _retry_after_s(response: Any) -> float | None:
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
        Extra headers (API keys go here, never into URLs that may be logged). Their values are
        scrubbed from every message and they are dropped on a redirect to another host.
    deadline_s : float
        Total wall-clock time one attempt may take, body included (a server dripping bytes is
        cut off; the overshoot is at most one read timeout).
    max_bytes : int
        Largest body accepted, after decompression (``$COCOON_ECON_MAX_RESPONSE_MB`` overrides it).
    notify : callable, optional
        Receives one line per retry ("what and why"); default: printed on stderr.
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
    deadline_s: float = DEFAULT_DEADLINE_S
    max_bytes: int = DEFAULT_MAX_BYTES
    notify: Callable[[str], None] | None = None
    _last_request: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.base_url or not urlsplit(self.base_url).scheme.startswith("http"):
            raise ValueError(f"{self.source}: base URL must start with http:// or https://, "
                             f"got {redact_url(self.base_url)!r}")
        self.base_url = self.base_url.rstrip("/")
        if self.session is None:
            self.session = make_session()
        override = env_value(MAX_RESPONSE_ENV)
        if override:
            try:
                self.max_bytes = int(float(override) * 2**20)
            except ValueError:
                raise ValueError(f"${MAX_RESPONSE_ENV} = {override!r} is not a number of MB") from None

    def secrets(self) -> tuple[str, ...]:
        """Values scrubbed from messages besides the configured keys: this client's key headers
        and the password of a ``user:password@`` base URL."""
        values = [v for k, v in self.headers.items() if isinstance(v, str) and _SECRET_HEADER.search(k)]
        for header in ("Authorization", "Proxy-Authorization"):
            value = self.headers.get(header, "")
            values.extend(value.split()[1:2])  # "Bearer <token>": the token alone too
        password = urlsplit(self.base_url).password
        if password:
            values.append(password)
        return tuple(v for v in values if v)

    def redact(self, text: str) -> str:
        """``text`` with every secret this client knows of redacted (see :func:`redact_text`)."""
        return redact_text(text, self.secrets())

    def _error(self, message: str, **kwargs: Any) -> HttpError:
        payload = kwargs.pop("payload", None)
        if isinstance(payload, str):
            payload = self.redact(payload)
        elif payload is not None:
            try:
                payload = json.loads(self.redact(json.dumps(payload)))
            except (TypeError, ValueError):
                payload = None
        return HttpError(self.redact(message), payload=payload, **kwargs)

    def _say(self, line: str) -> None:
        line = self.redact(line)
        if self.notify is not None:
            self.notify(line)
        else:
            print(f"cocoon-econ: {line}", file=sys.stderr, flush=True)

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
        def accept(reply: Reply) -> Any:
            payload = _decode(reply.body)
            if isinstance(payload, _Undecodable):
                raise BodyRetry(f"returned invalid or truncated JSON ({payload.reason})")
            if validate is not None:
                try:
                    validate(payload)
                except PayloadError as exc:
                    if not exc.retryable:
                        raise BodyFatal(str(exc), payload) from None
                    raise BodyRetry(f"API error: {exc}", payload) from None
            return payload

        return self.request(method, path, params=params, json_body=json_body, headers=headers,
                            ok_statuses=ok_statuses, accept=accept)

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                json_body: Any = None, headers: dict[str, str] | None = None,
                ok_statuses: frozenset[int] = frozenset({200}),
                accept: Callable[[Reply], Any] | None = None,
                error_message: Callable[[str], str] | None = None) -> Any:
        """Send a request with retries and return ``accept(reply)`` (default: the body bytes).

        ``accept`` may raise :class:`BodyRetry` (transient: retried) or :class:`BodyFatal`; on a status
        outside ``ok_statuses`` the error text is ``error_message(body_text)`` (default: the
        API's JSON message, or an HTML page's title).
        """
        url = self.url(path)
        merged = {**self.headers, **(headers or {})}
        attempt = 0
        while True:
            self._throttle()
            prepared = requests.Request(method, url, params=params, json=json_body).prepare()
            shown = redact_url(prepared.url or url)
            wait: float | None = None
            status: int | None = None
            payload: Any = None
            try:
                reply = self._send(method, url, params=params, json_body=json_body, headers=merged, shown=shown)
            except requests.Timeout:
                problem = f"timed out after {self.timeout_s:g} s"
            except _Deadline:
                problem = f"took longer than the {self.deadline_s:g} s deadline"
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError) as exc:
                # A dropped connection or a body cut short (ChunkedEncodingError) is transient.
                problem = f"connection failed ({type(exc).__name__})"
            else:
                status = reply.status
                if status in ok_statuses:
                    if accept is None:
                        return reply.body
                    try:
                        return accept(reply)
                    except BodyFatal as exc:
                        raise self._error(f"{self.source}: {exc.problem} ({shown})", status_code=status,
                                          payload=exc.payload, url=shown) from None
                    except BodyRetry as exc:
                        problem, payload = exc.problem, exc.payload
                else:
                    text = reply.text()
                    decoded = _decode(reply.body)
                    payload = text[:300] if isinstance(decoded, _Undecodable) else decoded
                    if error_message is not None:
                        message = error_message(text)
                    elif _looks_like_html(text, reply.content_type):
                        message = f"HTML page: {page_title(text)}"
                        payload = message
                    else:
                        message = api_message(payload)
                    problem = f"HTTP {status}" + (f": {message}" if message else "")
                    if status not in RETRY_STATUS:
                        raise self._error(f"{self.source}: {problem} ({shown})",
                                          status_code=status, payload=payload, url=shown)
                    wait = _retry_after_s(reply)
            if attempt >= self.max_retries:
                raise self._error(f"{self.source}: {problem} ({shown}); gave up after "
                                  f"{attempt + 1} attempts", status_code=status, payload=payload, url=shown)
            if wait is None:
                wait = self.backoff_s * (2 ** attempt)
            if wait > self.max_wait_s:
                raise self._error(f"{self.source}: {problem} ({shown}); the server asks to wait "
                                  f"{wait:.0f} s, more than the {self.max_wait_s:.0f} s allowed; try again later",
                                  status_code=status, payload=payload, url=shown)
            self._say(f"{self.source}: {problem} ({shown}); retrying in {wait:.1f} s "
                      f"(retry {attempt + 1} of {self.max_retries})")
            self.sleep(wait)
            attempt += 1

    def _send(self, method: str, url: str, *, params: Any, json_body: Any, headers: dict[str, str],
              shown: str) -> Reply:
        """One attempt: follow redirects ourselves (dropping key headers across hosts), stream the
        body under the total deadline and the size cap."""
        assert self.session is not None
        deadline = time.monotonic() + self.deadline_s
        hop_headers: dict[str, str | None] = dict(headers)
        for _hop in range(MAX_REDIRECTS + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Deadline
            read_timeout = min(self.timeout_s, remaining)
            with _cut_at(remaining) as cut:
                try:
                    response = self.session.request(method, url, params=params, json=json_body,
                                                    headers=hop_headers, timeout=(read_timeout, read_timeout),
                                                    stream=True, allow_redirects=False)
                except requests.RequestException:
                    if cut:   # the headers did not arrive before the deadline
                        raise _Deadline from None
                    raise
            try:
                location = response.headers.get("Location")
                if response.status_code in REDIRECT_STATUS and location:
                    target = urljoin(response.url or url, location)
                    if _origin(target) != _origin(response.url or url):
                        # requests drops only Authorization across hosts; every key header goes here,
                        # the session's own included (None removes a session header from the request).
                        hop_headers = {k: v for k, v in hop_headers.items() if not self._is_secret_header(k)}
                        for name in self.session.headers:
                            if self._is_secret_header(name):
                                hop_headers[name] = None
                    if response.status_code == 303 or (response.status_code in (301, 302) and method != "GET"):
                        method, json_body = "GET", None
                    url, params = target, None  # the Location carries its own query
                    continue
                body = self._read_body(response, deadline, shown)
                return Reply(status=response.status_code, body=body, headers=response.headers,
                              content_type=response.headers.get("Content-Type", ""), encoding=response.encoding)
            finally:
                response.close()
        raise self._error(f"{self.source}: more than {MAX_REDIRECTS} redirects ({shown}); check --base-url", url=shown)

    def _is_secret_header(self, name: str) -> bool:
        return name in self.headers and name not in ("User-Agent", "Accept") or bool(_SECRET_HEADER.search(name))

    def _read_body(self, response: requests.Response, deadline: float, shown: str) -> bytes:
        cap = self.max_bytes
        too_big = (f"{self.source}: the response is larger than the {cap / 2**20:g} MB cap for this source "
                   f"({shown}); check --base-url, or raise the cap with ${MAX_RESPONSE_ENV}")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise self._error(too_big, status_code=response.status_code, url=shown)
        raw = response.raw
        body = bytearray()
        while True:
            if time.monotonic() > deadline:
                raise _Deadline
            try:
                # read1: what one socket read gives (read() would wait for a whole chunk of a drip);
                # decompressed output per call is bounded by urllib3, so a gzip bomb is cut at the cap.
                chunk = raw.read1(_CHUNK, decode_content=True)
            except Exception as exc:  # urllib3's errors, mapped as requests maps them
                _raise_as_requests_error(exc)
            if not chunk:
                break
            body += chunk
            if len(body) > cap or raw.tell() > cap:
                raise self._error(too_big, status_code=response.status_code, url=shown)
        return bytes(body)

    def get_json(self, path: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """GET ``path`` and return the decoded JSON (see :meth:`request_json`)."""
        return self.request_json("GET", path, params=params, **kwargs)

    def post_json(self, path: str, json_body: Any, **kwargs: Any) -> Any:
        """POST a JSON body to ``path`` and return the decoded JSON (see :meth:`request_json`)."""
        return self.request_json("POST", path, json_body=json_body, **kwargs)


@dataclass(frozen=True)
class _Undecodable:
    reason: str


@dataclass(frozen=True)
class Reply:
    """One complete response: status, the whole (decompressed) body and the headers."""

    status: int
    body: bytes
    headers: Any
    content_type: str = ""
    encoding: str | None = None

    def text(self) -> str:
        return self.body.decode(self.encoding or "utf-8", errors="replace")


class BodyRetry(Exception):
    """Raised by an ``accept`` hook: a transient problem with a 200 body (retried)."""

    def __init__(self, problem: str, payload: Any = None) -> None:
        super().__init__(problem)
        self.problem, self.payload = problem, payload


class BodyFatal(BodyRetry):
    """Raised by an ``accept`` hook: a permanent problem with a 200 body."""


class _Deadline(Exception):
    """The attempt ran past :attr:`HttpClient.deadline_s`."""


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def _raise_as_requests_error(exc: Exception) -> None:
    import urllib3.exceptions as u3

    if isinstance(exc, u3.ReadTimeoutError):
        raise requests.exceptions.ReadTimeout(str(exc)) from None
    if isinstance(exc, u3.DecodeError):
        raise requests.exceptions.ContentDecodingError(str(exc)) from None
    if isinstance(exc, (u3.ProtocolError, u3.SSLError, OSError)):
        raise requests.exceptions.ChunkedEncodingError(str(exc)) from None
    raise exc


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return _Undecodable(str(exc).split(":")[0])


def keyed_client(source: str, base_url: str, default_base_url: str, session: requests.Session | None, *,
                 key_env: str, api_key: str | None, auth_header: Callable[[str], dict[str, str]],
                 keyed_interval_s: float, keyless_interval_s: float, min_interval_s: float | None = None,
                 timeout_s: float = 30.0, max_retries: int = 4, backoff_s: float = 1.0,
                 max_wait_s: float = 120.0, **http_options: Any) -> HttpClient:
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
                          min_interval_s=min_interval_s, headers=auth_header(key) if key else {},
                          **http_options)
    except ValueError as exc:
        raise InputError(f"--base-url: {redact_text(str(exc))}; use the API root, e.g. {default_base_url}") from None
