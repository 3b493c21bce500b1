"""Start-up: building the parser and ``--help`` import no heavy library; the parser's spelled-out
choices equal the library's tables. (Timings are measured in benchmarks/startup.py, not here.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from analysis.chain import contracts, readings
from analysis.cli.commands import chain as chain_cli
from analysis.cli.commands import prices as prices_cli
from analysis.cli.commands import rates as rates_cli
from analysis.core.resources import SCENARIO_DIR
from analysis.market import prices, rates

HEAVY = ("pandas", "numpy", "numba", "scipy", "arch", "statsmodels", "requests", "pytoniq_core", "tqdm",
         "plotly", "pyarrow")


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport json, sys; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ}).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_building_the_parser_imports_nothing_heavy():
    loaded = _modules_after("from analysis.cli.main import build_parser; build_parser()")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_help_imports_nothing_heavy():
    code = ("import contextlib, io\nfrom analysis.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main(['--help'])\n    except SystemExit:\n        pass")
    loaded = _modules_after(code)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_breakeven_path_imports_no_scipy_numba_or_requests():
    loaded = _modules_after("import analysis.econ.metrics, analysis.market.prices")
    assert not loaded & {"scipy", "numba", "arch", "statsmodels", "requests", "tqdm"}


#: What `cocoon-econ breakeven` must not import (issue 20: pandas alone was half its start-up).
NOT_IN_BREAKEVEN = {"pandas", "pyarrow", "requests", "urllib3", "scipy", "numba", "arch", "statsmodels", "tqdm",
                    "plotly"}


def _breakeven_modules(*argv: str) -> tuple[set[str], str]:
    """The top-level modules loaded after ``main(["breakeven", *argv])`` in a fresh interpreter, and its stdout."""
    code = ("import contextlib, io, sys\nfrom analysis.cli.main import main\nout = io.StringIO()\n"
            f"with contextlib.redirect_stdout(out):\n    code = main(['breakeven', *{list(argv)!r}])\n"
            "assert code == 0, code\nprint(json.dumps(out.getvalue()))")
    probe = ("import json\n" + code
             + "\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    lines = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                           env={**os.environ}).stdout.splitlines()
    return set(json.loads(lines[-1])), json.loads(lines[-2])


@pytest.mark.parametrize("extra", [[], ["--json"], ["--utilisation", "observed"], ["--utilisation", "observed",
                                                                                    "--json"]])
def test_breakeven_imports_no_pandas_requests_scipy_or_numba(extra):
    scenario = str(SCENARIO_DIR / "hgx_h100_8x_colo.toml")   # the scenario benchmarks/cli.py times
    loaded, out = _breakeven_modules("--scenario", scenario, *extra)
    assert not loaded & NOT_IN_BREAKEVEN, sorted(loaded & NOT_IN_BREAKEVEN)
    if "--json" in extra:
        summary = json.loads(out)
        assert summary["ton_usd_origin"].startswith("snapshot") and summary["currency"] == "USD"
    else:
        assert "Break-even TON price:" in out and "(close of " in out
    assert ("observed on the network" in out or '"utilisation_origin": "observed"' in out) == ("observed" in extra)


@pytest.mark.parametrize("currency", ["EUR", "JPY"])
def test_breakeven_in_another_currency_imports_no_pandas_either(currency):
    # the ECB rate of the start day and of the latest close's day are read with csv too
    loaded, out = _breakeven_modules("--scenario", str(SCENARIO_DIR / "hgx_h100_8x_colo.toml"), "--currency",
                                     currency, "--json")
    assert json.loads(out)["currency"] == currency
    assert not loaded & NOT_IN_BREAKEVEN, sorted(loaded & NOT_IN_BREAKEVEN)


def test_spelled_out_choices_equal_the_library():
    assert prices_cli.PRICE_SOURCES == tuple(prices.PRICE_SOURCES)
    assert prices_cli.ASSETS == tuple(prices.ASSETS)
    assert prices_cli.FUNDING_SOURCES == tuple(prices.FUNDING_SOURCES)
    assert rates_cli.SOURCES == tuple(rates.SOURCES)
    assert chain_cli.APIS == tuple(readings.APIS)
    assert chain_cli.OWNER_ENV == readings.OWNER_ENV
    assert chain_cli.MAINNET_ROOT == contracts.MAINNET_ROOT


def test_console_script_returns_mains_code_and_freezes_the_heap_for_exit():
    # console_main skips the interpreter's exit walk over every object (issue 20): the same exit
    # code as main, through python -m analysis as through the installed script.
    code = ("import gc, sys\nfrom analysis.cli.main import console_main\nsys.argv = ['cocoon-econ', 'init', '--list']\n"
            "rc = console_main()\nprint(rc, gc.get_freeze_count() > 0)\nsys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ})
    assert done.returncode == 0 and done.stdout.splitlines()[-1] == "0 True"
    bad = subprocess.run([sys.executable, "-m", "analysis", "breakeven"], capture_output=True, text=True,
                         env={**os.environ})
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "--scenario" in bad.stderr


def _simulate_in_fresh_process(prelude: str, *argv: str) -> tuple[set[str], str, str]:
    code = (f"{prelude}\nimport contextlib, io, json, sys\nfrom analysis.cli.main import main\n"
            "out, err = io.StringIO(), io.StringIO()\n"
            f"with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):\n"
            f"    code = main(['simulate', *{list(argv)!r}])\n"
            "assert code == 0, (code, err.getvalue())\n"
            "print(json.dumps([out.getvalue(), err.getvalue(), sorted({m.split('.')[0] for m in sys.modules})]))")
    lines = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ}).stdout.splitlines()
    out, err, mods = json.loads(lines[-1])
    return set(mods), out, err


@pytest.mark.parametrize("extra", [["--method", "historical"], ["--currency", "EUR"]])
def test_simulate_loads_pandas_without_pyarrow_and_prints_the_same(extra):
    # pyarrow (the sweep extra) is ~0.08 s of pandas' import and no simulation uses an Arrow type; random
    # paths in USD import no pandas at all (tests/test_simulate_plain.py)
    argv = ("--scenario", str(SCENARIO_DIR / "hgx_h100_8x_colo.toml"), "--paths", "500", "--horizon-days", "90",
            "--seed", "3", "--json", *extra)
    lean, out, err = _simulate_in_fresh_process("", *argv)
    assert "pandas" in lean and "pyarrow" not in lean
    full, out_full, err_full = _simulate_in_fresh_process("import pyarrow, pandas", *argv)
    assert "pyarrow" in full
    assert (out, err) == (out_full, err_full) and json.loads(out)
