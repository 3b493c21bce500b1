"""Small compiled numeric helpers shared by the models (no project imports: the lowest layer).

Compiled (numba's kernels in :mod:`analysis.core.numeric_jit`, built ahead of time when
:mod:`analysis.core.compiled` finds the library; GIL released) where a Python loop over days
would hold the GIL between its numpy steps, which serialises the simulation's threads.
"""

from __future__ import annotations

import numpy as np

from analysis.core.compiled import KernelSet

#: The kernels of :mod:`analysis.core.numeric_jit`, from the built library or numba (:mod:`analysis.core.compiled`).
KERNELS = KernelSet("analysis.core.numeric_jit", {
    "cumsum_rows": ("f8[2]", "f8[2]"),
    "squared_steps_cumsum": ("f8[2]", "i8", "f8[1]", "f8[2]"),
    "payout_rows": ("f8[2]", "f8", "f8", "f8", "f8", "f8", "f8", "f8[1]", "f8[1]", "f8[2]"),
    "pegged_payout_rows": ("f8[2]", "f8", "f8", "f8", "f8", "f8", "f8", "f8", "f8", "f8", "f8[1]", "f8[1]", "f8[2]"),
    "ndtr_flat": ("f8[1]", "f8[1]"),
    "block_walk": ("i8[2]", "b1[2]", "i8"),
    "garch_rows": ("f8[2]", "f8[1]", "f8", "f8", "f8", "f8", "i8"),
    "bootstrap_rows": ("i8[2]", "f8[2]", "f8", "f8[1]", "f8[2]", "i8[1]", "i8"),
    "growth_rows": ("f8[2]", "f8", "f8", "i8", "f8[2]", "i8"),
})


