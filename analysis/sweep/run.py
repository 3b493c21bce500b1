"""Run a grid: every cell's simulation on Dask (or a plain loop), each result streamed to Parquet.

Engines (``scheduler``):

- ``"local"`` (default): a ``dask.distributed.LocalCluster`` of worker *processes* on this
  machine (no GIL between cells; one worker per core unless ``workers`` says otherwise), on
  127.0.0.1 with no dashboard;
- an address such as ``"tcp://10.0.0.5:8786"``: an existing scheduler and its workers (they
  must run this version of cocoon-econ; checked before anything is submitted);
- ``"inprocess"``: a plain loop in this process, no Dask (the reference the others must equal).

Each cell is :func:`run_cell`: the package's own :func:`~analysis.sim.simulation.simulate` with
the cell's seed (:func:`~analysis.sweep.grid.cell_seed`), on the price history and funding
payments read once by the caller and scattered once to every worker (``broadcast=True``), never
shipped with each task. A cell's numbers depend on its scenario, the grid's ``[simulation]`` and
its seed only -- not on the engine, the number of workers or threads, or the order cells finish
in (simulate's own chunking is seeded per chunk for the same reason).

Threads: a worker runs ``threads_per_worker`` cells side by side (numpy and the compiled kernels
release the GIL) and each simulation splits its chunks of paths over ``cores // threads on the
host`` threads, so the cores are used without oversubscribing them. Dask's nanny already pins
the BLAS/OpenMP pools of worker processes to one thread.

A failed cell is reported with its values and retried once; if it fails again the sweep goes
on and the cell stays missing (``--resume`` runs it again).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import os
import resource
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from analysis import __version__
from analysis.core.errors import CocoonEconError, DataError, FetchError, InputError
from analysis.core.progress import progress_bar
from analysis.econ.metrics import break_even_ton_usd, break_even_utilisation
from analysis.econ.scenario import Scenario, price_asset
from analysis.market.funding import daily_funding, read_funding
from analysis.market.prices import daily_closes
from analysis.sim.simulation import DrawCache, default_workers, simulate
from analysis.sweep import results
from analysis.sweep.grid import Grid, SimulationConfig, cell_seed

ENGINES = ("local", "inprocess")
CONNECT_TIMEOUT_S = 20
WORKER_WAIT_S = 60
QUIET_LOGGERS = ("distributed", "tornado", "asyncio")


@dataclass(frozen=True)
class MarketData:
    """The history every cell simulates on, read once: daily closes per asset, the recorded funding
    per day (:func:`~analysis.market.funding.daily_funding` of every payment on record)."""

    closes: Mapping[str, pd.DataFrame]
    funding_daily: pd.DataFrame

    def info(self) -> dict[str, Any]:
        """Where the history came from and a digest of it (``--resume`` refuses a changed one)."""
        out: dict[str, Any] = {}
        for asset, closes in sorted(self.closes.items()):
            values = closes["close_usd"].to_numpy(dtype=float)
            digest = hashlib.sha256(values.tobytes() + closes.index.asi8.tobytes()).hexdigest()
            out[asset] = {"first": f"{closes.index[0]:%Y-%m-%d}", "last": f"{closes.index[-1]:%Y-%m-%d}",
                          "days": len(closes), "origin": str(closes.attrs.get("origin", "")), "sha256": digest}
        f = self.funding_daily
        f_digest = hashlib.sha256(pd.util.hash_pandas_object(f, index=True).to_numpy().tobytes()).hexdigest()
        out["funding"] = {"days": len(f), "last": None if f.empty else f"{f.index.max():%Y-%m-%d}",
                          "sha256": f_digest}
        return out


@dataclass(frozen=True)
class CellTask:
    """What a worker needs to run one cell (small: the scenario, not the history)."""

    index: int
    label: str
    scenario: Scenario
    seed: int
    simulation: SimulationConfig


@dataclass
class CellResult:
    index: int
    rows: list[dict[str, Any]]
    seconds: float
    cpu_seconds: float       # CPU time of the cell (its own thread's with one simulation thread)
    peak_rss_bytes: int
    worker: str
    notes: dict[str, Any]


@dataclass
class CellFailure:
    index: int
    label: str
    error: str


@dataclass
class SweepReport:
    """What a sweep did: where it wrote, how many cells ran or were already there, what failed,
    and the timings the benchmark reads (seconds per cell, peak memory per worker)."""

    out: Path
    cells: int
    done_before: int
    ran: int
    failed: list[CellFailure]
    rows: int
    seconds: float
    engine: str
    seed: int
    cell_seconds: list[float] = field(default_factory=list)
    cell_cpu_seconds: list[float] = field(default_factory=list)
    peak_rss_bytes: dict[str, int] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)


def load_market(grid: Grid, cache_dir: str | Path | None = None) -> MarketData:
    """The daily closes of every asset the grid's cells are paid in, and the funding payments."""
    assets = sorted({price_asset(c.scenario) for c in grid.cells})
    currencies = sorted({c.scenario.currency for c in grid.cells})
    if len(currencies) > 1:
        raise InputError(f"sweep: the cells are in {', '.join(currencies)}; a sweep runs in one currency "
                         "(give the base scenario one [finance] currency and do not vary it)")
    # TON/X closes for a scenario in another currency (docs/currency.md), so costs and prices agree
    fx = {"currency": currencies[0]} if currencies and currencies[0] != "USD" else {}
    closes = {a: daily_closes(a, cache_dir=None if cache_dir is None else str(cache_dir), **fx) for a in assets}
    return MarketData(closes=closes, funding_daily=daily_funding(read_funding(cache_dir)))


