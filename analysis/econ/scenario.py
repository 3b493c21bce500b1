"""Scenario files: a provider's set-up described in TOML, parsed and validated.

A scenario has the tables ``[network]``, ``[pricing]``, ``[hardware]``, ``[workload]``,
``[operations]``, ``[finance]`` and ``[treasury]`` (see ``data/scenarios/*.toml`` for
documented examples). Every invalid field raises :class:`~analysis.core.errors.InputError`
with one line naming the file, the table and key, and the fix, e.g.::

    h100.toml: [workload] utilisation = -0.2 is out of range; use a fraction between 0 and 1

Unknown tables and keys are errors too, so a typo never passes silently.

Network defaults come from ``data/reference/network_parameters.csv`` (rows named in
:data:`NETWORK_DEFAULT_ROWS`), so a scenario may omit them.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import difflib
import functools
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.core.errors import InputError
from analysis.core.gpus import COCOON_GPUS, GPUS, gpu_from_alias
from analysis.core.resources import reference_path
from analysis.core.tomlfile import read_toml
from analysis.econ.bounds import SCENARIO_BOUNDS, check_scenario_bounds
from analysis.econ.resale import resale_curve
from analysis.econ.throughput import (
    COCOON_DEFAULT_MODEL,
    DEFAULT_ENGINE,
    ENGINES,
    cc_overhead_default,
    reference_source,
    select_throughput_row,
)

NETWORKS = ("cocoon", "render")
#: Largest scenario file read (the examples are about 2 KB).
MAX_SCENARIO_BYTES = 1024 * 1024
#: ``[workload] utilisation = "observed"``: the network's paid demand (analysis.econ.demand).
OBSERVED = "observed"
PRICING_MODES = ("fixed_token", "usd_pegged", "repriced")

#: ``[network]`` key -> (network_parameters.csv row for ``cocoon``, conversion to the key's unit).
NETWORK_DEFAULT_ROWS: dict[str, tuple[str, Callable[[float], Any]]] = {
    "price_per_token_nanoton": ("price_per_token", int),
    "worker_fee_per_token_nanoton": ("worker_fee_per_token", int),
    # worker_coefficient_default is in 1/1000 in the contract; the TOML uses 1.0 = 1000.
    "coefficient": ("worker_coefficient_default", lambda v: v / 1000.0),
    "prompt_tokens_price_multiplier": ("prompt_tokens_price_multiplier", int),
    "cached_tokens_price_multiplier": ("cached_tokens_price_multiplier", int),
    "completion_tokens_price_multiplier": ("completion_tokens_price_multiplier", int),
    "reasoning_tokens_price_multiplier": ("reasoning_tokens_price_multiplier", int),
    "payout_threshold_ton": ("min_worker_payout_sum", float),
    "onchain_fee_ton": ("onchain_operation_cost", float),
    "node_wallet_balance_ton": ("worker_wallet_min_balance", float),
}

#: COCOON's price in USD per million adjusted tokens (api_token_prices.csv row
#: ``cocoon,any``: 20 nanoTON per adjusted token at 1.51 USD/TON = 0.0302 USD per M).
DEFAULT_USD_PER_M_ADJUSTED_TOKENS = 0.0302


def reference_table(name: str) -> list[dict[str, str]]:
    """Rows of a vendored reference CSV (``data/reference/<name>``) as dicts (fresh ones each call)."""
    path = reference_path(name)
    stat = os.stat(path)
    return [dict(row) for row in _read_reference_rows(str(path), stat.st_mtime_ns, stat.st_size)]


@functools.lru_cache(maxsize=64)
def _read_reference_rows(path: str, mtime_ns: int, size: int) -> tuple[dict[str, str], ...]:
    # Parsed once per file version: a report looks rows up several hundred times (throughput rows,
    # network parameters); the key's mtime and size make an edited file read again.
    with open(path, newline="", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


def network_parameter(network: str, parameter: str) -> float:
    """A numeric value from data/reference/network_parameters.csv."""
    for row in reference_table("network_parameters.csv"):
        if row["network"] == network and row["parameter"] == parameter:
            return float(row["value"])
    raise KeyError(f"network_parameters.csv has no row {network},{parameter}")


#: ``[network]`` key -> (network_parameters.csv row for ``render``, conversion) (issue 7).
RENDER_DEFAULT_ROWS: dict[str, tuple[str, Callable[[float], Any]]] = {
    "job_usd_per_gpu_hour": ("compute_network_rtx4090_customer_price", float),
    "protocol_fee": ("protocol_fee", float),
    "job_reward_per_epoch": ("compute_network_node_reward_rtx4090_full_util", float),
}
#: Keys of ``[network]`` that only one network understands.
RENDER_KEYS = ("job_usd_per_gpu_hour", "protocol_fee", "job_reward_per_epoch", "reward_multiplier",
               "availability_reward_per_epoch", "epoch_days")
COCOON_KEYS = tuple(NETWORK_DEFAULT_ROWS)
#: The token each network pays in: the asset name of :func:`analysis.market.prices.daily_closes`.
NETWORK_ASSETS = {"cocoon": "ton", "render": "render"}


def price_asset(scenario_or_network) -> str:
    """The asset whose USD price moves the scenario's income: ``"ton"`` (COCOON) or ``"render"``."""
    network = getattr(scenario_or_network, "network", scenario_or_network)
    name = getattr(network, "name", network)
    return NETWORK_ASSETS[name]


def _default_usd_per_m() -> float:
    for row in reference_table("api_token_prices.csv"):
        if row["provider"] == "cocoon":
            return float(row["usd_per_m_input"])
    return DEFAULT_USD_PER_M_ADJUSTED_TOKENS


