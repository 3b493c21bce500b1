"""Shared helpers for the economics tests: a scenario mapping to tweak in each test."""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

from analysis.econ.scenario import Scenario, parse_scenario

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "data" / "scenarios"
# The COCOON examples; the Render example (issue 7) is tested in tests/test_render*.py.
RENDER_EXAMPLES = sorted(p for p in SCENARIO_DIR.glob("*.toml") if 'name = "render"' in p.read_text())
EXAMPLES = sorted(p for p in SCENARIO_DIR.glob("*.toml") if p not in RENDER_EXAMPLES)

# The example of issue 4, as a mapping.
BASE = {
    "name": "1x H100 SXM on COCOON",
    "network": {"name": "cocoon", "price_per_token_nanoton": 20, "worker_fee_per_token_nanoton": 19,
                "coefficient": 1.0, "payout_threshold_ton": 10, "onchain_fee_ton": 0.01},
    "pricing": {"mode": "fixed_token", "usd_per_m_adjusted_tokens": 0.03, "reprice_every_days": 30},
    "hardware": {"gpu": "H100-SXM", "gpus": 1, "capex_usd": 30000, "life_years": 4, "salvage_fraction": 0.1},
    "workload": {"output_tokens_per_s": 2000, "prompt_tokens_per_output_token": 2.0,
                 "cached_prompt_fraction": 0.3, "reasoning_output_fraction": 0.0, "utilisation": 0.6},
    "operations": {"power_kw": 1.0, "idle_power_fraction": 0.3, "pue": 1.3, "electricity_usd_per_kwh": 0.10,
                   "colocation_usd_per_kw_month": 0, "fixed_usd_per_month": 0},
    "finance": {"discount_rate_annual": 0.10, "start": "2024-12-01", "horizon_days": 365},
}


def mapping(**changes) -> dict:
    """A deep copy of :data:`BASE` with ``table__key=value`` changes."""
    out = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        table, key = dotted.split("__")
        out.setdefault(table, {})[key] = value
    return out


def scenario(**changes) -> Scenario:
    return parse_scenario(mapping(**changes), origin="test.toml")


def simple_scenario(**changes) -> Scenario:
    """Completion tokens only at 1.0x, 1000 tokens/s at full load: 86.4M adjusted tokens a
    day per GPU; with a 50 nanoTON worker fee that is 86.4e6 * 50 / 1e9 = 4.32 TON a day."""
    base = dict(
        network__price_per_token_nanoton=50, network__worker_fee_per_token_nanoton=50,
        network__completion_tokens_price_multiplier=10000, network__reasoning_tokens_price_multiplier=10000,
        workload__output_tokens_per_s=1000, workload__prompt_tokens_per_output_token=0.0,
        workload__cached_prompt_fraction=0.0, workload__utilisation=1.0,
    )
    base.update(changes)
    return scenario(**base)


def toml_value(value: Any) -> str:
    """A TOML literal for a scenario value (NaN and infinities included, as TOML writes them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return json.dumps(value)


def scenario_toml(mapping: dict) -> str:
    """A scenario mapping (``name`` and flat tables) as TOML text, values as given (even absurd ones)."""
    lines = [f"name = {json.dumps(mapping['name'])}"]
    for table, keys in mapping.items():
        if isinstance(keys, dict):
            lines.append(f"[{table}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in keys.items()]
    return "\n".join(lines) + "\n"
