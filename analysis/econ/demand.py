"""Implied utilisation: what the network pays a worker, as a fraction of what the scenario's GPU
would earn at full load.

``implied_utilisation = paid adjusted tokens per worker per day / full-load adjusted tokens per
GPU per day``, the denominator from the scenario's throughput and token mix
(:func:`analysis.econ.networks.daily_tokens_per_gpu` at utilisation 1). One COCOON worker runs
per GPU (cocoon docs/gpu.md), so a worker's paid tokens are one GPU's demand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analysis.econ.networks import daily_tokens_per_gpu
from analysis.econ.scenario import NetworkConfig, WorkloadConfig
from analysis.market.network_demand import ObservedDemand, observed_demand


def full_load_adjusted_tokens_per_day(workload: WorkloadConfig, network: NetworkConfig) -> float:
    """Adjusted tokens one GPU earns in a day at full load with this throughput and token mix."""
    return float(daily_tokens_per_gpu(workload, network, utilisation=1.0).adjusted)


def implied_utilisation(adjusted_tokens_per_day, workload: WorkloadConfig, network: NetworkConfig):
    """Paid adjusted tokens per day (a number or an array) / the full-load figure (NaN when the
    scenario earns nothing at full load)."""
    full = full_load_adjusted_tokens_per_day(workload, network)
    values = np.asarray(adjusted_tokens_per_day, dtype=float)
    out = values / full if full > 0 else np.full_like(values, np.nan)
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class ObservedUtilisation:
    """The observed utilisation of a scenario and where it came from."""

    utilisation: float           # capped at 1 (what the model uses)
    uncapped: float              # the ratio itself
    full_load_adjusted_tokens_per_day: float
    demand: ObservedDemand

    def describe(self) -> str:
        capped = " (capped at 100 %)" if self.uncapped > 1 else ""
        return (f"utilisation observed on COCOON: {self.utilisation:.2%}{capped} = {self.demand.describe()} / "
                f"{self.full_load_adjusted_tokens_per_day:,.0f} adjusted tokens per GPU-day at full load")

    def as_dict(self) -> dict:
        return {"utilisation": self.utilisation, "uncapped": self.uncapped,
                "full_load_adjusted_tokens_per_day": self.full_load_adjusted_tokens_per_day,
                "origin": self.demand.origin, "demand": self.demand.as_dict(), "text": self.describe()}


def observed_utilisation(workload: WorkloadConfig, network: NetworkConfig,
                         demand: ObservedDemand | None = None) -> ObservedUtilisation:
    """The network's observed demand (newest cached chain reading, else the reference figure)
    as a utilisation of this scenario's GPU."""
    demand = demand if demand is not None else observed_demand()
    ratio = implied_utilisation(demand.adjusted_tokens_per_worker_day, workload, network)
    if not math.isfinite(ratio):
        ratio = 0.0
    return ObservedUtilisation(min(max(ratio, 0.0), 1.0), ratio, full_load_adjusted_tokens_per_day(workload, network),
                               demand)
