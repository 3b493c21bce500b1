"""The simulation pipeline: generators -> engine income -> policies -> metrics."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analysis.core.errors import InputError
from analysis.core.resources import SCENARIO_DIR
from analysis.econ.ledger import daily_ledger, path_income
from analysis.econ.metrics import path_metrics
from analysis.econ.scenario import load_scenario, scenario_with
from analysis.market import funding
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


def test_kept_positions_are_day_major_views_whatever_the_chunks(bought, monkeypatch):
    # keep_paths=True keeps the kernel's day-major [D+1, P] arrays, shown [P, D+1] without a copy:
    # one chunk or several (joined along the paths) give the same numbers, and a fan across paths
    # reads whole days contiguously -- the same percentiles as numpy's over the [P, D+1] view.
    from analysis.sim.risk import FAN_PERCENTILES, fan

    monkeypatch.setattr(simulation, "PATH_BLOCK", 64)
    one = simulation.simulate(bought, "bootstrap", 300, horizon_days=30, seed=4, keep_paths=True, chunk_paths=320)
    many = simulation.simulate(bought, "bootstrap", 300, horizon_days=30, seed=4, keep_paths=True, chunk_paths=64,
                               workers=2)
    for name in STRATEGY_NAMES:
        a, b = one.positions[name], many.positions[name]
        assert a.shape == b.shape == (300, 31)
        assert a.T.flags.c_contiguous and b.T.flags.c_contiguous
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(fan(a), np.percentile(np.array(a, order="C"), FAN_PERCENTILES, axis=0))
    np.testing.assert_array_equal(one.price_paths, many.price_paths)


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
    # usd_pegged: the engine's pricing mode, sold on payout, pegged at the path's start price (the
    # scenario leaves usd_per_m_adjusted_tokens out): 20 nanoTON x S_0 per adjusted token
    peg = bought.network.price_per_token_nanoton * 1e-9 * path[0, 0] * 1e6
    pegged = dataclasses.replace(bought, pricing=dataclasses.replace(bought.pricing, mode="usd_pegged",
                                                                      usd_per_m_adjusted_tokens=peg))
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


def _flat_closes(price: float = 2.0, days: int = 400) -> pd.DataFrame:
    return pd.DataFrame({"close_usd": np.full(days, price)},
                        index=pd.date_range("2024-01-01", periods=days, freq="D"))


@pytest.mark.parametrize("file", ["hgx_h100_8x_colo.toml", "h100_nvl_owned.toml"])
def test_usd_pegged_equals_sell_on_payout_on_a_flat_path(file):
    # pegged at the start price: at a constant price the USD network pays what the TON one does
    scenario = load_scenario(SCENARIO_DIR / file)
    closes = _flat_closes()
    start = dataclasses.replace(scenario, finance=dataclasses.replace(scenario.finance, start=dt.date(2024, 3, 1)))
    sim = simulation.simulate(start, "historical", horizon_days=200, strategies=["sell_on_payout", "usd_pegged"],
                              closes=closes)
    a, b = sim.outcomes["usd_pegged"].net_usd, sim.outcomes["sell_on_payout"].net_usd
    np.testing.assert_allclose(a, b, rtol=1e-9)
    assert "start price 2.0000" in sim.notes["usd_pegged"]


def test_usd_pegged_keeps_a_price_the_scenario_sets():
    scenario = scenario_with(load_scenario(BOUGHT), {"pricing.usd_per_m_adjusted_tokens": 0.05})
    assert "pricing.usd_per_m_adjusted_tokens" in scenario.given_keys
    usd, note = simulation.pegged_usd_per_m(scenario, 2.0)
    assert usd == 0.05 and "[pricing] usd_per_m_adjusted_tokens" in note
    usd, note = simulation.pegged_usd_per_m(load_scenario(BOUGHT), 2.0)
    assert usd == pytest.approx(20e-9 * 2.0 * 1e6) and "start price" in note


@pytest.mark.parametrize("method", ["gbm", "bootstrap"])
def test_martingale_hold_and_sell_on_payout_have_the_same_mean_at_zero_drift(bought, method):
    # E[S_t] = S_0 on every day, so holding TON to the horizon and selling each payout on arrival
    # have the same expected USD when nothing else differs (no fees). The paired difference's
    # standard error is the test's yardstick.
    free = scenario_with(bought, {"treasury.trading_fee_bps": 0.0})
    sim = simulation.simulate(free, method, 20_000, horizon_days=180, seed=8, strategies=["hold", "sell_on_payout"])
    diff = sim.outcomes["hold"].net_usd - sim.outcomes["sell_on_payout"].net_usd
    se = diff.std(ddof=1) / np.sqrt(diff.size)
    assert abs(diff.mean()) < 4 * se
    assert sim.notes["drift_annual"] == 0.0
    # with the historical drift, holding looks better by far more than the noise
    up = simulation.simulate(free, method, 20_000, horizon_days=180, seed=8, strategies=["hold", "sell_on_payout"],
                             drift="historical")
    gap = up.outcomes["hold"].net_usd - up.outcomes["sell_on_payout"].net_usd
    assert gap.mean() > 10 * se and up.notes["drift_annual"] > 0.3


def test_bootstrap_expected_growth_is_flat_at_zero_drift():
    ton = daily_closes("ton")
    from analysis.sim import paths as pathgen
    model = pathgen.fit_bootstrap(ton)
    growth = model.expected_growth(365)                        # exact, from the chain's expectation
    assert np.max(np.abs(growth - 1)) < 0.005
    raw = pathgen.fit_bootstrap(ton, drift="historical")
    assert raw.expected_growth(365)[-1] > 1.3                  # the recorded returns: +85 %/year
    # a given drift: E[S_t] grows at it
    given = pathgen.fit_bootstrap(ton, drift=0.2)
    assert given.expected_growth(365)[-1] == pytest.approx(np.exp(0.2), rel=0.01)


def test_funding_bootstrap_draws_recorded_funding_with_its_days_returns(owned):
    t = dataclasses.replace(owned.treasury, funding="bootstrap", strategy="perp_hedge")
    scenario = dataclasses.replace(owned, treasury=t)
    sim = simulation.simulate(scenario, "bootstrap", 500, horizon_days=90, seed=2, strategies=["perp_hedge", "hold"])
    assert sim.notes["funding_mode"] == "bootstrap"
    # the days with both a funding record and a TON return (a return needs the day before's close)
    recorded = funding.daily_funding(funding.read_funding())
    closes = daily_closes("ton")
    assert sim.notes["funding_bootstrap_days"] == len(recorded.index.intersection(closes.index[1:])) > 50
    assert "resampled with the TON returns" in sim.notes["funding"]
    with pytest.raises(InputError, match="--method bootstrap"):
        simulation.simulate(scenario, "gbm", 10, horizon_days=10, seed=1)
    # funding changes the hedge: the same paths at 0 funding give another outcome
    fixed = dataclasses.replace(scenario, treasury=dataclasses.replace(t, funding="fixed"))
    assert simulation.simulate(fixed, "gbm", 50, horizon_days=30, seed=1).notes["funding"].startswith("fixed +0.0%")


def test_historical_funding_uses_only_the_record(owned):
    # Dec 2024 has no funding record: the hedge gets the fallback (0), not the record's mean
    moved = dataclasses.replace(owned, finance=dataclasses.replace(owned.finance, start=dt.date(2024, 12, 1)))
    sim = simulation.simulate(moved, "historical", horizon_days=180, strategies=["perp_hedge"])
    assert sim.notes["funding_recorded_fraction"] == 0.0
    zero = dataclasses.replace(moved, treasury=dataclasses.replace(moved.treasury, funding="fixed"))
    same = simulation.simulate(zero, "historical", horizon_days=180, strategies=["perp_hedge"])
    assert sim.outcomes["perp_hedge"].net_usd[0] == same.outcomes["perp_hedge"].net_usd[0]
    # spring 2024 is on record: there it differs
    spring = dataclasses.replace(owned, finance=dataclasses.replace(owned.finance, start=dt.date(2024, 3, 2)))
    on_record = simulation.simulate(spring, "historical", horizon_days=50, strategies=["perp_hedge"])
    assert on_record.notes["funding_recorded_fraction"] > 0.8
