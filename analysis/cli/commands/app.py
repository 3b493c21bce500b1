"""``cocoon-econ app``: the what-if page in the browser (:mod:`analysis.app`; Dash is imported
only when the command runs, so ``cocoon-econ --help`` stays fast)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def register(commands: argparse._SubParsersAction, fetch_commands: argparse._SubParsersAction) -> None:
    """Add ``app``."""
    p = commands.add_parser(
        "app", help="the what-if page in the browser: change inputs, see break-even, risk and renting at once",
        description="Serve an interactive page (Dash) on this machine: the scenario's inputs on the left; "
                    "break-even, monthly profit, payback, the simulated strategies and the comparison with "
                    "renting the GPU on the right, recomputed on every change. The URL holds the whole state "
                    "(share or bookmark it); the page downloads the scenario as TOML and the results as CSV. "
                    "Everything is served locally: it works offline.")
    p.add_argument("--scenario", type=Path, default=None, metavar="FILE",
                   help="scenario TOML to start from (default: the shipped example h100_nvl_owned)")
    p.add_argument("--port", type=_port, default=8050, metavar="N", help="port to listen on (default 8050; 0: any free)")
    p.add_argument("--host", default="127.0.0.1", metavar="ADDR",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.set_defaults(func=run_app)


def run_app(args: argparse.Namespace) -> int:
    from analysis.core.errors import InputError

    if args.scenario is not None:  # a bad file is one line before Dash is even imported
        from analysis.econ.scenario import load_scenario

        load_scenario(args.scenario)
    if args.host not in LOCAL_HOSTS:
        print(f"cocoon-econ app: warning: --host {args.host} makes the page reachable from other machines; it has "
              "no login and runs simulations on request. Use 127.0.0.1 unless you mean it.", file=sys.stderr)
    try:
        from analysis.app.server import run
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in ("dash", "flask", "werkzeug"):
            raise
        raise InputError(f"the app needs Dash ({exc.name} is missing); install it with "
                         "pip install 'cocoon-econ[app]'") from None
    try:
        run(args.scenario, args.host, args.port)
    except KeyboardInterrupt:
        print("cocoon-econ app: stopped", file=sys.stderr)
    return 0


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--port = {text!r} is not a whole number; use e.g. 8050") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"--port = {value} is out of range; use 1-65535 (0: any free port)")
    return value
