"""The compiled scan (analysis.sim.kernels, the one implementation of the policies' books) against
metrics computed independently from its position arrays (analysis.sim.risk.path_outcomes); with and
without positions kept; and the threads, which must not change the numbers. The positions
themselves are checked against a day-by-day reference in tests/test_strategies.py."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from analysis.core.errors import InputError
from analysis.core.resources import SCENARIO_DIR
from analysis.econ.scenario import load_scenario
from analysis.sim import simulation
from analysis.sim.risk import path_outcomes
from analysis.sim.strategies import STRATEGY_NAMES


def _compare(scenario, method, n_paths, horizon, seed, **kwargs):
    ref = simulation.simulate(scenario, method, n_paths, horizon, seed, keep_paths=True, **kwargs)
    fast = simulation.simulate(scenario, method, n_paths, horizon, seed, **kwargs)
    assert fast.strategies == ref.strategies
    for name in fast.strategies:
        kept = ref.outcomes[name]
        numpy_metrics = path_outcomes(ref.positions[name], kept.net_usd)
        for a, b, what in ((kept, numpy_metrics, "kernel vs numpy metrics"), (fast.outcomes[name], kept, "kept")):
            scale = max(1.0, float(np.max(np.abs(b.net_usd))))
            message = f"{name}: {what}"
            np.testing.assert_allclose(a.net_usd, b.net_usd, rtol=1e-12, atol=1e-12 * scale, err_msg=message)
            np.testing.assert_allclose(a.max_drawdown_usd, b.max_drawdown_usd, rtol=1e-12, atol=1e-12 * scale,
                                       err_msg=message)
            np.testing.assert_array_equal(a.payback_day, b.payback_day, err_msg=message)
        np.testing.assert_array_equal(fast.outcomes[name].peak_collateral_usd, kept.peak_collateral_usd)
    return fast


@pytest.mark.parametrize("file, mode", [
    ("hgx_h100_8x_colo.toml", None),
    ("h100_nvl_owned.toml", None),           # owned: the position starts at 0, payback from day 1 exactly
    ("h100_nvl_owned.toml", "repriced"),     # per-path income for every policy
])
def test_kernel_metrics_match_the_full_position_arrays(file, mode):
    scenario = load_scenario(SCENARIO_DIR / file)
    if mode:
        scenario = dataclasses.replace(scenario, pricing=dataclasses.replace(scenario.pricing, mode=mode))
    # 100 days: several tiles' worth of paths, a horizon that is not a multiple of 30
    sim = _compare(scenario, "gbm", 300, 100, 5)
    assert sim.strategies == list(STRATEGY_NAMES)


def test_kernel_metrics_match_on_rolling_paths_with_per_path_funding():
    scenario = load_scenario(SCENARIO_DIR / "h100_nvl_owned.toml")
    _compare(scenario, "rolling", 1, 64, None, strategies=["perp_hedge", "collar", "cover_costs", "usd_pegged"])


def test_kernel_metrics_match_with_garch_option_vol_and_bootstrap():
    scenario = load_scenario(SCENARIO_DIR / "hgx_h100_8x_colo.toml")
    _compare(scenario, "bootstrap", 50, 45, 3, strategies=["put_protection", "collar", "sell_every"],
             option_vol="garch")


def test_threads_do_not_change_the_numbers():
    scenario = load_scenario(SCENARIO_DIR / "hgx_h100_8x_colo.toml")
    n = simulation.CHUNK_PATHS + 300                       # two chunks
    one = simulation.simulate(scenario, "gbm", n, 40, 11, workers=1)
    two = simulation.simulate(scenario, "gbm", n, 40, 11, workers=2)
    for name in one.strategies:
        for field in ("net_usd", "payback_day", "max_drawdown_usd"):
            np.testing.assert_array_equal(getattr(one.outcomes[name], field), getattr(two.outcomes[name], field))


def test_workers_must_be_a_positive_whole_number():
    scenario = load_scenario(SCENARIO_DIR / "hgx_h100_8x_colo.toml")
    with pytest.raises(InputError, match="workers"):
        simulation.simulate(scenario, "gbm", 10, 5, 1, workers=0)


@pytest.mark.parametrize("mode", ["usd_pegged", "repriced", "fixed_token"])
def test_day_major_payouts_are_path_incomes(mode):
    from analysis.econ.ledger import path_income, payouts_day_major
    scenario = load_scenario(SCENARIO_DIR / "hgx_h100_8x_colo.toml")
    scenario = dataclasses.replace(scenario, pricing=dataclasses.replace(scenario.pricing, mode=mode))
    paths = np.exp(np.cumsum(np.random.default_rng(2).normal(0, 0.05, (7, 75)), axis=1))
    income = path_income(scenario, paths)
    payout, unpaid = payouts_day_major(scenario, np.ascontiguousarray(paths.T), block_days=16)
    np.testing.assert_array_equal(payout.T, income.payout_ton)
    np.testing.assert_array_equal(unpaid, income.unpaid_ton)


@pytest.mark.parametrize("n_paths, width, workers, expected", [
    (100_000, 8192, 2, 7168),     # 13 chunks kept one of two threads busy for 7 of them; 14 of 7 blocks: 7 each
    (100_000, 8192, 1, 8192),     # one thread: the widest chunks
    (30_000, 8192, 2, 5120),      # 30 blocks: 6 chunks of 5, not 4 of 8 (8 + 8 vs 8 + 6)
    (1_000_000, 8192, 2, 8192),   # 123 chunks: 62 vs 61 is as even as it gets
    (1_000, 8192, 2, 8192),       # one block: one chunk
    (5_000, 8192, 2, 3072),       # 5 blocks: 3 + 2, not 4 + 1
    (2_000, 8192, 2, 1024),       # 2 blocks: one each
    (100_000, 1024, 2, 1024),     # the memory bound of a long horizon is kept
])
def test_chunks_are_shared_evenly_between_the_threads(n_paths, width, workers, expected):
    got = simulation.balanced_width(width, n_paths, workers)
    assert got == expected and got % simulation.PATH_BLOCK == 0 and got <= width
    blocks = -(-n_paths // simulation.PATH_BLOCK)
    chunks = -(-blocks // (got // simulation.PATH_BLOCK))
    busiest = -(-chunks // workers) * (got // simulation.PATH_BLOCK)
    assert busiest <= 1.03 * -(-blocks // workers) + got // simulation.PATH_BLOCK   # within a chunk of even


def test_balanced_chunks_give_the_numbers_of_any_other_chunks():
    scenario = load_scenario(SCENARIO_DIR / "hgx_h100_8x_colo.toml")
    balanced = simulation.simulate(scenario, "gbm", 30_000, 20, 3, workers=2)        # 6 chunks of 5,120
    fixed = simulation.simulate(scenario, "gbm", 30_000, 20, 3, workers=2, chunk_paths=8192)
    for name in STRATEGY_NAMES:
        assert balanced.outcomes[name].net_usd.tobytes() == fixed.outcomes[name].net_usd.tobytes(), name
