"""Sweeps on three engines: a plain in-process loop, a real LocalCluster of 2 worker processes and
a real `dask scheduler` + `dask worker` started here as subprocesses on 127.0.0.1 -- the same
numbers bit for bit; each cell equals `simulate` run alone with its seed; a sweep killed mid-way
keeps what finished and --resume runs only the rest; a failed cell is retried once, reported with
its values, and the sweep goes on."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli.main import main
from analysis.econ.metrics import usd_costs_per_day, usd_income_per_day
from analysis.econ.scenario import scenario_with
from analysis.market.prices import daily_closes
from analysis.sim.simulation import DrawCache, simulate
from analysis.sweep import results
from analysis.sweep import run as sweep_run
from analysis.sweep.grid import cell_seed, load_grid
from analysis.sweep.results import METRICS, read_results
from analysis.sweep.run import load_market, run_sweep

REPO = Path(__file__).resolve().parent.parent
STRATEGIES = ["hold", "sell_on_payout", "perp_hedge"]


def grid_text(name: str, axes: dict[str, list], paths: int, days: int, seed: int) -> str:
    """A gbm grid of the H200 example under hold, sell_on_payout and perp_hedge."""
    lines = [f'name = "{name}"', 'scenario = "h200_single.toml"', "[axes]"]
    lines += [f'"{key}" = {values}' for key, values in axes.items()]
    lines += ["[simulation]", 'method = "gbm"', f"paths = {paths}", f"horizon_days = {days}",
              f"strategies = {STRATEGIES}".replace("'", '"'), f"seed = {seed}"]
    return "\n".join(lines) + "\n"


# 2 x 2 x 2 = 8 cells x 200 paths x 60 days: each engine takes a second or two.
TINY = grid_text("tiny", {"operations.electricity_usd_per_kwh": [0.05, 0.20], "workload.utilisation": [0.1, 0.6],
                          "treasury.hedge_ratio": [0.0, 1.0]}, paths=200, days=60, seed=7)


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _env(cache: Path) -> dict[str, str]:
    """The environment of the subprocesses: this checkout first on the path, the test's empty cache."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["COCOON_ECON_CACHE"] = str(cache)
    return env


@pytest.fixture(scope="module")
def tiny_grid(tmp_path_factory):
    return load_grid(_write(tmp_path_factory.mktemp("grid") / "tiny.toml", TINY))


@pytest.fixture(scope="module")
def reference(tiny_grid, tmp_path_factory) -> pd.DataFrame:
    """The plain in-process loop: the numbers the other engines must give."""
    out = tmp_path_factory.mktemp("inprocess") / "tiny.parquet"
    report = run_sweep(tiny_grid, out, scheduler="inprocess", progress=False)
    assert report.ran == 8 and report.failed == [] and report.rows == 24
    assert not results.parts_dir(out).exists()  # combined, parts removed
    return read_results(out)


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=True)


def test_the_history_is_not_in_the_tasks(tiny_grid):
    """Each task carries the cell's scenario and seed; the price history goes to the workers once."""
    import pickle

    market = load_market(tiny_grid)
    task = sweep_run.cell_tasks(tiny_grid, 7)[0]
    assert len(pickle.dumps(task)) * 10 < len(pickle.dumps(market))
    assert not any(isinstance(v, pd.DataFrame) for v in vars(task).values())


def test_rows_columns_and_types(reference, tiny_grid):
    assert list(reference.columns[:5]) == ["cell", *tiny_grid.axes, "strategy"]
    assert set(METRICS) | {"break_even_ton_usd", "break_even_utilisation", "seed"} <= set(reference.columns)
    assert len(reference) == 8 * 3
    assert list(reference["strategy"][:3]) == STRATEGIES
    assert reference["cell"].tolist() == [c for c in range(8) for _ in STRATEGIES]
    assert reference.attrs["missing_cells"] == []
    manifest = reference.attrs["sweep"]
    assert manifest["seed"] == 7 and manifest["cells"] == 8 and manifest["axes"] == list(tiny_grid.axes)
    assert manifest["market"]["ton"]["origin"] == "snapshot"
    assert manifest["simulation_notes"]["model"]["start_price"] > 0
    numbers = reference.select_dtypes("number").to_numpy(dtype=float)
    assert not (pd.isna(numbers) & ~pd.isna(numbers)).any()
    assert all(math.isfinite(v) for v in reference[["mean_usd", "prob_loss"]].to_numpy().ravel())


