"""Command-line interface: argument parsing and exit codes only; no economics here.

Each command lives in :mod:`analysis.cli.commands` and registers itself through
``register(commands, fetch_commands)``. Errors become one line on stderr:
exit code 2 for bad input, 1 for a failed fetch, 0 otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from analysis import __version__
from analysis.core.errors import CocoonEconError

PROG = "cocoon-econ"
# One module per area; each adds its subcommands.
COMMAND_MODULES = (
    "analysis.cli.commands.prices",     # fetch prices, fetch funding, data status
    "analysis.cli.commands.rates",      # fetch rates, rates
    "analysis.cli.commands.economics",  # breakeven, ledger
    "analysis.cli.commands.simulate",   # simulate
    "analysis.cli.commands.compare",    # compare
    "analysis.cli.commands.throughput",  # throughput import, throughput show
    "analysis.cli.commands.chain",      # chain params, chain payouts, reconcile
    "analysis.cli.commands.report",     # report
    "analysis.cli.commands.init",       # init
    "analysis.cli.commands.app",        # app (Dash, imported only when it runs)
    "analysis.cli.commands.sweep",      # sweep
    "analysis.cli.commands.kernels",    # kernels build, kernels status
)


class UsageError(Exception):
    """Raised by the parser instead of printing usage and exiting."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (``cocoon-econ: error: ...``), exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def build_parser() -> Parser:
    parser = Parser(prog=PROG, description="Economics of serving AI inference on COCOON (TON) and Render.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    fetch = commands.add_parser("fetch", help="fetch data from a remote source")
    fetch_commands = fetch.add_subparsers(dest="fetch_what", metavar="WHAT", parser_class=Parser)
    fetch_commands.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands, fetch_commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help(sys.stderr)
            return 2
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except CocoonEconError as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; cached data is unchanged", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
        _silence_stdout()
        return 0
    except OSError as exc:
        # A write that failed after every check passed (disk full, permission changed): one line.
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"{PROG}: error: cannot complete{where}: {_one_line(exc.strerror or exc)}", file=sys.stderr)
        return 1
    except MemoryError:
        print(f"{PROG}: error: out of memory; use fewer --paths or a shorter --horizon-days", file=sys.stderr)
        return 1


def console_main() -> int:
    """The ``cocoon-econ`` console script and ``python -m analysis``: :func:`main`, then every object
    of the finished process frozen (:func:`gc.freeze`), so that the interpreter's exit collections do
    not walk them all again -- 0.4-1 s after a report (numba's, pandas' and plotly's objects), for
    memory the exit frees anyway. ``atexit`` handlers and output flushing still run."""
    code = main()
    import gc

    gc.freeze()
    return code


def _silence_stdout() -> None:
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _one_line(exc: BaseException | str) -> str:
    # The last line of defence: no configured key value and no URL password reaches the terminal.
    from analysis.sources.http import redact_text

    return redact_text(" ".join(str(exc).split()))


if __name__ == "__main__":
    sys.exit(console_main())
