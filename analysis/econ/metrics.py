"""Break-even and investment metrics of a scenario.

Steady-state metrics (per day, at a constant TON price) are closed forms:

- ``ton_per_day``: TON left to sell per day, all GPUs. Payouts arrive whole (the proxy pays
  their gas); the node wallet spends ``f`` TON of gas per payout of ``T`` TON (the threshold),
  topped up from the payouts, so on average a fraction ``f/T`` of the earnings goes to gas.
- USD income per day = ``ton_per_day * ton_usd * (1 - trading_fee_bps/10^4)`` (each payout
  is sold; the exchange fee is ``[treasury] trading_fee_bps``).
- ``break_even_ton_usd``: the TON price at which income covers opex + depreciation;
  ``break_even_ton_usd_cash``: opex only. Defined for ``fixed_token`` pricing; in
  ``usd_pegged``/``repriced`` modes USD income does not depend on the TON price, so
  there is no break-even price (NaN).
- ``break_even_utilisation``: income and power are both linear in utilisation ``u``::

      a*u = C0 + P*(idle + (1 - idle)*u)   =>   u* = (C0 + P*idle) / (a - P*(1 - idle))

  with ``a`` the USD income per day at full load, ``P`` the power cost per day at full
  load, ``C0`` the other costs per day. NaN when income never catches up with costs;
  values above 1 mean "not reachable".

Path metrics (``npv_usd``, ``irr``, ``payback_days``) discount daily cash with a 365-day
year. They start from the day-0 outlay (:func:`analysis.econ.ledger.initial_outlay_usd`: capex
paid, the resale value forgone when the cards are already owned, the node wallets' TON) and end
with the horizon's terminal value (:func:`analysis.econ.ledger.terminal_value_usd`: unpaid and
node-wallet TON, the hardware at its market resale value -- not its book value). Straight-line
depreciation stays the accounting view (``usd_profit_per_day``, the break-evens "incl.
depreciation"). docs/glossary.md lists which "net" each output shows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from analysis.core.errors import InputError
from analysis.core.plain import plain
from analysis.core.roots import brentq
from analysis.core.units import NANOTON_PER_TON
from analysis.econ.costs import (
    DAYS_PER_MONTH,
    DAYS_PER_YEAR,
    HOURS_PER_DAY,
    OPEX_KINDS,
    book_value_usd,
    capex_paid_usd,
    depreciation_usd_per_day,
    hardware_resale_usd,
    opex_usd_per_day,
    power_usd_per_gpu_day,
    resale_forgone_usd,
)
from analysis.econ.ledger import (
    NET_BASIS,
    initial_outlay_usd,
    net_cash_usd,
    node_wallet_purchase_usd,
    path_income,
    sell_on_payout_usd,
    terminal_value_usd,
)
from analysis.econ.networks import daily_tokens_per_gpu, worker_nanoton_per_adjusted_token
from analysis.econ.resale import resale_curve
from analysis.econ.scenario import Scenario

COST_KINDS = (*OPEX_KINDS, "depreciation")


# --------------------------------------------------------------------------- steady state


def onchain_fee_fraction(scenario: Scenario) -> float:
    """Share of earnings spent on the node wallet's gas: ``onchain_fee_ton / payout_threshold_ton``."""
    return scenario.network.onchain_fee_ton / scenario.network.payout_threshold_ton


def ton_earned_per_day(scenario: Scenario, ton_usd: float | None = None, utilisation: float | None = None) -> float:
    """TON accrued per day by the whole set-up, before on-chain fees.

    ``ton_usd`` is needed in ``usd_pegged``/``repriced`` modes (TON per token depends on it).
    """
    if scenario.network.name == "render":  # RENDER earned (analysis/render.py): job pay depends on the price
        from analysis.econ.render import render_earned_per_day

        if ton_usd is None or not float(ton_usd) > 0 or not math.isfinite(float(ton_usd)):
            raise InputError(f"{scenario.origin}: a Render scenario needs a positive RENDER/USD price "
                             f"(got {ton_usd!r}); its job pay is converted to RENDER at that price")
        return render_earned_per_day(scenario, ton_usd, utilisation)
    if scenario.pricing.mode != "fixed_token" and ton_usd is None:
        raise InputError(f"{scenario.origin}: [pricing] mode = {scenario.pricing.mode!r} needs a TON price "
                         "to convert the USD target to TON; pass ton_usd")
    price = 1.0 if ton_usd is None else float(ton_usd)
    if not price > 0 or not math.isfinite(price):
        raise InputError(f"ton_usd = {ton_usd!r} is not valid; use a positive TON/USD price")
    fee = worker_nanoton_per_adjusted_token(scenario.network, scenario.pricing, np.full((1, 2), price))[0, 0]
    tokens = daily_tokens_per_gpu(scenario.workload, scenario.network, utilisation)
    return scenario.hardware.gpus * tokens.adjusted * fee / NANOTON_PER_TON


