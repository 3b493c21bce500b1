"""The kernels compiled ahead of time (analysis.core.compiled, analysis.core.aot; issue 20: start-up).

A library built by numba's AOT compiler must give the jitted kernels' bits on every kernel, load
without importing numba, fall back to numba for what it cannot take (and when damaged or switched
off), and raise what the jitted kernel raises.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis.cli.jit_start import kernel_sets
from analysis.cli.main import main
from analysis.core import aot
from analysis.core.compiled import KERNELS_DIR_ENV, KERNELS_ENV, KernelSet
from analysis.econ.scenario import load_scenario, scenario_with
from analysis.sim.simulation import simulate
from analysis.sim.strategies import STRATEGY_NAMES

REPO = Path(__file__).resolve().parent.parent
HGX = REPO / "data" / "scenarios" / "hgx_h100_8x_colo.toml"
STRATEGIES = list(STRATEGY_NAMES)   # every policy, so every kind of the scan


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Both libraries, built for this test run into a folder of their own."""
    if aot.compiler() is None:
        pytest.skip("no C compiler to link the kernels")
    folder = tmp_path_factory.mktemp("kernels")
    for holder, kernels in kernel_sets():
        result = aot.build(holder, kernels, force=True, directory=folder)
        assert result.built and result.path.parent == folder and result.path.is_file()
    return folder


def _fresh(kernels: KernelSet, monkeypatch, folder: Path, mode: str) -> KernelSet:
    monkeypatch.setenv(KERNELS_DIR_ENV, str(folder))
    monkeypatch.setenv(KERNELS_ENV, mode)
    fresh = KernelSet(kernels.module, kernels.specs, kernels.depends)
    fresh.library()       # the environment is read here, once
    return fresh


@pytest.fixture
def pair(built, monkeypatch):
    """(library kernels, numba kernels) of each module, keyed by the module."""
    out = {}
    for _, kernels in kernel_sets():
        lib = _fresh(kernels, monkeypatch, built, "auto")
        jit = _fresh(kernels, monkeypatch, built, "numba")
        assert lib.library() is not None and jit.library() is None
        out[kernels.module] = (lib, jit)
    monkeypatch.delenv(KERNELS_ENV)
    return out


def test_every_spec_has_one_code_per_parameter():
    import importlib

    for _, kernels in kernel_sets():
        module = importlib.import_module(kernels.module)
        for name, codes in kernels.specs.items():
            params = inspect.signature(getattr(module, name).py_func).parameters
            assert len(params) == len(codes), name


def _bits(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a).tobytes()


def test_the_numeric_kernels_give_numbas_bits(pair):
    lib, jit = pair["analysis.core.numeric_jit"]
    x = np.random.default_rng(7).standard_normal((50, 301))
    outs = []
    for ks in (lib, jit):
        o = {}
        o["cumsum"] = np.empty_like(x)
        ks.get("cumsum_rows")(x, o["cumsum"])
        o["squares"] = np.empty((37, x.shape[1]))
        ks.get("squared_steps_cumsum")(x, 1, np.empty(x.shape[1]), o["squares"])
        o["squares_every_7"] = np.empty((7, x.shape[1]))
        ks.get("squared_steps_cumsum")(x, 7, np.empty(x.shape[1]), o["squares_every_7"])
        flat = np.concatenate([np.random.default_rng(6).standard_normal(999) * 9,
                               [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300]])
        o["ndtr"] = np.empty_like(flat)
        ks.get("ndtr_flat")(flat, o["ndtr"])
        z = np.random.default_rng(8).standard_t(5, size=(40, 257))
        variance = np.full(257, 3.0)
        ks.get("garch_rows")(z, variance, 0.1, 0.08, 0.9, 50.0, 1)
        o["garch"], o["variance"] = z, variance
        starts = np.random.default_rng(9).integers(500, size=(60, 129), dtype=np.int64)
        uniforms = np.random.default_rng(10).random((60, 129))
        returns = np.random.default_rng(11).standard_normal(500) * 0.05
        o["bootstrap"] = np.empty((61, 129))
        ks.get("bootstrap_rows")(starts, uniforms, 0.1, returns, o["bootstrap"], np.empty(129, dtype=np.int64), 0)
        o["bootstrap_cols"] = np.zeros((61, 300))
        ks.get("bootstrap_rows")(starts, uniforms, 0.1, returns, o["bootstrap_cols"], np.empty(129, dtype=np.int64), 150)
        o["growth"] = np.zeros((61, 400))
        ks.get("growth_rows")(uniforms, 0.3, -0.01, 1, o["growth"], 7)
        ks.get("growth_rows")(uniforms, 1.0, 0.0, 0, o["growth"], 200)
        index = starts.copy()
        ks.get("block_walk")(index, uniforms < 0.2, 500)
        o["walk"] = index
        fee = np.abs(np.random.default_rng(12).standard_normal((30, 65))) * 1e6
        cumulative, paid, out = np.zeros(65), np.zeros(65), np.empty((30, 65))
        ks.get("payout_rows")(fee, 1e9, 0.97, 0.02, 1e-9, 8.0, 0.02, cumulative, paid, out)
        o["payout"], o["cumulative"], o["paid"] = out, cumulative, paid
        closes = 0.5 + np.abs(np.random.default_rng(13).standard_normal((31, 65)))
        cumulative, paid, out = np.zeros(65), np.zeros(65), np.empty((30, 65))
        ks.get("pegged_payout_rows")(closes, 2e-7, 1e9, 0.95, 1e9, 4e5, 0.02, 1e-9, 8.0, 0.02, cumulative, paid, out)
        o["pegged"], o["pegged_cumulative"], o["pegged_paid"] = out, cumulative, paid
        outs.append(o)
    assert outs[0].keys() == outs[1].keys()
    for key in outs[0]:
        assert _bits(outs[0][key]) == _bits(outs[1][key]), key
    np.testing.assert_array_equal(outs[0]["cumsum"], np.cumsum(x, axis=0))   # and the right numbers


