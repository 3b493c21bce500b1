"""``cocoon-econ kernels build|status``: the simulation kernels compiled ahead of time.

Without a built library every simulating process imports numba and loads its cached kernels (about
0.6 s each time, and 3-5 s to compile them on a machine's first run); with one it loads machine code
with ctypes in about a millisecond (:mod:`analysis.core.compiled`). ``make install`` runs
``kernels build``; run it again after an upgrade (the library of an edited kernel module has
another name, and until it is built numba's kernels run, with the same numbers).
"""

from __future__ import annotations

import argparse
import json


def register(commands: argparse._SubParsersAction, fetch_commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "kernels", help="build the simulation kernels ahead of time, or show whether they are built",
        description="The simulation's compiled kernels: 'build' compiles them once into a shared library "
                    "beside the package (needs a C compiler, $CC or cc), so that simulate and report start "
                    "without importing numba; 'status' shows which library each module uses. The numbers "
                    "are the same either way.")
    what = p.add_subparsers(dest="kernels_what", metavar="WHAT", parser_class=type(p))
    what.required = True
    build = what.add_parser("build", help="compile the kernels into a shared library (a few seconds, once)")
    build.add_argument("--force", action="store_true", help="compile again even when the library is there")
    build.set_defaults(func=run_build)
    status = what.add_parser("status", help="which kernels run: a built library or numba's JIT")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(func=run_status)


def run_build(args: argparse.Namespace) -> int:
    from analysis.cli.jit_start import kernel_sets
    from analysis.core.aot import build

    for holder, kernels in kernel_sets():
        if args.force or not kernels.library_path().is_file():
            print(f"building {kernels.module} ...", flush=True)
        result = build(holder, kernels, force=args.force)
        if result.built:
            print(f"built {result.module} in {result.seconds:.1f} s: {result.path}")
        else:
            print(f"already built {result.module}: {result.path}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    from analysis.cli.jit_start import kernel_sets
    from analysis.core.compiled import KERNELS_ENV, kernels_mode

    mode = kernels_mode()
    rows = []
    for _, kernels in kernel_sets():
        path = kernels.library_path()
        built = path.is_file()
        loads = built and mode == "auto" and kernels.library() is not None
        rows.append({"module": kernels.module, "library": str(path), "built": built,
                     "runs": "library" if loads else "numba", "kernels": sorted(kernels.specs)})
    if args.json:
        print(json.dumps({"mode": mode, "modules": rows}, indent=2))
        return 0
    for row in rows:
        if row["runs"] == "library":
            print(f"{row['module']}: compiled library {row['library']}")
        elif row["built"] and mode == "numba":
            print(f"{row['module']}: numba's JIT ({KERNELS_ENV}={mode}); a library is built at {row['library']}")
        elif row["built"]:
            print(f"{row['module']}: numba's JIT (the library {row['library']} does not load; "
                  "build it again with: cocoon-econ kernels build --force)")
        else:
            print(f"{row['module']}: numba's JIT (no library for this source and CPU; "
                  "build one with: cocoon-econ kernels build)")
    return 0
