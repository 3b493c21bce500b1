"""The scan's 4-day blocks give its single days' bits (analysis.sim.kernels; issue 20).

Without positions to write, the scan runs the days of a linear, cover_costs or perp policy whose
coefficients are numbers per day four at a time with the state in registers; with positions it
runs them one by one (and the day-by-day reference of ``tests/test_strategies.py`` checks those).
Both must give the same outcomes bit for bit, for horizons that are and are not multiples of four,
and through margin calls and forced liquidations.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.sim import strategies as st
from analysis.sim.kernels import scan_policies
from analysis.sim.paths import GbmModel

FIELDS = ("net_usd", "payback_day", "max_drawdown_usd", "peak_collateral_usd", "cost_of_capital_usd",
          "liquidation_day")


def _terms(days: int, n: int, seed: int, cap: float | None, funding: float):
    rng = np.random.default_rng(seed)
    S = GbmModel(drift_annual=0.0, vol_annual=1.5, start_price=2.0).sample(n, days, rng)
    q = np.where(rng.random(days) < 0.3, rng.uniform(9.9, 10.1, days), 0.0)
    flows = st.Flows(payout_ton=q, usd_opex_per_day=np.full(days, 3.0), capex_usd=200.0, hardware_end_usd=50.0,
                     unpaid_ton=4.0)
    params = st.TreasuryParams(max_collateral_usd=cap)
    market = st.Market(funding_rate_per_day=funding, option_vol_annual=0.9)
    return [st.policy_terms(name, S, flows, params, market) for name in st.STRATEGIES]


@pytest.mark.parametrize("days", [1, 2, 3, 4, 5, 6, 7, 8, 9, 33, 90])
@pytest.mark.parametrize("cap, funding", [(None, 0.0), (None, 0.0004), (60.0, -0.0002)])
def test_blocks_and_single_days_give_the_same_bits(days, cap, funding):
    terms = _terms(days, 300, seed=days, cap=cap, funding=funding)
    blocked, none = scan_policies(terms, keep_positions=False)
    single, positions = scan_policies(terms, keep_positions=True)
    assert none is None and positions is not None
    for k, (name, a, b) in enumerate(zip(st.STRATEGIES, blocked, single)):
        for field in FIELDS:
            assert getattr(a, field).tobytes() == getattr(b, field).tobytes(), (name, field)
        # the outcome is the last day's position either way
        assert a.net_usd.tobytes() == (positions[k, -1] + 50.0).tobytes(), name


def test_the_capped_case_does_liquidate_inside_the_blocks():
    # otherwise the test above would not reach the blocks' liquidation branch
    terms = _terms(90, 300, seed=90, cap=60.0, funding=-0.0002)
    outcomes, _ = scan_policies(terms)
    liquidated = outcomes[list(st.STRATEGIES).index("perp_hedge")].liquidation_day
    days = liquidated[np.isfinite(liquidated)]
    assert days.size > 10 and np.any((days >= 1) & (days < 86))
