"""analysis.core.roots.brentq against scipy.optimize.brentq (the same algorithm, the same steps)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq as scipy_brentq

from analysis.core.errors import InputError
from analysis.core.roots import brentq


@pytest.mark.parametrize(("f", "a", "b"), [
    (lambda x: x * x - 2.0, 0.0, 2.0),
    (lambda x: math.cos(x) - x, -1.0, 2.0),
    (lambda x: (x - 0.3) ** 3, -1.0, 1.0),
    (lambda x: math.exp(x) - 1e6, -5.0, 50.0),
    (lambda x: math.tanh(50 * (x - 0.123)), -3.0, 4.0),
])
def test_brentq_matches_scipy(f, a, b):
    for xtol, rtol in ((2e-12, 8.881784197001252e-16), (1e-12, 1e-12), (1e-4, 1e-6)):
        ours = brentq(f, a, b, xtol=xtol, rtol=rtol, maxiter=500)
        theirs = scipy_brentq(f, a, b, xtol=xtol, rtol=rtol, maxiter=500)
        assert ours == theirs


def test_brentq_irr_of_a_cash_flow():
    # NPV(r) = -100 + 60/(1+r) + 60/(1+r)^2 = 0 with y = 1/(1+r): 60 y^2 + 60 y - 100 = 0,
    # so y = (-60 + sqrt(3600 + 24000)) / 120.
    y = (-60 + math.sqrt(3600 + 24000)) / 120
    rate = brentq(lambda r: -100 + 60 / (1 + r) + 60 / (1 + r) ** 2, 0.0, 1.0, xtol=1e-14)
    assert rate == pytest.approx(1 / y - 1, abs=1e-12)


def test_brentq_ends_and_errors():
    assert brentq(lambda x: x, 0.0, 1.0) == 0.0
    assert brentq(lambda x: x - 1.0, 0.0, 1.0) == 1.0
    with pytest.raises(InputError, match="same sign"):
        brentq(lambda x: x * x + 1, -1.0, 1.0)
    with pytest.raises(InputError, match="no convergence"):
        brentq(lambda x: np.sign(x - 0.3) * abs(x - 0.3) ** 0.01, 0.0, 1.0, xtol=1e-300, rtol=1e-300, maxiter=3)