# --------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class NetworkConfig:
    """Protocol parameters (COCOON root-contract values and runner defaults).

    ``coefficient`` is the worker's price coefficient as a ratio (the contract stores
    ``coefficient_milli`` = 1000 for 1.0); the four multipliers are in 1/10000 as in the
    contract (10000 = 1.0x).
    """

    name: str = "cocoon"
    price_per_token_nanoton: int = 20
    worker_fee_per_token_nanoton: int = 19
    coefficient: float = 1.0
    prompt_tokens_price_multiplier: int = 10000
    cached_tokens_price_multiplier: int = 1000
    completion_tokens_price_multiplier: int = 80000
    reasoning_tokens_price_multiplier: int = 80000
    payout_threshold_ton: float = 10.0
    # Gas the worker's node wallet spends per payout (an operating cost, topped up from the
    # payouts): at most one node-wallet operation per payout, the worker's own payout request
    # (cocoon runners/worker/WorkerRunner.cpp proxy_request_payout, 0.5 TON attached, ~0.01 TON
    # used, docs/smart-contracts.md). The payout itself reaches the owner whole: the proxy's
    # wallet pays its gas (runners/proxy/ProxyRunner.cpp worker_payout, 0.7 TON attached).
    onchain_fee_ton: float = 0.01
    # TON the node wallet must hold before the worker starts (runners/BaseRunner.hpp
    # min_wallet_balance = 2.1 TON), one wallet per worker (per GPU): capital, bought at the start.
    node_wallet_balance_ton: float = 2.1
    # Render Network (name = "render"; see analysis/render.py). Defaults: RTX 4090 on the
    # Render compute network, network_parameters.csv rows of the same meaning.
    job_usd_per_gpu_hour: float = 0.35
    protocol_fee: float = 0.05
    job_reward_per_epoch: float = 10.0
    reward_multiplier: float = 1.0
    availability_reward_per_epoch: float = 2.0
    epoch_days: int = 7

    @property
    def token(self) -> str:
        """The token the network pays in: ``"TON"`` or ``"RENDER"``."""
        return "RENDER" if self.name == "render" else "TON"

    @property
    def coefficient_milli(self) -> int:
        """The coefficient as the contract and runners hold it (1000 = 1.0x)."""
        return int(round(self.coefficient * 1000))

    @property
    def worker_share(self) -> float:
        """Fraction of the client's price the worker keeps (worker fee / price)."""
        return self.worker_fee_per_token_nanoton / self.price_per_token_nanoton


@dataclass(frozen=True)
class PricingConfig:
    """How the per-token price moves: ``fixed_token`` | ``usd_pegged`` | ``repriced``."""

    mode: str = "fixed_token"
    usd_per_m_adjusted_tokens: float = DEFAULT_USD_PER_M_ADJUSTED_TOKENS
    reprice_every_days: int = 30


@dataclass(frozen=True)
class HardwareConfig:
    """The GPUs. ``capex_usd`` is the price of the whole set-up (all ``gpus``), or its
    current market value when ``already_owned`` (then no cash is spent at the start, but the
    resale value is forgone). ``age_years`` is the cards' age at ``[finance] start`` (0 = new),
    where the resale curve (:mod:`analysis.econ.resale`) starts; ``life_years`` and
    ``salvage_fraction`` drive straight-line depreciation (the accounting view) only."""

    gpu: str
    gpus: int
    capex_usd: float
    life_years: float
    salvage_fraction: float = 0.0
    already_owned: bool = False
    age_years: float = 0.0
    #: The host server the GPUs sit in (CPUs, memory, board, chassis; TDX-capable for COCOON), USD.
    #: 0 when ``capex_usd`` already is a whole server's price (an HGX node). Depreciated with the GPUs.
    host_capex_usd: float = 0.0

    @property
    def total_capex_usd(self) -> float:
        """GPUs plus host server: ``capex_usd + host_capex_usd``."""
        return self.capex_usd + self.host_capex_usd


@dataclass(frozen=True)
class WorkloadConfig:
    """Per GPU: throughput at full load and the token mix of the traffic.

    ``output_tokens_per_s`` is the measured (or given) throughput; the income uses
    :attr:`served_output_tokens_per_s`, that less ``cc_overhead_fraction`` (confidential-computing
    overhead). When the scenario leaves ``output_tokens_per_s`` out, it and
    ``prompt_tokens_per_output_token`` come from the row of inference_throughput_cocoon.csv nearest
    COCOON's conditions for ``model``/``engine`` on the scenario's GPU (analysis.econ.throughput),
    and ``cc_overhead_fraction`` defaults to cc_mode_overhead.csv's; an explicit throughput gets no
    CC overhead unless ``cc_overhead_fraction`` is given (it may already be measured under CC).
    ``throughput_source`` says where the throughput came from.
    """

    output_tokens_per_s: float
    prompt_tokens_per_output_token: float
    cached_prompt_fraction: float = 0.0
    reasoning_output_fraction: float = 0.0
    utilisation: float = 1.0
    model: str = COCOON_DEFAULT_MODEL
    engine: str = DEFAULT_ENGINE
    cc_overhead_fraction: float = 0.0
    throughput_source: str = ""

    @property
    def served_output_tokens_per_s(self) -> float:
        """Output tokens per second after the CC overhead: ``output_tokens_per_s * (1 - cc_overhead_fraction)``."""
        return self.output_tokens_per_s * (1.0 - self.cc_overhead_fraction)


@dataclass(frozen=True)
class OperationsConfig:
    """Per GPU, including its share of the host."""

    power_kw: float
    electricity_usd_per_kwh: float
    idle_power_fraction: float = 0.3
    pue: float = 1.0
    colocation_usd_per_kw_month: float = 0.0
    fixed_usd_per_month: float = 0.0


@dataclass(frozen=True)
class FinanceConfig:
    """``currency``: the fiat currency of the scenario's costs and of every output (ISO 4217 code
    of a currency the ECB publishes; docs/currency.md)."""

    start: dt.date
    discount_rate_annual: float = 0.10
    horizon_days: int = 365
    currency: str = "USD"


#: Every ``[treasury] strategy`` the toolkit runs (analysis.sim.strategies implements them; it checks
#: its registry against this tuple on import, so the names live in one place and a scenario naming
#: another is refused when it is loaded, by every command).
TREASURY_STRATEGIES = ("hold", "sell_on_payout", "sell_every", "cover_costs", "stake", "perp_hedge",
                       "put_protection", "collar", "usd_pegged")
#: ``[treasury] funding``: where the perp hedge's daily funding comes from (docs/risk.md).
FUNDING_SOURCES = ("historical", "fixed", "bootstrap")


@dataclass(frozen=True)
class TreasuryConfig:
    """What is done with the TON received, and the terms of the hedges (docs/risk.md).

    Validated on construction by :func:`check_treasury` -- the one set of rules, whether the
    table comes from a scenario file or from code (``analysis.sim.strategies.TreasuryParams``).

    ``funding``: ``historical`` (recorded daily funding on the path's own dates, where there is a
    record), ``fixed`` (``funding_rate_annual`` every day) or ``bootstrap`` (random paths: recorded
    days resampled jointly with that day's TON return); days without a record take
    ``funding_rate_annual`` (default 0, no mean-fill). Margin of the perp short: collateral
    ``initial_margin_fraction`` x notional posted on day 0, topped up to it when a rally takes the
    account below ``maintenance_margin_fraction`` x notional, the excess swept back each day; the
    collateral costs ``cost_of_capital_annual``; when a top-up would take it above
    ``max_collateral_usd`` (None: no cap) the short is closed at that day's close.
    """

    strategy: str = "sell_on_payout"
    every_days: int = 30
    hedge_ratio: float = 1.0
    trading_fee_bps: float = 10.0
    funding: str = "historical"
    funding_rate_annual: float = 0.0
    put_strike: float = 0.9
    call_strike: float = 1.2
    vol_premium: float = 0.1
    staking_apy: float = 0.033
    initial_margin_fraction: float = 0.10
    maintenance_margin_fraction: float = 0.05
    cost_of_capital_annual: float = 0.10
    max_collateral_usd: float | None = None

    def __post_init__(self) -> None:
        check_treasury(self)


