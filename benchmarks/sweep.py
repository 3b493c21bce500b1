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


def run(label: str, grid, folder: Path, market, workers: int | None = None) -> dict:
    """One sweep: in process (``workers`` None) or on a LocalCluster of ``workers`` single-threaded
    worker processes started here (so the benchmark can read their CPU time), one simulation thread
    per cell either way. Throughput is timed from the moment the engine is up."""
    import logging

    import psutil
    from dask.distributed import LocalCluster

    me = psutil.Process()
    cluster = None
    start = time.perf_counter()
    if workers is None:
        scheduler = "inprocess"
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=logging.CRITICAL)
        scheduler = cluster.scheduler_address
    try:
        up: dict[str, object] = {}

        def started(report) -> None:
            up["t"] = time.perf_counter()
            up["cpu_main"] = time.process_time()
            up["children"] = {p.pid: p for p in me.children(recursive=True)}
            up["cpu_children"] = _children_cpu(up["children"])

        report = run_sweep(grid, folder / f"{label.split(',')[0]}-{workers}.parquet", scheduler=scheduler,
                           simulation_threads=1, market=market, progress=False, on_start=started)
        end = time.perf_counter()
        cpu_main = time.process_time() - up["cpu_main"]
        cpu_children = _children_cpu(up["children"]) - up["cpu_children"]
    finally:
        if cluster is not None:
            cluster.close()
    cells = report.ran
    steady = end - up["t"]
    cell_cpu = float(np.sum(report.cell_cpu_seconds))
    worker_cpu = cpu_children if workers is not None else cell_cpu
    out = {"label": label, "cells": cells, "startup_s": up["t"] - start, "steady_s": steady,
           "cells_per_s": cells / steady, "cell_cpu_ms": 1000 * float(np.median(report.cell_cpu_seconds)),
           "cell_wall_ms": 1000 * float(np.median(report.cell_seconds)),
           # CPU spent besides the cells, per cell: this process (client, scheduler, Parquet writer) and
           # the worker processes (their event loop, (de)serialisation, the nannies)
           "main_overhead_ms": 1000 * (cpu_main - (cell_cpu if workers is None else 0.0)) / cells,
           "worker_overhead_ms": 1000 * (worker_cpu - cell_cpu) / cells,
           "cpu_per_cell_ms": 1000 * (cpu_main + (cpu_children if workers is not None else 0.0)) / cells,
           "peak_rss": report.peak_rss_bytes, "failed": len(report.failed)}
    peaks = ", ".join(f"{v / 2**20:,.0f} MB" for v in sorted(report.peak_rss_bytes.values()))
    print(f"  {label:<34}{out['cells_per_s']:6.2f} cells/s wall ({cells} cells in {steady:5.1f} s, "
          f"{out['startup_s']:4.1f} s start-up); per cell: {out['cell_cpu_ms']:4.0f} ms CPU in the simulation "
          f"(median; {out['cell_wall_ms']:4.0f} ms wall), {out['main_overhead_ms']:5.1f} ms CPU client+scheduler, "
          f"{out['worker_overhead_ms']:5.1f} ms CPU worker-side; peak RSS {peaks}")
    return out


def _children_cpu(children: dict) -> float:
    total = 0.0
    for proc in children.values():
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except Exception:  # a process that has gone
            pass
    return total


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
        seq = run("sequential, one process", grid, folder, market)
        one = run("LocalCluster, 1 worker x 1 thread", grid, folder, market, workers=1)
        two = run("LocalCluster, 2 workers x 1 thread", grid, folder, market, workers=2)
    per_task = empty_task_round_trip()
    load_end = os.getloadavg()
    scale = two["cells_per_s"] / one["cells_per_s"]
    efficiency = scale / 2
    cpu_efficiency = one["cpu_per_cell_ms"] / two["cpu_per_cell_ms"]
    print(f"  load average at the end: {load_end[0]:.1f} / {load_end[1]:.1f} / {load_end[2]:.1f}")
    print(f"  wall-clock scaling 1 -> 2 workers: {scale:.2f}x = {efficiency:.0%} of linear per added core "
          "(target >= 85%; on a shared machine this measures the CPU the others leave us)")
    print(f"  CPU per cell, all processes: one process {seq['cpu_per_cell_ms']:.0f} ms, 1 worker "
          f"{one['cpu_per_cell_ms']:.0f} ms, 2 workers {two['cpu_per_cell_ms']:.0f} ms: the 2-worker cluster does "
          f"{cpu_efficiency:.0%} of the 1-worker's work per CPU-second (the scaling left if each worker had its core)")
    peak = max(v for r in (one, two) for v in r["peak_rss"].values()) / 2**20
    print(f"  peak memory per worker: {peak:,.0f} MB (target <= 1,024 MB)")
    sched_ms = two["main_overhead_ms"]
    print(f"  scheduler overhead per cell: {sched_ms:.1f} ms CPU in the client+scheduler process and "
          f"{two['worker_overhead_ms']:.1f} ms CPU in the workers (2 workers); an empty task's round trip "
          f"{per_task * 1000:.2f} ms wall")
    if args.cells != FULL_CELLS:
        print(f"  extrapolated to {FULL_CELLS} cells (ran {args.cells}, wall at this load): sequential "
              f"{FULL_CELLS / seq['cells_per_s']:,.0f} s, 1 worker {FULL_CELLS / one['cells_per_s']:,.0f} s, "
              f"2 workers {FULL_CELLS / two['cells_per_s']:,.0f} s; by CPU per cell, "
              f"{FULL_CELLS * one['cpu_per_cell_ms'] / 1000:,.0f} core-seconds")
    # 64 cores: each core runs a cell per (cell CPU + worker-side overhead) -- CPU figures, so not the
    # load's -- times the measured CPU efficiency of adding a worker. The scheduler dispatches one task
    # per empty-task round trip (measured, wall); the client+scheduler CPU per cell is a pessimistic
    # bound (it counts the event loops' idle ticks, which grow with the wall time of a cell under load).
    per_core = 1000 / (two["cell_cpu_ms"] + two["worker_overhead_ms"])
    compute_bound = 64 * per_core * min(1.0, cpu_efficiency)
    dispatch_bound = 1 / per_task
    cpu_bound = 1000 / max(sched_ms, 1e-3)
    rate = min(compute_bound, dispatch_bound)
    print(f"  64 cores (estimate): {per_core:.1f} cells/s per core x 64 x {min(1.0, cpu_efficiency):.0%} = "
          f"{compute_bound:,.0f} cells/s of compute; the scheduler dispatches about {dispatch_bound:,.0f} tasks/s "
          f"(empty-task round trip; {cpu_bound:,.0f} cells/s by its CPU per cell, pessimistic), so "
          f"{'compute' if compute_bound < dispatch_bound else 'the scheduler'} is the limit: about {rate:,.0f} "
          f"cells/s, {FULL_CELLS:,} cells in {FULL_CELLS / rate:,.1f} s after start-up; "
          f"{64 * peak / 1024:,.0f} GB of worker memory")

if __name__ == "__main__":
    main()
