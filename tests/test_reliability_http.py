"""Issue 13: misbehaving loopback servers against the one HTTP client and the sources on it.

Slow drip, oversized body, gzip bomb, endless and repeated toncenter pages, a redirect to a
second loopback host that records the headers it gets, servers echoing the API key, a password
in --base-url, HTML error pages, and retries said on stderr.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import time
import tracemalloc

import price_api_fakes as fakes
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from analysis.cli.main import main
from analysis.core.errors import FetchError
from analysis.market import prices
from analysis.sources import coingecko, runpod, tonapi, toncenter, vastai
from analysis.sources.http import HttpClient, HttpError, redact_text, redact_url

FAST = {"timeout_s": 5.0, "max_retries": 0, "backoff_s": 0.0, "min_interval_s": 0.0}
KEY = "sEcReT-kEy-1234567890"
ROOT = "EQCns7bYSp0igFvS1wpb5wsZjCKCV19MD5AVzI4EyxsnU73k"   # any valid address for the request


def _quiet(_line: str) -> None:
    pass


# --------------------------------------------------------------------------- hangs and memory


def test_a_slow_drip_is_cut_at_the_total_deadline(httpserver):
    def drip(_request: Request) -> Response:
        def body():
            yield b"["
            for _ in range(200):       # a byte every 0.1 s: each read is fast, the whole is not
                time.sleep(0.1)
                yield b" "
            yield b"]"
        return Response(body(), content_type="application/json")

    httpserver.expect_request("/slow").respond_with_handler(drip)
    client = HttpClient(httpserver.url_for("/"), "drip", deadline_s=1.0, notify=_quiet, **FAST)
    began = time.monotonic()
    with pytest.raises(HttpError, match=r"drip: took longer than the 1 s deadline .*gave up after 1 attempts"):
        client.get_json("slow")
    assert time.monotonic() - began < 3.0       # 1 s deadline + at most one read (0.1 s), not 20 s


@pytest.fixture
def header_drip():
    """A raw loopback server that sends its status line and then a header byte every 0.1 s."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                    for _ in range(300):          # 30 s of headers if nobody cuts it
                        if stop.is_set():
                            break
                        time.sleep(0.1)
                        conn.sendall(b"a")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    server.close()


def test_a_header_drip_is_cut_at_the_total_deadline(header_drip):
    client = HttpClient(header_drip, "headers", deadline_s=1.0, notify=_quiet, **FAST)
    began = time.monotonic()
    with pytest.raises(HttpError, match=r"headers: took longer than the 1 s deadline"):
        client.get_json("x")
    assert time.monotonic() - began < 3.0


def test_an_oversized_body_is_refused_before_it_is_read(httpserver):
    httpserver.expect_request("/big").respond_with_data(b"[" + b"0," * 1_000_000 + b"0]",
                                                        content_type="application/json")
    client = HttpClient(httpserver.url_for("/"), "big", max_bytes=2**20, notify=_quiet, **FAST)
    with pytest.raises(HttpError, match=r"big: the response is larger than the 1 MB cap for this source"):
        client.get_json("big")


def test_an_oversized_chunked_body_is_cut_at_the_cap(httpserver):
    def endless(_request: Request) -> Response:
        def body():
            yield b"["
            for _ in range(10_000):           # 10,000 x 64 KB = 640 MB if read to the end
                yield b"1," * 32_768
        return Response(body(), content_type="application/json")   # no Content-Length: chunked

    httpserver.expect_request("/endless").respond_with_handler(endless)
    client = HttpClient(httpserver.url_for("/"), "endless", max_bytes=2**20, notify=_quiet, **FAST)
    with pytest.raises(HttpError, match="larger than the 1 MB cap"):
        client.get_json("endless")


def test_a_gzip_bomb_is_cut_at_the_decompressed_cap(httpserver, monkeypatch):
    bomb = gzip.compress(b" " * (200 * 2**20), compresslevel=9)    # 200 MB of spaces in about 200 KB
    assert len(bomb) < 1_000_000
    httpserver.expect_request("/bomb").respond_with_data(bomb, headers={"Content-Encoding": "gzip"},
                                                         content_type="application/json")
    monkeypatch.setenv("COCOON_ECON_MAX_RESPONSE_MB", "4")          # the documented override
    client = HttpClient(httpserver.url_for("/"), "bomb", notify=_quiet, **FAST)
    assert client.max_bytes == 4 * 2**20
    tracemalloc.start()
    try:
        with pytest.raises(HttpError, match=r"bomb: the response is larger than the 4 MB cap"):
            client.get_json("bomb")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * 2**20          # never near the 200 MB the body inflates to


def _tx(i: int) -> dict:
    return {"hash": f"h{i}", "lt": str(1000 + i), "now": 1_735_700_000 + i, "account": "0:" + "a" * 64,
            "description": {"aborted": False}, "in_msg": {"hash": f"m{i}", "value": "1"}}