#: ``[treasury]`` numeric rules: key -> (lowest, highest, lowest excluded, whole number, fix).
TREASURY_RULES: dict[str, tuple[float | None, float | None, bool, bool, str]] = {
    "every_days": (1, None, False, True, "use a whole number of days, at least 1"),
    "hedge_ratio": (0.0, 1.0, False, False, "use a fraction between 0 and 1 (1 = fully hedged)"),
    "trading_fee_bps": (0.0, 9_999.0, False, False, "use basis points between 0 and 9999, e.g. 10"),
    "funding_rate_annual": (-10.0, 10.0, False, False,
                            "use an annual rate as a fraction, e.g. -0.07 (positive pays the short)"),
    "put_strike": (0.0, 10.0, True, False, "use a strike as a fraction of the spot, e.g. 0.9"),
    "call_strike": (0.0, 10.0, True, False, "use a strike as a fraction of the spot, e.g. 1.2"),
    "vol_premium": (0.0, 10.0, False, False, "use a volatility mark-up of 0 or more, e.g. 0.1"),
    "staking_apy": (0.0, 1.0, False, False, "use an annual yield as a fraction between 0 and 1, e.g. 0.033"),
    "initial_margin_fraction": (0.0, 1.0, True, False,
                                "use a fraction of the short's notional above 0 and at most 1, e.g. 0.1"),
    "maintenance_margin_fraction": (0.0, 1.0, True, False,
                                    "use a fraction of the notional above 0, at most initial_margin_fraction"),
    "cost_of_capital_annual": (0.0, 10.0, False, False, "use an annual rate as a fraction, e.g. 0.10"),
    "max_collateral_usd": (0.0, None, True, False, "use a positive USD amount, or leave it out for no cap"),
}


