"""Treasury and hedging policies: the issue's identities, and agreement with a plain day-by-day
simulation of each policy written independently below (one path at a time, no vectorisation)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from analysis.core.errors import InputError
from analysis.sim import strategies as st
from analysis.sim.options import black_scholes_call, black_scholes_put
from analysis.sim.paths import GbmModel
from analysis.sim.risk import summarise

D = 95  # three full option months and a 5-day stub
SELLING = ["hold", "sell_on_payout", "sell_every", "cover_costs", "stake", "perp_hedge"]


def _payouts(rng: np.random.Generator, n_paths: int | None = None) -> np.ndarray:
    """Payouts of about 10 TON every few days (as COCOON's 10 TON threshold gives)."""
    shape = (D,) if n_paths is None else (n_paths, D)
    return np.where(rng.random(shape) < 0.3, rng.uniform(9.9, 10.1, shape), 0.0)


def _flows(q: np.ndarray, unpaid=4.0, opex=3.0, capex=1000.0, dep=2.0, expected=None) -> st.Flows:
    """Capex bought on day 0, depreciating by ``dep`` a day: worth ``capex - dep * D`` at the end."""
    return st.Flows(payout_ton=q, usd_opex_per_day=np.full(D, opex), capex_usd=capex, hardware_end_usd=capex - dep * D,
                    unpaid_ton=unpaid, expected_payout_ton=expected, expected_unpaid_ton=None if expected is None else 4.0)


def _gbm(n: int, seed: int = 0, vol: float = 1.0, start: float = 2.0) -> np.ndarray:
    return GbmModel(drift_annual=0.0, vol_annual=vol, start_price=start).sample(n, D, np.random.default_rng(seed))


def reference(name, S, q, opex, capex, unpaid, p: st.TreasuryParams, funding, exp_q, exp_unpaid, vol):
    """One path, day by day, the way a person would keep the books."""
    f, keep = p.fee, 1 - p.fee
    cash, ton, short = -capex, 0.0, 0.0
    growth = (1 + p.staking_apy) ** (1 / 365) if name == "stake" else 1.0
    collateral = 0.0
    if name == "perp_hedge":
        short = p.hedge_ratio * (exp_q.sum() + exp_unpaid)
        cash -= f * short * S[0]
        collateral = p.initial_margin_fraction * short * S[0]   # posted on day 0
    options = []  # (expiry, notional, put strike, call strike or None)

    def buy_options(t):
        end = min(t + 30, D)
        notional = exp_q[t:end].sum() + (exp_unpaid if end == D else 0.0)
        years = (end - t) / 365
        cash_out = notional * black_scholes_put(S[t], p.put_strike * S[t], years, vol + p.vol_premium)
        call_k = None
        if name == "collar":
            call_k = p.call_strike * S[t]
            cash_out -= notional * black_scholes_call(S[t], call_k, years, vol + p.vol_premium)
        options.append((end, notional, p.put_strike * S[t], call_k))
        return cash_out

    if name in ("put_protection", "collar"):
        cash -= buy_options(0)
    position = [cash + ton * S[0] * keep + short * (S[0] - S[0]) - f * short * S[0]]
    for t in range(1, D + 1):
        price = S[t]
        cash -= opex[t - 1]
        if name == "perp_hedge":
            cash -= p.cost_of_capital_annual / 365 * collateral   # yesterday's collateral, held over the day
            cash += funding[t - 1] * short * S[t - 1]
            account = collateral + short * (S[t - 1] - price) + funding[t - 1] * short * S[t - 1]
        ton = ton * growth + q[t - 1]
        last = t == D
        if name in ("sell_on_payout", "perp_hedge") or (name == "sell_every" and (t % p.every_days == 0 or last)) \
                or (name in ("hold", "stake") and last):
            cash += ton * price * keep
            ton = 0.0
        if name == "perp_hedge":
            back = min(p.hedge_ratio * q[t - 1], short)
            cash += back * (S[0] - price) - f * back * price
            short -= back
            required = p.initial_margin_fraction * short * price
            if account < p.maintenance_margin_fraction * short * price:       # margin call
                if p.max_collateral_usd is not None and required > p.max_collateral_usd:
                    cash += short * (S[0] - price) - f * short * price       # liquidated at the close
                    short, required = 0.0, 0.0
                collateral = required
            else:
                collateral = min(account, required)                          # excess swept back
            if last:
                cash += short * (S[0] - price) - f * short * price
                short = 0.0
        if name == "cover_costs":
            sell = ton if last else min(ton, opex[t - 1] / (price * keep))
            cash += sell * price * keep
            ton -= sell
        if name in ("put_protection", "collar"):
            for _end, notional, kp, kc in [o for o in options if o[0] == t]:
                cash += notional * max(kp - price, 0.0)
                if kc is not None:
                    cash -= notional * max(price - kc, 0.0)
                cash += ton * price * keep
                ton = 0.0
            if t % 30 == 0 and not last:
                cash -= buy_options(t)
        if last:
            cash += unpaid * price * keep
        position.append(cash + ton * price * keep + short * (S[0] - price) - f * short * price)
    return np.array(position)


@pytest.mark.parametrize("name", list(st.STRATEGIES))
@pytest.mark.parametrize("per_path", [False, True], ids=["fixed-income", "per-path-income"])
def test_matches_a_day_by_day_simulation(name, per_path):
    rng = np.random.default_rng(1)
    n = 6
    S = _gbm(n, seed=2)
    q = _payouts(rng, n if per_path else None)
    unpaid = rng.uniform(0, 10, n) if per_path else 4.0
    expected = _payouts(np.random.default_rng(3))
    flows = st.Flows(payout_ton=q, usd_opex_per_day=rng.uniform(1, 5, D), capex_usd=800.0,
                     hardware_end_usd=800.0 - 1.5 * D, unpaid_ton=unpaid, expected_payout_ton=expected,
                     expected_unpaid_ton=4.0)
    params = st.TreasuryParams(every_days=7, hedge_ratio=0.8, trading_fee_bps=25, staking_apy=0.05)
    funding = rng.normal(0.0005, 0.001, D)
    market = st.Market(funding_rate_per_day=funding, option_vol_annual=0.7)
    result = st.run_strategy(name, S, flows, params, market)
    assert result.position_usd.shape == (n, D + 1)
    for i in range(n):
        qi = q[i] if per_path else q
        ui = unpaid[i] if per_path else unpaid
        ref = reference(name, S[i], qi, flows.usd_opex_per_day, 800.0, ui, params, funding, expected, 4.0, 0.7)
        np.testing.assert_allclose(result.position_usd[i], ref, rtol=1e-10, atol=1e-8)
        assert result.net_usd[i] == pytest.approx(ref[-1] + 800.0 - 1.5 * D)


def test_per_path_funding_matches_too():
    rng = np.random.default_rng(4)
    S = _gbm(3, seed=5)
    q = _payouts(rng)
    flows = _flows(q)
    funding = rng.normal(0.0, 0.002, (3, D))
    params = st.TreasuryParams(hedge_ratio=1.0, trading_fee_bps=5)
    result = st.perp_hedge(S, flows, params, st.Market(funding_rate_per_day=funding))
    for i in range(3):
        ref = reference("perp_hedge", S[i], q, flows.usd_opex_per_day, 1000.0, 4.0, params, funding[i], q, 4.0, 0)
        np.testing.assert_allclose(result.position_usd[i], ref, rtol=1e-10)


@pytest.mark.parametrize("fee_bps", [0.0, 30.0])
def test_constant_price_every_selling_policy_gives_the_same_usd_up_to_fees(fee_bps):
    q = _payouts(np.random.default_rng(6))
    flows = _flows(q)
    price = 1.7
    S = np.full((4, D + 1), price)
    params = st.TreasuryParams(trading_fee_bps=fee_bps, staking_apy=0.0)
    market = st.Market(funding_rate_per_day=0.0, option_vol_annual=0.6)
    f = fee_bps / 1e4
    # every TON earned is sold once at the one price, less the fee; costs as they fall due
    income = (q.sum() + 4.0) * price * (1 - f)
    expected_net = income - 3.0 * D - 2.0 * D
    nets = {name: st.run_strategy(name, S, flows, params, market).net_usd for name in st.STRATEGIES}
    for name in ["hold", "sell_on_payout", "sell_every", "cover_costs", "stake"]:
        np.testing.assert_allclose(nets[name], expected_net, rtol=1e-12)
    # the perp opens and closes H TON of short: fee on both legs, no P&L; its collateral is the
    # initial margin on the open short each day (nothing moves the account), at the cost of capital
    hedged = q.sum() + 4.0
    open_short = hedged - np.concatenate([[0], np.cumsum(q)])[:-1]          # short held over days 1..D
    capital = params.cost_of_capital_annual / 365 * params.initial_margin_fraction * price * open_short.sum()
    assert capital > 0
    np.testing.assert_allclose(nets["perp_hedge"], expected_net - 2 * f * hedged * price - capital, rtol=1e-12)
    # options expire worthless: the premiums are the only difference
    starts, ends = st.option_periods(D)
    cum = np.concatenate([[0], np.cumsum(q)])
    notional = cum[ends] - cum[starts]
    notional[-1] += 4.0
    years = (ends - starts) / 365
    puts = np.sum(notional * black_scholes_put(price, 0.9 * price, years, 0.7))
    calls = np.sum(notional * black_scholes_call(price, 1.2 * price, years, 0.7))
    np.testing.assert_allclose(nets["put_protection"], expected_net - puts, rtol=1e-12)
    np.testing.assert_allclose(nets["collar"], expected_net - puts + calls, rtol=1e-12)


def test_hedge_ratio_zero_is_sell_on_payout():
    q = _payouts(np.random.default_rng(7), 20)
    flows = _flows(q, unpaid=np.linspace(0, 9, 20))
    S = _gbm(20, seed=8)
    params = st.TreasuryParams(hedge_ratio=0.0, trading_fee_bps=15)
    market = st.Market(funding_rate_per_day=0.002)
    hedged = st.perp_hedge(S, flows, params, market)
    plain = st.sell_on_payout(S, flows, params, market)
    np.testing.assert_allclose(hedged.position_usd, plain.position_usd, rtol=1e-12)


@pytest.mark.parametrize("vol", [0.3, 1.5])
def test_full_perp_hedge_without_costs_locks_in_the_start_price(vol):
    q = _payouts(np.random.default_rng(9))
    flows = _flows(q)
    S = _gbm(50, seed=10, vol=vol, start=2.5)
    S[0, 1:] = np.linspace(2.5, 0.3, D)   # and a crash
    params = st.TreasuryParams(hedge_ratio=1.0, trading_fee_bps=0.0, cost_of_capital_annual=0.0)
    result = st.perp_hedge(S, flows, params, st.Market(funding_rate_per_day=0.0))
    locked = (q.sum() + 4.0) * 2.5 - 3.0 * D - 2.0 * D
    np.testing.assert_allclose(result.net_usd, locked, rtol=1e-12)
    # ...while the unhedged outcome varies with the path
    assert np.ptp(st.sell_on_payout(S, flows, params).net_usd) > 1.0


def test_positive_funding_pays_the_short():
    q = _payouts(np.random.default_rng(11))
    flows = _flows(q)
    S = np.full((1, D + 1), 2.0)
    params = st.TreasuryParams(trading_fee_bps=0.0)
    paid = st.perp_hedge(S, flows, params, st.Market(funding_rate_per_day=0.001)).net_usd
    free = st.perp_hedge(S, flows, params, st.Market(funding_rate_per_day=0.0)).net_usd
    # at a constant price: funding = rate x sum over days of the short open that day x price
    short = q.sum() + 4.0 - np.concatenate([[0], np.cumsum(q)])[:-1]
    assert paid - free == pytest.approx(0.001 * short.sum() * 2.0)


def test_staking_compounds_daily():
    q = np.zeros(D)
    q[0] = 100.0
    flows = _flows(q, unpaid=0.0, opex=0.0, capex=0.0, dep=0.0)
    S = np.ones((1, D + 1))
    params = st.TreasuryParams(trading_fee_bps=0.0, staking_apy=0.10)
    held = st.stake(S, flows, params).net_usd[0]
    assert held == pytest.approx(100.0 * 1.10 ** ((D - 1) / 365))


def test_puts_floor_the_monthly_income_in_a_crash():
    q = np.full(D, 1.0)
    flows = _flows(q, unpaid=0.0, opex=0.0, capex=0.0, dep=0.0)
    S = np.linspace(2.0, 0.2, D + 1)[None, :]
    params = st.TreasuryParams(trading_fee_bps=0.0, put_strike=0.9)
    market = st.Market(option_vol_annual=0.8)
    protected = st.put_protection(S, flows, params, market)
    starts, ends = st.option_periods(D)
    premiums = np.sum((ends - starts) * black_scholes_put(S[0, starts], 0.9 * S[0, starts], (ends - starts) / 365, 0.9))
    floor = np.sum((ends - starts) * 0.9 * S[0, starts])
    assert protected.net_usd[0] == pytest.approx(floor - premiums)
    assert protected.net_usd[0] > st.sell_every(S, flows, params).net_usd[0]


def test_collar_gives_up_the_upside():
    q = np.full(D, 1.0)
    flows = _flows(q, unpaid=0.0, opex=0.0, capex=0.0, dep=0.0)
    S = np.linspace(1.0, 5.0, D + 1)[None, :]
    params = st.TreasuryParams(trading_fee_bps=0.0, every_days=30)
    market = st.Market(option_vol_annual=0.8)
    assert st.collar(S, flows, params, market).net_usd[0] < st.sell_every(S, flows, params).net_usd[0]


def test_realised_option_vol_is_the_trailing_30_day_volatility():
    S = _gbm(4, seed=12)
    history = np.random.default_rng(13).normal(0, 0.05, 40)
    vols = st.realised_option_vol(S, history)
    starts, _ = st.option_periods(D)
    assert vols.shape == (len(starts), 4)
    for i in range(4):
        returns = np.concatenate([history, np.diff(np.log(S[i]))])
        for k, s in enumerate(starts):
            window = returns[len(history) + s - 30: len(history) + s]
            assert vols[k, i] == pytest.approx(np.sqrt(365 * np.mean(window ** 2)))
    with pytest.raises(InputError, match="log returns"):
        st.realised_option_vol(S, history[:10])
    # each path with its own past
    own = np.random.default_rng(14).normal(0, 0.05, (4, 30))
    per_path = st.realised_option_vol(S, own)
    for i in range(4):
        np.testing.assert_allclose(per_path[:, i], st.realised_option_vol(S[i:i + 1], own[i])[:, 0])


def test_default_option_vol_uses_each_paths_realised_vol():
    S = _gbm(3, seed=14)
    history = np.random.default_rng(15).normal(0, 0.04, 30)
    q = _payouts(np.random.default_rng(16))
    flows = _flows(q)
    params = st.TreasuryParams()
    implicit = st.put_protection(S, flows, params, st.Market(history_log_returns=history))
    explicit = st.put_protection(S, flows, params, st.Market(option_vol_annual=st.realised_option_vol(S, history)))
    np.testing.assert_allclose(implicit.position_usd, explicit.position_usd)


def test_flows_from_engine_income_collapse_path_independent_arrays():
    P = 5
    q = _payouts(np.random.default_rng(17))
    income = SimpleNamespace(payout_ton=np.tile(q, (P, 1)), unpaid_ton=np.full(P, 3.0),
                             usd_opex={"power": np.full(D, 2.0), "colocation": np.zeros(D), "fixed": np.full(D, 1.0)},
                             capex_usd=500.0, depreciation_usd_per_day=1.0, salvage_usd=0.0)
    flows = st.Flows.from_income(income, hardware_end_usd=500.0 - D)
    assert (flows.capex_usd, flows.hardware_end_usd) == (500.0, 500.0 - D)
    assert flows.payout_ton.shape == (D,)
    assert flows.unpaid_ton == 3.0
    np.testing.assert_allclose(flows.usd_opex_per_day, 3.0)
    assert flows.expected_income_ton == pytest.approx(q.sum() + 3.0)
    income.payout_ton = income.payout_ton.copy()
    income.payout_ton[2, 5] += 1.0
    assert st.Flows.from_income(income).payout_ton.shape == (P, D)


def test_unknown_strategy_and_bad_parameters_are_input_errors():
    with pytest.raises(InputError, match="unknown strategy 'yolo'"):
        st.check_strategy_names(["hold", "yolo"])
    with pytest.raises(InputError, match=r"\[treasury\] hedge_ratio"):
        st.TreasuryParams(hedge_ratio=-1)
    with pytest.raises(InputError, match=r"\[treasury\] every_days"):
        st.TreasuryParams(every_days=0)
    with pytest.raises(InputError, match=r'\[treasury\] strategy = "hodl" is not known'):
        st.TreasuryParams(strategy="hodl")
    with pytest.raises(InputError, match="price paths of"):
        st.hold(np.ones((2, D)), _flows(np.zeros(D)), st.TreasuryParams())


def _rally(cap=None):
    """A hand-worked rally: short 100 TON at 1.00, TON goes 1.5, 2.5, 3.0; one payout of 100 TON on day 3."""
    q = np.array([0.0, 0.0, 100.0])
    flows = st.Flows(payout_ton=q, usd_opex_per_day=np.zeros(3), unpaid_ton=0.0, expected_payout_ton=q,
                     expected_unpaid_ton=0.0)
    params = st.TreasuryParams(trading_fee_bps=0.0, initial_margin_fraction=0.2, maintenance_margin_fraction=0.1,
                               cost_of_capital_annual=0.365, max_collateral_usd=cap)   # 0.1 % a day
    S = np.array([[1.0, 1.5, 2.5, 3.0]])
    return st.perp_hedge(S, flows, params, st.Market(funding_rate_per_day=0.0))


def test_margin_on_a_hand_worked_rally():
    r = _rally()
    # day 0: post 0.2 x 100 x 1.00 = 20.
    # day 1: the 20 held costs 0.02; the account is 20 - 100 x 0.5 = -30 < 0.1 x 150: top up to 0.2 x 150 = 30;
    #        position: 100 sold short - 0.02 - 150 to buy back = -50.02
    # day 2: 30 costs 0.03; account 30 - 100 x 1.0 = -70 < 25: top up to 50; position 100 - 0.05 - 250 = -150.05
    # day 3: 50 costs 0.05; the 100 TON payout sold at 3.00 buys the short back; account 50 - 50 = 0 released;
    #        position 100 - 0.10 = 99.90: the start price locked in, less the cost of capital
    np.testing.assert_allclose(r.position_usd[0], [0.0, -50.02, -150.05, 99.90], rtol=1e-12)
    o = r.outcomes
    assert o.peak_collateral_usd[0] == pytest.approx(50.0)
    assert o.cost_of_capital_usd[0] == pytest.approx(0.10)
    assert np.isnan(o.liquidation_day[0])


def test_margin_cap_liquidates_at_the_close():
    r = _rally(cap=40.0)
    # day 2: the top-up to 50 would pass the cap of 40: the short is bought back at 2.50 (loss realised),
    #        cash 100 - 0.05 - 250 = -150.05; day 3: the payout is sold unhedged at 3.00: 149.95
    np.testing.assert_allclose(r.position_usd[0], [0.0, -50.02, -150.05, 149.95], rtol=1e-12)
    o = r.outcomes
    assert o.liquidation_day[0] == 2.0
    assert o.peak_collateral_usd[0] == pytest.approx(30.0)
    assert o.cost_of_capital_usd[0] == pytest.approx(0.05)
    summary = summarise(o)
    assert summary["prob_liquidation"] == 1.0 and summary["peak_collateral_max_usd"] == pytest.approx(30.0)


def test_a_cap_below_the_opening_margin_is_refused():
    with pytest.raises(InputError, match="max_collateral_usd = 10 is below the day-0 initial margin"):
        _rally(cap=10.0)


@pytest.mark.parametrize("cap", [None, 250.0])
def test_margin_matches_the_day_by_day_reference_on_rallies(cap):
    rng = np.random.default_rng(21)
    S = _gbm(8, seed=22, vol=1.5)
    S[0, 1:] = np.linspace(2.0, 5.0, D)           # and a rally with a one-day doubling that calls margin
    S[0, 41:] *= 2.0
    q = _payouts(rng)
    flows = _flows(q)
    params = st.TreasuryParams(trading_fee_bps=10, initial_margin_fraction=0.25, maintenance_margin_fraction=0.1,
                               cost_of_capital_annual=0.2, max_collateral_usd=cap)
    funding = rng.normal(0.0, 0.001, D)
    result = st.perp_hedge(S, flows, params, st.Market(funding_rate_per_day=funding))
    for i in range(len(S)):
        ref = reference("perp_hedge", S[i], q, flows.usd_opex_per_day, 1000.0, 4.0, params, funding, q, 4.0, 0)
        np.testing.assert_allclose(result.position_usd[i], ref, rtol=1e-10, atol=1e-8)
    if cap is not None:
        assert not np.isnan(result.outcomes.liquidation_day[0])
    assert result.outcomes.cost_of_capital_usd.min() > 0


def test_put_protection_and_collar_share_their_puts_and_give_the_same_terms():
    # policy_terms(shared=) computes the options' volatility and the put's unit price once per set of paths
    S = _gbm(300, seed=4)
    flows = _flows(_payouts(np.random.default_rng(5)))
    params = st.TreasuryParams()
    market = st.Market(option_vol_annual=np.random.default_rng(6).uniform(0.5, 1.5, (13, 300))[:len(
        st.option_periods(D)[0])])
    shared: dict = {}
    together = [st.policy_terms(n, S, flows, params, market, shared=shared) for n in ("put_protection", "collar")]
    alone = [st.policy_terms(n, S, flows, params, market) for n in ("put_protection", "collar")]
    assert set(shared) == {"option_vol", "put_unit"}
    for a, b in zip(together, alone):
        assert a.c.tobytes() == b.c.tobytes() and a.beta.tobytes() == b.beta.tobytes()
        assert a.events.keys() == b.events.keys()
        for day in a.events:
            assert np.asarray(a.events[day]).tobytes() == np.asarray(b.events[day]).tobytes(), day
    # the collar's premium differs from the put's by the calls sold: the shared unit was not changed in place
    day0_put, day0_collar = together[0].events[0], together[1].events[0]
    assert np.all(day0_collar > day0_put)