def cumsum_days(values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Cumulative sum over axis 0 of a day-major array: ``out[t] = out[t-1] + values[t]``.

    ``np.cumsum(axis=0)`` walks a C-ordered ``[days, paths]`` array column by column; a compiled
    row-by-row loop keeps every step contiguous and releases the GIL (simulation chunks run in
    threads). The same additions in the same order as ``np.cumsum``, so the same bits.
    ``out`` may be ``values`` itself.
    """
    if out is None:
        out = np.empty_like(values)
    if values.ndim == 1:
        return np.cumsum(values, out=out)
    if values.ndim == 2 and values.dtype == np.float64 and out.dtype == np.float64 and values.shape[0]:
        KERNELS.get("cumsum_rows")(values, out)
        return out
    if out is not values:
        out[0] = values[0]
    for t in range(1, values.shape[0]):
        np.add(out[t - 1], values[t], out=out[t])
    return out


def cumulative_squared_steps(values: np.ndarray, rows: int, every: int = 1) -> np.ndarray:
    """``out [rows, P]``: ``out[0] = 0``, ``out[t] = out[t-1] + (values[t] - values[t-1])^2`` over day-major
    ``values [>= rows, P]`` -- the numpy steps ``subtract``, ``square``, :func:`cumsum_days` in one
    pass (the same operations in the same order: the same bits). With ``every`` only the rows
    ``0, every, 2 every, ... < rows`` are returned (``out[::every]``, the same numbers, without
    writing the others: the options' realised volatility needs one row a month)."""
    if values.ndim != 2 or not 0 <= rows <= values.shape[0]:   # the kernel reads rows 0 .. rows - 1, unchecked
        raise ValueError(f"values must be a [>= {rows}, paths] array, got shape {values.shape}")
    if int(every) != every or every < 1:
        raise ValueError(f"every = {every} must be a whole number of rows, at least 1")
    out = np.empty((-(-int(rows) // int(every)), values.shape[1]))
    if rows:
        KERNELS.get("squared_steps_cumsum")(np.ascontiguousarray(values[:rows], dtype=np.float64), int(every),
                                            np.empty(values.shape[1]), out)
    return out


def payout_rows(fee_nanoton: np.ndarray, nanoton_per_ton: float, adjusted: float, threshold: float, tol: float,
                gpus: float, per_payout: float, cumulative: np.ndarray, paid: np.ndarray, out: np.ndarray) -> None:
    """The days of :func:`analysis.econ.ledger.payouts_day_major`: per day and path the operations of
    :func:`analysis.econ.ledger.path_income` in its order (TON earned, running sum, payouts so far, the
    day's new ones), so the same bits, in one pass instead of ten numpy passes.

    ``fee_nanoton [n, P]``; ``cumulative`` and ``paid`` ``[P]`` carry a worker's earnings and
    payouts from the days before and are updated; ``out [n, P]`` receives the TON paid out.
    """
    KERNELS.get("payout_rows")(fee_nanoton, float(nanoton_per_ton), float(adjusted), float(threshold), float(tol),
                               float(gpus), float(per_payout), cumulative, paid, out)


def pegged_payout_rows(prices: np.ndarray, usd_per_token: float, nanoton_factor: float, share: float,
                       nanoton_per_ton: float, adjusted: float, threshold: float, tol: float, gpus: float,
                       per_payout: float, cumulative: np.ndarray, paid: np.ndarray, out: np.ndarray) -> None:
    """:func:`payout_rows` for ``usd_pegged`` pricing, the fee of day ``t`` computed from the close
    ``prices[t + 1]`` (``prices [n + 1, P]``, day-major) as
    :func:`analysis.econ.networks.worker_nanoton_per_adjusted_token` computes it: the same bits, without
    its three passes over a transposed block and the copy back to day-major."""
    KERNELS.get("pegged_payout_rows")(np.ascontiguousarray(prices, dtype=np.float64), float(usd_per_token),
                                      float(nanoton_factor), float(share), float(nanoton_per_ton), float(adjusted),
                                      float(threshold), float(tol), float(gpus), float(per_payout), cumulative, paid,
                                      out)


def ndtr(x: np.ndarray | float) -> np.ndarray:
    """The standard normal CDF, elementwise: ``scipy.special.ndtr``'s formula (Cephes ``ndtr.c``).

    ``0.5 + 0.5 erf(x / sqrt 2)`` near zero, ``0.5 erfc(|x| / sqrt 2)`` (or one minus it) in the
    tails, where ``erf`` would lose the digits. Compiled (libm's ``erf``/``erfc``) so that the
    option pricing does not import scipy.special at start-up (about 0.2-0.8 s);
    ``tests/test_numeric.py`` checks it against scipy to a few ulp.
    """
    values = np.asarray(x, dtype=np.float64)
    out = np.empty(values.shape)
    KERNELS.get("ndtr_flat")(np.ascontiguousarray(values).reshape(-1), out.reshape(-1))
    return out


def stationary_block_walk(index: np.ndarray, new_block: np.ndarray, n_obs: int) -> np.ndarray:
    """The stationary bootstrap's index walk, in place on day-major ``index [days, paths]``.

    Row ``t`` keeps its drawn start where ``new_block[t]`` is set, else continues the block:
    ``index[t-1] + 1``, wrapping to 0 at ``n_obs``. Row 0 always starts a block. Compiled (one
    pass, GIL released): the per-day numpy loop it replaces held the GIL between 3 small steps a day.
    """
    if index.ndim != 2 or index.shape != new_block.shape:
        raise ValueError("index and new_block must be [days, paths] arrays of the same shape")
    KERNELS.get("block_walk")(index, new_block, int(n_obs))
    return index


def garch_recursion(z: np.ndarray, first_variance: float, omega: float, alpha: float, beta: float,
                    max_variance: float, variance_drag: bool = False) -> np.ndarray:
    """GARCH(1,1) shocks in place on day-major standardised draws ``z [days, paths]``.

    Day by day: ``e_t = sqrt(s2_t) z_t``, then ``s2_{t+1} = min(beta s2_t + (omega + alpha e_t^2),
    max_variance)``, starting at ``min(first_variance, max_variance)``; ``z_t`` becomes ``e_t``, or
    with ``variance_drag`` ``e_t - s2_t / 200`` (sigma^2 / 2 in percent units). The numpy loop's
    operations in its order (the same bits), compiled with the GIL released.
    """
    if z.ndim != 2:
        raise ValueError("z must be a [days, paths] array")
    variance = np.full(z.shape[1], min(float(first_variance), float(max_variance)))
    KERNELS.get("garch_rows")(z, variance, float(omega), float(alpha), float(beta), float(max_variance),
                              int(bool(variance_drag)))
    return z


def bootstrap_log_growth(starts: np.ndarray, uniforms: np.ndarray, new_block_probability: float,
                         returns: np.ndarray, out: np.ndarray | None = None, col0: int = 0) -> np.ndarray:
    """Day-major cumulative log growth ``[days + 1, paths]`` of stationary-bootstrap paths, in one pass.

    The index walk of :func:`stationary_block_walk` (a new block where ``uniforms < p``), the
    gather ``returns[index]`` and the cumulative sum of :func:`cumsum_days`, fused: no index or
    gathered array is written, and the additions are cumsum's, in its order (the same bits).
    Per day the walk runs in its own loop over the paths (vector selects), then the gather and the
    addition: in one loop LLVM compiled the choice of a new block into a branch, mispredicted at
    random (``p`` is about 0.25), 3.4 ns per path and day against 0.9 ns (Zen 4, one thread).
    With ``out`` (C-contiguous ``[days + 1, >= col0 + paths]``) the growth goes into its columns
    ``col0 ..`` and ``out`` is returned whole (a chunk's blocks written in place, no joining copy).
    """
    if starts.ndim != 2 or starts.shape != uniforms.shape:
        raise ValueError("starts and uniforms must be [days, paths] arrays of the same shape")
    days, paths = starts.shape
    out = _growth_out(out, days, paths, col0)
    KERNELS.get("bootstrap_rows")(starts, uniforms, float(new_block_probability),
                                  np.ascontiguousarray(returns, dtype=np.float64), out, np.empty(paths, dtype=np.int64),
                                  int(col0))
    return out


def log_growth_into(steps: np.ndarray, out: np.ndarray | None = None, col0: int = 0, scale: float | None = None,
                    shift: float = 0.0) -> np.ndarray:
    """Day-major log growth ``[days + 1, paths]`` from day-major steps ``[days, paths]``: row 0 is 0, then
    the cumulative sum of the steps (with ``scale``, of ``steps * scale + shift``, computed as numpy's
    ``*=`` and ``+=`` would: the same bits). With ``out`` (C-contiguous ``[days + 1, >= col0 + paths]``)
    into its columns ``col0 ..``, and ``out`` is returned whole."""
    steps = np.ascontiguousarray(steps, dtype=np.float64)
    if steps.ndim != 2:
        raise ValueError("steps must be a [days, paths] array")
    days, paths = steps.shape
    out = _growth_out(out, days, paths, col0)
    KERNELS.get("growth_rows")(steps, 1.0 if scale is None else float(scale), float(shift), int(scale is not None),
                               out, int(col0))
    return out


def _growth_out(out: np.ndarray | None, days: int, paths: int, col0: int) -> np.ndarray:
    if out is None:
        if col0:
            raise ValueError("col0 needs an out array")
        return np.empty((days + 1, paths))
    if (out.ndim != 2 or out.shape[0] != days + 1 or not 0 <= col0 <= out.shape[1] - paths
            or out.dtype != np.float64 or not out.flags.c_contiguous):
        raise ValueError(f"out must be a C-contiguous float64 [{days + 1}, >= {col0 + paths}] array")
    return out


