"""Benchmark: classifying a proxy's transactions and building the network's daily table.

A crawl reads at most ``limit = 500`` transactions a request and, keyless, one request a
second, so classification must keep well ahead of 500 transactions a second. Prints the
transactions classified per second and the time of the daily table and the trailing-window
demand for a year of payouts from many workers; figures are printed, never asserted.

    .venv/bin/python benchmarks/network.py [--transactions N] [--workers W]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from network_builders import P1, Network, payout_out, worker_request  # noqa: E402
from pytoniq_core import Address  # noqa: E402

from analysis.chain import network  # noqa: E402
from analysis.report.network import trailing_worker_demand  # noqa: E402
from analysis.sources.toncenter import parse_toncenter_transactions  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=200)
    args = parser.parse_args()
    net = Network()
    workers = [Address((0, (0x10_0000 + i).to_bytes(32, "big"))) for i in range(args.workers)]
    contracts = {w.to_str(is_user_friendly=False): {"kind": "worker"} for w in workers}
    start = 1_735_689_600  # 2025-01-01
    txs = []
    for i in range(args.transactions):
        w = workers[i % len(workers)]
        part = 19 * (1_000_000 + i)
        txs.append(net.tx(P1, start + i * 31_536_000 // args.transactions, w, 10**8,
                          worker_request(w, 10**9 + i, part, part // 19), outs=[payout_out(w, part)]))
    frame = parse_toncenter_transactions({"transactions": txs})
    proxy = {"address": P1.to_str(is_user_friendly=False), "price_per_token": 20, "worker_fee_per_token": 19}
    t0 = time.perf_counter()
    events = network.classify_proxy_transactions(frame, proxy, contracts, {})
    t1 = time.perf_counter()
    events_frame = pd.DataFrame(events)
    events_frame["time"] = pd.to_datetime(events_frame["time"], utc=True)
    events_frame["date"] = events_frame["time"].dt.tz_localize(None).dt.normalize()
    t2 = time.perf_counter()
    days = network.daily_network(events_frame)
    t3 = time.perf_counter()
    trailing_worker_demand(events_frame, days.index, 30)
    t4 = time.perf_counter()
    print(f"classified {len(frame):,} proxy transactions in {t1 - t0:.2f} s "
          f"({len(frame) / (t1 - t0):,.0f} a second; a keyless crawl delivers at most 500 a second)")
    print(f"daily table over {len(days)} days, {args.workers} workers: {t3 - t2:.3f} s")
    print(f"trailing 30-day per-worker demand: {t4 - t3:.3f} s")


if __name__ == "__main__":
    main()
