"""Render Network (``[network] name = "render"``): a node's income in RENDER and USD.

The engine's other modules treat a Render scenario like a COCOON one -- the token amounts in
:class:`analysis.econ.ledger.PathIncome` (``ton_earned``, ``payout_ton`` ...) are then RENDER, and
price paths are RENDER/USD (:func:`analysis.econ.scenario.price_asset`). This module holds the rules:

- **Jobs, Burn-Mint Equilibrium** (Render RNP-001; protocol fee RNP-006, row ``render,
  protocol_fee`` of network_parameters.csv = 0.05): jobs are priced in fiat -- on the Render
  compute network an RTX 4090 costs the customer ``job_usd_per_gpu_hour`` = 0.35 USD per
  GPU-hour (row ``compute_network_rtx4090_customer_price``, RNP-019 draft) -- the customer's
  credits buy and burn RENDER and the node is paid in RENDER. *Model assumption*: the node
  receives RENDER worth the job's USD price less the protocol fee, converted at the close of
  the day the work is done. So its USD income per job is stable, but the RENDER it holds
  moves with the price until sold. Set ``job_usd_per_gpu_hour = 0`` to model epoch rewards only.
- **Epoch rewards** (compute epochs of one week, paid after the epoch; RNP-019 draft, rows
  ``compute_network_node_reward_rtx4090_full_util`` = 10 RENDER per weekly epoch at full
  utilisation, "plus 2 RENDER per epoch availability reward"): per GPU and epoch
  ``job_reward_per_epoch * reward_multiplier * utilisation + availability_reward_per_epoch``
  RENDER (the compound multiplier is 1.0 for the RTX 4090 baseline; the node is assumed online
  all the time). Fixed in RENDER, so their USD value moves with the price.
- **Payouts**: everything earned during an epoch arrives at its end (days ``epoch_days``,
  ``2 * epoch_days`` ... of the horizon); what is earned after the last full epoch is unpaid at
  the horizon. Solana transaction fees (a fraction of a cent) are taken as 0.

Per GPU and day at utilisation ``u`` and RENDER price ``p``::

    usd_jobs   = job_usd_per_gpu_hour * 24 * u * (1 - protocol_fee)
    render_day = usd_jobs / p + (job_reward_per_epoch * reward_multiplier * u
                                 + availability_reward_per_epoch) / epoch_days
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from analysis.core.errors import InputError
from analysis.econ.costs import (
    HOURS_PER_DAY,
    OPEX_KINDS,
    capex_paid_usd,
    depreciation_usd_per_day,
    opex_usd_per_day,
    salvage_usd,
)
from analysis.econ.scenario import Scenario


class RenderTerms(NamedTuple):
    """A Render set-up's daily income in two parts (all GPUs).

    ``usd_per_day``: job pay fixed in USD (paid in RENDER at the day's close);
    ``render_per_day``: epoch rewards fixed in RENDER.
    """

    usd_per_day: float
    render_per_day: float

    def render_at(self, render_usd):
        """RENDER earned per day at a RENDER/USD price (a number or an array)."""
        return self.usd_per_day / render_usd + self.render_per_day

    def usd_at(self, render_usd):
        """USD value per day of what is earned, at a RENDER/USD price (before selling fees)."""
        return self.usd_per_day + self.render_per_day * render_usd


def check_render(scenario: Scenario) -> None:
    if scenario.network.name != "render":
        raise InputError(f'{scenario.origin}: [network] name = {scenario.network.name!r}; this needs name = "render"')


def income_terms(scenario: Scenario, utilisation: float | None = None) -> RenderTerms:
    """Job pay (USD) and epoch rewards (RENDER) per day of the whole set-up at ``utilisation``
    (default the scenario's)."""
    check_render(scenario)
    net = scenario.network
    u = scenario.workload.utilisation if utilisation is None else float(utilisation)
    gpus = scenario.hardware.gpus
    usd = gpus * net.job_usd_per_gpu_hour * HOURS_PER_DAY * u * (1.0 - net.protocol_fee)
    render = gpus * (net.job_reward_per_epoch * net.reward_multiplier * u + net.availability_reward_per_epoch) \
        / net.epoch_days
    return RenderTerms(usd_per_day=usd, render_per_day=render)


def render_earned_per_day(scenario: Scenario, render_usd: float, utilisation: float | None = None) -> float:
    """RENDER earned per day by the whole set-up at a constant RENDER/USD price."""
    return float(income_terms(scenario, utilisation).render_at(float(render_usd)))


def path_income(scenario: Scenario, price_paths: np.ndarray):
    """The engine's :class:`~analysis.econ.ledger.PathIncome` of a Render set-up on RENDER/USD paths
    ``[P, D+1]`` (token amounts in RENDER). Vectorised over paths."""
    from analysis.econ.ledger import PathIncome, check_price_paths

    check_render(scenario)
    paths = check_price_paths(price_paths)
    n_paths, n_days = paths.shape[0], paths.shape[1] - 1
    terms = income_terms(scenario)
    earned = terms.usd_per_day / paths[:, 1:] + terms.render_per_day  # [P, D], RENDER
    every = scenario.network.epoch_days
    cumulative = np.cumsum(earned, axis=1)
    day = np.arange(1, n_days + 1)
    ends = day % every == 0
    payout = np.zeros_like(earned)
    if ends.any():
        paid_to = cumulative[:, ends]  # cumulative earnings at each epoch end
        payout[:, ends] = np.diff(paid_to, axis=1, prepend=0.0)
        unpaid = cumulative[:, -1] - paid_to[:, -1]
    else:
        unpaid = cumulative[:, -1]
    payouts = np.where(ends, float(scenario.hardware.gpus), 0.0)[None, :].repeat(n_paths, axis=0)
    opex = opex_usd_per_day(scenario)
    return PathIncome(
        ton_earned=earned, payout_ton=payout, fee_ton=np.zeros_like(earned), payouts=payouts,
        unpaid_ton=np.maximum(unpaid, 0.0),
        usd_opex={kind: np.full(n_days, opex[kind]) for kind in OPEX_KINDS},
        capex_usd=capex_paid_usd(scenario.hardware),
        depreciation_usd_per_day=depreciation_usd_per_day(scenario.hardware),
        salvage_usd=salvage_usd(scenario.hardware),
        worker_nanoton_per_token=np.zeros_like(earned),
        adjusted_tokens_per_day=0.0,
    )


def break_even_render_usd(scenario: Scenario, costs_usd_per_day: float, utilisation: float | None = None,
                          sell_fraction: float = 1.0) -> float:
    """RENDER/USD price at which the USD income (everything sold, ``sell_fraction`` kept after
    the trading fee) covers ``costs_usd_per_day``::

        sell * (usd_jobs + render_rewards * p) = costs  =>  p = (costs / sell - usd_jobs) / render_rewards

    0.0 when the USD job pay alone covers the costs (any price breaks even); ``inf`` when there
    are no RENDER rewards and the job pay does not cover the costs.
    """
    terms = income_terms(scenario, utilisation)
    need = costs_usd_per_day / sell_fraction - terms.usd_per_day
    if need <= 0:
        return 0.0
    if terms.render_per_day <= 0:
        return float("inf")
    return need / terms.render_per_day
