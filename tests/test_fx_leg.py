"""The network's US-dollar prices in another currency follow X/USD day by day (issue 17).

The identity behind every test here: the TON the network pays does not depend on the currency the
owner counts in. A dollar peg pays ``usd / (TON/USD)_t`` TON on day t whatever X is; valued at
``(TON/X)_t`` that is ``usd * (X per USD)_t``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.core.errors import InputError
from analysis.econ.currency import scenario_in_currency
from analysis.econ.ledger import daily_ledger, path_income, payouts_day_major, usd_priced_paths
from analysis.econ.scenario import load_scenario, scenario_with
from analysis.market.prices import daily_closes
from analysis.sim import paths as pathgen
from analysis.sim.fxleg import fit_fx_leg
from analysis.sim.simulation import fx_stream, simulate

REPO = Path(__file__).resolve().parent.parent
H200 = REPO / "data" / "scenarios" / "h200_single.toml"
RENDER = REPO / "data" / "scenarios" / "render_rtx4090.toml"


def _pegged(currency: str | None = None, mode: str = "usd_pegged"):
    usd = scenario_with(load_scenario(H200), {"pricing.mode": mode, "pricing.usd_per_m_adjusted_tokens": 0.03,
                                             "finance.horizon_days": 60})
    return usd if currency is None else scenario_in_currency(usd, currency)


def _fx_days(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 0.9 * np.exp(np.cumsum(np.r_[0.0, rng.normal(0, 0.004, n - 1)]))


@pytest.mark.parametrize("mode", ["usd_pegged", "repriced"])
def test_the_ton_paid_for_a_dollar_price_does_not_depend_on_the_currency(mode):
    usd, eur = _pegged(mode=mode), _pegged("EUR", mode)
    days = usd.finance.horizon_days + 1
    rng = np.random.default_rng(5)
    ton_usd = 2.0 * np.exp(np.cumsum(rng.normal(0, 0.05, (3, days)), axis=1))
    fx_t = np.stack([_fx_days(days, s) for s in range(3)])          # EUR per USD on each day
    in_usd = path_income(usd, ton_usd)
    in_eur = path_income(eur, ton_usd * fx_t, usd_fx_index=fx_t / eur.fx_per_usd)
    np.testing.assert_allclose(in_eur.ton_earned, in_usd.ton_earned, rtol=1e-12)
    np.testing.assert_array_equal(in_eur.payouts, in_usd.payouts)
    # hand formula of the peg: nanoTON per adjusted token = usd / (TON/USD) * share
    share = usd.network.worker_share
    if mode == "usd_pegged":
        np.testing.assert_allclose(in_eur.worker_nanoton_per_token, 0.03 / 1e6 / ton_usd[:, 1:] * 1e9 * share,
                                   rtol=1e-12)
    # the day-major engine route gives the same payouts
    payout, unpaid = payouts_day_major(eur, np.ascontiguousarray((ton_usd * fx_t).T),
                                       usd_fx_index=np.ascontiguousarray((fx_t / eur.fx_per_usd).T))
    np.testing.assert_allclose(payout.T, in_usd.payout_ton, rtol=1e-12)
    np.testing.assert_allclose(unpaid, in_usd.unpaid_ton, rtol=1e-12)


def test_without_the_index_a_dollar_price_stays_at_the_start_rate():
    eur = _pegged("EUR")
    days = eur.finance.horizon_days + 1
    prices = np.full((1, days), 1.5)
    flat = path_income(eur, prices)
    ones = path_income(eur, prices, usd_fx_index=np.ones(days))
    np.testing.assert_array_equal(flat.ton_earned, ones.ton_earned)
    # a dollar 10 % dearer in EUR buys 10 % more TON at the same TON/EUR price
    dearer = path_income(eur, prices, usd_fx_index=np.full(days, 1.1))
    np.testing.assert_allclose(dearer.ton_earned, 1.1 * flat.ton_earned, rtol=1e-12)


def test_fixed_token_income_ignores_the_index():
    eur = scenario_in_currency(load_scenario(H200), "EUR")
    days = eur.finance.horizon_days + 1
    prices = np.full((2, days), 1.5)
    a = path_income(eur, prices)
    b = path_income(eur, prices, usd_fx_index=np.full((2, days), 1.3))
    np.testing.assert_array_equal(a.ton_earned, b.ton_earned)


def test_render_job_pay_follows_the_dollar():
    usd = scenario_with(load_scenario(RENDER), {"finance.horizon_days": 28})
    eur = scenario_in_currency(usd, "EUR")
    days = 29
    render_usd = np.linspace(3.0, 4.0, days)[None, :]
    fx_t = _fx_days(days, 3)[None, :]
    a = path_income(usd, render_usd)
    b = path_income(eur, render_usd * fx_t, usd_fx_index=fx_t / eur.fx_per_usd)
    np.testing.assert_allclose(b.ton_earned, a.ton_earned, rtol=1e-12)


def test_bad_index_is_one_clear_error():
    with pytest.raises(InputError, match="usd_fx_index: shape"):
        usd_priced_paths(np.ones((2, 5)), np.ones(4))
    with pytest.raises(InputError, match="positive finite"):
        usd_priced_paths(np.ones((2, 5)), np.r_[1.0, 1.0, np.nan, 1.0, 1.0])


def test_the_eur_ledger_earns_the_ton_of_the_usd_ledger_and_values_it_at_ton_eur():
    usd = scenario_with(_pegged(), {"finance.horizon_days": 120})
    eur = scenario_in_currency(usd, "EUR")
    l_usd = daily_ledger(usd, daily_closes("ton"))
    closes = daily_closes("ton", currency="EUR")
    l_eur = daily_ledger(eur, closes)
    np.testing.assert_allclose(l_eur["earned_ton"], l_usd["earned_ton"], rtol=1e-12)
    np.testing.assert_allclose(l_eur["sold_ton"], l_usd["sold_ton"], rtol=1e-12)
    # each sale at the day's TON/EUR close = the USD sale x that day's EUR per USD
    rate = closes["fx_per_usd"].reindex(l_eur.index).to_numpy()
    np.testing.assert_allclose(l_eur["sales_usd"], l_usd["sales_usd"].to_numpy() * rate, rtol=1e-12)


def test_the_bootstrap_pair_resamples_the_same_days():
    closes = daily_closes("ton")
    model = pathgen.fit_bootstrap(closes)
    other = np.random.default_rng(1).normal(0, 0.01, len(model.log_returns))
    g, f = model.sample_log_growth_pair(300, 40, np.random.default_rng(7), other)
    np.testing.assert_array_equal(g, model.sample_log_growth(300, 40, np.random.default_rng(7)))
    index = model.sample_indices(300, 40, np.random.default_rng(7))
    np.testing.assert_allclose(f, pathgen.log_growth_from_returns(other[index]), rtol=1e-12, atol=1e-15)
    with pytest.raises(InputError, match="other_returns"):
        model.sample_log_growth_pair(3, 4, np.random.default_rng(0), other[:-1])


def test_the_fx_stream_is_the_blocks_first_child_and_leaves_it_unchanged():
    parent = np.random.SeedSequence(42).spawn(3)[2]
    child = fx_stream(parent)
    assert parent.n_children_spawned == 0
    expected = np.random.SeedSequence(42).spawn(3)[2].spawn(1)[0]
    assert np.array_equal(child.generate_state(4), expected.generate_state(4))


def test_the_gaussian_leg_has_the_historys_volatility_correlation_and_no_drift():
    closes = daily_closes("ton", currency="EUR")
    series = pathgen.close_series(closes)
    model = pathgen.fit_gbm(closes)
    leg = fit_fx_leg(model, closes, series, 0.9, window_days=None, drift="zero", currency="EUR")
    growth = model.sample_log_growth(40_000, 30, np.random.default_rng(3))
    fx_log = leg.log_index(growth, np.random.default_rng(4)) - np.log(leg.index_0)
    f = np.diff(fx_log, axis=0).ravel()
    r = np.diff(growth, axis=0).ravel()
    hist_f = np.diff(np.log(closes["fx_per_usd"].to_numpy()))
    hist_r = np.diff(np.log(closes["close_usd"].to_numpy()))
    assert np.std(f) == pytest.approx(np.std(hist_f, ddof=1), rel=0.01)
    assert np.corrcoef(r, f)[0, 1] == pytest.approx(np.corrcoef(hist_r, hist_f)[0, 1], abs=0.01)
    # zero drift: E[rate_30 / rate_0] = 1 (standard error about 0.0001 here)
    assert np.mean(np.exp(fx_log[-1])) == pytest.approx(1.0, abs=0.001)


@pytest.mark.parametrize("method", ["bootstrap", "gbm"])
def test_a_eur_simulation_carries_the_dollar_risk_of_the_peg(method):
    eur = scenario_with(_pegged("EUR"), {"pricing.mode": "fixed_token", "finance.horizon_days": 365})
    kw = dict(method=method, n_paths=2048, seed=11, strategies=["usd_pegged", "sell_on_payout"])
    sim = simulate(eur, keep_paths=True, **kw)
    assert sim.usd_fx_index is not None and sim.usd_fx_index.shape == sim.price_paths.shape
    assert "follow EUR per US dollar day by day" in sim.notes["usd_fx"]
    # the peg's outcome moves with EUR/USD: replaying the same TON/EUR paths with the index held
    # at its day-0 value takes that risk out and narrows the spread
    held = np.broadcast_to(sim.usd_fx_index[:, :1], sim.usd_fx_index.shape)
    flat = simulate(eur, price_paths=sim.price_paths, usd_fx_index=held, strategies=kw["strategies"])
    again = simulate(eur, price_paths=sim.price_paths, usd_fx_index=sim.usd_fx_index, strategies=kw["strategies"])
    np.testing.assert_array_equal(again.outcomes["usd_pegged"].net_usd, sim.outcomes["usd_pegged"].net_usd)
    assert np.std(sim.outcomes["usd_pegged"].net_usd) > 2 * np.std(flat.outcomes["usd_pegged"].net_usd)
    # the TON-priced policy does not use the index
    np.testing.assert_array_equal(flat.outcomes["sell_on_payout"].net_usd, sim.outcomes["sell_on_payout"].net_usd)
    # the numbers depend on the seed only, not on the chunk width
    narrow = simulate(eur, chunk_paths=1024, **kw)
    np.testing.assert_array_equal(narrow.outcomes["usd_pegged"].net_usd, sim.outcomes["usd_pegged"].net_usd)


def test_historical_eur_run_uses_the_recorded_rates():
    eur = scenario_with(_pegged("EUR"), {"finance.horizon_days": 90})
    closes = daily_closes("ton", currency="EUR")
    sim = simulate(eur, method="historical", keep_paths=True, strategies=["usd_pegged"])
    start = pd.Timestamp(eur.finance.start)
    rates = closes["fx_per_usd"].loc[start - pd.Timedelta(days=1):start + pd.Timedelta(days=89)].to_numpy()
    np.testing.assert_allclose(sim.usd_fx_index[0], rates / eur.fx_per_usd, rtol=1e-14)
    assert "recorded ECB rates" in sim.notes["usd_fx"]


def test_usd_runs_have_no_fx_leg():
    sim = simulate(_pegged(), method="gbm", n_paths=64, seed=1, keep_paths=True, strategies=["usd_pegged"])
    assert sim.usd_fx_index is None and "usd_fx" not in sim.notes
    with pytest.raises(InputError, match="usd_fx_index goes with price_paths"):
        simulate(_pegged(), method="gbm", n_paths=64, seed=1, usd_fx_index=np.ones((64, 61)))
    # also where the run would use one (a EUR peg drawing its own paths): refused, not dropped
    with pytest.raises(InputError, match="usd_fx_index goes with price_paths"):
        simulate(_pegged("EUR"), method="gbm", n_paths=64, seed=1, usd_fx_index=np.full((64, 61), 5.0),
                 strategies=["usd_pegged"])
    # and an index of the wrong shape is refused even where the run does not need it
    eur_fixed = scenario_in_currency(load_scenario(H200), "EUR")
    with pytest.raises(InputError, match="usd_fx_index: shape"):
        simulate(eur_fixed, price_paths=np.full((4, 61), 1.2), usd_fx_index=np.ones((2, 3)), strategies=["hold"])


def test_given_paths_without_an_index_say_so():
    eur = _pegged("EUR")
    paths = np.full((4, 61), 1.2)
    sim = simulate(eur, price_paths=paths, strategies=["usd_pegged"])
    assert "without their EUR per US dollar index" in sim.notes["usd_fx"]
    with pytest.raises(InputError, match="usd_fx_index: shape"):
        simulate(eur, price_paths=paths, usd_fx_index=np.ones((4, 60)), strategies=["usd_pegged"])



def test_cli_states_the_dollar_leg_and_takes_token_price(capsys):
    from analysis.cli.main import main

    args = ["simulate", "--scenario", str(H200), "--currency", "EUR", "--method", "gbm", "--paths", "64",
            "--seed", "2", "--horizon-days", "30", "--strategies", "usd_pegged"]
    assert main(args + ["--token-price", "1.4"]) == 0
    text = capsys.readouterr().out
    assert "dollar prices: the network's US-dollar prices follow EUR per US dollar day by day" in text
    assert "from 1.4000 EUR/TON" in text
    assert main(args + ["--start-price", "1.4"]) == 0
    assert capsys.readouterr().out == text
    be = ["breakeven", "--scenario", str(H200), "--currency", "EUR", "--json"]
    assert main(be + ["--token-price", "1.4"]) == 0
    by_alias = capsys.readouterr().out
    assert main(be + ["--ton-usd", "1.4"]) == 0
    assert capsys.readouterr().out == by_alias and '"ton_eur": 1.4' in by_alias


def test_a_given_peg_is_stated_in_dollars_in_another_currency():
    eur = _pegged("EUR")
    sim = simulate(eur, method="gbm", n_paths=64, seed=1, horizon_days=10, strategies=["usd_pegged"])
    rate = eur.fx_per_usd
    assert sim.notes["usd_pegged"].startswith("0.0300 US dollars per million adjusted tokens")
    assert f"= {0.03 * rate:.4f} EUR at the ECB rate of {eur.finance.start}" in sim.notes["usd_pegged"]
