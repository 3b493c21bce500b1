"""Black-Scholes: textbook values, put-call parity, an independent integral, edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from analysis.core.errors import InputError
from analysis.sim.options import black_scholes_call, black_scholes_call_unit, black_scholes_put, black_scholes_put_unit


def test_hull_textbook_example():
    # Hull, Options, Futures and Other Derivatives, the Black-Scholes-Merton worked example:
    # S=42, K=40, r=10%, sigma=20%, T=0.5 gives c = 4.76 and p = 0.81.
    assert black_scholes_call(42, 40, 0.5, 0.2, 0.1) == pytest.approx(4.76, abs=0.005)
    assert black_scholes_put(42, 40, 0.5, 0.2, 0.1) == pytest.approx(0.81, abs=0.005)


def test_put_call_parity_vectorised():
    rng = np.random.default_rng(0)
    spot = rng.uniform(0.5, 5, 200)
    strike = spot * rng.uniform(0.5, 1.5, 200)
    years = rng.uniform(0.01, 2, 200)
    vol = rng.uniform(0.1, 1.5, 200)
    rate = rng.uniform(-0.02, 0.1, 200)
    call = black_scholes_call(spot, strike, years, vol, rate)
    put = black_scholes_put(spot, strike, years, vol, rate)
    assert call.shape == (200,)
    np.testing.assert_allclose(call - put, spot - strike * np.exp(-rate * years), atol=1e-12)


def test_put_equals_the_discounted_lognormal_expectation():
    # independent calculation: integrate the payoff against the risk-neutral lognormal density
    spot, strike, years, vol, rate = 1.3, 1.17, 30 / 365, 0.9, 0.0
    mean = np.log(spot) + (rate - vol ** 2 / 2) * years
    sd = vol * np.sqrt(years)
    integrand = lambda s: (strike - s) * stats.lognorm.pdf(s, sd, scale=np.exp(mean))  # noqa: E731
    expected, _ = integrate.quad(integrand, 0, strike)
    assert black_scholes_put(spot, strike, years, vol, rate) == pytest.approx(np.exp(-rate * years) * expected, rel=1e-7)


def test_homogeneous_in_spot_and_strike():
    # used by the option strategies: price(S, kS) = S price(1, k)
    assert black_scholes_put(3.0, 2.7, 0.1, 0.8) == pytest.approx(3.0 * black_scholes_put(1.0, 0.9, 0.1, 0.8))


def test_zero_time_or_volatility_is_intrinsic_value():
    np.testing.assert_allclose(black_scholes_put([1.0, 2.0], 1.5, 0.0, 0.8), [0.5, 0.0])
    np.testing.assert_allclose(black_scholes_call([1.0, 2.0], 1.5, [0.0, 0.0], 0.8), [0.0, 0.5])
    assert black_scholes_call(2.0, 1.5, 1.0, 0.0, 0.1) == pytest.approx(2.0 - 1.5 * np.exp(-0.1))


def test_broadcasting_shapes():
    out = black_scholes_put(np.ones((3, 1)), 0.9, np.array([0.1, 0.2]), 0.7)
    assert out.shape == (3, 2)


def test_bad_inputs_are_input_errors():
    with pytest.raises(InputError, match="spot"):
        black_scholes_put(-1.0, 1.0, 0.1, 0.5)
    with pytest.raises(InputError, match="vol_annual"):
        black_scholes_call(1.0, 1.0, 0.1, -0.5)


@pytest.mark.parametrize("strike", [0.5, 0.9, 1.0, 1.2, 2.0])
def test_unit_spot_prices_match_the_general_formulas(strike):
    rng = np.random.default_rng(3)
    years = np.array([[0.0], [1 / 365], [30 / 365], [1.0]])
    vol = np.concatenate([[0.0], rng.uniform(0.01, 3.0, 7)])[None, :]
    np.testing.assert_allclose(black_scholes_put_unit(strike, years, vol),
                               black_scholes_put(1.0, strike, years, vol), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(black_scholes_call_unit(strike, years, vol),
                               black_scholes_call(1.0, strike, years, vol), rtol=1e-10, atol=1e-14)


def test_unit_spot_prices_reject_bad_input():
    with pytest.raises(InputError, match="strike"):
        black_scholes_put_unit(0.0, 0.1, 0.5)
    with pytest.raises(InputError, match="vol_annual"):
        black_scholes_call_unit(1.0, 0.1, -0.5)
