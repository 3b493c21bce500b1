"""Benchmark: one draw for several scenario variants (issue 20's shared paths).

Eight variants of the HGX example (electricity 0.05..0.19 USD/kWh) simulated on the same paths
(one seed), every strategy, 2 threads: each variant drawing its own paths against one
``DrawCache`` the first variant fills and the others read (what a sweep with ``same_paths``
does). Both give the same bits (tests/test_draw_cache.py); the figures are printed, never asserted.

    .venv/bin/python benchmarks/draws.py [--paths P] [--days D] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.core.resources import SCENARIO_DIR  # noqa: E402
from analysis.econ.scenario import load_scenario, scenario_with  # noqa: E402
from analysis.market.prices import daily_closes  # noqa: E402
from analysis.sim.simulation import DrawCache, simulate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=20000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    base = load_scenario(SCENARIO_DIR / "hgx_h100_8x_colo.toml")
    closes = daily_closes("ton")
    variants = [scenario_with(base, {"operations.electricity_usd_per_kwh": 0.05 + 0.02 * i}) for i in range(8)]
    print(f"8 variants x {args.paths:,} paths x {args.days} days, every strategy, median of {args.runs} runs "
          f"(min..max); load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for method in ("bootstrap", "gbm"):
        simulate(base, method, 2048, args.days, seed=1, closes=closes)   # numba's kernels loaded
        times: dict[str, list[float]] = {"each its own draw": [], "one draw (DrawCache)": []}
        for _ in range(args.runs):   # alternating, so the load falls on both alike
            for label in times:
                cache = DrawCache(max_bytes=2 ** 31) if label.startswith("one") else None
                t0 = time.perf_counter()
                for v in variants:
                    simulate(v, method, args.paths, args.days, seed=3, closes=closes, draws=cache)
                times[label].append(time.perf_counter() - t0)
        own, one = (statistics.median(v) for v in times.values())
        for label, v in times.items():
            print(f"  {method:<10} {label:<22} {statistics.median(v):6.2f} s  ({min(v):.2f}..{max(v):.2f})")
        print(f"  {method:<10} one draw / own draws     {one / own:6.2f}x")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
