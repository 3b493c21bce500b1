"""Benchmark: what a user waits for -- the CLI end to end, each command as its own process.

    .venv/bin/python benchmarks/cli.py                    # 100k x 365, 5 runs each
    .venv/bin/python benchmarks/cli.py --paths 20000 --runs 3 --skip-report
    .venv/bin/python benchmarks/cli.py --big              # also 1M x 1825 once: peak memory

For each command: the median wall time of ``--runs`` runs with the spread (min..max) and the
peak resident memory of the process (``wait4``'s ``ru_maxrss``). ``simulate`` is set against its
method's two floors run the same way, as processes: interpreter start, ``import numpy`` and the
method's price paths in numpy (the paths floor, issue 20's targets) or only its random draws (the
stricter draws floor), :mod:`benchmarks.floors`, on as many threads as ``simulate`` uses.
Targets are printed next to the figures, never asserted. Run it on an idle machine; on a shared
one compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.core.resources import SCENARIO_DIR  # noqa: E402
from benchmarks.floors import Timing  # noqa: E402

TARGETS = {"gbm": 2.0, "bootstrap": 2.5, "garch": 2.0}


def run_process(argv: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB and exit code of one process."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss / 1024, proc.returncode


def measure(label: str, argv: list[str], runs: int) -> tuple[Timing, float]:
    times, peak = [], 0.0
    for _ in range(runs):
        elapsed, rss, code = run_process(argv)
        if code != 0:
            raise SystemExit(f"{label}: exit {code}: {' '.join(argv)}")
        times.append(elapsed)
        peak = max(peak, rss)
    timing = Timing(tuple(times))
    print(f"  {label:<44}{timing.text()}  peak {peak:7,.0f} MB", flush=True)
    return timing, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paths", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=5, help="runs per command (median and spread; default 5)")
    parser.add_argument("--methods", default="gbm,bootstrap,garch", help="simulate methods to time ('' for none)")
    parser.add_argument("--scenario", type=Path, default=SCENARIO_DIR / "hgx_h100_8x_colo.toml")
    parser.add_argument("--skip-report", action="store_true", help="do not time the report")
    parser.add_argument("--big", action="store_true", help="also run 1,000,000 x 1,825 once (peak memory)")
    parser.add_argument("--skip-startup", action="store_true", help="do not time --help and breakeven")
    args = parser.parse_args(argv)

    py = sys.executable
    cli = [py, "-m", "analysis"]
    workers = os.cpu_count() or 1
    print(f"cocoon-econ CLI benchmark: {args.paths:,} paths x {args.days} days, {args.runs} runs each, "
          f"{workers} core(s), python {sys.version.split()[0]}")
    print(f"  load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    # Bytecode as an installed copy has it (pip compiles a wheel's modules; an editable checkout run with
    # PYTHONDONTWRITEBYTECODE would compile about 60 modules from source in every process, ~0.08 s).
    subprocess.run([py, "-m", "compileall", "-q", str(ROOT / "analysis")], check=True, stdout=subprocess.DEVNULL)
    kernels = subprocess.run(cli + ["kernels", "status"], capture_output=True, text=True).stdout.strip()
    print("  kernels: " + "; ".join(kernels.splitlines()))
    for method in filter(None, args.methods.split(",")):  # warm the numba cache and the page cache
        run_process(cli + ["simulate", "--scenario", str(args.scenario), "--method", method, "--paths", "64",
                           "--horizon-days", "30", "--seed", "1"])
    helped = be = None
    if not args.skip_startup:
        print("start-up")
        measure("python -c pass (the interpreter alone)", [py, "-c", "pass"], args.runs)
        helped, _ = measure("cocoon-econ --help", cli + ["--help"], args.runs)
        be, _ = measure("cocoon-econ breakeven", cli + ["breakeven", "--scenario", str(args.scenario)], args.runs)
    print(f"simulate, every strategy, against the method's floors as processes ({workers} thread(s))")
    ratios = {}
    for method in filter(None, args.methods.split(",")):
        floors = {kind: measure(f"floor {method}: python + numpy + the {what}",
                                [py, "-m", "benchmarks.floors", method, str(args.paths), str(args.days), str(workers),
                                 kind], args.runs)[0]
                  for kind, what in (("paths", "price paths"), ("draws", "draws"))}
        sim, peak = measure(f"simulate --method {method}",
                            cli + ["simulate", "--scenario", str(args.scenario), "--method", method, "--paths",
                                   str(args.paths), "--horizon-days", str(args.days), "--seed", "1", "--json"],
                            args.runs)
        ratios[method] = (sim.median / floors["paths"].median, sim.median / floors["draws"].median, peak)
    report = None
    if not args.skip_report:
        with tempfile.TemporaryDirectory() as tmp:
            report, _ = measure("cocoon-econ report (what make report runs)",
                                cli + ["report", "--out", str(Path(tmp) / "report.html")], args.runs)
    big = None
    if args.big:
        print("1,000,000 paths x 1,825 days, gbm, once")
        _, big = measure("simulate --method gbm 1M x 1825", cli + [
            "simulate", "--scenario", str(args.scenario), "--method", "gbm", "--paths", "1000000",
            "--horizon-days", "1825", "--seed", "1", "--json"], 1)

    print()
    print("figures (medians; targets printed, not asserted)")
    if helped is not None and be is not None:
        print(f"  --help                              {helped.median:6.2f} s        (target <= 0.25 s)")
        print(f"  breakeven                           {be.median:6.2f} s        (target <= 0.5 s)")
    for method, (ratio, strict, peak) in ratios.items():
        print(f"  simulate {method:<10} / paths floor    {ratio:6.2f}x        (target <= {TARGETS[method]:.1f}x)"
              f"   / draws floor {strict:5.2f}x   peak {peak:,.0f} MB")
    if report is not None:
        print(f"  report                              {report.median:6.2f} s        (target <= 5 s)")
    if big is not None:
        print(f"  1M x 1825 peak memory               {big:6,.0f} MB       (target <= 1,229 MB = 1.2 GB)")
    print(f"  load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
