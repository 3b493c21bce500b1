"""The documented starter scenario that ``cocoon-econ init`` writes.

Every field of every scenario table (the dataclasses of :mod:`analysis.econ.scenario`) is listed
with its value, unit, meaning and where the value comes from. :data:`FIELD_DOCS` must cover every
field (a test checks it), so a new scenario field cannot ship undocumented.

The values are neutral: the utilisation is what the live network paid its workers, not an
assumed busy GPU; the price path has no drift; funding is only what was recorded.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

from analysis.econ.scenario import COCOON_KEYS, RENDER_KEYS, TABLES


class FieldDoc(NamedTuple):
    """How the starter shows one field: its TOML value and a comment (unit; meaning; source)."""

    value: str
    comment: str
    commented_out: bool = False  # shown as an example line; the default (or the reference lookup) applies


#: (table, key) -> the starter's value and its comment. Render-only keys are written commented out.
FIELD_DOCS: dict[tuple[str, str], FieldDoc] = {
    # [network] -- COCOON's root contract and runner defaults (data/reference/network_parameters.csv)
    ("network", "name"): FieldDoc('"cocoon"', '"cocoon" (paid in TON) or "render" (paid in RENDER)'),
    ("network", "price_per_token_nanoton"): FieldDoc(
        "20", "nanoTON the client pays per adjusted token; root contract price_per_token "
        "(network_parameters.csv; `cocoon-econ chain params --save` replaces it with the live value)"),
    ("network", "worker_fee_per_token_nanoton"): FieldDoc(
        "19", "nanoTON the worker earns per adjusted token; root contract worker_fee_per_token"),
    ("network", "coefficient"): FieldDoc("1.0", "the worker's price coefficient (1.0 = the contract's 1000)"),
    ("network", "prompt_tokens_price_multiplier"): FieldDoc("10000", "1/10000 (10000 = 1.0x); root contract"),
    ("network", "cached_tokens_price_multiplier"): FieldDoc("1000", "1/10000; root contract"),
    ("network", "completion_tokens_price_multiplier"): FieldDoc("80000", "1/10000; root contract"),
    ("network", "reasoning_tokens_price_multiplier"): FieldDoc("80000", "1/10000; root contract"),
    ("network", "payout_threshold_ton"): FieldDoc(
        "10", "TON; the proxy settles a worker on-chain once its unpaid earnings reach this (min_worker_payout_sum)"),
    ("network", "onchain_fee_ton"): FieldDoc(
        "0.01", "TON of gas the node wallet spends per payout, an operating cost (~0.01 TON per on-chain "
        "operation, network_parameters.csv); payouts themselves arrive whole (the proxy pays their gas)"),
    ("network", "node_wallet_balance_ton"): FieldDoc(
        "2.1", "TON the worker's node wallet must hold, per GPU: capital bought at the start "
        "(BaseRunner.hpp min_wallet_balance, network_parameters.csv)"),
    ("network", "job_usd_per_gpu_hour"): FieldDoc(
        "0.35", "Render only: USD per GPU-hour a job pays (RTX 4090 compute network, network_parameters.csv)"),
    ("network", "protocol_fee"): FieldDoc("0.05", "Render only: fraction kept by the protocol"),
    ("network", "job_reward_per_epoch"): FieldDoc("10.0", "Render only: RENDER per epoch at full utilisation"),
    ("network", "reward_multiplier"): FieldDoc("1.0", "Render only: multiplier on the job reward"),
    ("network", "availability_reward_per_epoch"): FieldDoc("2.0", "Render only: RENDER per epoch for being online"),
    ("network", "epoch_days"): FieldDoc("7", "Render only: days per reward epoch"),
    # [pricing]
    ("pricing", "mode"): FieldDoc(
        '"fixed_token"', '"fixed_token" (nanoTON price holds), "usd_pegged" (USD price holds) or "repriced"'),
    ("pricing", "usd_per_m_adjusted_tokens"): FieldDoc(
        "0.0302", "USD per million adjusted tokens for usd_pegged/repriced (20 nanoTON at 1.51 USD/TON; "
        "api_token_prices.csv)"),
    ("pricing", "reprice_every_days"): FieldDoc("30", "days between re-pricings in repriced mode"),
    # [hardware]
    ("hardware", "gpu"): FieldDoc(
        '"H200-NVL"', "canonical GPU name (cocoon-econ rates --help lists them); COCOON needs H100 or newer "
        "with Confidential Computing, the H200 NVL is the tested card (TelegramMessenger/cocoon docs/gpu.md)"),
    ("hardware", "gpus"): FieldDoc("1", "number of GPUs"),
    ("hardware", "capex_usd"): FieldDoc(
        "32000", "USD for all the GPUs; ASSUMPTION -- put your quote here (no sourced H200 NVL card price "
        "exists, tdx_host_server_prices.csv)"),
    ("hardware", "host_capex_usd"): FieldDoc(
        "10424", "USD for the TDX-capable host server (0 when capex_usd is a whole HGX node); dual-socket "
        "CPU-only server bill, SemiAnalysis 2023-05, medium confidence (tdx_host_server_prices.csv)"),
    ("hardware", "life_years"): FieldDoc("4", "years of straight-line depreciation (hardware_and_costs.csv)"),
    ("hardware", "salvage_fraction"): FieldDoc(
        "0.1", "fraction of capex left at the end of life (book value: the accounting view only; NPV uses "
        "the market resale curve, gpu_resale_curve.csv)"),
    ("hardware", "already_owned"): FieldDoc(
        "false", "true: no cash spent at the start; capex_usd is then the card's market value, forgone at "
        "the start and recovered at resale at the end"),
    ("hardware", "age_years"): FieldDoc(
        "0.0", "years; the cards' age at [finance] start (0 = new), where the resale curve starts"),
    # [workload] -- per GPU
    ("workload", "output_tokens_per_s"): FieldDoc(
        "1500", "output tokens/s per GPU at full load; left out, the measured row nearest COCOON's stack for "
        "model and gpu is used (inference_throughput_cocoon.csv); better: import your own benchmark", True),
    ("workload", "prompt_tokens_per_output_token"): FieldDoc("2.0", "prompt tokens per output token of the traffic"),
    ("workload", "model"): FieldDoc(
        '"Qwen/Qwen3-8B"', "the served model, COCOON's default (cocoon mt-tools); without output_tokens_per_s "
        "the throughput comes from its row of inference_throughput_cocoon.csv (docs/throughput.md)"),
    ("workload", "engine"): FieldDoc('"vllm"', '"vllm" or "sglang", the engines a COCOON worker image runs'),
    ("workload", "cc_overhead_fraction"): FieldDoc(
        "0.07", "fraction of throughput lost to confidential computing; cc_mode_overhead.csv default "
        "(arXiv 2409.03992, range 0.9-41 %); 0 if output_tokens_per_s was measured with CC on"),
    ("workload", "throughput_source"): FieldDoc(
        '"assumption"', "where output_tokens_per_s came from; `cocoon-econ throughput import RESULT.json "
        "--scenario FILE --write` records your benchmark here", True),
    ("workload", "cached_prompt_fraction"): FieldDoc("0.0", "fraction of prompt tokens served from the cache"),
    ("workload", "reasoning_output_fraction"): FieldDoc("0.0", "fraction of output tokens that are reasoning"),
    ("workload", "utilisation"): FieldDoc(
        '"observed"', 'fraction of full load that is paid, or "observed": what the live network paid its workers '
        "(newest `cocoon-econ chain network` reading, else cocoon_network_activity.csv) -- a number only with evidence"),
    # [operations] -- per GPU, incl. its share of the host
    ("operations", "power_kw"): FieldDoc("0.9", "kW per GPU at full load incl. its share of the host (assumption)"),
    ("operations", "electricity_usd_per_kwh"): FieldDoc("0.0977", "USD/kWh; US industrial average (EIA)"),
    ("operations", "idle_power_fraction"): FieldDoc("0.3", "fraction of power_kw drawn when idle"),
    ("operations", "pue"): FieldDoc("1.0", "power usage effectiveness of the site (1.0 = no cooling overhead)"),
    ("operations", "colocation_usd_per_kw_month"): FieldDoc("0", "USD per kW per month of colocation"),
    ("operations", "fixed_usd_per_month"): FieldDoc("0", "USD per month of fixed costs (internet, insurance)"),
    # [finance]
    ("finance", "start"): FieldDoc("2025-12-01", "first day (UTC) of the ledger replay; must be in the price history"),
    ("finance", "discount_rate_annual"): FieldDoc("0.10", "discount rate for NPV, a fraction per 365-day year"),
    ("finance", "horizon_days"): FieldDoc("365", "days simulated and replayed"),
    # [treasury]
    ("treasury", "strategy"): FieldDoc(
        '"sell_on_payout"', "what is done with the TON received (cocoon-econ simulate --help lists the policies)"),
    ("treasury", "every_days"): FieldDoc("30", "days between sales for periodic policies"),
    ("treasury", "hedge_ratio"): FieldDoc("1.0", "fraction of expected TON hedged by perp_hedge"),
    ("treasury", "trading_fee_bps"): FieldDoc("10", "basis points per trade"),
    ("treasury", "funding"): FieldDoc(
        '"historical"', 'perp funding: "historical" (recorded days only), "fixed" (funding_rate_annual) or '
                        '"bootstrap" (recorded days resampled with their returns); docs/risk.md'),
    ("treasury", "funding_rate_annual"): FieldDoc(
        "0.0", "fraction per year a short receives on days without a record (and every day when fixed); "
               "no mean-fill"),
    ("treasury", "initial_margin_fraction"): FieldDoc("0.10", "perp collateral posted and restored, fraction of notional"),
    ("treasury", "maintenance_margin_fraction"): FieldDoc("0.05", "margin call below this fraction of notional"),
    ("treasury", "cost_of_capital_annual"): FieldDoc(
        "0.10", "fraction per year the collateral costs (default: [finance] discount_rate_annual)"),
    ("treasury", "max_collateral_usd"): FieldDoc(
        "50000", "USD; a top-up beyond it liquidates the short at the close (left out: no cap)", True),
    ("treasury", "put_strike"): FieldDoc("0.9", "protective put strike as a fraction of spot"),
    ("treasury", "call_strike"): FieldDoc("1.2", "collar call strike as a fraction of spot"),
    ("treasury", "vol_premium"): FieldDoc("0.1", "mark-up on the option volatility, a fraction"),
    ("treasury", "staking_apy"): FieldDoc("0.033", "annual staking yield, a fraction (network_parameters.csv)"),
}

HEADER = """\
# A cocoon-econ scenario: one COCOON worker, every field with its unit, default and source.
# Written by `cocoon-econ init`. Values marked ASSUMPTION are yours to replace; the others come from
# the reference tables shipped with the package (cocoon-econ report lists them with their sources).
# Check it with: cocoon-econ breakeven --scenario THIS_FILE
name = "my COCOON worker"  # shown in every output
description = "Starter scenario written by cocoon-econ init; edit the ASSUMPTION lines."  # free text
"""


def undocumented_fields() -> list[tuple[str, str]]:
    """Scenario fields that :data:`FIELD_DOCS` does not cover (empty when the starter is complete)."""
    return [(table, f.name) for table, cls in TABLES.items() for f in dataclasses.fields(cls)
            if (table, f.name) not in FIELD_DOCS]


def starter_toml() -> str:
    """The starter scenario as TOML text with a comment on every line."""
    lines = [HEADER]
    for table, cls in TABLES.items():
        lines.append(f"[{table}]")
        fields = [f.name for f in dataclasses.fields(cls)]
        width = max(len(f"{k} = {FIELD_DOCS[(table, k)].value}") for k in fields if (table, k) in FIELD_DOCS)
        for key in fields:
            doc = FIELD_DOCS.get((table, key))
            if doc is None:
                continue
            text = f"{key} = {doc.value}"
            # A COCOON starter: the Render-only keys are shown, commented out (a COCOON scenario refuses them).
            render_only = table == "network" and key in RENDER_KEYS and key not in COCOON_KEYS
            prefix = "# " if render_only or doc.commented_out else ""
            lines.append(f"{prefix}{text.ljust(width)}  # {doc.comment}")
        lines.append("")
    return "\n".join(lines)