def check_treasury(treasury: TreasuryConfig) -> None:
    """Raise one ``InputError`` line naming the first invalid ``[treasury]`` field and its fix."""
    if treasury.strategy not in TREASURY_STRATEGIES:
        close = difflib.get_close_matches(str(treasury.strategy), TREASURY_STRATEGIES, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise InputError(f"[treasury] strategy = {_show(treasury.strategy)} is not known; {hint}"
                         f"use one of {', '.join(TREASURY_STRATEGIES)}")
    if treasury.funding not in FUNDING_SOURCES:
        raise InputError(f"[treasury] funding = {_show(treasury.funding)} is not valid; use one of "
                         f"{', '.join(FUNDING_SOURCES)}")
    for key, (lo, hi, lo_open, whole, fix) in TREASURY_RULES.items():
        value = getattr(treasury, key)
        if key == "max_collateral_usd" and value is None:
            continue
        ok = (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
              and (not whole or float(value).is_integer())
              and (lo is None or value > lo or (value == lo and not lo_open))
              and (hi is None or value <= hi))
        if not ok:
            raise InputError(f"[treasury] {key} = {_show(value)} is out of range; {fix}")
    if treasury.maintenance_margin_fraction > treasury.initial_margin_fraction:
        raise InputError(f"[treasury] maintenance_margin_fraction = {treasury.maintenance_margin_fraction!r} is above "
                         f"initial_margin_fraction = {treasury.initial_margin_fraction!r}; use at most the initial margin")


@dataclass(frozen=True)
class Scenario:
    name: str
    network: NetworkConfig
    pricing: PricingConfig
    hardware: HardwareConfig
    workload: WorkloadConfig
    operations: OperationsConfig
    finance: FinanceConfig
    treasury: TreasuryConfig
    path: Path | None = None
    description: str = ""
    origin: str = "<scenario>"  # how error messages name it (usually the file name)
    notes: tuple[str, ...] = ()  # where defaults came from, for the CLI to print (e.g. a chain reading)
    #: ``"table.key"`` of every value the file sets (the rest are defaults); not part of equality
    given_keys: frozenset[str] = dataclasses.field(default=frozenset(), compare=False)
    #: Units of ``finance.currency`` per USD at ``finance.start`` (ECB): the rate USD inputs
    #: (``*_usd`` cost names, the USD peg, Render's USD job price) were converted at. 1.0 for USD.
    fx_per_usd: float = 1.0

    @property
    def currency(self) -> str:
        """The fiat currency of every amount the engine computes for this scenario (``USD`` by default).

        The engine's ``*_usd`` names (fields, columns, keys) hold amounts in this currency; the CLI,
        the CSVs and the report relabel them (:mod:`analysis.econ.currency`)."""
        return self.finance.currency

    # utilisation = "observed": the analysis.econ.demand.ObservedUtilisation behind workload.utilisation
    observed_utilisation: Any = None

    @property
    def utilisation_origin(self) -> str:
        """``"observed"`` (the network's paid demand) or ``"assumed"`` (a number in the scenario)."""
        return "observed" if self.observed_utilisation is not None else "assumed"


_TABLES: dict[str, type] = {
    "network": NetworkConfig,
    "pricing": PricingConfig,
    "hardware": HardwareConfig,
    "workload": WorkloadConfig,
    "operations": OperationsConfig,
    "finance": FinanceConfig,
    "treasury": TreasuryConfig,
}
#: The scenario tables and the dataclass of each (public: ``cocoon-econ init`` documents every field).
TABLES = _TABLES
#: Currency-neutral cost names (amounts in ``[finance] currency``) -> the field they set. The ``*_usd``
#: names stay valid as USD amounts (converted at the start day's ECB rate in another currency).
NEUTRAL_COST_KEYS: dict[str, dict[str, str]] = {
    "hardware": {"capex": "capex_usd", "host_capex": "host_capex_usd"},
    "operations": {"electricity_per_kwh": "electricity_usd_per_kwh",
                   "colocation_per_kw_month": "colocation_usd_per_kw_month",
                   "fixed_per_month": "fixed_usd_per_month"},
    "treasury": {"max_collateral": "max_collateral_usd"},
}
#: Fields that are USD by nature (the network prices in USD), converted at ``fx_per_usd``.
USD_PRICE_FIELDS = (("pricing", "usd_per_m_adjusted_tokens"), ("network", "job_usd_per_gpu_hour"))
_TOP_KEYS = ("name", "description", *_TABLES)

# Example values shown when a required key is missing.
_EXAMPLES = {
    ("hardware", "gpu"): '"H100-SXM"',
    ("hardware", "gpus"): "1",
    ("hardware", "capex_usd"): "30000  (USD for all the GPUs)",
    ("hardware", "life_years"): "4",
    ("workload", "output_tokens_per_s"): "2000  (per GPU at full load)",
    ("workload", "prompt_tokens_per_output_token"): "2.0",
    ("operations", "power_kw"): "1.0  (per GPU incl. its share of the host)",
    ("operations", "electricity_usd_per_kwh"): "0.10",
    ("finance", "start"): '"2025-01-01"',
}


# --------------------------------------------------------------------------- loading


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file.

    Raises
    ------
    InputError
        When the file is missing, is not valid TOML (message with the parser's line and
        column), or any field is missing, mistyped, out of range or unknown.
    """
    path = Path(path)
    mapping = read_toml(path, flag="--scenario", kind="scenario",
                        examples="write one with 'cocoon-econ init', or list the examples with 'cocoon-econ init --list'",
                        max_bytes=MAX_SCENARIO_BYTES, size_hint="examples in data/scenarios/")
    return parse_scenario(mapping, origin=path.name, path=path)


def parse_scenario(mapping: Mapping[str, Any], origin: str = "<scenario>", path: Path | None = None) -> Scenario:
    """Validate a scenario given as a mapping (e.g. parsed TOML) and build a :class:`Scenario`.

    ``origin`` names the source in error messages (usually the file name).
    """
    if not isinstance(mapping, Mapping):
        raise InputError(f"{origin}: a scenario must be a table of keys, not {type(mapping).__name__}")
    _reject_unknown(origin, None, mapping, _TOP_KEYS)
    v = _Validator(origin)

    name = v.string(None, mapping, "name", required=True)
    description = v.string(None, mapping, "description", default="")
    tables = {}
    for table in _TABLES:
        raw = mapping.get(table, {})
        if not isinstance(raw, Mapping):
            raise InputError(f"{origin}: {table} must be a table ([{table}]), not a {_toml_type(raw)}")
        fields = [f.name for f in dataclasses.fields(_TABLES[table])] + list(NEUTRAL_COST_KEYS.get(table, {}))
        _reject_unknown(origin, table, raw, fields)
        tables[table] = raw

    finance = _parse_finance(v, tables["finance"])
    rate, money_notes = _fx_per_usd(v, finance), []
    given_as = {}   # field -> the neutral name the file used for it (for error messages)
    for table in NEUTRAL_COST_KEYS:
        tables[table], cost_notes = _resolve_cost_names(v, table, tables[table], finance.currency, rate)
        money_notes += cost_notes
        given_as.update({usd: n for n, usd in NEUTRAL_COST_KEYS[table].items() if n in mapping.get(table, {})})
    network = _parse_network(v, tables["network"])
    if network.name == "render" and tables["pricing"]:
        raise InputError(f"{origin}: [pricing] does not apply to a Render scenario (jobs are priced in USD per "
                         "GPU-hour: [network] job_usd_per_gpu_hour); remove the [pricing] table")
    pricing = _parse_pricing(v, tables["pricing"])
    try:
        hardware = _parse_hardware(v, tables["hardware"], network.name, finance.currency, rate)
        workload = _parse_workload(v, tables["workload"], network.name, hardware.gpu)
        operations = _parse_operations(v, tables["operations"], finance.currency, rate)
    except InputError as exc:   # name the key as the file wrote it
        message = str(exc)
        for usd, neutral in given_as.items():
            message = message.replace(f"] {usd} =", f"] {neutral} =")
        raise InputError(message) from None
    observed = None
    notes = _chain_default_notes(tables["network"], network) + hardware_notes(tables["hardware"], hardware)
    if tables["workload"].get("utilisation") == OBSERVED:
        if network.name != "cocoon":
            raise InputError(f'{origin}: [workload] utilisation = "observed" is only known for COCOON (read from its '
                             "chain); give a Render scenario a fraction between 0 and 1")
        from analysis.econ.demand import observed_utilisation  # econ.demand imports this module

        observed = observed_utilisation(workload, network)
        workload = dataclasses.replace(workload, utilisation=observed.utilisation)
        notes = (*notes, observed.describe())
    treasury = _parse_treasury(v, tables["treasury"], finance)
    given = frozenset(f"{table}.{key}" for table, raw in tables.items() for key in raw)
    if finance.currency != "USD":   # the network's own USD prices, in the scenario's currency
        pricing = dataclasses.replace(pricing, usd_per_m_adjusted_tokens=pricing.usd_per_m_adjusted_tokens * rate)
        network = dataclasses.replace(network, job_usd_per_gpu_hour=network.job_usd_per_gpu_hour * rate)
        # "US dollar", not the code: the CLI relabels the unit USD of engine amounts into the currency.
        money_notes.append(f"{finance.currency}: {rate:.6g} {finance.currency} per US dollar (ECB, {finance.start}); "
                           "the network's US-dollar prices (the dollar peg, Render's job price) start at this rate "
                           "and follow the ECB rate of each day in the ledger and simulations")
    scenario = Scenario(name=name, network=network, pricing=pricing, hardware=hardware, workload=workload,
                        operations=operations, finance=finance, treasury=treasury, path=path,
                        description=description, origin=origin, notes=notes + tuple(money_notes),
                        observed_utilisation=observed, fx_per_usd=rate, given_keys=given)
    try:   # physically meaningful ranges and cross-field rules, in one place; in USD (bounds.py's unit)
        check_scenario_bounds(_in_usd(scenario))
    except InputError as exc:
        message = str(exc)
        for usd, neutral in given_as.items():
            message = message.replace(f"] {usd} =", f"] {neutral} =")
        if finance.currency != "USD":
            message += f" (amounts compared in US dollars at {rate:.6g} {finance.currency} per US dollar)"
        raise InputError(message) from None
    return scenario


def _in_usd(scenario: Scenario) -> Scenario:
    """``scenario`` with its money fields back in US dollars (at ``fx_per_usd``), for the USD bounds."""
    if scenario.currency == "USD":
        return scenario
    tables = {}
    for table, names in NEUTRAL_COST_KEYS.items():
        config = getattr(scenario, table)
        tables[table] = dataclasses.replace(config, **{usd: getattr(config, usd) / scenario.fx_per_usd
                                                       for usd in names.values() if getattr(config, usd) is not None})
    for table, key in USD_PRICE_FIELDS:
        config = tables.get(table, getattr(scenario, table))
        tables[table] = dataclasses.replace(config, **{key: getattr(config, key) / scenario.fx_per_usd})
    return dataclasses.replace(scenario, **tables)


def to_mapping(scenario: Scenario) -> dict[str, Any]:
    """The scenario as a TOML-shaped dict (inverse of :func:`parse_scenario`)."""
    out: dict[str, Any] = {"name": scenario.name}
    if scenario.description:
        out["description"] = scenario.description
    for table in _TABLES:
        # TOML has no null: a None (e.g. [treasury] max_collateral_usd, no cap) is left out
        out[table] = {k: v for k, v in dataclasses.asdict(getattr(scenario, table)).items() if v is not None}
    if scenario.finance.currency != "USD":
        # Costs are stored in the scenario's currency: written back under the neutral names; the
        # network's USD prices back in USD (parsing converts them again at the start day's rate).
        for table, names in NEUTRAL_COST_KEYS.items():
            for neutral, usd in names.items():
                if usd in out[table]:   # max_collateral_usd None (no cap) is left out
                    out[table][neutral] = out[table].pop(usd)
        for table, key in USD_PRICE_FIELDS:
            out[table][key] = out[table][key] / scenario.fx_per_usd
    # Only the keys the scenario's network understands (the others are rejected on parsing).
    other = RENDER_KEYS if scenario.network.name == "cocoon" else COCOON_KEYS
    for key in other:
        out["network"].pop(key, None)
    if scenario.network.name == "render":
        out.pop("pricing")
    observed = scenario.observed_utilisation
    if observed is not None and scenario.workload.utilisation == observed.utilisation:
        out["workload"]["utilisation"] = OBSERVED
    return out


def scenario_with(scenario: Scenario, changes: Mapping[str, Any]) -> Scenario:
    """A copy of ``scenario`` with dotted keys replaced and re-validated.

    >>> s2 = scenario_with(s, {"workload.utilisation": 0.8, "network.worker_fee_per_token_nanoton": 38})
    """
    mapping = to_mapping(scenario)
    for dotted, value in changes.items():
        parts = dotted.split(".")
        target = mapping
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        key = parts[-1]
        # Amounts are in the scenario's currency (the engine's unit): a cost field goes under its
        # neutral name where to_mapping wrote one, a USD price back to USD.
        neutral = {usd: n for n, usd in NEUTRAL_COST_KEYS.get(parts[0], {}).items()}.get(key)
        if neutral is not None and neutral in target:
            key = neutral
        elif tuple(parts[-2:]) in USD_PRICE_FIELDS and scenario.currency != "USD":
            value = value / scenario.fx_per_usd
        target[key] = value
    changed = parse_scenario(mapping, origin=scenario.origin, path=scenario.path)
    # the round trip through to_mapping sets every key; keep what the file set, plus the changes
    return dataclasses.replace(changed, given_keys=scenario.given_keys | frozenset(changes))


# --------------------------------------------------------------------------- on-chain defaults (issue 8)
# The newest reading saved by `cocoon-econ chain params --save` (<cache>/chain/params.csv)
# replaces network_parameters.csv for these [network] keys when a scenario leaves them out.

CHAIN_DEFAULT_KEYS = ("price_per_token_nanoton", "worker_fee_per_token_nanoton", "prompt_tokens_price_multiplier",
                      "cached_tokens_price_multiplier", "completion_tokens_price_multiplier",
                      "reasoning_tokens_price_multiplier")


def _chain_reading() -> dict[str, Any] | None:
    from analysis.market.chain_params import latest_chain_params

    return latest_chain_params()


def _chain_defaults() -> dict[str, Any]:
    reading = _chain_reading()
    if reading is None:
        return {}
    return {key: NETWORK_DEFAULT_ROWS[key][1](reading[NETWORK_DEFAULT_ROWS[key][0]]) for key in CHAIN_DEFAULT_KEYS}


def _chain_default_notes(table: Mapping[str, Any], network: NetworkConfig) -> tuple[str, ...]:
    if network.name != "cocoon":
        return ()
    used = [key for key in CHAIN_DEFAULT_KEYS if key not in table]
    reading = _chain_reading() if used else None
    if reading is None:
        return ()
    return (f"[network] {', '.join(used)} taken from the on-chain reading of {reading['observed']} "
            "(cocoon-econ chain params --save)",)


def hardware_notes(table: Mapping[str, Any], hardware: HardwareConfig) -> tuple[str, ...]:
    """The hardware value's basis, for the CLI to print: the resale curve used and, for owned
    cards without ``age_years``, the age assumed (issue 14: every default printed)."""
    notes = [resale_curve(hardware.gpu).note]
    if hardware.already_owned and "age_years" not in table:
        notes.append("[hardware] age_years not set: the owned cards are taken as new at [finance] start "
                     "(age 0, the steepest year of the resale curve); set their age")
    return tuple(notes)


# --------------------------------------------------------------------------- tables


def _parse_network(v: _Validator, t: Mapping[str, Any]) -> NetworkConfig:
    name = v.choice("network", t, "name", NETWORKS, default="cocoon")
    foreign = RENDER_KEYS if name == "cocoon" else COCOON_KEYS
    for key in foreign:
        if key in t:
            raise InputError(f'{v.origin}: [network] {key} does not apply to name = "{name}"; remove it '
                             f"(it is a {'Render' if name == 'cocoon' else 'COCOON'} parameter)")
    if name == "render":
        return _parse_render_network(v, t)
    defaults = {}
    for key, (row, conv) in NETWORK_DEFAULT_ROWS.items():
        defaults[key] = conv(network_parameter("cocoon", row))
    defaults.update(_chain_defaults())  # on-chain reading, when saved, wins (issue 8)
    price = v.integer("network", t, "price_per_token_nanoton", defaults["price_per_token_nanoton"], lo=1,
                      fix="use a whole number of nanoTON per adjusted token, at least 1")
    fee = v.integer("network", t, "worker_fee_per_token_nanoton", defaults["worker_fee_per_token_nanoton"], lo=1,
                    fix="use a whole number of nanoTON per adjusted token, at least 1")
    coefficient = v.number("network", t, "coefficient", defaults["coefficient"], lo=0.0, lo_open=True,
                           hi=SCENARIO_BOUNDS[("network", "coefficient")].hi,  # before the rounding below overflows
                           fix="use a positive ratio (1.0 = 1000 in the contract)")
    if abs(coefficient * 1000 - round(coefficient * 1000)) > 1e-9:
        raise InputError(f"{v.origin}: [network] coefficient = {coefficient!r} has more than 3 decimals; "
                         "the contract stores it in thousandths, so round it (e.g. 1.025)")
    mults = {}
    for key in ("prompt_tokens_price_multiplier", "cached_tokens_price_multiplier",
                "completion_tokens_price_multiplier", "reasoning_tokens_price_multiplier"):
        mults[key] = v.integer("network", t, key, defaults[key], lo=0, hi=2**32 - 1,
                               fix="use a whole number in 1/10000 (10000 = 1.0x)")
    threshold = v.number("network", t, "payout_threshold_ton", defaults["payout_threshold_ton"], lo=0.0,
                         lo_open=True, fix="use a positive amount of TON (COCOON pays at 10 TON)")
    fee_ton = v.number("network", t, "onchain_fee_ton", defaults["onchain_fee_ton"], lo=0.0,
                       fix="use a non-negative amount of TON (about 0.01 per on-chain operation)")
    if fee_ton >= threshold:
        raise InputError(f"{v.origin}: [network] onchain_fee_ton = {fee_ton!r} is not below payout_threshold_ton "
                         f"= {threshold!r}; a payout would not cover the node wallet's gas")
    wallet = v.number("network", t, "node_wallet_balance_ton", defaults["node_wallet_balance_ton"], lo=0.0, hi=1e6,
                      fix="use the TON the node wallet must hold, 0 or more (COCOON: 2.1 per worker)")
    return NetworkConfig(name=name, price_per_token_nanoton=price, worker_fee_per_token_nanoton=fee,
                         coefficient=coefficient, payout_threshold_ton=threshold, onchain_fee_ton=fee_ton,
                         node_wallet_balance_ton=wallet, **mults)


def _parse_render_network(v: _Validator, t: Mapping[str, Any]) -> NetworkConfig:
    """``[network] name = "render"``: the Render compute network (see analysis/render.py).

    COCOON's token fields keep their dataclass defaults (unused); on-chain fees are 0 (Solana
    transaction fees are a fraction of a cent).
    """
    defaults = {key: conv(network_parameter("render", row)) for key, (row, conv) in RENDER_DEFAULT_ROWS.items()}
    return NetworkConfig(
        name="render", onchain_fee_ton=0.0, node_wallet_balance_ton=0.0,
        job_usd_per_gpu_hour=v.number("network", t, "job_usd_per_gpu_hour", defaults["job_usd_per_gpu_hour"],
                                      lo=0.0, hi=1000.0, fix="use the customer's USD price per GPU-hour, e.g. 0.35"),
        protocol_fee=v.number("network", t, "protocol_fee", defaults["protocol_fee"], lo=0.0, hi=1.0,
                              fix="use a fraction between 0 and 1 (Render: 0.05)"),
        job_reward_per_epoch=v.number("network", t, "job_reward_per_epoch", defaults["job_reward_per_epoch"],
                                      lo=0.0, hi=1e6, fix="use RENDER per epoch at full utilisation, e.g. 10"),
        reward_multiplier=v.number("network", t, "reward_multiplier", 1.0, lo=0.0, hi=100.0,
                                   fix="use the node's compound multiplier (RTX 4090 = 1.0)"),
        availability_reward_per_epoch=v.number("network", t, "availability_reward_per_epoch", 2.0, lo=0.0, hi=1e6,
                                               fix="use RENDER per epoch for being online, e.g. 2"),
        epoch_days=v.integer("network", t, "epoch_days", 7, lo=1, hi=366,
                             fix="use the epoch length in whole days (Render: 7)"),
    )


def _parse_pricing(v: _Validator, t: Mapping[str, Any]) -> PricingConfig:
    mode = v.choice("pricing", t, "mode", PRICING_MODES, default="fixed_token")
    usd = v.number("pricing", t, "usd_per_m_adjusted_tokens", _default_usd_per_m(), lo=0.0, lo_open=True,
                   fix="use a positive USD price per million adjusted tokens (COCOON today: about 0.03)")
    every = v.integer("pricing", t, "reprice_every_days", 30, lo=1, fix="use a whole number of days, at least 1")
    return PricingConfig(mode=mode, usd_per_m_adjusted_tokens=usd, reprice_every_days=every)


def _fx_per_usd(v: _Validator, finance: FinanceConfig) -> float:
    """Units of the scenario's currency per USD on its start day (1.0 for USD)."""
    if finance.currency == "USD":
        return 1.0
    from analysis.market.currencies import fx_rate  # csv where the ECB files are plain (issue 20)

    return fx_rate(finance.start, finance.currency, field=f"{v.origin}: [finance] currency = "
                   f"{_show(finance.currency)} at start = {finance.start}")