def cell_tasks(grid: Grid, seed: int) -> list[CellTask]:
    """Every cell with its seed: :func:`~analysis.sweep.grid.cell_seed` ``(seed, i)``, or the grid
    seed itself for every cell with ``[simulation] same_paths = true``."""
    same = grid.simulation.same_paths
    return [CellTask(index=c.index, label=c.label(), scenario=c.scenario,
                     seed=int(seed) if same else cell_seed(seed, c.index), simulation=grid.simulation)
            for c in grid.cells]


def run_cell(task: CellTask, market: MarketData, sim_threads: int | None = None,
             host_threads: Mapping[str, int] | None = None) -> CellResult:
    """One cell: ``simulate`` with the cell's seed, then its break-even TON price and utilisation
    (at the simulation's start price) from the functions ``breakeven`` uses.

    ``sim_threads`` None: the cores of this host shared among the Dask threads on it
    (``host_threads``: host -> threads), or every core outside Dask. The numbers do not depend on it.
    """
    t0 = time.perf_counter()
    worker = _worker_address()
    threads = sim_threads or _simulation_threads(worker, host_threads)
    cpu_clock = time.thread_time if threads == 1 else time.process_time
    c0 = cpu_clock()
    cfg, scenario = task.simulation, task.scenario
    sim = simulate(scenario, cfg.method, cfg.paths, cfg.horizon_days, task.seed, list(cfg.strategies),
                   closes=market.closes[price_asset(scenario)], funding_daily=market.funding_daily,
                   start_price=cfg.start_price, window_days=cfg.window_days, drift=cfg.drift,
                   drift_annual=cfg.drift_annual,
                   vol_annual=cfg.vol_annual, option_vol=cfg.option_vol, workers=threads,
                   draws=_process_draws() if cfg.same_paths else None)
    be_price = results.finite_or_none(break_even_ton_usd(scenario))
    be_util = results.finite_or_none(break_even_utilisation(scenario, sim.start_price))
    rows = []
    for name, summary in sim.summary().items():
        row: dict[str, Any] = {"strategy": name}
        row.update({m: summary[m] if m == "paths" else results.finite_or_none(summary[m]) for m in results.METRICS})
        row.update(break_even_ton_usd=be_price, break_even_utilisation=be_util, start_price_usd=sim.start_price)
        rows.append(row)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return CellResult(index=task.index, rows=rows, seconds=time.perf_counter() - t0, cpu_seconds=cpu_clock() - c0,
                      peak_rss_bytes=int(peak),
                      worker=worker, notes=_jsonable(sim.notes))


_DRAWS: list[DrawCache] = []   # this process's one DrawCache (a Dask worker's, or the caller's)


def _process_draws() -> DrawCache:
    """The draw cache of this process: with ``same_paths`` every cell draws the same paths, so the
    first cell a worker runs draws them and the others take its chunks (the same bits;
    :class:`~analysis.sim.simulation.DrawCache`, at most 256 MiB held)."""
    if not _DRAWS:
        _DRAWS.append(DrawCache())
    return _DRAWS[0]


