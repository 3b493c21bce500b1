"""The physically meaningful range of every number a user gives, in one table (issue 13).

A scenario field or CLI argument may pass its own type check yet be absurd (``capex_usd =
1e308``, ``life_years = 1e-300``, ``output_tokens_per_s = 1e-300``, a worker fee above the
client's price, ``--start-price 1e308``): such inputs give overflowing or meaningless results
(a break-even of 2.9e306 USD instead of "never"). :data:`SCENARIO_BOUNDS` and
:data:`ARGUMENT_BOUNDS` say what is plausible and why; :func:`check_scenario_bounds` applies
them, with the cross-field rules, once when a scenario is loaded
(:func:`analysis.econ.scenario.parse_scenario`), and :func:`check_argument` for CLI values.

The ranges are generous on purpose: they exclude only values no real set-up has, never an
unusual but possible one. Widen an entry here (one place) if a real case falls outside.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, NamedTuple

from analysis.core.errors import InputError


class Bound(NamedTuple):
    """``lo <= value <= hi`` in ``unit``; ``why`` is shown in the error."""

    lo: float
    hi: float
    unit: str
    why: str


#: ``(table, key)`` -> bound. Fields not listed keep only their parser's checks.
SCENARIO_BOUNDS: dict[tuple[str, str], Bound] = {
    ("network", "price_per_token_nanoton"): Bound(1, 10**9, "nanoTON per adjusted token",
                                                  "1 TON per token is beyond any inference price"),
    ("network", "worker_fee_per_token_nanoton"): Bound(1, 10**9, "nanoTON per adjusted token",
                                                       "1 TON per token is beyond any inference price"),
    ("network", "coefficient"): Bound(0.001, 1000.0, "x", "the contract's coefficient in thousandths"),
    ("network", "payout_threshold_ton"): Bound(0.001, 1e6, "TON", "COCOON pays at 10 TON"),
    ("network", "onchain_fee_ton"): Bound(0.0, 10.0, "TON", "a TON transaction costs about 0.01 TON"),
    ("network", "job_usd_per_gpu_hour"): Bound(0.0, 1000.0, "USD per GPU-hour", "an H100 rents for about 2"),
    ("pricing", "usd_per_m_adjusted_tokens"): Bound(1e-6, 1000.0, "USD per million tokens",
                                                    "frontier APIs charge below 100"),
    ("pricing", "reprice_every_days"): Bound(1, 3650, "days", "at least daily, at most every 10 years"),
    ("hardware", "capex_usd"): Bound(0.0, 1e10, "USD", "10 billion USD is a national-scale cluster"),
    ("hardware", "life_years"): Bound(0.1, 50.0, "years", "hardware is depreciated over months to decades"),
    ("workload", "output_tokens_per_s"): Bound(0.0, 1e6, "tokens per second per GPU",
                                               "one GPU serves at most tens of thousands"),
    ("workload", "prompt_tokens_per_output_token"): Bound(0.0, 1e5, "prompt tokens per output token",
                                                          "a 1M-token prompt per 10 output tokens"),
    ("operations", "power_kw"): Bound(0.0, 100.0, "kW per GPU", "an H100 node draws about 1.3 kW per GPU"),
    ("operations", "electricity_usd_per_kwh"): Bound(0.0, 10.0, "USD per kWh", "retail power is below 1"),
    ("operations", "colocation_usd_per_kw_month"): Bound(0.0, 10_000.0, "USD per kW per month",
                                                         "colocation costs about 150"),
    ("operations", "fixed_usd_per_month"): Bound(0.0, 1e7, "USD per GPU per month", "far above any real cost"),
    ("finance", "discount_rate_annual"): Bound(-0.5, 2.0, "per year",
                                               "rates near -100% make every cash flow infinite"),
    ("finance", "horizon_days"): Bound(1, 365 * 30, "days", "at most 30 years"),
    ("treasury", "every_days"): Bound(1, 3650, "days", "at least daily, at most every 10 years"),
    ("treasury", "trading_fee_bps"): Bound(0.0, 1000.0, "basis points", "exchanges charge about 10"),
    ("treasury", "funding_rate_annual"): Bound(-10.0, 10.0, "per year", "perp funding rarely passes 1"),
}

#: First and last day a scenario may start (TON's prices begin in 2021; 2009 leaves room for any
#: back-test, 2100 keeps day arithmetic far from Python's year-9999 overflow).
FIRST_DAY = dt.date(2009, 1, 1)
LAST_DAY = dt.date(2100, 12, 31)
#: Per-GPU capex above this is not a GPU.
MAX_CAPEX_PER_GPU_USD = 1e6
#: COCOON pays per token: below this throughput a GPU earns nothing measurable (break-even "never").
MIN_COCOON_TOKENS_PER_S = 0.01

#: CLI arguments -> bound (checked by :func:`check_argument`).
ARGUMENT_BOUNDS: dict[str, Bound] = {
    "--start-price": Bound(1e-6, 1e6, "USD per token", "TON has traded between about 0.4 and 8"),
    "--ton-usd": Bound(1e-6, 1e6, "USD per token", "TON has traded between about 0.4 and 8"),
    "--drift-annual": Bound(-10.0, 10.0, "per year (log drift)", "exp(10) = 22,000x a year"),
    "--vol-annual": Bound(0.0, 10.0, "per year", "TON's realised volatility is about 0.7"),
    "--window-days": Bound(30, 100_000, "days", "a fit needs at least a month of daily returns"),
}


def _fail(origin: str, where: str, value: Any, bound: Bound) -> InputError:
    shown = value.isoformat() if isinstance(value, dt.date) else f"{value:g}" if isinstance(value, float) else value
    return InputError(f"{origin}: {where} = {shown} is out of range; use {bound.lo:g} to {bound.hi:g} "
                      f"{bound.unit} ({bound.why})")


def check_argument(flag: str, value: float | None) -> float | None:
    """``value`` if finite and inside ``ARGUMENT_BOUNDS[flag]`` (None passes), else :class:`InputError`."""
    if value is None:
        return None
    bound = ARGUMENT_BOUNDS[flag]
    if not (math.isfinite(value) and bound.lo <= value <= bound.hi):
        raise InputError(f"{flag} = {value:g} is out of range; use {bound.lo:g} to {bound.hi:g} {bound.unit} "
                         f"({bound.why})")
    return value


def check_scenario_bounds(scenario: Any) -> None:
    """Apply :data:`SCENARIO_BOUNDS` and the cross-field rules to a parsed scenario.

    Raises :class:`InputError` naming the file, table, key, the allowed range and why.
    """
    origin = scenario.origin
    for (table, key), bound in SCENARIO_BOUNDS.items():
        value = getattr(getattr(scenario, table), key)
        if isinstance(value, str) or value is None:    # e.g. funding_rate_annual = "historical"
            continue
        if not (math.isfinite(value) and bound.lo <= value <= bound.hi):
            raise _fail(origin, f"[{table}] {key}", value, bound)
    net, hw, wl, fin = scenario.network, scenario.hardware, scenario.workload, scenario.finance
    if not FIRST_DAY <= fin.start <= LAST_DAY:
        raise InputError(f"{origin}: [finance] start = {fin.start.isoformat()} is out of range; use a day from "
                         f"{FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}")
    end = fin.start + dt.timedelta(days=fin.horizon_days - 1)
    if end > LAST_DAY:
        raise InputError(f"{origin}: [finance] start {fin.start.isoformat()} + horizon_days {fin.horizon_days} ends "
                         f"after {LAST_DAY.isoformat()}; start earlier or shorten horizon_days")
    if hw.capex_usd / hw.gpus > MAX_CAPEX_PER_GPU_USD:
        raise InputError(f"{origin}: [hardware] capex_usd = {hw.capex_usd:g} is {hw.capex_usd / hw.gpus:,.0f} USD per "
                         f"GPU for {hw.gpus} GPU(s); give the price of all the GPUs (at most "
                         f"{MAX_CAPEX_PER_GPU_USD:,.0f} USD each)")
    if net.name == "cocoon":
        if net.worker_fee_per_token_nanoton > net.price_per_token_nanoton:
            raise InputError(f"{origin}: [network] worker_fee_per_token_nanoton = {net.worker_fee_per_token_nanoton} "
                             f"is above price_per_token_nanoton = {net.price_per_token_nanoton}; the worker's fee "
                             "is a share of the client's price, so use at most the price")
        if wl.output_tokens_per_s < MIN_COCOON_TOKENS_PER_S:
            raise InputError(f"{origin}: [workload] output_tokens_per_s = {wl.output_tokens_per_s:g} is out of range; "
                             f"use at least {MIN_COCOON_TOKENS_PER_S:g} tokens per second per GPU (COCOON pays "
                             "per token; measure a real throughput, e.g. 2000 for an H100)")
