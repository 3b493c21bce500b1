"""Issue 13: two processes fetching into one cache at once keep both sets of rows.

A barrier server answers nobody until both processes have sent their request, so both have
read the cache before either writes -- the race that lost one fetch's days in 8 of 8 trials.
The cross-process lock (:func:`analysis.market.store.cache_lock`) makes the second writer
re-read and merge.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import price_api_fakes as fakes
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from analysis.market import rates, store

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data" / "rates"


@pytest.fixture
def barrier_server():
    """A threaded loopback server; ``barrier(handler)`` makes each of the first two requests wait for the other."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def _behind_barrier(handler, parties: int = 2):
    barrier = threading.Barrier(parties, timeout=60)
    seen = {"n": 0}
    lock = threading.Lock()

    def wrapped(request: Request) -> Response:
        with lock:
            seen["n"] += 1
            n = seen["n"]
        if n <= parties:
            barrier.wait()            # both processes have read the cache and are fetching now
        return handler(request, n)
    return wrapped


def _cli(cache: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "COCOON_ECON_CACHE": str(cache), "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "analysis", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _both(*procs: subprocess.Popen) -> list[tuple[int, str, str]]:
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        out.append((proc.returncode, stdout, stderr))
    return out


def test_two_price_fetches_into_one_cache_keep_both_sets_of_days(barrier_server, tmp_path):
    data = fakes.daily_frame(dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    klines = fakes.binance_klines_handler(fakes.binance_klines(data))
    barrier_server.expect_request("/api/v3/klines").respond_with_handler(_behind_barrier(lambda r, n: klines(r)))
    url = barrier_server.url_for("/")
    a = _cli(tmp_path, "fetch", "prices", "--source", "binance", "--start", "2025-01-01", "--end", "2025-01-20",
             "--base-url", url)
    b = _cli(tmp_path, "fetch", "prices", "--source", "binance", "--start", "2025-02-01", "--end", "2025-02-20",
             "--base-url", url)
    for code, _, err in _both(a, b):
        assert code == 0, err
    stored = store.read_prices_csv(tmp_path / "prices" / "ton_binance.csv")
    expected = pd.DatetimeIndex(list(pd.date_range("2025-01-01", "2025-01-20")) +
                                list(pd.date_range("2025-02-01", "2025-02-20")), name="date")
    assert list(stored.index) == list(expected)                       # 40 days: neither fetch lost
    requested = json.loads((tmp_path / "manifest.json").read_text())["prices/ton_binance.csv"]["requested"]
    assert requested == [["2025-01-01", "2025-01-20"], ["2025-02-01", "2025-02-20"]]   # both spans kept


def test_two_rate_fetches_keep_both_snapshots_in_the_history(barrier_server, tmp_path):
    payload = json.loads((DATA / "runpod_gpu_types.json").read_text())

    def answer(_request: Request, n: int) -> Response:
        body = copy.deepcopy(payload)
        for gpu in body["data"]["gpuTypes"]:      # each process gets its own prices
            for key in ("securePrice", "communityPrice"):
                if gpu.get(key):
                    gpu[key] = round(gpu[key] + n / 100, 2)
        return fakes.json_response(body)

    barrier_server.expect_request("/graphql").respond_with_handler(_behind_barrier(answer))
    url = barrier_server.url_for("/")
    results = _both(*(_cli(tmp_path, "fetch", "rates", "--source", "runpod", "--base-url", url) for _ in range(2)))
    for code, _, err in results:
        assert code == 0, err
    history = rates.read_history(tmp_path)
    added = [int(out.split(";")[1].split()[0]) for _, out, _ in results]   # "...; N new in <history>"
    assert added[0] > 0 and added[1] > 0
    assert len(history) == sum(added)                                  # no snapshot row lost