def run_sweep(grid: Grid, out: str | Path, *, scheduler: str = "local", workers: int | None = None,
              threads_per_worker: int | None = None, simulation_threads: int | None = None, resume: bool = False,
              progress: bool | None = None, cache_dir: str | Path | None = None,
              market: MarketData | None = None, echo: Callable[[str], None] | None = None,
              on_start: Callable[[SweepReport], None] | None = None) -> SweepReport:
    """Run every cell of ``grid`` not yet in ``out`` and write ``out`` (see :mod:`analysis.sweep.results`).

    Parameters
    ----------
    scheduler : ``"local"`` (a LocalCluster of ``workers`` processes), ``"inprocess"`` (a plain
        loop, no Dask) or the address of a running Dask scheduler (``tcp://host:8786``).
    workers : worker processes of the LocalCluster (default: one per core).
    threads_per_worker : cells a LocalCluster worker runs side by side (default: the cores
        divided among the workers, at least 1).
    simulation_threads : threads each simulation splits its chunks over (default: the cores of
        the host shared among the Dask threads on it; every core in process).
    resume : complete the sweep already at ``out`` (same grid, same price history); without it an
        existing ``out`` is an error, so nothing finished is ever overwritten.
    progress : show a progress bar on stderr (None: when stderr is a terminal).
    market : the price history to use (default: read once here through the cache).
    echo : where notices go (failed cells, retries); default: stderr, above the progress bar.
    on_start : called once everything is checked and the engine is up (``report.engine`` set),
        before the first cell is submitted.

    Raises
    ------
    InputError
        ``out`` already holds a sweep and ``resume`` is off; the sweep there is of another grid or
        price history; a bad ``scheduler``/``workers``.
    FetchError
        The scheduler cannot be reached, or has no workers.
    """
    out = Path(out)
    if out.is_dir():
        raise InputError(f"--out: {str(out)!r} is a folder; give a file path such as {out / 'results.parquet'}")
    for name, value in (("--workers", workers), ("--threads-per-worker", threads_per_worker),
                        ("simulation_threads", simulation_threads)):
        if value is not None and (int(value) != value or value < 1):
            raise InputError(f"{name} = {value} must be a whole number, at least 1")
    say = echo or _stderr
    t0 = time.perf_counter()
    market = market or load_market(grid, cache_dir)
    manifest, table_schema = _prepare(grid, out, market, resume, say)
    done = results.finished_cells(out)
    seed = int(manifest["seed"])
    todo = [t for t in cell_tasks(grid, seed) if t.index not in done]
    report = SweepReport(out=out, cells=len(grid.cells), done_before=len(done), ran=0, failed=[], rows=0,
                         seconds=0.0, engine=scheduler, seed=seed, manifest=manifest)
    if not todo:
        report.engine = "none (every cell already has results)"
        if on_start is not None:
            on_start(report)
    else:
        try:
            results.write_manifest(out, manifest)
        except OSError as exc:
            raise InputError(f"--out: cannot write beside {str(out)!r} ({exc.strerror or exc}); choose a writable "
                             "path") from None
        try:
            with _engine(scheduler, workers, threads_per_worker, simulation_threads, market) as engine:
                report.engine = engine.description
                if on_start is not None:
                    on_start(report)
                try:
                    _drive(engine, grid, todo, out, table_schema, report, progress, say)
                except FetchError as exc:  # the cluster went away: say what is kept and how to go on
                    raise FetchError(f"{exc}; the {report.ran} cell(s) finished are kept in {results.parts_dir(out)}; "
                                     "run again with --resume") from None
                except CocoonEconError:
                    raise
                except Exception as exc:  # the cluster itself failed (connection lost, scheduler gone)
                    if not isinstance(engine, _Dask):
                        raise
                    what = (f"--scheduler {scheduler}: lost the connection to the Dask scheduler" if isinstance(exc, OSError)
                            else "the Dask cluster failed")
                    raise FetchError(f"{what} ({_one_line(exc)}); the {report.ran} cell(s) finished are kept in "
                                     f"{results.parts_dir(out)}; run again with --resume") from None
        finally:
            _DRAWS.clear()   # a same-paths draw kept by the in-process loop is not held past the sweep
    # the combined file's manifest also says how the simulations were set up (fitted model, funding)
    report.rows = results.combine(out, results.with_manifest(table_schema, report.manifest),
                                  grid.simulation.strategies)
    report.seconds = time.perf_counter() - t0
    return report


# --------------------------------------------------------------------------- the loop