def ton_per_day(scenario: Scenario, ton_usd: float | None = None, utilisation: float | None = None) -> float:
    """TON left to sell per day (all GPUs): earnings less the node wallet's gas (steady state)."""
    return ton_earned_per_day(scenario, ton_usd, utilisation) * (1.0 - onchain_fee_fraction(scenario))


def usd_income_per_day(scenario: Scenario, ton_usd: float, utilisation: float | None = None) -> float:
    """USD per day from selling the TON received, net of on-chain and trading fees."""
    sell = 1.0 - scenario.treasury.trading_fee_bps / 10_000.0
    return ton_per_day(scenario, ton_usd, utilisation) * float(ton_usd) * sell


def usd_costs_per_day(scenario: Scenario, utilisation: float | None = None) -> dict[str, float]:
    """Costs per day of the whole set-up by kind: ``power``, ``colocation``, ``fixed`` (cash)
    and ``depreciation`` (straight-line capex, non-cash)."""
    costs = opex_usd_per_day(scenario, utilisation)
    costs["depreciation"] = depreciation_usd_per_day(scenario.hardware)
    return costs


def break_even_ton_usd(scenario: Scenario) -> float:
    """TON/USD price at which income covers all costs incl. capex depreciation.

    NaN in ``usd_pegged``/``repriced`` modes; ``inf`` when nothing is earned.
    """
    return _break_even_price(scenario, include_capex=True)


def break_even_ton_usd_cash(scenario: Scenario) -> float:
    """TON/USD price at which income covers the cash operating costs (no capex)."""
    return _break_even_price(scenario, include_capex=False)


def _break_even_price(scenario: Scenario, include_capex: bool) -> float:
    if scenario.network.name == "render":  # RENDER/USD price (analysis/render.py)
        from analysis.econ.render import break_even_render_usd

        costs = usd_costs_per_day(scenario)
        total = sum(costs[k] for k in OPEX_KINDS) + (costs["depreciation"] if include_capex else 0.0)
        return break_even_render_usd(scenario, total, sell_fraction=1.0 - scenario.treasury.trading_fee_bps / 10_000.0)
    if scenario.pricing.mode != "fixed_token":
        return math.nan
    costs = usd_costs_per_day(scenario)
    total = sum(costs[k] for k in OPEX_KINDS) + (costs["depreciation"] if include_capex else 0.0)
    usd_per_usd_of_ton = 1.0 - scenario.treasury.trading_fee_bps / 10_000.0
    ton = ton_per_day(scenario) * usd_per_usd_of_ton
    return total / ton if ton > 0 else math.inf


def break_even_utilisation(scenario: Scenario, ton_usd: float, include_capex: bool = True) -> float:
    """Utilisation at which income equals costs at TON price ``ton_usd`` (power depends on
    utilisation too; both are linear, see the module docstring). NaN when never; may
    exceed 1 (not reachable)."""
    income_full = usd_income_per_day(scenario, ton_usd, utilisation=1.0)
    # Income is linear in u: i0 + (i1 - i0) u; i0 = 0 on COCOON, Render's availability reward otherwise.
    income_idle = usd_income_per_day(scenario, ton_usd, utilisation=0.0)
    n = scenario.hardware.gpus
    power_full = n * power_usd_per_gpu_day(scenario.operations, 1.0)
    idle = scenario.operations.idle_power_fraction
    costs = usd_costs_per_day(scenario)
    other = costs["colocation"] + costs["fixed"] + (costs["depreciation"] if include_capex else 0.0)
    slope = income_full - income_idle - power_full * (1.0 - idle)
    if slope <= 0:
        return math.nan
    # <= 0: income covers the costs at any utilisation (e.g. Render's availability reward)
    return max((other + power_full * idle - income_idle) / slope, 0.0)


def usd_per_gpu_hour(scenario: Scenario, ton_usd: float) -> float:
    """USD income per GPU per wall-clock hour at the scenario's utilisation (net of fees)."""
    return usd_income_per_day(scenario, ton_usd) / scenario.hardware.gpus / HOURS_PER_DAY