def test_toncenter_stops_on_a_page_that_repeats(httpserver):
    calls = []

    def same_page(request: Request) -> Response:
        calls.append(request.args.get("offset"))
        return fakes.json_response({"transactions": [_tx(i) for i in range(3)], "address_book": {}})

    httpserver.expect_request("/api/v3/transactions").respond_with_handler(same_page)
    with pytest.raises(FetchError, match=r"page 2 \(offset 3\) repeats transactions .* makes no progress"):
        toncenter.get_toncenter_transactions(ROOT, page_size=3, base_url=httpserver.url_for("/"), progress=False)
    assert calls == ["0", "3"]


def test_toncenter_stops_at_the_page_cap(httpserver):
    calls = []

    def endless(request: Request) -> Response:
        offset = int(request.args["offset"])
        calls.append(offset)
        return fakes.json_response({"transactions": [_tx(offset + i) for i in range(2)], "address_book": {}})

    httpserver.expect_request("/api/v3/transactions").respond_with_handler(endless)
    with pytest.raises(FetchError, match=r"more than 5 pages of 2 transactions .* narrow the range"):
        toncenter.get_toncenter_transactions(ROOT, page_size=2, base_url=httpserver.url_for("/"), progress=False,
                                             max_pages=5)
    assert calls == [0, 2, 4, 6, 8]


def test_a_toncenter_transaction_without_hash_is_a_clear_fetch_error():
    bad = _tx(1)
    del bad["hash"]
    with pytest.raises(FetchError, match=r"transaction #0 has no hash; the server's answer is malformed"):
        toncenter.parse_toncenter_transactions({"transactions": [bad]})


def test_each_retry_is_said_on_stderr(httpserver, capsys):
    state = {"n": 0}

    def flaky(_request: Request) -> Response:
        state["n"] += 1
        if state["n"] == 1:
            return fakes.json_response({"msg": "busy"}, status=503)
        return fakes.json_response([1])

    httpserver.expect_request("/flaky").respond_with_handler(flaky)
    client = HttpClient(httpserver.url_for("/"), "flaky", timeout_s=5.0, max_retries=2, backoff_s=0.0)
    assert client.get_json("flaky") == [1]
    err = capsys.readouterr().err
    assert "flaky: HTTP 503: busy" in err and "retrying in 0.0 s (retry 1 of 2)" in err


# --------------------------------------------------------------------------- secrets


@pytest.fixture
def second_host():
    """A second loopback host (127.0.0.2: another host to the client) that records headers."""
    server = HTTPServer(host="127.0.0.2", port=0)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def _redirect_to(server: HTTPServer, path: str):
    def handler(request: Request) -> Response:
        query = request.query_string.decode()
        return Response(status=302, headers={"Location": server.url_for(path) + (f"?{query}" if query else "")})
    return handler


def test_toncenter_key_is_dropped_on_a_redirect_to_another_host(httpserver, second_host):
    seen = []
    httpserver.expect_request("/api/v3/transactions").respond_with_handler(_redirect_to(second_host,
                                                                                        "/api/v3/transactions"))

    def record(request: Request) -> Response:
        seen.append(dict(request.headers))
        return fakes.json_response({"transactions": [], "address_book": {}})

    second_host.expect_request("/api/v3/transactions").respond_with_handler(record)
    client = toncenter.toncenter_client(httpserver.url_for("/"), api_key=KEY)
    assert client.headers == {"X-API-Key": KEY}
    frame, _ = toncenter.get_toncenter_transactions(ROOT, client=client, progress=False)
    assert frame.empty and len(seen) == 1
    assert KEY not in json.dumps(seen) and not any(k.lower() == "x-api-key" for k in seen[0])


def test_a_same_host_redirect_keeps_the_key(httpserver):
    seen = []
    httpserver.expect_request("/old").respond_with_handler(
        lambda r: Response(status=307, headers={"Location": "/new"}))
    httpserver.expect_request("/new").respond_with_handler(
        lambda r: (seen.append(r.headers.get("X-API-Key")), fakes.json_response({"ok": 1}))[1])
    client = HttpClient(httpserver.url_for("/"), "t", headers={"X-API-Key": KEY}, **FAST)
    assert client.get_json("old") == {"ok": 1}
    assert seen == [KEY]


def test_coingecko_demo_key_is_dropped_on_a_redirect_to_another_host(httpserver, second_host):
    path = "/coins/the-open-network/market_chart/range"
    seen = []
    httpserver.expect_request(path).respond_with_handler(_redirect_to(second_host, path))

    def record(request: Request) -> Response:
        seen.append(dict(request.headers))
        return fakes.json_response({"prices": [], "market_caps": [], "total_volumes": []})

    second_host.expect_request(path).respond_with_handler(record)
    now = dt.datetime(2025, 3, 10, 12, tzinfo=dt.UTC)
    coingecko.get_coingecko_market_chart(dt.date(2025, 3, 1), dt.date(2025, 3, 5), base_url=httpserver.url_for("/"),
                                         environ={"COINGECKO_DEMO_API_KEY": KEY}, now=now, **FAST)
    assert seen and KEY not in json.dumps(seen)
    assert not any(k.lower() == "x-cg-demo-api-key" for k in seen[0])