@pytest.mark.parametrize("keep_paths", [True, False])   # without positions the scan runs its 4-day blocks
@pytest.mark.parametrize("method", ["gbm", "bootstrap", "garch"])
def test_a_simulation_on_the_library_gives_numbas_bits(pair, monkeypatch, method, keep_paths):
    import analysis.core.numeric as numeric
    import analysis.sim.kernels as kernels

    scenario = scenario_with(load_scenario(HGX), {"finance.horizon_days": 90})
    runs = []
    for which in (0, 1):
        monkeypatch.setattr(numeric, "KERNELS", pair["analysis.core.numeric_jit"][which])
        monkeypatch.setattr(kernels, "KERNELS", pair["analysis.sim.kernels_jit"][which])
        runs.append(simulate(scenario, method=method, n_paths=1300, seed=3, strategies=STRATEGIES,
                             keep_paths=keep_paths, chunk_paths=1024))   # two chunks, the second a part
    a, b = runs
    assert a.strategies == b.strategies == STRATEGIES
    for name in STRATEGIES:
        for field in ("net_usd", "payback_day", "max_drawdown_usd", "peak_collateral_usd", "cost_of_capital_usd",
                      "liquidation_day"):
            assert _bits(getattr(a.outcomes[name], field)) == _bits(getattr(b.outcomes[name], field)), (name, field)
        if keep_paths:
            assert _bits(a.positions[name]) == _bits(b.positions[name]), name
    if keep_paths:
        assert _bits(a.price_paths) == _bits(b.price_paths)


def test_what_the_library_cannot_take_goes_to_numba(pair):
    lib, _ = pair["analysis.core.numeric_jit"]
    x = np.random.default_rng(1).standard_normal((20, 40))
    view = x[:, ::2]                                  # not C-contiguous
    out = np.empty((20, 20))
    lib.get("cumsum_rows")(view, out)
    np.testing.assert_array_equal(out, np.cumsum(view, axis=0))
    ints = np.arange(12.0).reshape(3, 4).astype(np.float32)   # another dtype
    out32 = np.empty_like(ints)
    lib.get("cumsum_rows")(ints, out32)
    np.testing.assert_array_equal(out32, np.cumsum(ints, axis=0))


def test_the_library_raises_what_numba_raises(pair):
    lib, jit = pair["analysis.core.numeric_jit"]
    raised = []
    for ks in (lib, jit):
        fee = np.ones((2, 3))
        with pytest.raises(ZeroDivisionError) as info:
            ks.get("payout_rows")(fee, 1e9, 1.0, 0.0, 0.0, 1.0, 1.0, np.zeros(3), np.zeros(3), np.empty((2, 3)))
        raised.append(str(info.value))
    assert raised[0] == raised[1]


