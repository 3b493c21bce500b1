"""Benchmark: 100,000 GBM paths x 365 days through every treasury/hedging strategy.

Prints wall times, the peak memory of the process, and -- measured in the same run -- the
floor: the time numpy takes just to draw the same number of standard normal variates. The
target is at most 3x the floor and at most 1.5 GB; figures are printed, never asserted.

    make benchmark          # or: .venv/bin/python benchmarks/strategies.py [--paths N] [--days D]
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.core.resources import SCENARIO_DIR
from analysis.econ.scenario import load_scenario  # noqa: E402
from analysis.market.prices import daily_closes  # noqa: E402
from analysis.sim import paths as pathgen  # noqa: E402
from analysis.sim import simulation  # noqa: E402
from analysis.sim.strategies import STRATEGIES, STRATEGY_NAMES  # noqa: E402


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def timed(label: str, func, *args, repeats: int = 2, **kwargs):
    """Best of ``repeats`` wall times (the machine is shared; the floor is a best-of too)."""
    elapsed = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = func(*args, **kwargs)
        elapsed = min(elapsed, time.perf_counter() - start)
    print(f"  {label:<58}{elapsed:8.2f} s")
    return elapsed, result


def floor_seconds(n_paths: int, days: int, seed: int, repeats: int = 3) -> tuple[float, float]:
    """Drawing n_paths x days standard normals (best of ``repeats``): in the pipeline's chunks
    into a reused buffer (the faster, so the stricter floor), and as one array."""
    rng = np.random.default_rng(seed)
    buffer = np.empty((days, simulation.CHUNK_PATHS))
    chunked = whole = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for lo in range(0, n_paths, simulation.CHUNK_PATHS):
            width = min(simulation.CHUNK_PATHS, n_paths - lo)
            rng.standard_normal(out=buffer if width == buffer.shape[1] else np.empty((days, width)))
        chunked = min(chunked, time.perf_counter() - start)
        start = time.perf_counter()
        draws = rng.standard_normal((n_paths, days))
        whole = min(whole, time.perf_counter() - start)
        del draws
    return chunked, whole


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paths", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", type=Path, default=SCENARIO_DIR / "hgx_h100_8x_colo.toml")
    args = parser.parse_args(argv)

    scenario = load_scenario(args.scenario)
    closes = daily_closes("ton")
    model = pathgen.fit_gbm(closes)
    treasury = [n for n in STRATEGY_NAMES if n in STRATEGIES]
    print(f"cocoon-econ benchmark: {args.paths:,} GBM paths x {args.days} days, scenario {scenario.name!r}")
    print(f"  GBM drift {model.drift_annual:+.3f}/year ({model.drift_source}), volatility "
          f"{model.vol_annual:.3f}/year (fitted); "
          f"chunks of {simulation.CHUNK_PATHS:,} paths")
    print(f"  python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    rss_start = peak_rss_mb()
    print(f"  peak memory after imports and data: {rss_start:,.0f} MB")
    print()

    # warm up (first-call costs: arch import, scipy, page cache) on a tiny run
    simulation.simulate(scenario, "gbm", 64, args.days, args.seed, closes=closes)

    workers = simulation.default_workers()
    print(f"timings (the floor is numpy on one thread; simulate runs its chunks on {workers} threads)")
    floor, floor_whole = floor_seconds(args.paths, args.days, args.seed)
    print(f"  {'floor: numpy draws as many normals (chunks, best of 3)':<58}{floor:8.2f} s")
    print(f"  {'       ... as one array (best of 3)':<58}{floor_whole:8.2f} s")

    def paths_only():
        n_chunks = -(-args.paths // simulation.CHUNK_PATHS)
        children = np.random.SeedSequence(args.seed).spawn(n_chunks)

        def one(k):
            lo = k * simulation.CHUNK_PATHS
            model.sample(min(simulation.CHUNK_PATHS, args.paths - lo), args.days, np.random.default_rng(children[k]))

        simulation.map_chunks(one, n_chunks, workers)

    print(f"  (the stages below: best of 2 runs; chunks on {workers} threads, as simulate runs them)")
    generate, _ = timed("GBM paths only (normals, cumulative sum, exp)", paths_only)
    treasury_time, sim = timed(f"paths + {len(treasury)} treasury strategies + per-path metrics",
                               simulation.simulate, scenario, "gbm", args.paths, args.days, args.seed, treasury,
                               closes=closes)
    total, sim_all = timed(f"paths + all {len(STRATEGY_NAMES)} (incl. usd_pegged: engine income per path)",
                           simulation.simulate, scenario, "gbm", args.paths, args.days, args.seed, None, closes=closes)
    peak = peak_rss_mb()
    one_thread, _ = timed("the same on 1 thread", simulation.simulate, scenario, "gbm", args.paths, args.days,
                          args.seed, None, closes=closes, workers=1)

    print()
    print("per stage: each policy alone (paths + that policy + its metrics, minus the paths alone;")
    print("           differences of separate runs, so noisy on a shared machine)")
    stages = {}
    for name in STRATEGY_NAMES:
        alone = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            simulation.simulate(scenario, "gbm", args.paths, args.days, args.seed, [name], closes=closes)
            alone = min(alone, time.perf_counter() - start)
        stages[name] = alone - generate
        print(f"  {name:<58}{stages[name]:8.2f} s   ({stages[name] / floor:.2f}x floor)")
    print(f"  {'sum of the stages + paths (all policies in one pass cost less)':<58}"
          f"{sum(stages.values()) + generate:8.2f} s")

    print()
    print("figures")
    per_strategy = (treasury_time - generate) / len(treasury)
    pegged = total - treasury_time
    print(f"  strategies + metrics, per strategy (mean)                 {per_strategy:8.2f} s   "
          f"({per_strategy / floor:.2f}x floor)")
    print(f"  usd_pegged (path_income on the pegged scenario + policy)   {pegged:8.2f} s   ({pegged / floor:.2f}x floor)")
    print(f"  GBM paths alone                                          {generate / floor:8.2f}x floor")
    print(f"  treasury strategies, whole pipeline                      {treasury_time / floor:8.2f}x floor   (target <= 3x)")
    print(f"  everything incl. usd_pegged                              {total / floor:8.2f}x floor   (target <= 3x)")
    print(f"  everything, 1 thread                                     {one_thread / floor:8.2f}x floor")
    print(f"  peak memory (process, max RSS)                           {peak:8,.0f} MB    (target <= 1,536 MB)")
    print()
    print("sanity: net USD over the horizon (mean / P5 / P95; perp: collateral P95, P(liquidation))")
    for name, s in sim_all.summary().items():
        extra = (f"{s['peak_collateral_p95_usd']:>14,.0f}{s['prob_liquidation']:>8.1%}"
                 if s["peak_collateral_max_usd"] > 0 else "")
        print(f"  {name:<16}{s['mean_usd']:>14,.0f}{s['p5_usd']:>14,.0f}{s['p95_usd']:>14,.0f}{extra}")
    assert sim.n_paths == args.paths
    return 0


if __name__ == "__main__":
    sys.exit(main())