def _echo(status: int = 401):
    def handler(request: Request) -> Response:
        sent = " ".join(v for k, v in request.headers.items() if k.lower() in ("authorization", "x-api-key"))
        return fakes.json_response({"error": f"invalid api key: {sent}"}, status=status)
    return handler


@pytest.mark.parametrize("name, env, call", [
    ("toncenter", "TONCENTER_API_KEY",
     lambda url: toncenter.get_toncenter_account_state(ROOT, base_url=url)),
    ("tonapi", "TONAPI_KEY", lambda url: tonapi.get_tonapi_account_state(ROOT, base_url=url)),
    ("runpod", "RUNPOD_API_KEY", lambda url: runpod.get_runpod_gpu_prices(base_url=url, **FAST)),
    ("vastai", "VAST_API_KEY", lambda url: vastai.get_vastai_offers(["H100-SXM"], base_url=url, **FAST)),
])
def test_a_server_echoing_the_key_never_gets_it_printed(httpserver, monkeypatch, name, env, call):
    monkeypatch.setenv(env, KEY)
    httpserver.expect_request(path_or_any()).respond_with_handler(_echo())
    with pytest.raises(HttpError) as info:
        call(httpserver.url_for("/"))
    text = str(info.value) + json.dumps(info.value.payload)
    assert "invalid api key" in text and "***" in text
    assert KEY not in text


def path_or_any():
    import re

    return re.compile(".*")


def test_the_cli_scrubs_an_echoed_key_from_its_error_line(httpserver, monkeypatch, capsys):
    monkeypatch.setenv("COCOON_ECON_TONCENTER_API_KEY", KEY)
    httpserver.expect_request(path_or_any()).respond_with_handler(_echo(403))
    code = main(["chain", "params", "--base-url", httpserver.url_for("/")])
    out, err = capsys.readouterr()
    assert code == 1 and KEY not in out + err and "***" in err
    assert len(err.strip().splitlines()) == 1


def test_a_password_in_base_url_is_never_printed_nor_stored(httpserver, tmp_path, capsys):
    now = dt.datetime(2025, 3, 10, 12, tzinfo=dt.UTC)
    data = fakes.daily_frame(dt.date(2025, 1, 1), now.date())
    httpserver.expect_request("/api/v3/klines").respond_with_handler(
        fakes.binance_klines_handler(fakes.binance_klines(data)))
    url = httpserver.url_for("/").replace("http://", "http://alice:pa55w0rd-xyz@")
    prices.refresh_prices("ton", "binance", dt.date(2025, 2, 1), dt.date(2025, 2, 10), cache_dir=tmp_path,
                          base_url=url, now=now, **FAST)
    manifest = (tmp_path / "manifest.json").read_text()
    assert "pa55w0rd-xyz" not in manifest and "alice" not in manifest and "***@" in manifest
    httpserver.clear()
    httpserver.expect_request(path_or_any()).respond_with_data("nope", status=404)
    with pytest.raises(HttpError) as info:
        prices.refresh_prices("ton", "binance", dt.date(2025, 1, 1), dt.date(2025, 1, 10), cache_dir=tmp_path,
                              base_url=url, now=now, **FAST)
    assert "pa55w0rd-xyz" not in str(info.value) and "***@" in str(info.value)
    assert main(["fetch", "prices", "--source", "binance", "--start", "2025-01-01", "--end", "2025-01-05",
                 "--base-url", url]) == 1
    assert "pa55w0rd-xyz" not in capsys.readouterr().err


def test_redaction_helpers():
    assert redact_url("http://u:p@h:1/x?apikey=abc&a=1") == "http://***@h:1/x?apikey=***&a=1"
    assert redact_text("see https://bob:secret@example.org/a and http://x/y") == \
        "see https://***@example.org/a and http://x/y"


def test_an_html_error_page_is_its_status_and_title(httpserver):
    page = ("<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>" + "x" * 5000 +
            "</style></head><body><h1>Bad Gateway</h1></body></html>")
    httpserver.expect_request("/api").respond_with_data(page, status=502, content_type="text/html")
    client = HttpClient(httpserver.url_for("/"), "proxy", notify=_quiet, **FAST)
    with pytest.raises(HttpError) as info:
        client.get_json("api")
    assert str(info.value).startswith("proxy: HTTP 502: HTML page: 502 Bad Gateway (")
    assert "<" not in str(info.value) and len(str(info.value)) < 200