def test_each_cell_is_simulate_alone_with_its_seed(reference, tiny_grid):
    """The cell's rows are what `simulate` gives for that scenario and seed, run on its own."""
    closes = daily_closes("ton")
    for cell in (tiny_grid.cells[0], tiny_grid.cells[5]):
        seed = cell_seed(7, cell.index)
        summary = simulate(cell.scenario, "gbm", 200, 60, seed, STRATEGIES, closes=closes, workers=1).summary()
        rows = reference[reference["cell"] == cell.index].set_index("strategy")
        assert (rows["seed"] == seed).all()
        for name in STRATEGIES:
            for key in ("mean_usd", "p5_usd", "p95_usd", "prob_loss", "cvar5_usd", "paths"):
                assert rows.loc[name, key] == summary[name][key]
        for key, value in cell.values.items():
            assert (rows[key] == value).all()


def test_break_even_columns_are_where_profit_is_zero(reference, tiny_grid):
    """Independent check of the break-even columns: the day's profit is nil there."""
    for cell in tiny_grid.cells:
        row = reference[reference["cell"] == cell.index].iloc[0]
        price, start = row["break_even_ton_usd"], row["start_price_usd"]
        s = cell.scenario
        assert usd_income_per_day(s, price) == pytest.approx(sum(usd_costs_per_day(s).values()), rel=1e-9)
        u = row["break_even_utilisation"]
        at = scenario_with(s, {"workload.utilisation": min(u, 1.0)})
        if u <= 1:
            assert usd_income_per_day(at, start) == pytest.approx(sum(usd_costs_per_day(at).values()), rel=1e-9)
        else:  # not reachable: even at full load the costs win
            assert usd_income_per_day(at, start) < sum(usd_costs_per_day(at).values())
    # cheaper power, lower break-even price; busier GPU, lower break-even price
    first = reference.drop_duplicates("cell").set_index("cell")["break_even_ton_usd"]
    assert first[0] < first[4] and first[2] < first[0]


def test_a_local_cluster_of_two_worker_processes_gives_the_same_numbers(reference, tiny_grid, tmp_path):
    out = tmp_path / "local.parquet"
    report = run_sweep(tiny_grid, out, scheduler="local", workers=2, threads_per_worker=1, progress=False)
    assert "LocalCluster, 2 worker process(es)" in report.engine
    assert report.ran == 8 and report.failed == []
    assert len(report.peak_rss_bytes) == 2  # both worker processes ran cells
    assert all(b > 0 for b in report.peak_rss_bytes.values())
    _assert_same(read_results(out), reference)