def monthly_profit_usd(scenario: Scenario, ton_usd: np.ndarray, utilisation: np.ndarray,
                       include_capex: bool = True) -> np.ndarray:
    """Profit per month (365/12 days) on a grid: ``[len(utilisation), len(ton_usd)]``.

    Income minus opex (and depreciation when ``include_capex``), steady state.
    """
    prices = np.asarray(ton_usd, dtype=float)
    utils = np.asarray(utilisation, dtype=float)
    income = np.array([[usd_income_per_day(scenario, p, u) for p in prices] for u in utils]) \
        if scenario.pricing.mode != "fixed_token" or scenario.network.name != "cocoon" else \
        np.outer(utils, prices) * usd_income_per_day(scenario, 1.0, 1.0)
    n = scenario.hardware.gpus
    ops = scenario.operations
    power = n * np.array([power_usd_per_gpu_day(ops, u) for u in utils])
    costs = usd_costs_per_day(scenario)
    other = costs["colocation"] + costs["fixed"] + (costs["depreciation"] if include_capex else 0.0)
    return (income - power[:, None] - other) * DAYS_PER_MONTH


def break_even_ton_usd_at(scenario: Scenario, utilisation: np.ndarray, include_capex: bool = True) -> np.ndarray:
    """Break-even TON price for each utilisation (``fixed_token``; NaN otherwise)."""
    utils = np.asarray(utilisation, dtype=float)
    if scenario.network.name == "render":  # closed form per utilisation (analysis/render.py)
        from analysis.econ.render import break_even_render_usd

        sell = 1.0 - scenario.treasury.trading_fee_bps / 10_000.0
        costs = usd_costs_per_day(scenario)
        other = costs["colocation"] + costs["fixed"] + (costs["depreciation"] if include_capex else 0.0)
        n = scenario.hardware.gpus
        flat = [break_even_render_usd(scenario, other + n * power_usd_per_gpu_day(scenario.operations, u), u, sell)
                for u in utils.ravel()]
        return np.array(flat, dtype=float).reshape(utils.shape)
    if scenario.pricing.mode != "fixed_token":
        return np.full(utils.shape, np.nan)
    n = scenario.hardware.gpus
    costs = usd_costs_per_day(scenario)
    other = costs["colocation"] + costs["fixed"] + (costs["depreciation"] if include_capex else 0.0)
    power = n * np.array([power_usd_per_gpu_day(scenario.operations, u) for u in utils.ravel()]).reshape(utils.shape)
    income_per_price = usd_income_per_day(scenario, 1.0, 1.0) * utils
    with np.errstate(divide="ignore"):
        return np.where(income_per_price > 0, (power + other) / np.where(income_per_price > 0, income_per_price, 1.0),
                        np.inf)


# --------------------------------------------------------------------------- path metrics


def discount_factors(n_days: int, discount_rate_annual: float) -> np.ndarray:
    """``(1 + r) ** (-t / 365)`` for days t = 1..n_days."""
    t = np.arange(1, n_days + 1, dtype=float)
    return np.exp(-t / DAYS_PER_YEAR * math.log1p(discount_rate_annual))


def npv_usd(cash: np.ndarray, discount_rate_annual: float, *, initial_usd: float | np.ndarray = 0.0) -> np.ndarray:
    """Net present value ``[P]`` of daily cash flows ``cash [P, D]`` (day t discounted by
    ``(1+r)^(t/365)``) plus ``initial_usd`` at day 0 (e.g. ``-capex``)."""
    flows = np.atleast_2d(np.asarray(cash, dtype=float))
    return np.asarray(initial_usd, dtype=float) + flows @ discount_factors(flows.shape[1], discount_rate_annual)


def irr(cash: np.ndarray, *, initial_usd: float = 0.0) -> float:
    """Annual internal rate of return of one path's daily cash flows (365-day year).

    ``cash [D]`` are days 1..D, ``initial_usd`` is day 0. NaN when the flows do not change
    sign or no rate in (-99.99 %, 10^6 %) sets the NPV to zero.
    """
    flows = np.asarray(cash, dtype=float).ravel()
    if not (np.any(flows > 0) or initial_usd > 0) or not (np.any(flows < 0) or initial_usd < 0):
        return math.nan
    t = np.arange(1, flows.size + 1, dtype=float) / DAYS_PER_YEAR

    def npv_at(log_growth: float) -> float:
        return float(initial_usd + np.sum(flows * np.exp(-t * log_growth)))

    # Solve in x = log(1 + r), where the NPV is smooth and bounded for sensible flows.
    lo, hi = math.log(1e-4), math.log1p(1e4)
    f_lo, f_hi = npv_at(lo), npv_at(hi)
    if not (math.isfinite(f_lo) and math.isfinite(f_hi)) or f_lo * f_hi > 0:
        return math.nan
    return math.expm1(brentq(npv_at, lo, hi, xtol=1e-12, rtol=1e-12, maxiter=500))


