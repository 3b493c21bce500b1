"""What a simulation cannot beat, measured like for like, and how the benchmarks time things.

A method's *floor* is the random numbers it has to draw, drawn by numpy in chunks into one
reused buffer per thread, on the same number of threads the measured run uses:

- ``gbm``: one standard normal per path and day;
- ``bootstrap``: one uniform start index and one uniform "new block?" draw per path and day;
- ``garch``: one Student-t variate per path and day (the method's own shocks).

The draws are made chunk by chunk, so the floor at 1,000,000 x 1,825 needs a few MB, not the
13.6 GiB of one array. :func:`repeat` times a callable ``runs`` times and reports the median
with the spread (min..max): the machine is shared, so one figure alone says little.
"""

from __future__ import annotations

import statistics
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


def draw_floor(method: str, n_paths: int, days: int, seed: int = 1, workers: int = 1,
               chunk: int = CHUNK_PATHS) -> None:
    """Draw what ``method`` draws for ``n_paths`` x ``days``, chunk by chunk on ``workers`` threads."""
    if method not in FLOOR_METHODS:
        raise ValueError(f"no floor for method {method!r}; use one of {', '.join(FLOOR_METHODS)}")
    n_chunks = -(-n_paths // chunk)
    children = np.random.SeedSequence(seed).spawn(n_chunks)
    buffers: dict[int, np.ndarray] = {}

    def one(k: int) -> None:
        import threading

        width = min(chunk, n_paths - k * chunk)
        rng = np.random.default_rng(children[k])
        key = threading.get_ident()
        buf = buffers.get(key)
        if buf is None or buf.shape != (days, width):
            buf = buffers[key] = np.empty((days, width))
        if method == "gbm":
            rng.standard_normal(out=buf)
        elif method == "garch":
            rng.standard_t(GARCH_NU, size=(days, width))
        else:
            rng.integers(BOOTSTRAP_OBS, size=(days, width), dtype=np.int64)
            rng.random(out=buf)

    if workers <= 1:
        for k in range(n_chunks):
            one(k)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, range(n_chunks)))


def main() -> None:
    """``python -m benchmarks.floors METHOD PATHS DAYS WORKERS``: the floor as its own process
    (interpreter, numpy, the draws), the fair comparison for a CLI run."""
    import sys

    method, n_paths, days, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    draw_floor(method, n_paths, days, workers=workers)


if __name__ == "__main__":
    main()
