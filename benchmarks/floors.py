"""What a simulation cannot beat, measured like for like, and how the benchmarks time things.

Two floors per method, each computed by plain numpy in chunks into reused buffers, on the same
number of threads as the run it is set against:

- the **paths floor** (:func:`path_floor`), issue 20's "floor": the method's price paths
  ``[days + 1, paths]`` -- its draws, turned into log returns, summed over the days and
  exponentiated (the numpy version of what every simulation does before its policies). Issue 20's
  table (``simulate --method gbm`` 2.8 s = 3.8x its floor) used this floor, then as one array in one
  thread; its targets are read against it;
- the **draws floor** (:func:`draw_floor`), stricter: only the random numbers --

  - ``gbm``: one standard normal per path and day;
  - ``bootstrap``: one uniform start index and one uniform "new block?" draw per path and day;
  - ``garch``: one Student-t variate per path and day (the method's own shocks).

The paths floor adds, per method: ``gbm`` scale and shift, cumulative sum, exp; ``bootstrap`` the
stationary bootstrap's index walk (a day loop over rows of paths), the gather of the sample's
returns, cumulative sum, exp; ``garch`` the GARCH(1,1) variance recursion (a day loop over rows),
cumulative sum, exp. The cumulative sum adds row to row (numpy's ``cumsum(axis=0)`` on a C-ordered
``[days, paths]`` array walks it column by column and takes longer than the draws: a floor must not
carry that). Chunk by chunk, so either floor at 1,000,000 x 1,825 needs a few MB, not the
13.6 GiB of one array. :func:`repeat` times a callable ``runs`` times and reports the median
with the spread (min..max): the machine is shared, so one figure alone says little.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

FLOOR_METHODS = ("gbm", "bootstrap", "garch")
CHUNK_PATHS = 8192
GARCH_NU = 5.0       # degrees of freedom of the floor's t draws (the draw's cost barely depends on it)
BOOTSTRAP_OBS = 1500  # sample days the start indices are drawn from


@dataclass(frozen=True)
class Timing:
    """Wall seconds of repeated runs."""

    runs: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def spread(self) -> str:
        return f"{min(self.runs):.2f}..{max(self.runs):.2f}"

    def text(self) -> str:
        return f"{self.median:7.2f} s  (n={len(self.runs)}, {self.spread()})"


def repeat(func: Callable[[], object], runs: int = 5) -> Timing:
    """Wall time of ``func()``, ``runs`` times."""
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        out.append(time.perf_counter() - start)
    return Timing(tuple(out))


def _chunk_by_chunk(method: str, n_paths: int, days: int, seed: int, workers: int, chunk: int, rows: int,
                    work: Callable[[np.random.Generator, np.ndarray], None]) -> None:
    """``work(rng, buffer)`` for each chunk of ``chunk`` paths (its own stream, a ``[rows, width]`` buffer
    reused per thread), on ``workers`` threads."""
    if method not in FLOOR_METHODS:
        raise ValueError(f"no floor for method {method!r}; use one of {', '.join(FLOOR_METHODS)}")
    n_chunks = -(-n_paths // chunk)
    children = np.random.SeedSequence(seed).spawn(n_chunks)
    buffers: dict[int, np.ndarray] = {}

    def one(k: int) -> None:
        width = min(chunk, n_paths - k * chunk)
        key = threading.get_ident()
        buf = buffers.get(key)
        if buf is None or buf.shape != (rows, width):
            buf = buffers[key] = np.empty((rows, width))
        work(np.random.default_rng(children[k]), buf)

    if workers <= 1:
        for k in range(n_chunks):
            one(k)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, range(n_chunks)))


def draw_floor(method: str, n_paths: int, days: int, seed: int = 1, workers: int = 1,
               chunk: int = CHUNK_PATHS) -> None:
    """Draw what ``method`` draws for ``n_paths`` x ``days``, chunk by chunk on ``workers`` threads."""
    def work(rng: np.random.Generator, buf: np.ndarray) -> None:
        if method == "gbm":
            rng.standard_normal(out=buf)
        elif method == "garch":
            rng.standard_t(GARCH_NU, size=buf.shape)
        else:
            rng.integers(BOOTSTRAP_OBS, size=buf.shape, dtype=np.int64)
            rng.random(out=buf)

    _chunk_by_chunk(method, n_paths, days, seed, workers, chunk, days, work)


def path_floor(method: str, n_paths: int, days: int, seed: int = 1, workers: int = 1,
               chunk: int = CHUNK_PATHS) -> None:
    """The price paths of ``method`` for ``n_paths`` x ``days`` in plain numpy, chunk by chunk on ``workers``
    threads (module docstring: the paths floor)."""
    returns = np.random.default_rng(seed).standard_normal(BOOTSTRAP_OBS) * 0.04   # the bootstrap's sample

    def work(rng: np.random.Generator, buf: np.ndarray) -> None:
        width = buf.shape[1]
        buf[0] = 0.0
        steps = buf[1:]
        if method == "gbm":
            rng.standard_normal(out=steps)
            steps *= 0.04
            steps -= 0.0008
        elif method == "garch":
            steps[...] = rng.standard_t(GARCH_NU, size=(days, width))
            variance = np.full(width, 16.0)
            for t in range(days):                     # percent units, as the model
                shock = np.sqrt(variance) * steps[t]
                steps[t] = shock
                variance *= 0.9
                variance += 0.2 + 0.08 * shock * shock
                np.minimum(variance, 400.0, out=variance)
            steps /= 100.0
        else:
            starts = rng.integers(BOOTSTRAP_OBS, size=(days, width), dtype=np.int64)
            new_block = rng.random((days, width)) < 0.1
            index = starts[0].copy()
            steps[0] = returns[index]
            for t in range(1, days):
                index += 1
                np.copyto(index, 0, where=index == BOOTSTRAP_OBS)
                np.copyto(index, starts[t], where=new_block[t])
                np.take(returns, index, out=steps[t])
        for t in range(1, days + 1):   # row by row: np.cumsum(axis=0) walks a C array column by column, ~15x slower
            np.add(buf[t - 1], buf[t], out=buf[t])
        np.exp(buf, out=buf)
        buf *= 2.0                                    # the start price

    _chunk_by_chunk(method, n_paths, days, seed, workers, chunk, days + 1, work)


FLOORS = {"paths": path_floor, "draws": draw_floor}


def main() -> None:
    """``python -m benchmarks.floors METHOD PATHS DAYS WORKERS [paths|draws]``: a floor as its own process
    (interpreter, numpy, the floor's work), the fair comparison for a CLI run."""
    import sys

    method, n_paths, days, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    kind = sys.argv[5] if len(sys.argv) > 5 else "paths"
    FLOORS[kind](method, n_paths, days, workers=workers)


if __name__ == "__main__":
    main()