def _drive(engine: _Engine, grid: Grid, todo: list[CellTask], out: Path, table_schema, report: SweepReport,
           progress: bool | None, say: Callable[[str], None]) -> None:
    """Submit every cell, write each as it finishes, retry a failed one once."""
    attempts = dict.fromkeys((t.index for t in todo), 0)
    bar = progress_bar("sweep", total=len(todo), unit="cell", enabled=progress)
    types = {name: table_schema.field(name).type for name in table_schema.names}
    try:
        for task in todo:
            engine.submit(task)
        for task, result, error in engine.completed():
            if error is None:
                assert result is not None
                values = {k: results.axis_cell_value(v, types[k]) for k, v in grid.cells[task.index].values.items()}
                rows = [{"cell": task.index, **values, **row, "seed": task.seed} for row in result.rows]
                try:
                    results.write_part(out, table_schema, rows, task.index)
                except OSError as exc:
                    raise DataError(f"--out: cannot write {results.part_path(out, task.index)} "
                                    f"({exc.strerror or exc}); the cells finished so far are kept in "
                                    f"{results.parts_dir(out)}; make room and run again with --resume") from None
                report.ran += 1
                report.cell_seconds.append(result.seconds)
                report.cell_cpu_seconds.append(result.cpu_seconds)
                report.peak_rss_bytes[result.worker] = max(report.peak_rss_bytes.get(result.worker, 0),
                                                           result.peak_rss_bytes)
                if "simulation_notes" not in report.manifest:
                    report.manifest["simulation_notes"] = result.notes
                bar.update(1)
                continue
            attempts[task.index] += 1
            text = _one_line(error)
            if attempts[task.index] == 1:
                _notice(bar, say, f"cell {task.index} ({task.label}) failed: {text}; retrying once")
                engine.submit(task)
            else:
                _notice(bar, say, f"cell {task.index} ({task.label}) failed again: {text}; skipped "
                                  "(run the sweep again with --resume to retry it)")
                report.failed.append(CellFailure(task.index, task.label, text))
                bar.update(1)
    finally:
        bar.close()


def _notice(bar, say: Callable[[str], None], text: str) -> None:
    if say is _stderr:
        bar.write(f"cocoon-econ sweep: {text}", file=sys.stderr)
    else:
        say(text)


def _stderr(text: str) -> None:
    print(f"cocoon-econ sweep: {text}", file=sys.stderr)


# --------------------------------------------------------------------------- manifest and resume


def _prepare(grid: Grid, out: Path, market: MarketData, resume: bool, say: Callable[[str], None]):
    existing = results.read_manifest(out)
    parts = results.parts_dir(out)
    if existing is None and (out.exists() or (parts.is_dir() and any(parts.iterdir()))):
        raise InputError(f"--out: {str(out)!r} exists and is not a sweep's results; choose another --out")
    if existing is not None and not resume:
        have = len(results.finished_cells(out))
        raise InputError(f"--out: {str(out)!r} already holds a sweep ({have} of {existing['cells']} cells); pass "
                         "--resume to run the missing cells, or choose another --out")
    market_info = market.info()
    if existing is not None:
        if existing.get("fingerprint") != grid.fingerprint():
            raise InputError(f"--resume: {str(out)!r} was made from a different grid (the base scenario, the cells or "
                             "[simulation] changed); choose a new --out for this grid")
        if existing.get("market") != market_info:
            raise InputError(f"--resume: the price history changed since {str(out)!r} was started "
                             f"({_history_text(existing.get('market', {}))} then, {_history_text(market_info)} now); "
                             "choose a new --out to sweep on the new history")
        manifest = existing
    else:
        if resume:
            say(f"--resume: nothing at {out} yet; running every cell")
        seed = grid.simulation.seed
        if seed is None:
            seed = int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]  # an int when drawn
            say(f"seed {seed} (fresh entropy; kept in the results, so --resume and reruns of a cell reuse it)")
        manifest = _manifest(grid, seed, market_info)
    columns = results.columns_schema(grid)
    manifest["arrow_schema"] = results.schema_hex(columns)
    return manifest, results.with_manifest(columns, manifest)


