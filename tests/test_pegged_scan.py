"""usd_pegged paid and sold inside the scan (issue 20: the in-process policies).

The scan computes the pegged income's payouts from each close as it goes (``kind = "pegged"``,
``strategies.pegged_terms``) instead of reading a ``[D, P]`` payout array and a ``[D+1, P]`` array of
TON sold. Its numbers must be those of sell_on_payout on the pegged income of
:func:`analysis.econ.ledger.path_income` (numpy, the engine's reference), bit for bit, and a
simulation's usd_pegged those of that route on the simulation's own paths.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from analysis.econ.ledger import path_income, payouts_day_major, pegged_payout_factors
from analysis.econ.scenario import load_scenario, scenario_with
from analysis.sim import simulation
from analysis.sim.kernels import scan_policies
from analysis.sim.strategies import Flows, TreasuryParams, pegged_terms, policy_terms

HGX = Path(__file__).resolve().parent.parent / "data" / "scenarios" / "hgx_h100_8x_colo.toml"
FIELDS = ("net_usd", "payback_day", "max_drawdown_usd", "peak_collateral_usd", "cost_of_capital_usd",
          "liquidation_day")


def _pegged(days: int, usd_per_m: float = 0.026):
    scenario = scenario_with(load_scenario(HGX), {"finance.horizon_days": days})
    pricing = dataclasses.replace(scenario.pricing, mode="usd_pegged", usd_per_m_adjusted_tokens=usd_per_m)
    return scenario, dataclasses.replace(scenario, pricing=pricing)


def _paths(n: int, days: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 1.3 * np.exp(np.cumsum(np.c_[np.zeros(n), rng.normal(0, 0.06, (n, days))], axis=1))


def _same(a, b) -> None:
    for field in FIELDS:
        x, y = getattr(a, field), getattr(b, field)
        assert x.tobytes() == y.tobytes(), field


@pytest.mark.parametrize("n, days", [(1, 1), (77, 2), (300, 40), (513, 5), (256, 33)])
@pytest.mark.parametrize("keep", [False, True])
def test_the_fused_pegged_policy_is_sell_on_payout_on_path_incomes_payouts(n, days, keep):
    scenario, pegged = _pegged(days)
    paths = _paths(n, days, seed=n + days)
    params = TreasuryParams.from_config(scenario.treasury)
    income = path_income(pegged, paths)                      # numpy: the engine's own reference
    flows = Flows.from_income(income, 1234.5, collapse=False)
    reference = policy_terms("sell_on_payout", paths, flows, params)
    fused = pegged_terms(paths, flows, params, pegged_payout_factors(pegged))
    (old,), old_pos = scan_policies([reference], keep_positions=keep)
    (new,), new_pos = scan_policies([fused], keep_positions=keep)
    _same(old, new)
    assert np.all(np.isfinite(new.net_usd)) and new.net_usd.shape == (n,)
    if keep:
        assert old_pos.tobytes() == new_pos.tobytes()
    # and an independent check of what it is: each day's payouts sold at that close net of the fee,
    # the unpaid TON at the last close, the costs paid
    keep_fraction = 1.0 - params.fee
    cash = keep_fraction * ((income.payout_ton * paths[:, 1:]).sum(axis=1) + income.unpaid_ton * paths[:, -1])
    costs = income.capex_usd + sum(np.asarray(v, float) for v in income.usd_opex.values()).sum()
    np.testing.assert_allclose(new.net_usd, cash - costs + 1234.5, rtol=1e-12, atol=1e-6)


def test_it_keeps_its_place_among_the_other_policies():
    scenario, pegged = _pegged(40)
    paths = _paths(300, 40, seed=9)
    params = TreasuryParams.from_config(scenario.treasury)
    flows = Flows.from_income(path_income(scenario, paths), 0.0)
    pegged_flows = Flows.from_income(path_income(pegged, paths), 0.0, collapse=False)
    others = [policy_terms(name, paths, flows, params) for name in ("hold", "cover_costs", "perp_hedge")]
    fused = pegged_terms(paths, pegged_flows, params, pegged_payout_factors(pegged))
    reference = policy_terms("sell_on_payout", paths, pegged_flows, params)
    mixed, _ = scan_policies([others[0], fused, others[1], others[2]])
    alone = [scan_policies([t])[0][0] for t in (others[0], reference, others[1], others[2])]
    for a, b in zip(mixed, alone):
        _same(a, b)


@pytest.mark.parametrize("method", ["gbm", "bootstrap"])
def test_a_simulations_usd_pegged_is_the_payout_array_routes(method):
    scenario = scenario_with(load_scenario(HGX), {"finance.horizon_days": 90})
    sim = simulation.simulate(scenario, method, 1300, seed=4, strategies=["hold", "usd_pegged"], keep_paths=True,
                              chunk_paths=1024)
    paths = sim.price_paths
    usd, _ = simulation.pegged_usd_per_m(scenario, sim.start_price)
    pegged = dataclasses.replace(scenario, pricing=dataclasses.replace(scenario.pricing, mode="usd_pegged",
                                                                      usd_per_m_adjusted_tokens=usd))
    payout, unpaid = payouts_day_major(pegged, np.ascontiguousarray(paths.T))
    flat = path_income(pegged, np.full((1, 91), sim.start_price))
    income = dataclasses.replace(flat, payout_ton=payout.T, unpaid_ton=unpaid)
    from analysis.econ.costs import hardware_terminal_usd

    flows = Flows.from_income(income, hardware_terminal_usd(scenario.hardware, 90), collapse=False)
    (old,), old_pos = scan_policies([policy_terms("sell_on_payout", paths, flows,
                                                  TreasuryParams.from_config(scenario.treasury))], keep_positions=True)
    _same(old, sim.outcomes["usd_pegged"])
    assert old_pos[0].T.tobytes() == np.ascontiguousarray(sim.positions["usd_pegged"]).tobytes()


def test_the_factors_are_refused_for_another_pricing_mode():
    from analysis.core.errors import InputError

    scenario, _ = _pegged(10)
    with pytest.raises(InputError, match="usd_pegged"):
        pegged_payout_factors(scenario)
