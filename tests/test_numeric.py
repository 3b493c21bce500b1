"""analysis.core.numeric: the compiled helpers give numpy's numbers."""

from __future__ import annotations

import numpy as np

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
