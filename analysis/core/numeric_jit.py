"""The numba kernels behind :mod:`analysis.core.numeric` (imported only when no compiled library is built).

Each kernel writes into arrays it is given and allocates nothing, so that numba's ahead-of-time
compiler can build it without its runtime (:mod:`analysis.core.compiled`, :mod:`analysis.core.aot`).
``cache=True``: without a built library, numba compiles each kernel once per machine and caches it
on disk. ``nogil=True``: the simulation's chunks run in threads.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_SQRT1_2 = 0.7071067811865476


@numba.njit(cache=True, nogil=True)
def cumsum_rows(values, out):  # pragma: no cover - compiled
    n_days, n_paths = values.shape
    for i in range(n_paths):
        out[0, i] = values[0, i]
    for t in range(1, n_days):
        for i in range(n_paths):
            out[t, i] = out[t - 1, i] + values[t, i]


@numba.njit(cache=True, nogil=True)
def squared_steps_cumsum(values, every, acc, out):  # pragma: no cover - compiled
    """``c[0] = 0``, ``c[t] = c[t-1] + (values[t] - values[t-1])^2``, the running sum in ``acc [P]``;
    ``out[r] = c[r * every]`` for the rows of ``out`` (only those are written)."""
    n_out, n_paths = out.shape
    first = out[0]
    for i in range(n_paths):
        acc[i] = 0.0
        first[i] = 0.0
    for t in range(1, (n_out - 1) * every + 1):
        now, before = values[t], values[t - 1]
        for i in range(n_paths):
            step = now[i] - before[i]
            acc[i] = acc[i] + step * step
        if t % every == 0:
            row = out[t // every]
            for i in range(n_paths):
                row[i] = acc[i]


@numba.njit(inline="always")
def payout_step(fee, nanoton_per_ton, adjusted, threshold, tol, gpus, per_payout, cumulative, paid):  # pragma: no cover
    """A worker's day at ``fee`` nanoTON per adjusted token, after earning ``cumulative`` TON and
    ``paid`` payouts (path_income's operations in its order): ``(TON paid out today by the GPUs,
    cumulative, paid)``. Also inlined by the simulation's scan (analysis.sim.kernels_jit)."""
    earned = adjusted * fee
    earned /= nanoton_per_ton
    total = cumulative + earned
    count = total / threshold
    count += tol
    count = np.floor(count)
    new = count - paid
    new *= gpus
    new *= per_payout
    return new, total, count


@numba.njit(inline="always")
def _paid_out(fee, i, nanoton_per_ton, adjusted, threshold, tol, gpus, per_payout, cumulative, paid):  # pragma: no cover
    """Path ``i``'s payouts of the day at ``fee`` (:func:`payout_step` on ``cumulative[i]``, ``paid[i]``)."""
    new, cumulative[i], paid[i] = payout_step(fee, nanoton_per_ton, adjusted, threshold, tol, gpus, per_payout,
                                              cumulative[i], paid[i])
    return new


@numba.njit(cache=True, nogil=True)
def payout_rows(fee_nanoton, nanoton_per_ton, adjusted, threshold, tol, gpus, per_payout,
                cumulative, paid, out):  # pragma: no cover - compiled
    """See :func:`analysis.core.numeric.payout_rows`."""
    n_days, n_paths = fee_nanoton.shape
    for t in range(n_days):
        fee, row = fee_nanoton[t], out[t]
        for i in range(n_paths):
            row[i] = _paid_out(fee[i], i, nanoton_per_ton, adjusted, threshold, tol, gpus, per_payout, cumulative,
                               paid)


@numba.njit(cache=True, nogil=True)
def pegged_payout_rows(prices, usd_per_token, nanoton_factor, share, nanoton_per_ton, adjusted, threshold, tol, gpus,
                       per_payout, cumulative, paid, out):  # pragma: no cover - compiled
    """:func:`payout_rows` with the usd_pegged fee of each path and day computed here from its close
    ``prices[t + 1]`` (``networks.worker_nanoton_per_adjusted_token``'s operations in its order:
    ``usd_per_token / close * nanoton_factor * share``). ``np.divide``: IEEE, no zero test inside the
    loop (the closes are checked positive before)."""
    n_days, n_paths = out.shape
    for t in range(n_days):
        close, row = prices[t + 1], out[t]
        for i in range(n_paths):
            fee = np.divide(usd_per_token, close[i])
            fee *= nanoton_factor
            fee *= share
            row[i] = _paid_out(fee, i, nanoton_per_ton, adjusted, threshold, tol, gpus, per_payout, cumulative, paid)


