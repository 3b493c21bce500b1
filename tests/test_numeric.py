"""analysis.core.numeric: the compiled helpers give numpy's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.core.numeric import cumsum_days


def test_cumsum_days_equals_numpy_cumsum_bit_for_bit():
    values = np.random.default_rng(7).standard_normal((40, 33))
    expected = np.cumsum(values, axis=0)
    np.testing.assert_array_equal(cumsum_days(values), expected)
    in_place = values.copy()
    assert cumsum_days(in_place, out=in_place) is in_place
    np.testing.assert_array_equal(in_place, expected)
    out = np.zeros((41, 33))
    cumsum_days(values, out=out[1:])                      # a view as the output
    np.testing.assert_array_equal(out[1:], expected)
    assert not out[0].any()
    strided = np.asfortranarray(values)                   # not C-ordered
    np.testing.assert_array_equal(cumsum_days(strided), expected)
    np.testing.assert_array_equal(cumsum_days(values[:, 0]), expected[:, 0])
    np.testing.assert_array_equal(cumsum_days(values.astype(np.float32)), np.cumsum(values.astype(np.float32), axis=0))


def test_ndtr_matches_scipy():
    # libm's erfc and Cephes' differ by a few ulp: within 3e-15 relative down to -8 sd,
    # 1e-13 relative down to -37 sd (where Cephes underflows to 0), 2e-16 absolute everywhere.
    from scipy.special import ndtr as scipy_ndtr

    from analysis.core.numeric import ndtr

    x = np.concatenate([np.linspace(-40, 40, 20001), np.random.default_rng(5).normal(0, 3, 5000),
                        [0.0, -0.0, 1e-300, -1e-300, 0.7071067811865476, -0.7071067811865476, np.inf, -np.inf]])
    ours, theirs = ndtr(x), scipy_ndtr(x)
    assert np.max(np.abs(ours - theirs)) <= 2.3e-16
    body = x > -8
    assert np.allclose(ours[body], theirs[body], rtol=3e-15, atol=0)
    tail = (x > -37) & ~body
    assert np.allclose(ours[tail], theirs[tail], rtol=1e-13, atol=0)
    assert ndtr(x[1:].reshape(2, -1)).shape == (2, (x.size - 1) // 2)
    assert float(ndtr(0.0)) == 0.5 and np.isnan(ndtr(np.nan))
    assert float(ndtr(np.inf)) == 1.0 and float(ndtr(-np.inf)) == 0.0
    # an independent value: Phi(1.959963984540054) = 0.975 (the two-sided 95 % quantile)
    assert abs(float(ndtr(1.959963984540054)) - 0.975) < 1e-15


def test_stationary_block_walk_equals_the_numpy_loop():
    from analysis.core.numeric import stationary_block_walk

    rng = np.random.default_rng(11)
    n_obs, days, paths = 57, 90, 33
    starts = rng.integers(n_obs, size=(days, paths), dtype=np.int64)
    new_block = rng.random((days, paths)) < 0.2
    expected = starts.copy()  # the reference: day by day in numpy
    for t in range(1, days):
        nxt = expected[t - 1] + 1
        nxt[nxt == n_obs] = 0
        np.copyto(expected[t], nxt, where=~new_block[t])
    got = stationary_block_walk(starts.copy(), new_block, n_obs)
    np.testing.assert_array_equal(got, expected)
    # hand-worked: one path, 5 observations, a new block (start 1) on day 3 only
    walk = stationary_block_walk(np.array([[3], [0], [0], [1], [0]]), np.array([[True], [False], [False],
                                                                                  [True], [False]]), 5)
    assert walk.ravel().tolist() == [3, 4, 0, 1, 2]


def test_garch_recursion_equals_the_numpy_loop():
    from analysis.core.numeric import garch_recursion

    rng = np.random.default_rng(13)
    z = rng.standard_t(3.5, size=(120, 41))
    omega, alpha, beta, first, cap = 0.12, 0.09, 0.9, 4.0, 30.0
    expected = z.copy()  # the reference: day by day in numpy
    variance = np.full(z.shape[1], min(first, cap))
    shock = np.empty(z.shape[1])
    for t in range(z.shape[0]):
        np.multiply(np.sqrt(variance), expected[t], out=shock)
        expected[t] = shock
        variance *= beta
        variance += omega + alpha * shock * shock
        np.minimum(variance, cap, out=variance)
    got = garch_recursion(z.copy(), first, omega, alpha, beta, cap)
    np.testing.assert_array_equal(got, expected)
    # with the variance drag (neutral drift): each day's shock less the variance it was drawn at / 200
    dragged = z.copy()
    variance = np.full(z.shape[1], min(first, cap))
    for t in range(z.shape[0]):
        np.multiply(np.sqrt(variance), dragged[t], out=shock)
        np.subtract(shock, variance / 200.0, out=dragged[t])
        variance *= beta
        variance += omega + alpha * shock * shock
        np.minimum(variance, cap, out=variance)
    np.testing.assert_array_equal(garch_recursion(z.copy(), first, omega, alpha, beta, cap, variance_drag=True),
                                  dragged)
    # hand-worked: one path, z = 1, 2: e_1 = sqrt(4) * 1 = 2; s2_2 = 0.9 * 4 + 0.12 + 0.09 * 4 = 4.08
    two = garch_recursion(np.array([[1.0], [2.0]]), first, omega, alpha, beta, cap)
    assert two[0, 0] == 2.0 and abs(two[1, 0] - 2 * np.sqrt(4.08)) < 1e-15


def test_cumulative_squared_steps_is_numpys_subtract_square_cumsum_bit_for_bit():
    from analysis.core.numeric import cumulative_squared_steps

    log_prices = np.cumsum(np.random.default_rng(4).standard_normal((120, 333)) * 0.05, axis=0)
    for rows in (1, 2, 60, 120):
        expected = np.zeros((rows, 333))
        np.subtract(log_prices[1:rows], log_prices[:rows - 1], out=expected[1:])
        np.square(expected, out=expected)
        expected = np.cumsum(expected, axis=0)
        got = cumulative_squared_steps(log_prices, rows)
        assert got.shape == (rows, 333) and got.tobytes() == expected.tobytes()
        for every in (1, 2, 7, 30, rows, rows + 5):   # only the rows 0, every, ...: the same numbers
            sparse = cumulative_squared_steps(log_prices, rows, every)
            assert sparse.tobytes() == expected[::every].tobytes(), (rows, every)
    assert cumulative_squared_steps(log_prices, 0).shape == (0, 333)
    assert cumulative_squared_steps(log_prices, 0, 30).shape == (0, 333)
    with pytest.raises(ValueError, match="every"):
        cumulative_squared_steps(log_prices, 10, 0)
    # more rows than the values have: numpy's subtract raised; the kernel (no bounds checks) would read past the end
    with pytest.raises(ValueError, match=r"\[>= 121, paths\]"):
        cumulative_squared_steps(log_prices, 121)
    with pytest.raises(ValueError, match="paths"):
        cumulative_squared_steps(log_prices[:, 0], 2)


def test_log_growth_into_columns_is_numpys_scale_shift_cumsum_bit_for_bit():
    from analysis.core.numeric import log_growth_into

    z = np.random.default_rng(5).standard_normal((90, 70))
    scale, shift = 0.997 * np.sqrt(1 / 365), -0.5 * 0.997 ** 2 / 365
    steps = z.copy()
    steps *= scale
    steps += shift
    expected = np.zeros((91, 70))
    expected[1:] = np.cumsum(steps, axis=0)
    assert log_growth_into(z, scale=scale, shift=shift).tobytes() == expected.tobytes()
    plain = np.zeros((91, 70))
    plain[1:] = np.cumsum(z, axis=0)
    assert log_growth_into(z).tobytes() == plain.tobytes()
    # into columns 30..100 of a wider array: those columns only
    wide = np.full((91, 130), 7.0)
    assert log_growth_into(z, wide, 30, scale=scale, shift=shift) is wide
    assert wide[:, 30:100].tobytes() == expected.tobytes()
    assert np.all(wide[:, :30] == 7.0) and np.all(wide[:, 100:] == 7.0)
    with pytest.raises(ValueError, match="C-contiguous float64"):
        log_growth_into(z, wide, 61)                      # 61 + 70 > 130


def test_bootstrap_growth_into_columns_equals_its_own_array():
    from analysis.core.numeric import bootstrap_log_growth

    rng = np.random.default_rng(6)
    starts = rng.integers(400, size=(50, 33), dtype=np.int64)
    uniforms = rng.random((50, 33))
    returns = rng.standard_normal(400) * 0.03
    alone = bootstrap_log_growth(starts, uniforms, 0.2, returns)
    wide = np.full((51, 80), -1.0)
    bootstrap_log_growth(starts, uniforms, 0.2, returns, wide, 40)
    assert wide[:, 40:73].tobytes() == alone.tobytes() and np.all(wide[:, :40] == -1.0) and np.all(wide[:, 73:] == -1)


def test_pegged_payout_rows_equal_payout_rows_on_the_engines_pegged_fee():
    from analysis.core.numeric import payout_rows, pegged_payout_rows

    closes = 0.4 + np.abs(np.random.default_rng(9).standard_normal((41, 57)))   # [days + 1, paths]
    usd_per_token, share = 2.2e-7, 0.95
    fee = usd_per_token / closes.T[:, 1:] * 1_000_000_000 * share          # networks.worker_nanoton_... usd_pegged
    args = (1e9, 3e5, 0.02, 1e-9, 8.0, 0.0195)
    a_cum, a_paid, a_out = np.zeros(57), np.zeros(57), np.empty((40, 57))
    payout_rows(np.ascontiguousarray(fee.T), *args, a_cum, a_paid, a_out)
    b_cum, b_paid, b_out = np.zeros(57), np.zeros(57), np.empty((40, 57))
    pegged_payout_rows(closes, usd_per_token, 1e9, share, *args, b_cum, b_paid, b_out)
    assert a_out.tobytes() == b_out.tobytes() and a_cum.tobytes() == b_cum.tobytes()
    assert a_paid.tobytes() == b_paid.tobytes() and b_out.sum() > 0