def _resolve_cost_names(v: _Validator, table: str, t: Mapping[str, Any], currency: str,
                        rate: float) -> tuple[dict[str, Any], list[str]]:
    """The table with each cost under its field name, in ``currency``: a neutral name as given,
    a ``*_usd`` name converted from USD at ``rate``. Both names for one field are refused."""
    out, notes = dict(t), []
    for neutral, usd in NEUTRAL_COST_KEYS[table].items():
        if neutral in t and usd in t:
            raise InputError(f"{v.origin}: [{table}] gives both {neutral} ({currency}) and {usd} (USD); keep one")
        if neutral in t:
            value = v.number(table, t, neutral, None, lo=0.0, fix=f"use an amount in {currency}, 0 or more")
            del out[neutral]
            out[usd] = value
        elif usd in t and currency != "USD":
            value = v.number(table, t, usd, None, lo=0.0, fix="use a USD amount, 0 or more")
            out[usd] = value * rate
            notes.append(f"[{table}] {usd} = {value:g} US dollars converted at the ECB rate of the start day "
                         f"({rate:.6g} {currency} per US dollar) = {value * rate:g} {currency}; write {neutral} to "
                         f"give it in {currency}")
    return out, notes


def _parse_hardware(v: _Validator, t: Mapping[str, Any], network: str, currency: str = "USD",
                    rate: float = 1.0) -> HardwareConfig:
    raw_gpu = v.string("hardware", t, "gpu", required=True)
    gpu = gpu_from_alias(raw_gpu)
    if gpu is None:
        raise InputError(f"{v.origin}: [hardware] gpu = {raw_gpu!r} is not a known GPU; "
                         f"use one of {', '.join(GPUS)}")
    if network == "cocoon" and gpu not in COCOON_GPUS:
        raise InputError(f"{v.origin}: [hardware] gpu = {raw_gpu!r} cannot serve COCOON (it needs an H100 or newer "
                         f"with Confidential Computing, cocoon docs/gpu.md); use one of {', '.join(COCOON_GPUS)}")
    gpus = v.integer("hardware", t, "gpus", 1, lo=1, hi=100_000, fix="use a whole number of GPUs, at least 1")
    capex = v.number("hardware", t, "capex_usd", None, lo=0.0,
                     fix=f"use the {currency} price of all the GPUs, 0 or more")
    life = v.number("hardware", t, "life_years", None, lo=0.0, lo_open=True, hi=50.0,
                    fix="use the depreciation life in years, e.g. 4")
    salvage = v.number("hardware", t, "salvage_fraction", 0.0, lo=0.0, hi=1.0,
                       fix="use a fraction of capex between 0 and 1")
    owned = v.boolean("hardware", t, "already_owned", False)
    age = v.number("hardware", t, "age_years", 0.0, lo=0.0, hi=30.0,
                   fix="use the cards' age in years at [finance] start, 0 (new) or more")
    host = v.number("hardware", t, "host_capex_usd", 0.0, lo=0.0,
                    fix=f"use the {currency} price of the host server (0 when capex is a whole server's price)")
    return HardwareConfig(gpu=gpu, gpus=gpus, capex_usd=capex, life_years=life, salvage_fraction=salvage,
                          already_owned=owned, age_years=age, host_capex_usd=host)


