"""Issue 13, property-based: generated scenario files and CLI arguments give either one error line
and exit 2, or exit 0 with finite numbers -- never a traceback, never a hang.

Bounded to stay well under a minute: 100 generated scenarios, 60 generated argument sets.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import io
import json
import re
import tempfile
from pathlib import Path

import pytest
from econ_support import BASE, scenario_toml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from analysis.cli.main import main

pytestmark = pytest.mark.timeout(240)

# Numbers the way a careless or hostile user types them: huge, tiny, negative, NaN, infinite.
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e6, max_value=1e6),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([0, 1, -1, 1e308, -1e308, 1e-300, 5e-324, 0.9999999, -0.9999999, 2**63, 2**64]),
)
VALUES = st.one_of(
    NUMBERS, NUMBERS, NUMBERS,
    st.booleans(),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126, exclude_characters='"\\'), max_size=8),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
)
FIELDS = [(table, key) for table, keys in BASE.items() if isinstance(keys, dict) for key in keys]
FIELDS += [("finance", "horizon_days"), ("treasury", "strategy"), ("treasury", "hedge_ratio"),
           ("pricing", "mode"), ("network", "name"), ("hardware", "already_owned"), ("hardware", "gpus")]


@st.composite
def scenarios(draw) -> str:
    mapping = copy.deepcopy(BASE)
    mapping["finance"]["start"] = dt.date(2025, 1, 1)
    for table, key in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=4, unique=True)):
        if draw(st.integers(0, 9)) == 0:
            mapping.get(table, {}).pop(key, None)                 # a missing key
        else:
            mapping.setdefault(table, {})[key] = draw(VALUES)
    text = scenario_toml(mapping)
    if draw(st.integers(0, 9)) == 0:
        text = "\ufeff" + text                                     # a byte-order mark
    return text


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)      # an exception escaping here is a traceback: the test fails
    return code, out.getvalue(), err.getvalue()


_NON_FINITE = re.compile(r"(?<![A-Za-z_])(nan|inf|-inf|infinity)(?![A-Za-z_])", re.IGNORECASE)


def _check(code: int, out: str, err: str, argv: list[str]) -> None:
    event(f"exit {code}")
    assert "Traceback" not in out + err, argv
    if code == 0:
        assert not _NON_FINITE.search(out), (argv, out)           # a finite result only
        return
    errors = [line for line in err.splitlines() if line.startswith("cocoon-econ")]
    assert code in (1, 2) and len(errors) == 1, (argv, code, err)
    assert code == 2 or "cocoon-econ: error:" in errors[0], (argv, err)


@settings(max_examples=100, deadline=dt.timedelta(seconds=20), derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=scenarios(), command=st.sampled_from(["breakeven", "breakeven-json", "compare", "ledger"]))
def test_generated_scenario_files_give_one_line_or_a_finite_result(text, command):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.toml"
        path.write_text(text, encoding="utf-8")
        if command == "ledger":
            argv = ["ledger", "--scenario", str(path), "--out", str(Path(folder) / "l.csv")]
        elif command == "breakeven-json":
            argv = ["breakeven", "--scenario", str(path), "--json", "--ton-usd", "1.5"]
        else:
            argv = [command, "--scenario", str(path)]
        code, out, err = _run(argv)
        _check(code, out, err, argv)
        if code == 0 and command == "breakeven-json":
            json.loads(out.splitlines()[-1])                       # strict JSON: no NaN


ARG_NUMBERS = st.one_of(st.sampled_from(["0", "-1", "nan", "inf", "1e308", "1e-300", "abc", "", "3", "40", "1000"]),
                        st.floats(allow_nan=False, allow_infinity=False).map(repr),
                        st.integers(-(10**6), 10**14).map(str),
                        st.floats(min_value=0.05, max_value=3.0).map(repr),      # plausible prices and rates
                        st.integers(30, 400).map(str))                           # plausible windows


@st.composite
def simulate_args(draw) -> list[str]:
    argv = ["simulate", "--scenario", str(Path(__file__).resolve().parent.parent / "data" / "scenarios" /
                                          "h200_single.toml"),
            "--method", draw(st.sampled_from(["gbm", "bootstrap", "historical"])), "--seed", "1", "--workers", "1"]
    # Small runs when valid (the suite stays fast), absurd ones to be refused before they start.
    small_paths, small_days = st.integers(1, 40).map(str), st.integers(1, 60).map(str)
    argv += ["--paths", draw(st.one_of(small_paths, small_paths, small_paths, st.integers(10**11, 10**15).map(str),
                                       st.sampled_from(["0", "-5", "x"])))]
    argv += ["--horizon-days", draw(st.one_of(small_days, small_days, small_days, st.integers(10**9, 10**12).map(str),
                                              st.sampled_from(["0", "1.5"])))]
    for flag in draw(st.lists(st.sampled_from(["--start-price", "--drift-annual", "--vol-annual", "--window-days"]),
                              max_size=3, unique=True)):
        argv += [flag, draw(ARG_NUMBERS)]
    if draw(st.booleans()):
        argv.append("--json")
    return argv


@settings(max_examples=60, deadline=dt.timedelta(seconds=30), derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(argv=simulate_args())
def test_generated_simulate_arguments_give_one_line_or_a_finite_result(argv):
    code, out, err = _run(argv)
    _check(code, out, err, argv)
    if code == 0 and "--json" in argv:
        json.loads(out)
