"""COCOON token accounting against hand-worked numbers and exact rational arithmetic."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from econ_support import scenario

from analysis.core.errors import InputError
from analysis.econ.networks import (
    adjusted_tokens,
    adjusted_tokens_runner,
    daily_tokens_per_gpu,
    request_adjusted_tokens,
    request_client_cost_nanoton,
    request_worker_earnings_nanoton,
    worker_nanoton_per_adjusted_token,
)
from analysis.econ.scenario import NetworkConfig

COCOON = NetworkConfig()  # mainnet values: 20/19 nanoTON, multipliers 1.0x/0.1x/8x/8x


def _rational(tokens: int, coef: int, mult: int) -> int:
    """Independent: trunc of the exact rational tokens * coef/1000 * mult/10000."""
    return int(Fraction(tokens) * Fraction(coef, 1000) * Fraction(mult, 10000))


def test_adjusted_tokens_hand_worked():
    assert adjusted_tokens(1000, 1000, 80000) == 8000   # 1000 * 1.0 * 8.0
    assert adjusted_tokens(7, 1000, 1000) == 0          # 7 * 0.1 = 0.7 -> 0
    assert adjusted_tokens(15, 1500, 10000) == 22       # 15 * 1.5 = 22.5 -> 22
    assert adjusted_tokens(123, 1000, 1000) == 12       # 12.3 -> 12
    assert adjusted_tokens(0, 1000, 80000) == 0


def test_adjusted_tokens_matches_exact_rationals():
    rng = np.random.default_rng(1)
    for tokens, coef, mult in zip(rng.integers(0, 10**7, 300), rng.integers(1, 4001, 300),
                                  rng.integers(0, 200_000, 300)):
        assert adjusted_tokens(tokens, coef, mult) == _rational(int(tokens), int(coef), int(mult))


def test_runner_double_arithmetic_agrees_at_the_default_coefficient():
    # With coefficient 1000 the runner's double product equals the exact one for the
    # mainnet multipliers (0.001 * 1000 is exactly 1.0; the rest is a correctly rounded product).
    for mult in (10000, 1000, 80000):
        for tokens in list(range(0, 2000)) + [10**6 + 7, 123_457, 99_999_999]:
            assert adjusted_tokens_runner(tokens, 1000, mult) == adjusted_tokens(tokens, 1000, mult)


def test_runner_double_arithmetic_can_lose_a_token_at_odd_coefficients():
    # coefficient 1025 (1.025x): e.g. 16 cached tokens * 1.025 * 0.1 = 1.64 exactly -> 1
    # either way, but some counts land exactly on an integer that the double product
    # misses from below. Find them and check the difference is exactly one token.
    diffs = [(t, m) for m in (10000, 1000, 80000) for t in range(1, 3000)
             if adjusted_tokens_runner(t, 1025, m) != adjusted_tokens(t, 1025, m)]
    assert diffs, "expected double rounding to bite somewhere at coefficient 1025"
    for t, m in diffs:
        assert adjusted_tokens_runner(t, 1025, m) == adjusted_tokens(t, 1025, m) - 1
        assert Fraction(t) * Fraction(1025, 1000) * Fraction(m, 10000) == adjusted_tokens(t, 1025, m)


def test_request_worker_earnings_hand_worked():
    # usage: 1000 prompt tokens of which 300 cached; 500 completion of which 200 reasoning.
    #   uncached 700 * 1.0 = 700; cached 300 * 0.1 = 30; completion (500-200) * 8 = 2400;
    #   reasoning 200 * 8 = 1600; total 4730 adjusted tokens.
    adj = request_adjusted_tokens(1000, 300, 500, 200, params=COCOON)
    assert adj == (700, 30, 2400, 1600) and adj.total == 4730
    assert request_worker_earnings_nanoton(1000, 300, 500, 200, params=COCOON) == 4730 * 19  # 89 870
    assert request_client_cost_nanoton(1000, 300, 500, 200, params=COCOON) == 4730 * 20      # 94 600


def test_each_type_is_truncated_separately():
    # 15 prompt (5 cached), 1 completion: uncached 10 -> 10; cached 5 * 0.1 = 0.5 -> 0;
    # completion 1 * 8 = 8 -> total 18 (not trunc(18.5) of a summed conversion).
    assert request_adjusted_tokens(15, 5, 1, 0, params=COCOON).total == 18
    # A coefficient of 1.5 scales every type: uncached 10*1.5 = 15; cached 5*0.15 = 0.75 -> 0;
    # completion 1*12 = 12 -> 27.
    params = NetworkConfig(coefficient=1.5)
    assert request_adjusted_tokens(15, 5, 1, 0, params=params).total == 27
    assert request_worker_earnings_nanoton(15, 5, 1, 0, params=params, arithmetic="exact") == 27 * 19


def test_request_input_checks():
    with pytest.raises(InputError, match="cached_prompt_tokens = 20 exceeds prompt_tokens = 10"):
        request_adjusted_tokens(10, 20, 0, 0, params=COCOON)
    with pytest.raises(InputError, match="reasoning_tokens = 5 exceeds completion_tokens = 1"):
        request_adjusted_tokens(10, 0, 1, 5, params=COCOON)
    with pytest.raises(InputError, match="prompt_tokens = -1"):
        request_adjusted_tokens(-1, 0, 0, 0, params=COCOON)
    with pytest.raises(InputError, match="arithmetic"):
        request_adjusted_tokens(1, 0, 0, 0, params=COCOON, arithmetic="float")


def test_daily_tokens_of_the_issue_example():
    # 2000 output tokens/s * 86400 s * 0.6 = 103 680 000 output tokens a day;
    # prompt 2.0x = 207 360 000, of which 30 % cached = 62 208 000, uncached 145 152 000.
    # adjusted = 145 152 000 * 1.0 + 62 208 000 * 0.1 + 103 680 000 * 8
    #          = 145 152 000 + 6 220 800 + 829 440 000 = 980 812 800
    s = scenario()
    t = daily_tokens_per_gpu(s.workload, s.network)
    assert t.output == pytest.approx(103_680_000)
    assert t.prompt == pytest.approx(207_360_000)
    assert t.cached_prompt == pytest.approx(62_208_000)
    assert t.adjusted == pytest.approx(980_812_800, rel=1e-12)
    # Reasoning share moves tokens between two types with the same 8x multiplier: no change.
    t2 = daily_tokens_per_gpu(scenario(workload__reasoning_output_fraction=0.4).workload, s.network)
    assert t2.reasoning == pytest.approx(0.4 * t.output)
    assert t2.adjusted == pytest.approx(t.adjusted, rel=1e-12)


def test_fixed_token_pricing_ignores_the_price_path():
    s = scenario()
    paths = np.array([[1.0, 2.0, 3.0], [5.0, 0.5, 7.0]])
    fee = worker_nanoton_per_adjusted_token(s.network, s.pricing, paths)
    assert fee.shape == (2, 2) and np.all(fee == 19.0)


def test_usd_pegged_equals_fixed_token_when_the_target_matches():
    # At 2.0 USD/TON, 20 nanoTON per adjusted token costs 40 nano-USD = 0.04 USD per M.
    # The worker keeps 19/20, so it earns 19 nanoTON per token: the fixed_token figure.
    s = scenario(pricing__mode="usd_pegged", pricing__usd_per_m_adjusted_tokens=0.04)
    fee = worker_nanoton_per_adjusted_token(s.network, s.pricing, np.full((3, 11), 2.0))
    np.testing.assert_allclose(fee, 19.0, rtol=1e-12)
    # At twice the TON price the worker gets half the TON per token; USD value constant.
    paths = np.array([[2.0, 4.0, 1.0]])
    fee = worker_nanoton_per_adjusted_token(s.network, s.pricing, paths)
    np.testing.assert_allclose(fee, [[9.5, 38.0]], rtol=1e-12)


def test_repriced_resets_every_n_days_at_the_previous_close():
    # N = 2, closes [1, 2, 4, 8, 16] (column 0 is the day before day 1).
    # Days 1-2 use column 0 (1 USD/TON): 0.04e-6 USD / 1 * 1e9 * 19/20 = 38 nanoTON.
    # Days 3-4 use column 2 (4 USD/TON): 38 / 4 = 9.5 nanoTON.
    s = scenario(pricing__mode="repriced", pricing__usd_per_m_adjusted_tokens=0.04, pricing__reprice_every_days=2)
    fee = worker_nanoton_per_adjusted_token(s.network, s.pricing, np.array([[1.0, 2.0, 4.0, 8.0, 16.0]]))
    np.testing.assert_allclose(fee, [[38.0, 38.0, 9.5, 9.5]], rtol=1e-12)