@numba.njit(cache=True, nogil=True)
def ndtr_flat(values, out):  # pragma: no cover - compiled
    for i in range(values.size):
        x = values[i] * _SQRT1_2
        z = abs(x)
        if z < _SQRT1_2:
            out[i] = 0.5 + 0.5 * math.erf(x)
        else:
            y = 0.5 * math.erfc(z)
            out[i] = 1.0 - y if x > 0 else y


@numba.njit(cache=True, nogil=True)
def block_walk(index, new_block, n_obs):  # pragma: no cover - compiled
    days, paths = index.shape
    for t in range(1, days):
        for j in range(paths):
            if not new_block[t, j]:
                nxt = index[t - 1, j] + 1
                index[t, j] = 0 if nxt == n_obs else nxt


@numba.njit(cache=True, nogil=True)
def garch_rows(z, variance, omega, alpha, beta, max_variance, drag):  # pragma: no cover - compiled
    """``variance [paths]`` holds each path's starting variance and is updated day by day."""
    days, paths = z.shape
    for t in range(days):
        for j in range(paths):
            shock = np.sqrt(variance[j]) * z[t, j]
            z[t, j] = shock - variance[j] / 200.0 if drag else shock
            v = variance[j] * beta
            v = v + (omega + alpha * shock * shock)
            variance[j] = min(v, max_variance)


@numba.njit(cache=True, nogil=True)
def bootstrap_rows(starts, uniforms, p, returns, out, index, col0):  # pragma: no cover - compiled
    """Into the columns ``col0 .. col0 + paths`` of ``out``; ``index [paths]`` is scratch: each path's
    current row of ``returns``. Rows of ``out`` through 1-D views (a computed index ``col0 + j`` would
    make LLVM scatter, for numba's negative-index wraparound)."""
    days, paths = starts.shape
    n_obs = returns.size
    first = out[0, col0:col0 + paths]
    for j in range(paths):
        first[j] = 0.0
    if days == 0:
        return
    second = out[1, col0:col0 + paths]
    start = starts[0]
    for j in range(paths):
        index[j] = start[j]  # row 0 always starts a block
        second[j] = returns[index[j]]
    for t in range(1, days):
        start, uniform = starts[t], uniforms[t]
        before, after = out[t, col0:col0 + paths], out[t + 1, col0:col0 + paths]
        for j in range(paths):        # the walk alone: vector selects (fused, LLVM made a branch of it)
            nxt = index[j] + 1
            nxt = 0 if nxt == n_obs else nxt
            index[j] = start[j] if uniform[j] < p else nxt
        for j in range(paths):        # then the gather and cumsum's addition
            after[j] = before[j] + returns[index[j]]


@numba.njit(cache=True, nogil=True)
def growth_rows(steps, scale, shift, affine, out, col0):  # pragma: no cover - compiled
    """Log growth into the columns ``col0 .. col0 + paths`` of ``out [days + 1, >= col0 + paths]``:
    row 0 is 0, row 1 the first step, row t + 1 row t plus step t; with ``affine`` a step is
    ``steps[t] * scale + shift`` (numpy's ``*=``, ``+=`` then the cumulative sum: the same bits)."""
    days, paths = steps.shape
    first = out[0, col0:col0 + paths]
    for j in range(paths):
        first[j] = 0.0
    for t in range(days):
        step, before, after = steps[t], out[t, col0:col0 + paths], out[t + 1, col0:col0 + paths]
        if t == 0:
            if affine:
                for j in range(paths):
                    after[j] = step[j] * scale + shift
            else:
                for j in range(paths):
                    after[j] = step[j]
        elif affine:
            for j in range(paths):
                after[j] = before[j] + (step[j] * scale + shift)
        else:
            for j in range(paths):
                after[j] = before[j] + step[j]