def _runs_on_numba(kernels: KernelSet) -> None:
    x = np.arange(12.0).reshape(3, 4)
    out = np.empty_like(x)
    kernels.get("cumsum_rows")(x, out)                 # numba's kernel
    np.testing.assert_array_equal(out, np.cumsum(x, axis=0))


def test_a_damaged_library_is_not_used(tmp_path, monkeypatch):
    from analysis.core import numeric

    monkeypatch.setenv(KERNELS_DIR_ENV, str(tmp_path))
    fresh = KernelSet(numeric.KERNELS.module, numeric.KERNELS.specs)
    fresh.library_path().write_bytes(b"\x7fELF not really")
    assert fresh.library() is None
    _runs_on_numba(fresh)


def test_the_key_follows_the_signatures_and_the_folder(tmp_path, monkeypatch):
    from analysis.core import numeric

    base = numeric.KERNELS
    other = KernelSet(base.module, {**base.specs, "cumsum_rows": ("f8[2]", "f8[2]", "i8")})
    assert other.key() != base.key()
    assert base.library_path(tmp_path).parent == tmp_path
    monkeypatch.setenv(KERNELS_DIR_ENV, str(tmp_path / "k"))
    assert base.library_path().parent == tmp_path / "k"
    assert base.library_path().name.startswith("numeric_jit.") and base.library_path().suffix == ".so"


def test_the_key_follows_the_modules_the_kernels_inline_from(tmp_path, monkeypatch):
    # the scan inlines numeric_jit's payout rule: an edit there must look for another library
    from analysis.sim import kernels

    assert kernels.KERNELS.depends == ("analysis.core.numeric_jit",)
    alone = KernelSet(kernels.KERNELS.module, kernels.KERNELS.specs)
    assert alone.key() != kernels.KERNELS.key()
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helper.py").write_text("X = 1\n")
    (package / "kern.py").write_text("from pkg.helper import X\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with_helper = KernelSet("pkg.kern", {"f": ("f8",)}, depends=("pkg.helper",))
    before = with_helper.key()
    (package / "helper.py").write_text("X = 2\n")
    assert with_helper.key() != before


def test_numbas_cache_of_a_kernel_follows_the_modules_it_inlines_from(tmp_path):
    # numba stamps a cached kernel with its own file only: the scan inlines numeric_jit's payout rule, and
    # after an edit there the numba fallback read the old rule back from its cache (the library's key moved)
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    helper = package / "helper.py"
    helper.write_text("import numba\n\n\n@numba.njit(inline='always')\ndef step(x):\n    return x + 1.0\n")
    (package / "kern.py").write_text("import numba\n\nfrom pkg.helper import step\n\n\n"
                                     "@numba.njit(cache=True)\ndef f(x, out):\n    out[0] = step(x)\n")
    probe = ("import sys, numpy as np; from analysis.core.compiled import KernelSet; out = np.zeros(1); "
             "KernelSet('pkg.kern', {'f': ('f8', 'f8[1]')}, depends=('pkg.helper',)).jitted('f')(1.0, out); "
             "print(out[0])")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)]),
           "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}

    def run() -> float:
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
        return float(done.stdout.split()[-1])

    assert run() == 2.0
    assert list((tmp_path / "numba-cache").rglob("*.nbi"))   # cached
    helper.write_text(helper.read_text().replace("x + 1.0", "x + 100.0"))
    later = helper.stat().st_mtime + 5   # surely after the cache was written, whatever the clock's grain
    os.utime(helper, (later, later))
    assert run() == 101.0
    assert run() == 101.0   # and cached again