def _manifest(grid: Grid, seed: int, market_info: dict[str, Any]) -> dict[str, Any]:
    sim = dataclasses.asdict(grid.simulation)
    sim["seed"] = seed
    return {
        "format": results.FORMAT, "version": __version__,
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "grid": grid.name, "grid_file": str(grid.path), "description": grid.description,
        "scenario": grid.base.name, "scenario_file": str(grid.base.path), "mode": grid.mode,
        "fingerprint": grid.fingerprint(), "seed": seed, "cells": len(grid.cells),
        "axes": list(grid.axes), "strategies": list(grid.simulation.strategies),
        "scenario_strategy": grid.base.treasury.strategy,
        "base_values": [_plain(getattr(getattr(grid.base, k.split(".")[0]), k.split(".")[1])) for k in grid.axes],
        "cell_values": [[_plain(c.values[k]) for k in grid.axes] for c in grid.cells],
        "simulation": sim, "market": market_info,
    }


def _history_text(info: Mapping[str, Any]) -> str:
    parts = [f"{asset.upper()} to {v['last']}" for asset, v in info.items() if asset != "funding" and isinstance(v, dict)]
    return ", ".join(parts) or "unknown"


# --------------------------------------------------------------------------- engines


class _Engine:
    description = ""

    def submit(self, task: CellTask) -> None:
        raise NotImplementedError

    def completed(self) -> Iterator[tuple[CellTask, CellResult | None, BaseException | None]]:
        raise NotImplementedError

    def __enter__(self) -> _Engine:
        return self

    def __exit__(self, *exc) -> None:
        return None


class _InProcess(_Engine):
    """A plain loop in this process: the reference the distributed engines must equal."""

    def __init__(self, market: MarketData, simulation_threads: int | None) -> None:
        self.market = market
        self.threads = simulation_threads or default_workers()
        self.queue: list[CellTask] = []
        self.description = f"in process (no Dask; {self.threads} simulation thread(s))"

    def submit(self, task: CellTask) -> None:
        self.queue.append(task)

    def completed(self):
        while self.queue:
            task = self.queue.pop(0)
            try:
                yield task, run_cell(task, self.market, self.threads), None
            except Exception as exc:  # reported and retried by the loop; the sweep goes on
                yield task, None, exc