def _parse_workload(v: _Validator, t: Mapping[str, Any], network: str = "cocoon", gpu: str = "") -> WorkloadConfig:
    frac = "use a fraction between 0 and 1"
    given = t.get("utilisation")
    if isinstance(given, str) and given != OBSERVED:
        raise InputError(f'{v.origin}: [workload] utilisation = "{given}" is a string, not a number; {frac} or "observed" '
                         "(the COCOON network's paid demand)")
    # Render pays per GPU-hour, so token throughput is optional there (used only to express
    # the customer's price per million tokens); COCOON pays per token and needs it -- given, or
    # looked up from the measured rows for the model (issue 15).
    render = network == "render"
    model = v.string("workload", t, "model", default=COCOON_DEFAULT_MODEL)
    if not model.strip():
        raise InputError(f"{v.origin}: [workload] model is empty; name the served model, e.g. \"{COCOON_DEFAULT_MODEL}\"")
    engine = v.choice("workload", t, "engine", ENGINES, default=DEFAULT_ENGINE)
    source = v.string("workload", t, "throughput_source", default="")
    cc_fix = "use the fraction of throughput lost to confidential computing, between 0 and 0.9"
    throughput_fix = "use the output tokens per second of one GPU at full load"
    ratio_fix = "use a non-negative ratio, e.g. 2.0"
    if render or "output_tokens_per_s" in t:
        if source and "output_tokens_per_s" not in t:
            raise InputError(f"{v.origin}: [workload] throughput_source is set without output_tokens_per_s; "
                             "add the throughput it describes or remove it")
        throughput = v.number("workload", t, "output_tokens_per_s", 0.0, lo=0.0, lo_open=not render, hi=1e7,
                              fix=throughput_fix)
        ratio = v.number("workload", t, "prompt_tokens_per_output_token", 0.0 if render else None, lo=0.0,
                         hi=1e6, fix=ratio_fix)
        # An explicit throughput may already be measured under CC: no overhead unless asked for.
        cc = v.number("workload", t, "cc_overhead_fraction", 0.0, lo=0.0, hi=0.9, fix=cc_fix)
    else:
        if source:
            raise InputError(f"{v.origin}: [workload] throughput_source is set without output_tokens_per_s; "
                             "add the throughput it describes or remove it")
        choice = select_throughput_row(model, gpu, engine, field=f"{v.origin}: [workload] model")
        throughput = choice.row.output_tokens_per_s
        source = reference_source(choice.row)
        row_ratio = choice.row.prompt_tokens_per_output_token
        if row_ratio is None and "prompt_tokens_per_output_token" not in t:
            raise InputError(f"{v.origin}: [workload] prompt_tokens_per_output_token is missing and {source} gives "
                             "no input/output lengths; add prompt_tokens_per_output_token = 1.0 (or your ratio)")
        ratio = v.number("workload", t, "prompt_tokens_per_output_token", row_ratio, lo=0.0, hi=1e6, fix=ratio_fix)
        cc = v.number("workload", t, "cc_overhead_fraction", cc_overhead_default().default, lo=0.0, hi=0.9,
                      fix=cc_fix)
    return WorkloadConfig(
        output_tokens_per_s=throughput,
        prompt_tokens_per_output_token=ratio,
        cached_prompt_fraction=v.number("workload", t, "cached_prompt_fraction", 0.0, lo=0.0, hi=1.0, fix=frac),
        reasoning_output_fraction=v.number("workload", t, "reasoning_output_fraction", 0.0, lo=0.0, hi=1.0,
                                           fix=frac),
        # "observed" is resolved by parse_scenario once the network is known (0.0 until then).
        utilisation=0.0 if t.get("utilisation") == OBSERVED else
        v.number("workload", t, "utilisation", None, lo=0.0, hi=1.0, fix=frac),
        model=model, engine=engine, cc_overhead_fraction=cc, throughput_source=source,
    )