def test_without_a_c_compiler_the_build_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    monkeypatch.setenv(KERNELS_DIR_ENV, str(tmp_path))
    assert main(["kernels", "build"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["cocoon-econ: error: no C compiler found to link the kernels (install gcc or set CC); "
                   "nothing was built"]
    assert not list(tmp_path.glob("*.so"))


def test_a_folder_that_cannot_be_written_is_named(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(KERNELS_DIR_ENV, str(blocker / "kernels"))
    assert main(["kernels", "build"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"cocoon-econ: error: cannot write the kernels to {blocker / 'kernels'}; set {KERNELS_DIR_ENV} "
                   "to a folder you can write to"]


def test_a_bad_kernels_mode_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv(KERNELS_ENV, "fastest")
    assert main(["kernels", "status"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["cocoon-econ: error: COCOON_ECON_KERNELS='fastest' is not a kernels mode; set it to auto or "
                   "numba, or unset it"]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    code = ("import contextlib, io, json, sys\nfrom analysis.cli.main import main\nbuf = io.StringIO()\n"
            f"with contextlib.redirect_stdout(buf):\n    rc = main({list(args)!r})\n"
            "print(json.dumps({'rc': rc, 'out': buf.getvalue(), "
            "'mods': sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'llvmlite', 'scipy'))}))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, **env}, cwd=REPO)


def test_simulate_on_the_library_imports_no_numba_and_prints_numbas_numbers(built):
    args = ("simulate", "--scenario", str(HGX), "--method", "bootstrap", "--paths", "400", "--horizon-days", "60",
            "--seed", "2", "--json")
    lib = json.loads(_cli({KERNELS_DIR_ENV: str(built)}, *args).stdout.splitlines()[-1])
    jit = json.loads(_cli({KERNELS_DIR_ENV: str(built), KERNELS_ENV: "numba"}, *args).stdout.splitlines()[-1])
    assert lib["rc"] == jit["rc"] == 0
    assert lib["mods"] == []                                  # neither numba, llvmlite nor scipy
    assert "numba" in jit["mods"]
    assert lib["out"] == jit["out"] and json.loads(lib["out"])


def test_kernels_status_names_the_library(built, monkeypatch, capsys):
    monkeypatch.setenv(KERNELS_DIR_ENV, str(built))
    assert main(["kernels", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["mode"] == "auto"
    assert [m["runs"] for m in status["modules"]] == ["library", "library"]
    assert all(Path(m["library"]).parent == built for m in status["modules"])
    assert main(["kernels", "build"]) == 0                    # already there: nothing compiled
    assert capsys.readouterr().out.count("already built") == 2


def test_the_scan_and_its_wrapper_agree_on_the_scratch_sizes():
    # scan_policies allocates the kernel's scratch from its own copies of these constants (the kernel has no
    # bounds checks: a TILE changed in one module only would write past the buffers)
    import analysis.sim.kernels as wrapper
    import analysis.sim.kernels_jit as kernel

    for name in ("TILE", "LINEAR", "COVER_COSTS", "PERP", "PEGGED", "_STATES"):
        assert getattr(wrapper, name) == getattr(kernel, name), name


def test_a_kernels_folder_that_cannot_be_read_is_as_if_there_were_no_library(tmp_path, monkeypatch):
    from analysis.core import numeric

    monkeypatch.setenv(KERNELS_DIR_ENV, str(tmp_path / "locked"))
    fresh = KernelSet(numeric.KERNELS.module, numeric.KERNELS.specs)
    locked = fresh.library_path()
    real_is_file = Path.is_file

    def is_file(self):
        if self == locked:    # what a folder another user owns (mode 700) gives: is_file raises EACCES
            raise PermissionError(13, "Permission denied", str(self))
        return real_is_file(self)

    monkeypatch.setattr(Path, "is_file", is_file)
    assert fresh.library() is None
    _runs_on_numba(fresh)


def test_a_failing_c_compiler_is_named_in_one_line(tmp_path, monkeypatch):
    from analysis.core import numeric

    if aot.compiler() is None:
        pytest.skip("no C compiler: the build stops before linking")
    cc = tmp_path / "bad-cc"
    cc.write_text("#!/bin/sh\necho 'collect2: error: ld returned 1 exit status' >&2\nexit 1\n")
    cc.chmod(0o755)
    monkeypatch.setenv("CC", str(cc))
    with pytest.raises(aot.KernelsBuildError) as info:
        aot.build("analysis.core.numeric:KERNELS", numeric.KERNELS, force=True, directory=tmp_path / "k")
    assert str(info.value) == ("building analysis.core.numeric_jit's kernels failed: the C compiler failed: "
                               "collect2: error: ld returned 1 exit status")
    assert not list((tmp_path / "k").glob("*.so*"))


def test_a_build_in_a_shared_folder_leaves_other_versions_alone(built, tmp_path, monkeypatch):
    from analysis.core import numeric

    shared = tmp_path / "shared"
    shared.mkdir()
    other = shared / "numeric_jit.0123456789abcdef0123.so"    # another version's library
    other.write_bytes(b"another checkout's kernels")
    result = aot.build("analysis.core.numeric:KERNELS", numeric.KERNELS, force=True, directory=shared)
    assert result.path.is_file() and other.is_file()
