"""Benchmark: the simulation in process, 100,000 paths x 365 days through every strategy.

Each figure is the median of ``--runs`` runs (default 5) with the spread (min..max), next to the
floors measured in the same run and like for like (:mod:`benchmarks.floors`): the same number of
threads, each method's own draws (normals for gbm, Student-t for garch, indices and uniforms for
the bootstrap), chunk by chunk (so a floor needs megabytes at 1M x 1825, not the 13.6 GiB of one
array). The paths floor is the method's price paths in numpy (issue 20's targets are read against
it); the draws floor only its random numbers. Figures are printed, never asserted. The CLI end to
end, where the fixed costs are, is ``benchmarks/cli.py``.

    make benchmark          # or: .venv/bin/python benchmarks/strategies.py [--paths N] [--days D]
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.core.resources import SCENARIO_DIR  # noqa: E402
from analysis.econ.scenario import load_scenario  # noqa: E402
from analysis.market.prices import daily_closes  # noqa: E402
from analysis.sim import paths as pathgen  # noqa: E402
from analysis.sim import simulation  # noqa: E402
from analysis.sim.strategies import STRATEGIES, STRATEGY_NAMES  # noqa: E402
from benchmarks.floors import draw_floor, path_floor, repeat  # noqa: E402

TARGET_1_THREAD = 2.0


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def gbm_paths_only(model: pathgen.GbmModel, n_paths: int, days: int, seed: int, workers: int) -> None:
    """Only the GBM paths, in simulate's chunks, streams and threads."""
    width = simulation.chunk_width(days)
    streams = np.random.SeedSequence(seed).spawn(-(-n_paths // simulation.PATH_BLOCK))
    n_chunks = -(-n_paths // width)

    def chunk(k: int) -> None:
        lo = k * width
        simulation.sample_blocks(model, lo, min(lo + width, n_paths), days, streams)

    simulation.map_chunks(chunk, n_chunks, workers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paths", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median and spread; default 5)")
    parser.add_argument("--methods", default="gbm,bootstrap,garch")
    parser.add_argument("--stages", action="store_true", help="also time each policy alone (9 more figures)")
    parser.add_argument("--scenario", type=Path, default=SCENARIO_DIR / "hgx_h100_8x_colo.toml")
    args = parser.parse_args(argv)

    scenario = load_scenario(args.scenario)
    closes = daily_closes("ton")
    workers = simulation.default_workers()
    treasury = [n for n in STRATEGY_NAMES if n in STRATEGIES]
    print(f"cocoon-econ benchmark: {args.paths:,} paths x {args.days} days, scenario {scenario.name!r}, "
          f"median of {args.runs} runs (min..max)")
    print(f"  python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
          f"{workers} thread(s) by default; chunks of {simulation.chunk_width(args.days):,} paths")
    gbm = pathgen.fit_gbm(closes)
    print(f"  GBM drift {gbm.drift_annual:+.3f}/year ({gbm.drift_source}), volatility {gbm.vol_annual:.3f}/year")
    print(f"  peak memory after imports and data: {peak_rss_mb():,.0f} MB")
    for method in args.methods.split(","):  # warm up: numba cache, fits, page cache
        simulation.simulate(scenario, method, 64, args.days, args.seed, closes=closes)

    def sim(method: str, names: list[str] | None = None, threads: int | None = None):
        return lambda: simulation.simulate(scenario, method, args.paths, args.days, args.seed, names,
                                           closes=closes, workers=threads)

    def line(label: str, timing, floor=None, strict=None) -> None:
        ratio = f"  {timing.median / floor.median:5.2f}x paths floor" if floor is not None else ""
        ratio += f"  {timing.median / strict.median:5.2f}x draws floor" if strict is not None else ""
        print(f"  {label:<54}{timing.text()}{ratio}", flush=True)

    results: dict[str, dict[str, float]] = {}
    for method in args.methods.split(","):
        print(f"\n{method}")
        chunk = simulation.chunk_width(args.days)

        def floor(kind, threads, m=method, c=chunk):
            func = path_floor if kind == "paths" else draw_floor
            return repeat(lambda: func(m, args.paths, args.days, args.seed, threads, c), args.runs)

        paths_1, draws_1 = floor("paths", 1), floor("draws", 1)
        line(f"paths floor: the {method} price paths in numpy, 1 thread", paths_1)
        line(f"draws floor: the {method} draws, 1 thread", draws_1)
        one = repeat(sim(method, None, 1), args.runs)
        line(f"all {len(STRATEGY_NAMES)} strategies + metrics, 1 thread", one, paths_1, draws_1)
        paths_n, draws_n = floor("paths", workers), floor("draws", workers)
        line(f"paths floor, {workers} threads", paths_n)
        line(f"draws floor, {workers} threads", draws_n)
        many = repeat(sim(method, None, workers), args.runs)
        line(f"all {len(STRATEGY_NAMES)} strategies + metrics, {workers} threads", many, paths_n, draws_n)
        results[method] = {"one": one.median / paths_1.median, "many": many.median / paths_n.median,
                           "one_strict": one.median / draws_1.median, "many_strict": many.median / draws_n.median}
        if method == "gbm":
            model = pathgen.fit_gbm(closes)
            paths_only = lambda m=model: gbm_paths_only(m, args.paths, args.days, args.seed, workers)  # noqa: E731
            line(f"GBM paths only (normals, cumulative sum, exp), {workers} threads", repeat(paths_only, args.runs),
                 paths_n, draws_n)
            line(f"the {len(treasury)} treasury strategies (no usd_pegged), {workers} threads",
                 repeat(sim(method, treasury, workers), args.runs), paths_n, draws_n)
            if args.stages:
                for name in STRATEGY_NAMES:
                    line(f"  {name} alone (paths + policy + metrics)", repeat(sim(method, [name], workers), args.runs),
                         paths_n, draws_n)
    peak = peak_rss_mb()

    print("\nfigures (median / median of the floor, like for like; targets printed, not asserted)")
    for method, r in results.items():
        print(f"  {method:<10} 1 thread {r['one']:5.2f}x paths floor (target <= {TARGET_1_THREAD:.1f}x), "
              f"{r['one_strict']:5.2f}x draws floor;   {workers} threads {r['many']:5.2f}x / {r['many_strict']:5.2f}x")
    print(f"  peak memory (process, max RSS) {peak:,.0f} MB")
    summary = simulation.simulate(scenario, "gbm", min(args.paths, 20_000), args.days, args.seed,
                                  closes=closes).summary()
    print("\nsanity: net USD over the horizon, gbm (mean / P5 / P95; perp: collateral P95, P(liquidation))")
    for name, s in summary.items():
        extra = (f"{s['peak_collateral_p95_usd']:>14,.0f}{s['prob_liquidation']:>8.1%}"
                 if s["peak_collateral_max_usd"] > 0 else "")
        print(f"  {name:<16}{s['mean_usd']:>14,.0f}{s['p5_usd']:>14,.0f}{s['p95_usd']:>14,.0f}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