@contextlib.contextmanager
def dask_processes(tmp_path: Path, nthreads: int):
    """A real `dask scheduler` and one `dask worker`, subprocesses on 127.0.0.1 (free ports: the
    scheduler picks one and writes its address to a scheduler file); yields (address, scheduler
    process); torn down after, whatever happened."""
    env = _env(tmp_path / "empty-cache")
    file = tmp_path / "scheduler.json"
    logs = [open(tmp_path / "scheduler.log", "wb"), open(tmp_path / "worker.log", "wb")]
    procs = []
    try:
        procs.append(subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
                                       "--no-dashboard", "--scheduler-file", str(file)],
                                      env=env, stdout=logs[0], stderr=subprocess.STDOUT, cwd=tmp_path))
        deadline = time.monotonic() + 60
        while not file.is_file() or not file.read_text():
            assert procs[0].poll() is None, (tmp_path / "scheduler.log").read_text()
            assert time.monotonic() < deadline, "the scheduler did not start within 60 s"
            time.sleep(0.1)
        address = json.loads(file.read_text())["address"]
        procs.append(subprocess.Popen([sys.executable, "-m", "dask", "worker", "--scheduler-file", str(file),
                                       "--host", "127.0.0.1", "--nworkers", "1", "--nthreads", str(nthreads),
                                       "--no-dashboard", "--local-directory", str(tmp_path / "worker-space")],
                                      env=env, stdout=logs[1], stderr=subprocess.STDOUT, cwd=tmp_path))
        assert address.startswith("tcp://127.0.0.1:")
        yield address, procs[0]
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in reversed(procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        for log in logs:
            log.close()


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A scheduler and a worker of 2 threads, shared by the tests of this module."""
    with dask_processes(tmp_path_factory.mktemp("dask"), nthreads=2) as (address, _):
        yield address


def test_a_separately_started_scheduler_gives_the_same_numbers(reference, tiny_grid, tmp_path, dask_cluster):
    out = tmp_path / "remote.parquet"
    report = run_sweep(tiny_grid, out, scheduler=dask_cluster, progress=False)
    assert f"scheduler {dask_cluster}" in report.engine and "1 worker(s), 2 thread(s)" in report.engine
    assert report.ran == 8 and report.failed == []
    _assert_same(read_results(out), reference)


def test_the_cli_on_a_scheduler_address(tiny_grid, tmp_path, dask_cluster, capsys, reference):
    out = tmp_path / "cli.parquet"
    assert main(["sweep", "--grid", str(tiny_grid.path), "--scheduler", dask_cluster, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"wrote {out}: 24 row(s)" in text and "8 cell(s) run now" in text and "seed 7" in text
    _assert_same(read_results(out), reference)


def test_an_unreachable_scheduler_is_one_line_exit_1(tiny_grid, tmp_path, capsys, monkeypatch):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(sweep_run, "CONNECT_TIMEOUT_S", 2)
    out = tmp_path / "x.parquet"
    assert main(["sweep", "--grid", str(tiny_grid.path), "--scheduler", f"tcp://127.0.0.1:{port}",
                 "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"cocoon-econ: error: --scheduler tcp://127.0.0.1:{port}: cannot connect")
    assert "Traceback" not in "\n".join(err)


# --------------------------------------------------------------------------- resume


# 30 cells slow enough (3,000 paths x 365 days each) to be killed mid-way
SLOW = grid_text("slow", {"workload.utilisation": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
                          "operations.electricity_usd_per_kwh": [0.05, 0.10, 0.15, 0.20, 0.25]},
                 paths=3000, days=365, seed=3)


def test_a_sweep_killed_mid_way_keeps_what_finished_and_resume_runs_the_rest(tmp_path):
    grid_path = _write(tmp_path / "slow.toml", SLOW)
    out = tmp_path / "slow.parquet"
    parts = results.parts_dir(out)
    proc = subprocess.Popen([sys.executable, "-m", "analysis", "sweep", "--grid", str(grid_path), "--scheduler",
                             "inprocess", "--out", str(out)], env=_env(tmp_path / "empty-cache"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while len(list(parts.glob("cell-*.parquet"))) < 3:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no cell finished within 120 s"
            time.sleep(0.01)
    finally:
        proc.kill()  # SIGKILL: no clean-up of any kind
        proc.wait(timeout=30)
        proc.stderr.close()
    kept = read_results(out)          # the parts folder of the unfinished sweep reads as it is
    done = sorted(set(kept["cell"]))
    assert 3 <= len(done) < 30, "the sweep was not killed mid-way"
    assert kept.attrs["missing_cells"] == sorted(set(range(30)) - set(done))
    assert not out.exists()

    grid = load_grid(grid_path)
    report = run_sweep(grid, out, scheduler="inprocess", resume=True, progress=False)
    assert report.done_before == len(done) and report.ran == 30 - len(done)
    resumed = read_results(out)
    assert resumed.attrs["missing_cells"] == []
    # the cells that survived the kill are untouched, and the whole equals an uninterrupted run
    _assert_same(resumed[resumed["cell"].isin(done)], kept)
    fresh = tmp_path / "fresh.parquet"
    run_sweep(grid, fresh, scheduler="inprocess", progress=False, market=load_market(grid))
    _assert_same(resumed, read_results(fresh))
    # resuming a complete sweep runs nothing
    again = run_sweep(grid, out, scheduler="inprocess", resume=True, progress=False)
    assert again.ran == 0 and again.done_before == 30


def test_an_existing_result_is_never_overwritten_without_resume(tiny_grid, tmp_path, capsys):
    out = tmp_path / "tiny.parquet"
    argv = ["sweep", "--grid", str(tiny_grid.path), "--scheduler", "inprocess", "--out", str(out)]
    assert main(argv) == 0
    before = out.read_bytes()
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "already holds a sweep (8 of 8 cells); pass --resume" in err and len(err.splitlines()) == 1
    assert out.read_bytes() == before
    # another grid into the same file: refused, even with --resume
    other = _write(tmp_path / "tiny.toml", TINY.replace("seed = 7", "seed = 8"))
    assert main(["sweep", "--grid", str(other), "--scheduler", "inprocess", "--out", str(out), "--resume"]) == 2
    assert "different grid" in capsys.readouterr().err
    assert out.read_bytes() == before
    # a file that is not a sweep's
    plain = tmp_path / "plain.parquet"
    pd.DataFrame({"x": [1]}).to_parquet(plain)
    assert main([*argv[:-1], str(plain)]) == 2
    assert "not a sweep's results" in capsys.readouterr().err


def test_a_failed_cell_is_retried_once_reported_and_the_sweep_goes_on(tiny_grid, tmp_path, monkeypatch, capsys,
                                                                      reference):
    calls: dict[float, int] = {}
    real = sweep_run.simulate

    def flaky(scenario, *args, **kwargs):
        key = (scenario.workload.utilisation, scenario.operations.electricity_usd_per_kwh,
               scenario.treasury.hedge_ratio)
        calls[key] = calls.get(key, 0) + 1
        if key == (0.1, 0.05, 1.0) and calls[key] == 1:
            raise MemoryError("worker ran out of memory")   # cell 1: once, then fine
        if key == (0.6, 0.20, 0.0):
            raise RuntimeError("boom")                      # cell 6: every time
        return real(scenario, *args, **kwargs)

    monkeypatch.setattr(sweep_run, "simulate", flaky)
    out = tmp_path / "flaky.parquet"
    assert main(["sweep", "--grid", str(tiny_grid.path), "--scheduler", "inprocess", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert ("cell 1 (operations.electricity_usd_per_kwh = 0.05, workload.utilisation = 0.1, "
            "treasury.hedge_ratio = 1.0) failed: MemoryError: worker ran out of memory; retrying once") in err
    assert "cell 6 (operations.electricity_usd_per_kwh = 0.2, workload.utilisation = 0.6, " \
           "treasury.hedge_ratio = 0.0) failed again: RuntimeError: boom; skipped" in err
    assert calls[(0.6, 0.20, 0.0)] == 2 and calls[(0.1, 0.05, 1.0)] == 2
    partial = read_results(out)
    assert partial.attrs["missing_cells"] == [6]
    _assert_same(partial, reference[reference["cell"] != 6])
    # --resume runs only the missing cell
    monkeypatch.setattr(sweep_run, "simulate", real)
    report = run_sweep(tiny_grid, out, scheduler="inprocess", resume=True, progress=False)
    assert report.ran == 1 and report.done_before == 7
    _assert_same(read_results(out), reference)


def test_same_paths_puts_every_cell_on_the_grid_seeds_paths(tmp_path, reference):
    grid = load_grid(_write(tmp_path / "same.toml", TINY.replace("seed = 7", "seed = 7\nsame_paths = true")))
    report = run_sweep(grid, tmp_path / "same.parquet", scheduler="inprocess", progress=False)
    frame = read_results(report.out)
    assert (frame["seed"] == 7).all()
    hold = frame[frame["strategy"] == "hold"].set_index("cell")
    # the hedge ratio does not touch `hold`: on the same paths its numbers are the same to the bit
    for a, b in [(0, 1), (2, 3), (4, 5), (6, 7)]:
        assert hold.loc[a, "treasury.hedge_ratio"] != hold.loc[b, "treasury.hedge_ratio"]
        pd.testing.assert_series_equal(hold.loc[a, list(METRICS)], hold.loc[b, list(METRICS)], check_exact=True,
                                       check_names=False)
    # with a seed per cell they differ by sampling noise
    ref = reference[reference["strategy"] == "hold"].set_index("cell")
    assert ref.loc[0, "mean_usd"] != ref.loc[1, "mean_usd"]


def test_same_paths_cells_take_one_draw_and_give_each_cells_own_numbers(tmp_path, monkeypatch):
    """With same_paths the first cell draws and the others take its chunks (the process's
    DrawCache); every cell's rows are still `simulate` alone on its own draw, to the bit."""
    cache = DrawCache()
    monkeypatch.setattr(sweep_run, "_process_draws", lambda: cache)
    grid = load_grid(_write(tmp_path / "same.toml", TINY.replace("seed = 7", "seed = 7\nsame_paths = true")))
    report = run_sweep(grid, tmp_path / "same.parquet", scheduler="inprocess", progress=False)
    frame = read_results(report.out)
    assert cache.stored == 1 and cache.hits == 7        # 8 cells of one chunk each: one draw
    assert sweep_run._DRAWS == []                       # the process's own cache is not held past the sweep
    closes = daily_closes("ton")
    for cell in grid.cells:
        summary = simulate(cell.scenario, "gbm", 200, 60, 7, STRATEGIES, closes=closes, workers=1).summary()
        rows = frame[frame["cell"] == cell.index].set_index("strategy")
        for name in STRATEGIES:
            for key in ("mean_usd", "p5_usd", "p95_usd", "prob_loss", "cvar5_usd", "drawdown_p95_usd"):
                assert rows.loc[name, key] == summary[name][key], (cell.index, name, key)


def test_ctrl_c_keeps_the_finished_cells_and_says_how_to_go_on(tiny_grid, tmp_path, monkeypatch, capsys):
    real, seen = sweep_run.simulate, []

    def interrupted(scenario, *args, **kwargs):
        seen.append(1)
        if len(seen) == 4:
            raise KeyboardInterrupt
        return real(scenario, *args, **kwargs)

    monkeypatch.setattr(sweep_run, "simulate", interrupted)
    out = tmp_path / "stopped.parquet"
    assert main(["sweep", "--grid", str(tiny_grid.path), "--scheduler", "inprocess", "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert f"interrupted; every finished cell is kept in {results.parts_dir(out)}" in err and "--resume" in err
    assert sorted(set(read_results(out)["cell"])) == [0, 1, 2]


def test_losing_the_scheduler_mid_way_is_one_line_and_keeps_what_finished(tmp_path):
    grid_path = _write(tmp_path / "slow.toml", SLOW)
    out = tmp_path / "slow.parquet"
    parts = results.parts_dir(out)
    with dask_processes(tmp_path, nthreads=1) as (address, scheduler):
        proc = subprocess.Popen([sys.executable, "-m", "analysis", "sweep", "--grid", str(grid_path), "--scheduler",
                                 address, "--out", str(out)], env=_env(tmp_path / "empty-cache"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while len(list(parts.glob("cell-*.parquet"))) < 3:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline, "no cell finished within 120 s"
                time.sleep(0.01)
            scheduler.kill()
            _, err = proc.communicate(timeout=120)   # bounded: no hang when the cluster is gone
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"cocoon-econ: error: --scheduler {address}: lost the connection to the Dask scheduler")
    assert f"kept in {parts}; run again with --resume" in last and "Traceback" not in err
    kept = sorted(set(read_results(out)["cell"]))
    assert len(kept) >= 3
    report = run_sweep(load_grid(grid_path), out, scheduler="inprocess", resume=True, progress=False)
    assert report.done_before == len(kept) and report.ran == 30 - len(kept)