def _parse_operations(v: _Validator, t: Mapping[str, Any], currency: str = "USD", rate: float = 1.0
                      ) -> OperationsConfig:
    # Bounds are USD amounts scaled by the start day's rate (10 USD/kWh is the ceiling in any currency).
    return OperationsConfig(
        power_kw=v.number("operations", t, "power_kw", None, lo=0.0, hi=100.0,
                          fix="use the kW drawn by one GPU at full load incl. its share of the host"),
        electricity_usd_per_kwh=v.number("operations", t, "electricity_usd_per_kwh", None, lo=0.0, hi=10.0 * rate,
                                         fix=f"use a {currency} price per kWh, e.g. {0.10 * rate:.3g}"),
        idle_power_fraction=v.number("operations", t, "idle_power_fraction", 0.3, lo=0.0, hi=1.0,
                                     fix="use a fraction of full power between 0 and 1"),
        pue=v.number("operations", t, "pue", 1.0, lo=1.0, hi=5.0, fix="use a power usage effectiveness of 1.0 or more"),
        colocation_usd_per_kw_month=v.number("operations", t, "colocation_usd_per_kw_month", 0.0, lo=0.0,
                                             fix=f"use {currency} per kW per month, 0 or more"),
        fixed_usd_per_month=v.number("operations", t, "fixed_usd_per_month", 0.0, lo=0.0,
                                     fix=f"use {currency} per GPU per month, 0 or more"),
    )


def _parse_finance(v: _Validator, t: Mapping[str, Any]) -> FinanceConfig:
    return FinanceConfig(
        start=v.date("finance", t, "start", required=True),
        discount_rate_annual=v.number("finance", t, "discount_rate_annual", 0.10, lo=-1.0, lo_open=True, hi=10.0,
                                      fix="use an annual rate as a fraction, e.g. 0.10"),
        horizon_days=v.integer("finance", t, "horizon_days", 365, lo=1, hi=365 * 30,
                               fix="use a whole number of days, at least 1"),
        currency=_currency(v, t),
    )


