"""``cocoon-econ sweep``: a thin wrapper over :func:`analysis.sweep.run.run_sweep`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.cli.commands.simulate import _at_least_one


def register(commands: argparse._SubParsersAction, fetch_commands: argparse._SubParsersAction) -> None:
    """Add ``sweep``."""
    p = commands.add_parser(
        "sweep", help="simulate every variant of a scenario in a grid, on Dask, into Parquet",
        description="Run a grid of scenario variants (GRID.toml: a base scenario, [axes] of dotted fields or "
                    "[[cells]], [simulation]) through `simulate` on a Dask LocalCluster, an existing scheduler, or "
                    "in process. Every cell is validated first; each finished cell is written at once, so an "
                    "interrupted sweep keeps what finished and --resume runs only what is missing. "
                    "See docs/sweeps.md.")
    p.add_argument("--grid", required=True, type=Path, metavar="GRID.toml", help="grid TOML file")
    p.add_argument("--scheduler", default="local", metavar="local|inprocess|tcp://HOST:8786",
                   help="local: a LocalCluster of worker processes on this machine (default); inprocess: a plain "
                        "loop, no Dask; or the address of a running `dask scheduler`")
    p.add_argument("--workers", type=_at_least_one("--workers"), default=None, metavar="N",
                   help="worker processes of the LocalCluster (default: one per core)")
    p.add_argument("--threads-per-worker", type=_at_least_one("--threads-per-worker"), default=None, metavar="T",
                   help="cells each LocalCluster worker runs side by side (default: the cores divided among the "
                        "workers); each simulation uses the cores left per thread")
    p.add_argument("--out", type=Path, default=None, metavar="PATH",
                   help="Parquet file to write (default: <grid name>.parquet in the current folder)")
    p.add_argument("--resume", action="store_true",
                   help="complete the sweep already at --out: run only the cells without results")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (default: shown on a terminal)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from analysis.sweep.grid import load_grid
    from analysis.sweep.results import parts_dir
    from analysis.sweep.run import run_sweep

    grid = load_grid(args.grid)  # every cell validated before anything runs
    out = args.out if args.out is not None else Path(f"{args.grid.stem}.parquet")
    sim = grid.simulation

    def started(report) -> None:  # once everything is checked: the notes, then what runs where
        for note in grid.base.notes:
            print(f"note: {note}", file=sys.stderr)
        todo = report.cells - report.done_before
        print(f"{grid.name}: {report.cells} cell(s) x {len(sim.strategies)} strategies of {grid.base.name} "
              f"({grid.base.path}); {sim.method}, {sim.paths} path(s) x "
              f"{sim.horizon_days or grid.base.finance.horizon_days} days; {todo} to run"
              + (f", {report.done_before} already done" if report.done_before else "")
              + f"; engine: {report.engine}", file=sys.stderr)

    try:
        report = run_sweep(grid, out, scheduler=args.scheduler, workers=args.workers,
                           threads_per_worker=args.threads_per_worker, resume=args.resume,
                           progress=False if args.no_progress else None, on_start=started)
    except KeyboardInterrupt:
        print(f"cocoon-econ sweep: interrupted; every finished cell is kept in {parts_dir(out)}; run the same "
              "command with --resume to complete it", file=sys.stderr)
        return 130
    m = report.manifest
    history = ", ".join(f"{asset.upper()} closes {v['first']} .. {v['last']} ({v['origin']})"
                        for asset, v in m["market"].items() if asset != "funding")
    seeds = ("every cell on the same paths ([simulation] same_paths)" if sim.same_paths
             else "cell i runs with SeedSequence(seed, spawn_key=(i,)), its seed column")
    print(f"history: {history}; seed {report.seed} ({seeds})")
    print(f"wrote {out}: {report.rows} row(s) = cells x strategies; {report.ran} cell(s) run now, "
          f"{report.done_before} already there, {report.cells} in the grid, {report.seconds:.1f} s")
    if report.failed:
        print(f"cocoon-econ sweep: {len(report.failed)} cell(s) failed twice and are missing: "
              + "; ".join(f"cell {f.index} ({f.label})" for f in report.failed[:5])
              + (" ..." if len(report.failed) > 5 else "") + "; run again with --resume to retry them",
              file=sys.stderr)
        return 1
    return 0

