"""The simulation pipeline: generators -> engine income -> policies -> metrics."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from analysis.core.errors import InputError
from analysis.core.resources import SCENARIO_DIR
from analysis.econ.ledger import daily_ledger, path_income
from analysis.econ.metrics import path_metrics
from analysis.econ.scenario import load_scenario
from analysis.market.prices import daily_closes
from analysis.sim import simulation
from analysis.sim.strategies import STRATEGY_NAMES

OWNED = SCENARIO_DIR / "h100_nvl_owned.toml"
BOUGHT = SCENARIO_DIR / "hgx_h100_8x_colo.toml"


@pytest.fixture(scope="module")
def owned():
    return load_scenario(OWNED)


@pytest.fixture(scope="module")
def bought():
    return load_scenario(BOUGHT)


def test_random_paths_run_every_strategy_reproducibly(bought):
    a = simulation.simulate(bought, "gbm", 300, horizon_days=60, seed=3)
    b = simulation.simulate(bought, "gbm", 300, horizon_days=60, seed=3)
    c = simulation.simulate(bought, "gbm", 300, horizon_days=60, seed=4)
    assert a.strategies == list(STRATEGY_NAMES)
    assert a.summary() == b.summary()
    assert a.summary() != c.summary()
    for name in STRATEGY_NAMES:
        assert a.outcomes[name].n_paths == 300
        assert np.all(np.isfinite(a.outcomes[name].net_usd))


def test_chunks_do_not_change_a_path(bought, monkeypatch):
    # the first block's paths are the same whatever the total number of paths
    monkeypatch.setattr(simulation, "PATH_BLOCK", 100)
    small = simulation.simulate(bought, "bootstrap", 100, horizon_days=40, seed=9, strategies=["hold"])
    large = simulation.simulate(bought, "bootstrap", 250, horizon_days=40, seed=9, strategies=["hold"])
    np.testing.assert_array_equal(small.outcomes["hold"].net_usd, large.outcomes["hold"].net_usd[:100])


@pytest.mark.parametrize("method", ["gbm", "bootstrap", "garch"])
def test_numbers_do_not_depend_on_chunk_width_or_threads(bought, monkeypatch, method):
    # Each block of PATH_BLOCK paths has its own stream: chunks of 1, 2 or 5 blocks (the last one
    # partial) on 1 or 2 threads give the same bits, path by path and policy by policy.
    monkeypatch.setattr(simulation, "PATH_BLOCK", 64)
    runs = [simulation.simulate(bought, method, 300, horizon_days=30, seed=21, chunk_paths=width, workers=threads)
            for width, threads in ((64, 1), (128, 2), (320, 1), (192, 2))]
    for other in runs[1:]:
        for name in STRATEGY_NAMES:
            np.testing.assert_array_equal(other.outcomes[name].net_usd, runs[0].outcomes[name].net_usd)
            np.testing.assert_array_equal(other.outcomes[name].max_drawdown_usd,
                                          runs[0].outcomes[name].max_drawdown_usd)
    # ... and a different seed gives other paths
    assert not np.array_equal(simulation.simulate(bought, method, 300, horizon_days=30, seed=22, chunk_paths=64)
                              .outcomes["hold"].net_usd, runs[0].outcomes["hold"].net_usd)


def test_chunk_width_follows_the_horizon():
    # 8 blocks (the widest chunk) at a year, one block at five years; a chunk's array stays in budget
    assert simulation.chunk_width(365) == simulation.CHUNK_PATHS == 8192
    assert simulation.chunk_width(1825) == simulation.PATH_BLOCK == 1024
    assert simulation.chunk_width(730) == 4096
    for days in (30, 365, 730, 1000, 1825):
        width = simulation.chunk_width(days)
        assert width % simulation.PATH_BLOCK == 0
        assert width == simulation.PATH_BLOCK or width * (days + 1) * 8 <= simulation.CHUNK_BYTES


def test_chunk_paths_must_be_whole_blocks(bought):
    with pytest.raises(InputError, match="multiple of 1024"):
        simulation.simulate(bought, "gbm", 10, horizon_days=10, seed=1, chunk_paths=1000)


def test_historical_sell_on_payout_matches_the_engines_ledger(bought):
    horizon = 200
    sim = simulation.simulate(bought, "historical", horizon_days=horizon, strategies=["sell_on_payout", "usd_pegged"],
                              keep_paths=True)
    start = bought.finance.start
    ledger = daily_ledger(bought, daily_closes("ton"), start, start + dt.timedelta(days=horizon - 1))
    path = sim.price_paths
    assert path.shape == (1, horizon + 1)
    np.testing.assert_allclose(path[0, 1:], ledger["close_usd"].to_numpy())
    # the engine's own sell-on-payout view: cumulative cash plus the terminal value (unpaid TON
    # at the last close, hardware at market resale), less the node wallets' locked TON, which the
    # simulation leaves out (bought on day 0, sold at the last close: a few USD per GPU)
    fee = bought.treasury.trading_fee_bps / 1e4
    wallet_ton = 8 * 2.1
    wallet = -wallet_ton * path[0, 0] * (1 + fee) + wallet_ton * path[0, -1] * (1 - fee)
    metrics = path_metrics(bought, path)
    expected = metrics["cumulative_cash_usd"][0, -1] + metrics["terminal_usd"][0] - wallet
    assert sim.outcomes["sell_on_payout"].net_usd[0] == pytest.approx(expected, rel=1e-12)
    assert ledger["cumulative_net_usd"].iloc[-1] == pytest.approx(metrics["cumulative_cash_usd"][0, -1])
    # position before the terminal value is the ledger's cumulative cash (without the node
    # wallets' TON bought on day 1), day by day
    position = sim.positions["sell_on_payout"][0]
    cash = (ledger["cumulative_net_usd"] + ledger["node_wallet_usd"].cumsum()).to_numpy()
    np.testing.assert_allclose(position[1:-1], cash[:-1], rtol=1e-12)
    # usd_pegged: the engine's pricing mode, sold on payout
    pegged = dataclasses.replace(bought, pricing=dataclasses.replace(bought.pricing, mode="usd_pegged"))
    pm = path_metrics(pegged, path)
    assert sim.outcomes["usd_pegged"].net_usd[0] == pytest.approx(pm["cumulative_cash_usd"][0, -1]
                                                                  + pm["terminal_usd"][0] - wallet)


def test_rolling_has_one_path_per_start(owned):
    horizon = 365
    sim = simulation.simulate(owned, "rolling", horizon_days=horizon, strategies=["hold", "perp_hedge", "collar"])
    assert sim.n_paths == len(daily_closes("ton")) - horizon
    assert sim.seed_entropy is None


def test_path_dependent_income_and_garch_option_vol(owned):
    repriced = dataclasses.replace(owned, pricing=dataclasses.replace(owned.pricing, mode="repriced"))
    sim = simulation.simulate(repriced, "garch", 200, horizon_days=90, seed=1, option_vol="garch",
                              strategies=["sell_on_payout", "perp_hedge", "put_protection"])
    assert set(sim.summary()) == {"sell_on_payout", "perp_hedge", "put_protection"}
    # repriced income differs between paths, so outcomes differ even for the hedge
    assert np.ptp(sim.outcomes["sell_on_payout"].net_usd) > 0


def test_fixed_token_income_is_path_independent(owned):
    # what the simulation relies on to compute income once (MODEL_INTERFACE.md)
    paths = np.random.default_rng(0).uniform(0.5, 5.0, (4, 31))
    income = path_income(owned, paths)
    np.testing.assert_array_equal(income.payout_ton, np.broadcast_to(income.payout_ton[0], income.payout_ton.shape))


@pytest.mark.parametrize("kwargs, field", [
    ({"method": "monte-carlo"}, "method"),
    ({"strategies": ["hold", "moon"]}, "strategies"),
    ({"strategies": ["hold", "hold"]}, "strategies"),
    ({"n_paths": 0}, "paths"),
    ({"horizon_days": 0}, "horizon_days"),
    ({"option_vol": "implied"}, "option_vol"),
])
def test_bad_arguments_are_input_errors(owned, kwargs, field):
    args = {"method": "gbm", "n_paths": 10, "horizon_days": 10, "seed": 0} | kwargs
    with pytest.raises(InputError, match=field):
        simulation.simulate(owned, **args)


def test_given_paths_give_the_numbers_of_the_draw(bought):
    # One draw serves several variants: running on a keep_paths run's price paths gives that run's
    # numbers (the option volatility is taken from the prices instead of the log growth: rounding).
    drawn = simulation.simulate(bought, "bootstrap", 200, horizon_days=45, seed=5, keep_paths=True)
    again = simulation.simulate(bought, "bootstrap", horizon_days=None, price_paths=drawn.price_paths)
    assert again.n_paths == 200 and again.horizon_days == 45 and again.notes["price_paths"].startswith("given")
    for name in STRATEGY_NAMES:
        np.testing.assert_allclose(again.outcomes[name].net_usd, drawn.outcomes[name].net_usd, rtol=1e-12, atol=1e-6)
    # a variant (zero funding) on the same paths equals drawing them again with the same seed
    moved = dataclasses.replace(bought, treasury=dataclasses.replace(bought.treasury, funding_rate_annual=0.0))
    variant = simulation.simulate(moved, "bootstrap", price_paths=drawn.price_paths, strategies=["perp_hedge"])
    redrawn = simulation.simulate(moved, "bootstrap", 200, horizon_days=45, seed=5, strategies=["perp_hedge"])
    np.testing.assert_allclose(variant.outcomes["perp_hedge"].net_usd, redrawn.outcomes["perp_hedge"].net_usd,
                               rtol=1e-12, atol=1e-6)


def test_given_paths_are_checked(bought):
    good = np.full((3, 11), 1.5)
    with pytest.raises(InputError, match="horizon_days = 12"):
        simulation.simulate(bought, "gbm", price_paths=good, horizon_days=12)
    with pytest.raises(InputError, match="positive finite"):
        simulation.simulate(bought, "gbm", price_paths=np.where(np.eye(3, 11) > 0, np.nan, good))
    with pytest.raises(InputError, match="shape"):
        simulation.simulate(bought, "gbm", price_paths=np.ones(5))
