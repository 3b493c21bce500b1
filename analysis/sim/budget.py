"""How much memory and time a simulation will take, estimated before it runs (issue 13).

``--paths 1e12`` would run for years and ``--horizon-days 1e8`` would be killed by the OOM killer;
:func:`check_run_budget` refuses such a run up front with the limit and how to split it.

The constants are measured (``benchmarks/reliability_counts.py`` prints them; 2-core machine,
all nine strategies, compiled kernels): one path-day keeps about 28 bytes alive while its
chunk of paths runs and costs about 50-110 ns of one core. They are rounded up here, so the
estimate errs on the safe side.
"""

from __future__ import annotations

import math
import os

from analysis.core.errors import InputError

#: Bytes alive per path-day of a running chunk (all strategies), rounded up from the measured ~28.
BYTES_PER_PATH_DAY = 40.0
#: Bytes per path-day kept when the paths and positions are kept (report charts): prices + one per strategy.
KEPT_BYTES_PER_PATH_DAY_PER_SERIES = 8.0
#: Core-nanoseconds per path-day, rounded up from the measured 50-110.
NS_PER_PATH_DAY = 150.0
#: Longest run accepted (seconds of wall-clock, estimated).
MAX_SECONDS = 1800.0
#: Share of the machine's memory one run may take.
MAX_MEMORY_FRACTION = 0.5
#: Paths per chunk (as :data:`analysis.sim.simulation.CHUNK_PATHS`).
CHUNK_PATHS = 8192


def total_memory_bytes() -> float:
    """Physical memory of this machine (16 GiB when it cannot be read)."""
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return 16.0 * 2**30


def estimate_run(n_paths: int, horizon_days: int, n_strategies: int = 9, workers: int = 1,
                 keep_paths: bool = False) -> tuple[float, float]:
    """``(bytes, seconds)`` a run of ``n_paths`` x ``horizon_days`` is expected to need."""
    workers = max(1, int(workers))
    chunk = min(int(n_paths), CHUNK_PATHS)
    share = max(n_strategies, 1) / 9.0
    live = min(workers, math.ceil(n_paths / CHUNK_PATHS)) * chunk * horizon_days * BYTES_PER_PATH_DAY * max(share, 0.3)
    kept = n_paths * horizon_days * KEPT_BYTES_PER_PATH_DAY_PER_SERIES * (1 + n_strategies) if keep_paths else 0.0
    seconds = n_paths * horizon_days * NS_PER_PATH_DAY * 1e-9 * max(share, 0.3) / workers
    return live + kept, seconds


def _size(n: float) -> str:
    return f"{n / 2**30:,.1f} GB" if n >= 2**30 else f"{n / 2**20:,.0f} MB"


def _duration(s: float) -> str:
    if s < 120:
        return f"{s:,.0f} s"
    if s < 7200:
        return f"{s / 60:,.0f} min"
    if s < 2 * 86400:
        return f"{s / 3600:,.1f} h"
    return f"{s / 86400:,.3g} days"


def describe_estimate(n_paths: int, horizon_days: int, n_strategies: int = 9, workers: int | None = None,
                      min_seconds: float = 10.0) -> str | None:
    """One line with the estimated memory and time of a run, when it should take ``min_seconds`` or more."""
    workers = workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    need, seconds = estimate_run(n_paths, horizon_days, n_strategies, workers)
    if seconds < min_seconds:
        return None
    return (f"{n_paths:,} paths x {horizon_days:,} days: estimated {_size(need)} and {_duration(seconds)} "
            f"on {workers} thread(s) (limit {_duration(MAX_SECONDS)})")


def check_run_budget(n_paths: int, horizon_days: int, n_strategies: int = 9, workers: int = 1,
                     keep_paths: bool = False, *, max_seconds: float = MAX_SECONDS,
                     max_bytes: float | None = None) -> tuple[float, float]:
    """The estimate of :func:`estimate_run`, or :class:`InputError` when it passes a limit.

    The message gives the estimate, the limit, and the largest ``--paths`` (or
    ``--horizon-days``) that fits, so the run can be split (different ``--seed`` per part).
    """
    limit = MAX_MEMORY_FRACTION * total_memory_bytes() if max_bytes is None else max_bytes
    need, seconds = estimate_run(n_paths, horizon_days, n_strategies, workers, keep_paths)
    if need <= limit and seconds <= max_seconds:
        return need, seconds
    def fits(paths: int, days: int) -> bool:
        b, t = estimate_run(paths, days, n_strategies, workers, keep_paths)
        return b <= limit and t <= max_seconds

    if not fits(1, horizon_days):  # even one path is too much: the horizon is the problem
        days = _largest(lambda d: fits(1, d), horizon_days)
        raise InputError(f"--horizon-days {horizon_days:,} is too long for one run (estimated {_size(need)} and "
                         f"{_duration(seconds)}; the limits are {_size(limit)} and {_duration(max_seconds)}); "
                         f"use --horizon-days {days:,} or less")
    fit_paths = _largest(lambda p: fits(p, horizon_days), n_paths)
    parts = math.ceil(n_paths / fit_paths)
    raise InputError(f"--paths {n_paths:,} x --horizon-days {horizon_days:,} is too large for one run (estimated "
                     f"{_size(need)} and {_duration(seconds)}; the limits are {_size(limit)} and "
                     f"{_duration(max_seconds)}); use --paths {fit_paths:,} or less, or split it into {parts:,} runs "
                     "with different --seed values and pool the results")


def _largest(ok, high: int) -> int:
    """The largest ``n`` in ``1..high`` with ``ok(n)`` (``ok`` is true up to a point, then false)."""
    lo, hi = 1, int(high)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo
