"""``cocoon-econ report``: build the HTML report."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(commands: argparse._SubParsersAction, fetch_commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("report", help="build the self-contained HTML report (opens offline)")
    p.add_argument("--scenario", action="append", type=Path, default=None, metavar="FILE",
                   help="scenario TOML file (repeatable); default: the shipped examples (cocoon-econ init --list)")
    p.add_argument("--out", type=Path, default=Path("reports/report.html"), metavar="PATH",
                   help="output HTML path (default: reports/report.html)")
    p.add_argument("--sweep", type=Path, default=None, metavar="PARQUET",
                   help="add a section for a sweep's results (the --out of cocoon-econ sweep): heat maps and a "
                        "tornado of what moves net USD")
    p.add_argument("--currency", default=None, metavar="CODE",
                   help="fiat currency of every amount, axis and table, any ECB reference currency (default USD); "
                        "the scenarios' costs converted at their start day's ECB rate")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import gc
    import importlib

    from analysis.cli.jit_start import prepare_kernels

    prepare_kernels()   # before anything compiled is loaded

    from analysis.cli.staleness import warn_if_stale
    from analysis.report import SECTION_MODULES, build_report

    for name in SECTION_MODULES:
        importlib.import_module(name)
    # The modules just imported (pandas, numba, plotly: most of the heap) are kept out of the build's
    # garbage collections, which otherwise walk them again each time; the report is the same.
    gc.freeze()
    try:
        path = build_report(out=args.out, scenario_files=args.scenario, sweep_file=args.sweep,
                            currency=args.currency)
    finally:
        gc.unfreeze()
    print(f"wrote {path}")
    warn_if_stale("ton")  # the summary says it too; said here so a script sees it (issue 13)
    return 0
