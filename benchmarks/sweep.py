"""Benchmark: a 1,000-cell sweep (10 electricity prices x 10 utilisations x 10 hedge ratios of the
H200 example), each cell 10,000 GBM paths x 365 days under hold, sell_on_payout and perp_hedge.

Prints, for the same cells: cells per second sequentially in one process (one core), on a Dask
LocalCluster with 1 and with 2 worker processes (one thread each, one simulation thread per
cell), the scaling efficiency per added core (target >= 85 % of linear), the peak memory of each
worker (target <= 1 GB), the scheduler's overhead per cell (idle worker time per cell, and the
round trip of an empty task), and what a 64-core cluster would do by the same figures.

``--cells N`` runs the first N cells of the grid and extrapolates to 1,000 (the printout says
so). Figures are printed, never asserted; on a shared machine they move with the load.

    .venv/bin/python benchmarks/sweep.py [--cells N] [--paths P] [--days D]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.core.resources import SCENARIO_DIR  # noqa: E402
from analysis.sim.simulation import default_workers  # noqa: E402
from analysis.sweep.grid import parse_grid  # noqa: E402
from analysis.sweep.run import load_market, run_sweep  # noqa: E402

FULL_CELLS = 1000
STRATEGIES = ["hold", "sell_on_payout", "perp_hedge"]


def grid_mapping(paths: int, days: int) -> dict:
    return {
        "name": "benchmark",
        "scenario": "h200_single.toml",
        "axes": {
            "operations.electricity_usd_per_kwh": [round(0.03 + 0.03 * i, 2) for i in range(10)],
            "workload.utilisation": [round(0.1 * (i + 1), 1) for i in range(10)],
            "treasury.hedge_ratio": [round(0.1 * i, 1) for i in range(10)],
        },
        "simulation": {"method": "gbm", "paths": paths, "horizon_days": days, "strategies": STRATEGIES, "seed": 1},
    }


def run(label: str, grid, folder: Path, market, **kwargs) -> dict:
    """One sweep; throughput is timed from the moment the engine is up (cluster start-up apart)."""
    up: dict[str, float] = {}
    start = time.perf_counter()
    report = run_sweep(grid, folder / f"{label}.parquet", market=market, progress=False,
                       on_start=lambda r: up.setdefault("t", time.perf_counter()), **kwargs)
    end = time.perf_counter()
    steady = end - up.get("t", start)
    cells = report.ran
    out = {"label": label, "cells": cells, "wall_s": end - start, "startup_s": up.get("t", start) - start,
           "steady_s": steady, "cells_per_s": cells / steady, "cell_compute_s": float(np.sum(report.cell_seconds)),
           "cell_median_s": float(np.median(report.cell_seconds)), "peak_rss_mb": report.peak_rss_bytes,
           "engine": report.engine, "failed": len(report.failed)}
    peaks = ", ".join(f"{v / 2**20:,.0f} MB" for v in sorted(report.peak_rss_bytes.values()))
    print(f"  {label:<34}{out['cells_per_s']:8.2f} cells/s  ({cells} cells in {steady:6.1f} s after "
          f"{out['startup_s']:4.1f} s start-up; median cell {out['cell_median_s'] * 1000:5.0f} ms; peak RSS {peaks})")
    return out


def empty_task_round_trip(n_tasks: int = 1000) -> float:
    """Seconds per empty task through a 2-worker LocalCluster (submit, schedule, run, gather)."""
    import logging

    from dask.distributed import Client, LocalCluster, wait

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                      silence_logs=logging.CRITICAL) as cluster, Client(cluster) as client:
        client.gather(client.map(_noop, range(50), pure=False))   # warm up
        start = time.perf_counter()
        futures = [client.submit(_noop, i, pure=False) for i in range(n_tasks)]
        wait(futures)
        client.gather(futures)
        return (time.perf_counter() - start) / n_tasks


def _noop(i: int) -> int:
    return i


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=FULL_CELLS, help="cells to run (default: all 1,000)")
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    cores = default_workers()
    load = os.getloadavg()
    print(f"sweep benchmark: {args.cells} of {FULL_CELLS} cells x {args.paths:,} GBM paths x {args.days} days x "
          f"{len(STRATEGIES)} strategies")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {cores} core(s), load average "
          f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min) at the start")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        grid = parse_grid(grid_mapping(args.paths, args.days), SCENARIO_DIR / "benchmark.toml")
        grid = dataclasses.replace(grid, cells=grid.cells[:args.cells])
        market = load_market(grid)
        seq = run("sequential, one process, 1 thread", grid, folder, market, scheduler="inprocess",
                  simulation_threads=1)
        one = run("LocalCluster, 1 worker x 1 thread", grid, folder, market, scheduler="local", workers=1,
                  threads_per_worker=1, simulation_threads=1)
        two = run("LocalCluster, 2 workers x 1 thread", grid, folder, market, scheduler="local", workers=2,
                  threads_per_worker=1, simulation_threads=1)
    per_task = empty_task_round_trip()
    scale = two["cells_per_s"] / one["cells_per_s"]
    efficiency = scale / 2
    overhead_1 = (one["steady_s"] * 1 - one["cell_compute_s"]) / one["cells"]
    overhead_2 = (two["steady_s"] * 2 - two["cell_compute_s"]) / two["cells"]
    dask_cost = 1 - one["cells_per_s"] / seq["cells_per_s"]
    print(f"  scaling 1 -> 2 workers: {scale:.2f}x, efficiency {efficiency:.0%} of linear per added core "
          "(target >= 85%)")
    print(f"  LocalCluster(1) vs one process: {dask_cost:+.1%} of the throughput spent on Dask")
    peak = max(v for r in (one, two) for v in r["peak_rss_mb"].values()) / 2**20
    print(f"  peak memory per worker: {peak:,.0f} MB (target <= 1,024 MB)")
    print(f"  scheduler overhead per cell: {overhead_1 * 1000:.1f} ms idle worker time (1 worker), "
          f"{overhead_2 * 1000:.1f} ms (2 workers); empty-task round trip {per_task * 1000:.2f} ms")
    if args.cells != FULL_CELLS:
        print(f"  extrapolated to {FULL_CELLS} cells (ran {args.cells}): sequential "
              f"{FULL_CELLS / seq['cells_per_s']:,.0f} s, 1 worker {FULL_CELLS / one['cells_per_s']:,.0f} s, "
              f"2 workers {FULL_CELLS / two['cells_per_s']:,.0f} s")
    # 64 cores: each core as fast as one worker here, each added core adding the measured efficiency
    # of the 1 -> 2 step (speed-up 1 + 63 e), capped by what the scheduler can dispatch.
    per_core = one["cells_per_s"]
    speedup = 1 + 63 * min(1.0, efficiency)
    compute_bound = per_core * speedup
    sched_bound = 1 / per_task
    rate = min(compute_bound, sched_bound)
    print(f"  64 cores (estimate): {per_core:.2f} cells/s per core x {speedup:.1f} = {compute_bound:,.0f} cells/s; "
          f"the scheduler dispatches about {sched_bound:,.0f} empty tasks/s, so "
          f"{'compute' if compute_bound < sched_bound else 'the scheduler'} is the limit: about {rate:,.0f} cells/s, "
          f"{FULL_CELLS:,} cells in {FULL_CELLS / rate:,.1f} s after start-up, "
          f"{64 * peak / 1024:,.0f} GB of worker memory")

if __name__ == "__main__":
    main()