def payback_days(cumulative_cash: np.ndarray) -> np.ndarray:
    """First day (1-based) on which cumulative cash ``[P, D]`` reaches 0 or more, per path;
    NaN where it never does. Include the day-0 outlay (capex paid, resale forgone) in the sum."""
    cum = np.atleast_2d(np.asarray(cumulative_cash, dtype=float))
    reached = cum >= 0
    first = np.argmax(reached, axis=1).astype(float) + 1.0
    return np.where(reached.any(axis=1), first, np.nan)


def path_metrics(scenario: Scenario, price_paths: np.ndarray) -> dict[str, np.ndarray]:
    """Sell-on-payout cash flows and their NPV and payback on each price path.

    Returns a dict of arrays: ``cash_usd`` [P, D] (income less opex), ``initial_usd`` [P] (the
    day-0 outlay: capex paid, resale value forgone when owned, node-wallet TON; see
    :func:`analysis.econ.ledger.initial_outlay_usd`), ``cumulative_cash_usd`` [P, D] (cash less
    that outlay), ``terminal_usd`` [P] (unpaid and node-wallet TON and the hardware's market
    resale value at the horizon, see :func:`analysis.econ.ledger.terminal_value_usd`),
    ``npv_usd`` [P] (outlay and terminal value included) and ``payback_days`` [P] (first day
    the cumulative cash covers the outlay, undiscounted, terminal value not counted; NaN when never).
    """
    income = path_income(scenario, price_paths)
    sales = sell_on_payout_usd(income, price_paths, scenario.treasury.trading_fee_bps)
    cash = net_cash_usd(income, sales)
    terminal = terminal_value_usd(scenario, income, price_paths)
    outlay = initial_outlay_usd(scenario, income, price_paths)
    with_terminal = cash.copy()
    with_terminal[:, -1] += terminal
    cumulative = np.cumsum(cash, axis=1) - outlay[:, None]
    return {
        "cash_usd": cash,
        "initial_usd": outlay,
        "cumulative_cash_usd": cumulative,
        "terminal_usd": terminal,
        "npv_usd": npv_usd(with_terminal, scenario.finance.discount_rate_annual, initial_usd=-outlay),
        "payback_days": payback_days(cumulative),
    }


def breakeven_summary(scenario: Scenario, ton_usd: float) -> dict[str, Any]:
    """Every break-even metric of ``scenario`` at a constant TON price, as plain numbers
    (NaN/inf become None) -- what ``cocoon-econ breakeven --json`` prints."""
    horizon = scenario.finance.horizon_days
    paths = np.full((1, horizon + 1), float(ton_usd))
    pm = path_metrics(scenario, paths)
    cash = pm["cash_usd"][0].copy()
    cash[-1] += pm["terminal_usd"][0]
    capex_paid = capex_paid_usd(scenario.hardware)
    outlay = float(pm["initial_usd"][0])
    hardware = scenario.hardware
    curve = resale_curve(hardware.gpu)
    flat = path_income(scenario, paths)
    costs = usd_costs_per_day(scenario)
    income = usd_income_per_day(scenario, ton_usd)
    summary = {
        "scenario": scenario.name,
        # Render jobs are priced in USD per GPU-hour ([pricing] does not apply): "render"
        "pricing_mode": "render" if scenario.network.name == "render" else scenario.pricing.mode,
        "ton_usd": float(ton_usd),
        "utilisation": scenario.workload.utilisation,
        "gpus": scenario.hardware.gpus,
        "ton_per_day": ton_per_day(scenario, ton_usd),
        "ton_earned_per_day": ton_earned_per_day(scenario, ton_usd),
        "usd_income_per_day": income,
        "usd_costs_per_day": costs,
        "usd_profit_per_day": income - sum(costs.values()),
        "usd_cash_profit_per_day": income - sum(costs[k] for k in OPEX_KINDS),
        "break_even_ton_usd": break_even_ton_usd(scenario),
        "break_even_ton_usd_cash": break_even_ton_usd_cash(scenario),
        "break_even_utilisation": break_even_utilisation(scenario, ton_usd),
        "break_even_utilisation_cash": break_even_utilisation(scenario, ton_usd, include_capex=False),
        "usd_per_gpu_hour": usd_per_gpu_hour(scenario, ton_usd),
        "horizon_days": horizon,
        "capex_paid_usd": capex_paid,
        # what NPV/IRR/payback start from and end with (issue 14)
        "resale_forgone_usd": resale_forgone_usd(hardware),
        "node_wallet_ton": flat.node_wallet_ton,
        "node_wallet_usd": float(node_wallet_purchase_usd(scenario, flat, paths)[0]),
        "initial_outlay_usd": outlay,
        "hardware_age_years": hardware.age_years,
        "hardware_resale_end_usd": hardware_resale_usd(hardware, horizon),
        "hardware_book_end_usd": book_value_usd(hardware, horizon),
        "hardware_value_basis": (f"market resale ({curve.name} curve{', stand-in' if curve.stand_in else ''}, "
                                 f"gpu_resale_curve.csv) for NPV/IRR; straight-line book value "
                                 f"(life {hardware.life_years:g} y, salvage {hardware.salvage_fraction:g}) "
                                 "for profit after depreciation"
                                 + ("; the host server at straight-line book value in both" if hardware.host_capex_usd
                                    else "")),
        "npv_usd": float(pm["npv_usd"][0]),
        "irr": irr(cash, initial_usd=-outlay),
        "payback_days": float(pm["payback_days"][0]),
        "net_basis": {"npv_usd": NET_BASIS["npv"], "usd_profit_per_day": NET_BASIS["profit"]},
    }
    return plain(summary)


