"""Margin of the perp hedge's short: the rules, the terms the compiled scan reads, the day-0 check.

The books are kept once, in :func:`analysis.sim.kernels._perp_step`; this module states what they do
(docs/risk.md has a worked example). Per path, with ``N_t = short_t x S_t`` the short's notional:

- day 0: the short ``H`` is opened at ``S_0`` and ``initial_margin_fraction x N_0`` is posted as
  collateral from cash;
- each day ``t``: the collateral held over the day costs ``cost_of_capital_annual / 365`` of itself
  (paid from cash); the margin account moves by the short's P&L ``short_{t-1} (S_{t-1} - S_t)``
  and the day's funding ``F_t short_{t-1} S_{t-1}``; then the day's buy-back shrinks the short to
  its schedule;
- if the account is below ``maintenance_margin_fraction x N_t`` (a rally ate it), it is topped up
  from cash to ``initial_margin_fraction x N_t`` -- unless that would take the collateral above
  ``max_collateral_usd``: then the whole short is bought back at that day's close (liquidation: the
  loss is realised, the collateral returns to cash) and the payouts are sold unhedged from then on;
- if the account is above ``initial_margin_fraction x N_t`` the excess is swept back to cash.

Moving money between cash and the margin account does not change what the owner has, so the
position (cash plus everything marked at the close) differs from an unmargined short only by the
cost of capital and by a liquidation. Trading fees are paid from cash. A real exchange liquidates
intraday at its own maintenance level; this model acts at the daily close, so a gap beyond the
account makes the owner pay the difference (there is no insurance fund here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.core.errors import InputError
from analysis.core.units import DAYS_PER_YEAR


@dataclass(frozen=True)
class MarginTerms:
    """The margin terms of one perp hedge (from ``[treasury]``)."""

    initial_margin_fraction: float
    maintenance_margin_fraction: float
    cost_of_capital_annual: float
    max_collateral_usd: float | None = None

    @property
    def cost_of_capital_per_day(self) -> float:
        return self.cost_of_capital_annual / DAYS_PER_YEAR

    @classmethod
    def from_params(cls, params) -> MarginTerms:
        return cls(initial_margin_fraction=params.initial_margin_fraction,
                   maintenance_margin_fraction=params.maintenance_margin_fraction,
                   cost_of_capital_annual=params.cost_of_capital_annual,
                   max_collateral_usd=params.max_collateral_usd)

    def check_opening(self, short_ton: float, start_prices: np.ndarray) -> None:
        """The day-0 collateral must fit under the cap (else no hedge can be opened)."""
        if self.max_collateral_usd is None or short_ton <= 0:
            return
        need = float(self.initial_margin_fraction * short_ton * np.max(start_prices))
        if need > self.max_collateral_usd:
            raise InputError(f"[treasury] max_collateral_usd = {self.max_collateral_usd:,.0f} is below the day-0 "
                             f"initial margin of the short ({need:,.0f} USD = initial_margin_fraction x "
                             f"{short_ton:,.1f} TON x start price); raise it, or lower hedge_ratio")