class _Dask(_Engine):
    """A dask.distributed client: a LocalCluster it starts, or an existing scheduler."""

    def __init__(self, scheduler: str, workers: int | None, threads_per_worker: int | None,
                 simulation_threads: int | None, market: MarketData) -> None:
        self.scheduler, self.n_workers, self.tpw = scheduler, workers, threads_per_worker
        self.simulation_threads, self.market = simulation_threads, market
        self.cluster: Any = None
        self.client: Any = None
        self.futures: dict[str, CellTask] = {}
        self.token = uuid.uuid4().hex[:8]
        self.attempt = 0

    def __enter__(self) -> _Dask:
        try:
            from dask.distributed import Client, LocalCluster, as_completed
        except ImportError:
            raise InputError("--scheduler: dask.distributed is not installed; pip install 'cocoon-econ[sweep]' "
                             "or use --scheduler inprocess") from None
        self._as_completed = as_completed
        # The client's own loggers print tracebacks when a connection drops; the sweep reports
        # every failure itself, in one line, so they are quiet while it runs (restored on exit).
        names = [n for n in list(logging.root.manager.loggerDict) if n.split(".")[0] in QUIET_LOGGERS]
        self._loggers = {name: logging.getLogger(name).level for name in {*QUIET_LOGGERS, *names}}
        for name in self._loggers:  # children too: distributed's config gives some their own level
            logging.getLogger(name).setLevel(logging.CRITICAL)
        try:
            if self.scheduler == "local":
                cores = default_workers()
                n = self.n_workers or cores
                tpw = self.tpw or max(1, cores // n)
                self.cluster = LocalCluster(n_workers=n, threads_per_worker=tpw, processes=True, host="127.0.0.1",
                                            dashboard_address=None, silence_logs=logging.CRITICAL)
                self.client = Client(self.cluster)
                where = f"LocalCluster, {n} worker process(es) x {tpw} thread(s)"
            else:
                if self.n_workers or self.tpw:
                    raise InputError("--workers/--threads-per-worker apply to --scheduler local only; an existing "
                                     "cluster has the workers it was started with")
                self.client = _connect(self.scheduler)
                where = f"scheduler {self.scheduler}"
            self._check_workers()
            info = self.client.scheduler_info()["workers"]
            self.host_threads: dict[str, int] = {}
            for address, w in info.items():
                host = urlsplit(address).hostname or address
                self.host_threads[host] = self.host_threads.get(host, 0) + int(w.get("nthreads", 1))
            threads = sum(int(w.get("nthreads", 1)) for w in info.values())
            self.description = f"{where}; {len(info)} worker(s), {threads} thread(s)"
            # The history once to every worker; each task carries only a reference to it.
            self.market_future = self.client.scatter(self.market, broadcast=True, hash=False)
            self.pending = self._as_completed()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        for thing in (self.client, self.cluster):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # closing a broken connection must not hide the real error
                    pass
        self.client = self.cluster = None
        for name, level in getattr(self, "_loggers", {}).items():
            logging.getLogger(name).setLevel(level)

    def _check_workers(self) -> None:
        try:
            self.client.wait_for_workers(1, timeout=WORKER_WAIT_S)
        except TimeoutError:
            raise FetchError(f"--scheduler {self.scheduler}: no worker joined within {WORKER_WAIT_S} s; start "
                             f"`dask worker {self.scheduler}` on the machines that should run the cells") from None
        try:
            versions = self.client.run(_package_version)
        except OSError as exc:    # the connection itself (distributed's CommClosedError is one)
            raise FetchError(f"--scheduler {self.scheduler}: lost the connection to the scheduler "
                             f"({_one_line(exc)}); check that it still runs") from None
        except Exception as exc:  # a worker that cannot import the package
            raise FetchError(f"--scheduler {self.scheduler}: the workers cannot run cocoon-econ ({_one_line(exc)}); "
                             f"install cocoon-econ {__version__} with the sweep extra on every worker") from None
        wrong = {w: v for w, v in versions.items() if v != __version__}
        if wrong:
            w, v = next(iter(wrong.items()))
            raise InputError(f"--scheduler {self.scheduler}: worker {w} runs cocoon-econ {v}, this is {__version__}; "
                             "install the same version on every worker (the numbers must not depend on where a "
                             "cell runs)")

    def submit(self, task: CellTask) -> None:
        self.attempt += 1
        key = f"sweep-cell-{task.index}-{self.token}-{self.attempt}"
        future = self.client.submit(run_cell, task, self.market_future, self.simulation_threads, self.host_threads,
                                    key=key, pure=False, retries=0)
        self.futures[future.key] = task
        self.pending.add(future)

    def completed(self):
        for future in self.pending:
            task = self.futures.pop(future.key)
            if future.status == "finished":
                result = future.result()
                future.release()
                yield task, result, None
                continue
            if future.status == "cancelled":  # e.g. the scheduler went away; exception() would raise
                if self.client.status != "running":
                    raise FetchError(f"--scheduler {self.scheduler}: lost the connection to the Dask scheduler "
                                     f"(client {self.client.status}); check that it still runs")
                error: BaseException = RuntimeError("the cluster cancelled the task (scheduler restarted?)")
            else:
                error = future.exception()
            future.release()
            yield task, None, error


def _engine(scheduler: str, workers, threads_per_worker, simulation_threads, market: MarketData) -> _Engine:
    if scheduler == "inprocess":
        if workers or threads_per_worker:
            raise InputError("--workers/--threads-per-worker apply to --scheduler local only; inprocess runs the "
                             "cells one after another in this process")
        return _InProcess(market, simulation_threads)
    if not scheduler or scheduler.strip() != scheduler:
        raise InputError(f"--scheduler {scheduler!r} is not valid; use local, inprocess or tcp://HOST:8786")
    return _Dask(scheduler, workers, threads_per_worker, simulation_threads, market)


def _connect(address: str):
    from dask.distributed import Client

    if "://" not in address and ":" not in address:
        raise InputError(f"--scheduler {address!r} is not an address; use local, inprocess or tcp://HOST:8786")
    try:
        return Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        raise FetchError(f"--scheduler {address}: cannot connect ({_one_line(exc)}); check the address and that "
                         "`dask scheduler` runs there, or use --scheduler local") from None
    except ValueError as exc:  # e.g. an unknown protocol
        raise InputError(f"--scheduler {address!r} is not valid ({_one_line(exc)}); use tcp://HOST:8786") from None


def _package_version() -> str:
    import analysis

    return analysis.__version__


def _worker_address() -> str:
    if "distributed" in sys.modules:  # never imported just to learn that this is not a worker
        from distributed import get_worker

        try:
            return get_worker().address
        except ValueError:  # not inside a Dask worker
            pass
    return f"pid {os.getpid()}"


def _simulation_threads(worker: str, host_threads: Mapping[str, int] | None) -> int:
    cores = default_workers()
    if not host_threads:
        return cores
    host = urlsplit(worker).hostname or worker
    return max(1, cores // max(1, host_threads.get(host, 1)))


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, CocoonEconError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)
