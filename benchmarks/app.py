"""Benchmark: server time of the what-if page (``cocoon-econ app``).

Posts the page's real callback requests (``/_dash-update-component``, the bodies the browser
sends, built from the app's callback map) to the app through Flask's test client, so the time
is the server's: Dash's decoding, the package's functions, the figures, the JSON answer.

- an economic input changed (utilisation): the three requests that follow in the browser --
  sync (URL), check (validation), economics (break-even, profit curve, provider view);
- the simulation panel: a 2,000-path simulation (all strategies, the fan of the chosen one,
  the outcome chart) for each path method.

Targets: < 300 ms for an economic change, < 1.5 s for a 2,000-path simulation. Figures are
printed, never asserted.

    .venv/bin/python benchmarks/app.py [--repeats N] [--paths N]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the callback client the app's tests use

from app_support import Page  # noqa: E402

from analysis.app.server import create_app, warm_up  # noqa: E402
from analysis.app.state import FIELD_BY_KEY, FIELDS, RENTAL_KEYS, state_from_scenario  # noqa: E402
from analysis.core.resources import example_scenarios  # noqa: E402
from analysis.econ.scenario import load_scenario  # noqa: E402
from analysis.sim.paths import METHODS  # noqa: E402


def economic_change(page: Page, utilisation: str) -> dict[str, float]:
    page.values[(FIELD_BY_KEY["workload.utilisation"].id, "value")] = utilisation
    changed = FIELD_BY_KEY["workload.utilisation"].id + ".value"
    times = {"sync": page.post("url.search", changed)[0], "check": page.post(FIELDS[0].id + "-msg.children",
                                                                             changed)[0]}
    times["economics"] = page.post("kpi-be-price.children", "econ-input.data")[0]
    times["total"] = sum(times.values())
    return times


def simulation_run(page: Page, state: dict[str, str], method: str, paths: int, seed: int) -> float:
    page.values[("sim-input", "data")] = {**{k: v for k, v in state.items() if k not in RENTAL_KEYS},
                                          "sim.method": method, "sim.paths": str(paths), "sim.seed": str(seed)}
    if method == "historical":  # the real path from [finance] start must end within the price history
        page.values[("sim-input", "data")]["finance.horizon_days"] = "300"
    elapsed, answer = page.post("sim-table.children", "sim-input.data")
    assert "sim-table" in answer, f"{method}: {answer.get('sim-status')}"
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs of each measurement (median and best shown)")
    parser.add_argument("--paths", type=int, default=2000, help="paths of the simulation (default 2000)")
    args = parser.parse_args()
    scenario = load_scenario(example_scenarios()["h100_nvl_owned"])
    state = state_from_scenario(scenario)
    started = time.perf_counter()
    app = create_app()
    print(f"python {platform.python_version()}, {platform.machine()}; app built in "
          f"{time.perf_counter() - started:.2f} s")
    warm_up(scenario)
    page = Page(app, state)
    economic_change(page, "0.5")  # first requests: imports, caches
    simulation_run(page, state, "bootstrap", args.paths, 0)

    runs = [economic_change(page, f"{0.40 + 0.01 * i:.2f}") for i in range(args.repeats)]
    print(f"\nan economic input changed (utilisation), server time over {args.repeats} changes (target < 300 ms):")
    for part in ("sync", "check", "economics", "total"):
        values = [r[part] * 1000 for r in runs]
        print(f"  {part:<10} median {statistics.median(values):7.1f} ms   best {min(values):7.1f} ms")

    print(f"\na {args.paths:,}-path simulation, server time (target < 1.5 s), {args.repeats} runs each:")
    for method in METHODS:
        label = {"historical": "historical (the one real path, 300 days)",
                 "rolling": "rolling (every historical start)"}.get(method, method)
        values = [simulation_run(page, state, method, args.paths, seed) for seed in range(1, args.repeats + 1)]
        print(f"  {label:<48} median {statistics.median(values):6.2f} s   best {min(values):6.2f} s")


if __name__ == "__main__":
    main()
