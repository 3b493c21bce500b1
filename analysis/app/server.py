"""Build the Dash app and serve it (``cocoon-econ app``).

Everything the browser loads comes from this server: Dash's own bundles and plotly.js
(``serve_locally=True``) and the page's stylesheet (``assets/``), so the page works offline.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from dash import Dash

from analysis.app import callbacks
from analysis.app.layout import page
from analysis.app.state import state_from_scenario
from analysis.core.errors import InputError
from analysis.core.resources import example_scenarios
from analysis.econ.scenario import Scenario, load_scenario

ASSETS = Path(__file__).with_name("assets")
DEFAULT_EXAMPLE = "h100_nvl_owned"


def create_app(scenario_path: str | Path | None = None) -> Dash:
    """The app, its inputs prefilled from ``scenario_path`` (default: the shipped
    ``h100_nvl_owned`` example)."""
    examples: dict[str, Any] = dict(example_scenarios())
    if scenario_path is None:
        scenario = load_scenario(examples[DEFAULT_EXAMPLE])
        chosen = DEFAULT_EXAMPLE
    else:
        scenario = load_scenario(scenario_path)
        chosen = f"file: {Path(scenario_path).name}"
        examples = {chosen: Path(scenario_path), **examples}
    labels = {name: (name if name.startswith("file: ") else f"example: {load_scenario(path).name}")
              for name, path in examples.items()}
    base = state_from_scenario(scenario)
    app = Dash(__name__, title="cocoon-econ what-if", serve_locally=True, assets_folder=str(ASSETS),
               update_title="", compress=False)
    app.layout = page(base, labels, chosen)
    callbacks.register(app, base, examples)
    return app


def warm_up(scenario: Scenario) -> None:
    """Run a one-path simulation so the compiled kernels are loaded before the first page asks."""
    from analysis.sim.simulation import simulate

    try:
        simulate(scenario, "bootstrap", 1, 5, 0)
    except Exception as exc:  # the page shows the real error when it asks
        logging.getLogger("analysis.app").debug("warm-up failed: %s", exc)


def serve(app: Dash, host: str = "127.0.0.1", port: int = 8050, out=sys.stdout) -> None:
    """Serve ``app`` until interrupted (a threaded WSGI server; ``port`` 0 picks a free one)."""
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    # Bind here, so a taken port or a bad address is one line (werkzeug would print and exit).
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        raise InputError(f"--host {host} --port {port}: cannot listen there ({exc.strerror or exc}); "
                         "choose another --port (or --port 0 for any free one) or --host 127.0.0.1") from None
    server = make_server(host, sock.getsockname()[1], app.server, threaded=True, fd=sock.fileno())
    sock.close()  # the server holds its own duplicate of the descriptor
    shown = f"[{host}]" if ":" in host else host
    print(f"cocoon-econ app: serving http://{shown}:{server.port}/ (Ctrl+C to stop)", file=out, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


def run(scenario_path: str | Path | None = None, host: str = "127.0.0.1", port: int = 8050, out=sys.stdout) -> None:
    """``cocoon-econ app``: build, warm up in the background, serve."""
    app = create_app(scenario_path)
    scenario = load_scenario(scenario_path) if scenario_path is not None else \
        load_scenario(example_scenarios()[DEFAULT_EXAMPLE])
    threading.Thread(target=warm_up, args=(scenario,), daemon=True).start()
    serve(app, host, port, out)