# --------------------------------------------------------------------------- sensitivity


def monthly_profit_at(scenario: Scenario, ton_usd: float, include_capex: bool = True) -> float:
    """Steady-state profit per month (365/12 days) at a constant TON price."""
    costs = usd_costs_per_day(scenario)
    total = sum(costs[k] for k in OPEX_KINDS) + (costs["depreciation"] if include_capex else 0.0)
    return (usd_income_per_day(scenario, ton_usd) - total) * DAYS_PER_MONTH


#: Default one-at-a-time swings for :func:`profit_sensitivity`: label, dotted key (or
#: ``"ton_usd"``), low and high as multiples of the base value (clipped to valid ranges).
DEFAULT_SWINGS = (
    ("TON price -/+30%", "ton_usd", 0.7, 1.3),
    ("utilisation -/+30%", "workload.utilisation", 0.7, 1.3),
    ("throughput -/+30%", "workload.output_tokens_per_s", 0.7, 1.3),
    ("worker fee -/+20%", "network.worker_fee_per_token_nanoton", 0.8, 1.2),
    ("capex -/+20%", "hardware.capex_usd", 0.8, 1.2),
    ("electricity -/+50%", "operations.electricity_usd_per_kwh", 0.5, 1.5),
    ("life 3 / 6 years", "hardware.life_years", None, None),
)


def profit_sensitivity(scenario: Scenario, ton_usd: float, swings=DEFAULT_SWINGS):
    """Monthly profit with each input moved to a low and a high value, one at a time.

    Returns a DataFrame: ``label``, ``key``, ``low``, ``high`` (input values), ``low_usd``,
    ``high_usd`` (monthly profit), with ``attrs["base_usd"]`` the unchanged profit.
    """
    import pandas as pd

    from analysis.econ.scenario import scenario_with

    base = monthly_profit_at(scenario, ton_usd)
    rows = []
    values: tuple[float, ...]
    for label, key, lo, hi in swings:
        if key == "ton_usd":
            values = (ton_usd * lo, ton_usd * hi)
            results = [monthly_profit_at(scenario, v) for v in values]
        else:
            table, field = key.split(".")
            current = getattr(getattr(scenario, table), field)
            if key == "hardware.life_years" and lo is None:
                values = (3.0, 6.0)
            else:
                values = (current * lo, current * hi)
            if key == "workload.utilisation":
                values = tuple(min(max(v, 0.0), 1.0) for v in values)
            if key == "network.worker_fee_per_token_nanoton":  # the fee is a share of the client's price
                values = tuple(min(v, scenario.network.price_per_token_nanoton) for v in values)
            if isinstance(current, int) and not isinstance(current, bool):
                values = tuple(max(1, int(round(v))) for v in values)
            results = [monthly_profit_at(scenario_with(scenario, {key: v}), ton_usd) for v in values]
        rows.append({"label": label, "key": key, "low": values[0], "high": values[1],
                     "low_usd": results[0], "high_usd": results[1]})
    frame = pd.DataFrame(rows)
    frame.attrs["base_usd"] = base
    return frame
