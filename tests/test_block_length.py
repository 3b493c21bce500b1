"""The bootstrap's block length without arch equals arch.bootstrap.optimal_block_length."""

from __future__ import annotations

import numpy as np
import pytest
from arch.bootstrap import optimal_block_length as arch_block_length

from analysis.market.prices import daily_closes
from analysis.sim.block_length import optimal_block_length


def _ar1(n: int, phi: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shocks = rng.standard_t(4, size=n)
    out = np.empty(n)
    out[0] = shocks[0]
    for t in range(1, n):
        out[t] = phi * out[t - 1] + shocks[t]
    return out


@pytest.mark.parametrize(("n", "phi", "seed"), [(50, 0.0, 1), (300, 0.3, 2), (1000, 0.8, 3), (2500, -0.4, 4),
                                                 (5000, 0.95, 5), (12, 0.5, 6)])
def test_matches_arch_on_generated_series(n, phi, seed):
    x = _ar1(n, phi, seed)
    expected = arch_block_length(x).iloc[0]
    stationary, circular = optimal_block_length(x)
    assert stationary == pytest.approx(expected["stationary"], rel=1e-12)
    assert circular == pytest.approx(expected["circular"], rel=1e-12)


def test_matches_arch_on_the_shipped_ton_returns():
    closes = daily_closes("ton")["close_usd"].to_numpy()
    returns = np.diff(np.log(closes))
    assert optimal_block_length(returns)[0] == pytest.approx(arch_block_length(returns)["stationary"].iloc[0],
                                                             rel=1e-12)


def test_strong_persistence_gives_longer_blocks_than_noise():
    # White noise needs short blocks; an AR(1) with phi = 0.9 needs much longer ones.
    assert optimal_block_length(_ar1(3000, 0.9, 7))[0] > 5 * optimal_block_length(_ar1(3000, 0.0, 7))[0]