def _currency(v: _Validator, t: Mapping[str, Any]) -> str:
    raw = v.string("finance", t, "currency", default="USD")
    from analysis.market.currencies import check_currency  # no pandas: every parse checks it

    return check_currency(raw, field=f"{v.origin}: [finance] currency")


def _parse_treasury(v: _Validator, t: Mapping[str, Any], finance: FinanceConfig | None = None) -> TreasuryConfig:
    """Types here; ranges and names in :func:`check_treasury` (run by ``TreasuryConfig`` itself)."""
    funding = v.string("treasury", t, "funding", default="historical")
    rate = t.get("funding_rate_annual", 0.0)
    if isinstance(rate, str):
        if rate != "historical" or "funding" in t:
            raise InputError(f"{v.origin}: [treasury] funding_rate_annual = {_show(rate)} is not valid; use a number "
                             '(annual rate, the fallback for days without a funding record) and funding = '
                             '"historical", "fixed" or "bootstrap"')
        # the old spelling of funding = "historical"; days without a record now take 0, not a mean
        funding, rate = "historical", 0.0
    else:
        rate = v.number("treasury", t, "funding_rate_annual", 0.0, fix=TREASURY_RULES["funding_rate_annual"][4])
    try:
        staking_default = network_parameter("ton", "staking_gross_yield_estimate")
    except KeyError:
        staking_default = 0.033
    # the hedge's collateral costs the owner's own discount rate unless the table says otherwise (floored at
    # 0: capital never pays to be held; a bad discount rate is reported under its own name by the bounds check)
    capital_default = (max(finance.discount_rate_annual, 0.0) if finance is not None
                       else TreasuryConfig.cost_of_capital_annual)

    def num(key: str, default: float) -> float:
        return v.number("treasury", t, key, default, fix=TREASURY_RULES[key][4])

    cap = t.get("max_collateral_usd")
    values: dict[str, Any] = dict(
        strategy=v.string("treasury", t, "strategy", default="sell_on_payout"),
        every_days=v.integer("treasury", t, "every_days", 30, fix=TREASURY_RULES["every_days"][4]),
        hedge_ratio=num("hedge_ratio", 1.0),
        trading_fee_bps=num("trading_fee_bps", 10.0),
        funding=funding,
        funding_rate_annual=rate,
        put_strike=num("put_strike", 0.9),
        call_strike=num("call_strike", 1.2),
        vol_premium=num("vol_premium", 0.1),
        staking_apy=num("staking_apy", staking_default),
        initial_margin_fraction=num("initial_margin_fraction", TreasuryConfig.initial_margin_fraction),
        maintenance_margin_fraction=num("maintenance_margin_fraction", TreasuryConfig.maintenance_margin_fraction),
        cost_of_capital_annual=num("cost_of_capital_annual", capital_default),
        max_collateral_usd=None if cap is None else num("max_collateral_usd", 0.0),
    )
    try:
        return TreasuryConfig(**values)
    except InputError as exc:
        raise InputError(f"{v.origin}: {exc}") from None


# --------------------------------------------------------------------------- helpers


_MISSING = object()


def _toml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return "date/time"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "table"
    return type(value).__name__


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value + '"'
    return repr(value) if not isinstance(value, (dt.date, dt.datetime)) else value.isoformat()


def _reject_unknown(origin: str, table: str | None, mapping: Mapping[str, Any], known) -> None:
    known = list(known)
    for key in mapping:
        if key in known:
            continue
        where = f"[{table}] {key}" if table else (f"[{key}]" if isinstance(mapping[key], Mapping) else key)
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        scope = f"in [{table}]" if table else "at the top level"
        raise InputError(f"{origin}: {where} is not a known key {scope}; {hint}known: {', '.join(known)}")


class _Validator:
    """Type and range checks that raise one-line :class:`InputError` naming the field."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def _where(self, table: str | None, key: str) -> str:
        return f"{self.origin}: [{table}] {key}" if table else f"{self.origin}: {key}"

    def _get(self, table, t, key, default, required=False):
        if key in t:
            return t[key]
        if required or default is None:
            example = _EXAMPLES.get((table, key), "...")
            place = f"[{table}]" if table else "the top of the file"
            raise InputError(f"{self.origin}: {'[' + table + '] ' if table else ''}{key} is missing; "
                             f"add {key} = {example} under {place}")
        return default

    def number(self, table, t, key, default, *, lo=None, hi=None, lo_open=False, fix="") -> float:
        value = self._get(table, t, key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{self._where(table, key)} = {_show(value)} is a {_toml_type(value)}, not a number; {fix}")
        value = float(value)
        if not math.isfinite(value):
            raise InputError(f"{self._where(table, key)} = {_show(value)} is not finite; {fix}")
        if (lo is not None and (value < lo or (lo_open and value == lo))) or (hi is not None and value > hi):
            raise InputError(f"{self._where(table, key)} = {_show(value)} is out of range; {fix}")
        return value

    def integer(self, table, t, key, default, *, lo=None, hi=None, fix="") -> int:
        value = self._get(table, t, key, default)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{self._where(table, key)} = {_show(value)} is a {_toml_type(value)}, "
                             f"not a whole number; {fix}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise InputError(f"{self._where(table, key)} = {_show(value)} is out of range; {fix}")
        return value

    def string(self, table, t, key, *, default=None, required=False) -> str:
        value = self._get(table, t, key, default, required=required)
        if not isinstance(value, str):
            raise InputError(f"{self._where(table, key)} = {_show(value)} is a {_toml_type(value)}, not a string; "
                             f'put it in quotes, e.g. {key} = "..."')
        if required and not value.strip():
            raise InputError(f"{self._where(table, key)} is empty; give it a value")
        return value

    def choice(self, table, t, key, choices, *, default) -> str:
        value = self.string(table, t, key, default=default)
        if value not in choices:
            raise InputError(f"{self._where(table, key)} = {_show(value)} is not valid; use one of {', '.join(choices)}")
        return value

    def boolean(self, table, t, key, default) -> bool:
        value = self._get(table, t, key, default)
        if not isinstance(value, bool):
            raise InputError(f"{self._where(table, key)} = {_show(value)} is a {_toml_type(value)}, not a boolean; "
                             "use true or false")
        return value

    def date(self, table, t, key, *, required=False) -> dt.date:
        value = self._get(table, t, key, None, required=required)
        if isinstance(value, dt.datetime):
            raise InputError(f"{self._where(table, key)} = {_show(value)} has a time of day; use a date "
                             "(UTC day) like 2025-01-01")
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise InputError(f"{self._where(table, key)} = {_show(value)} is not a date; use YYYY-MM-DD, e.g. 2025-01-01")
