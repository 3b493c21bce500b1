"""Costs of a set-up in USD: capex (straight-line depreciation with salvage: the accounting
view), the hardware's market resale value (what NPV and the simulation count), power,
colocation and fixed monthly costs. Months are 365/12 days; years 365 days.

Per GPU-day power cost (issue 4)::

    power_kw * pue * 24 * (u + (1 - u) * idle_power_fraction) * electricity_usd_per_kwh

Colocation is charged per kW of ``power_kw`` per month; ``fixed_usd_per_month`` is per GPU.
"""

from __future__ import annotations

from analysis.core.units import DAYS_PER_YEAR
from analysis.econ.resale import resale_value_usd
from analysis.econ.scenario import HardwareConfig, OperationsConfig, Scenario

DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0
HOURS_PER_DAY = 24.0
OPEX_KINDS = ("power", "colocation", "fixed")


def power_usd_per_gpu_day(operations: OperationsConfig, utilisation: float) -> float:
    """Electricity for one GPU for one day at ``utilisation`` (idle draw the rest of the time)."""
    load = utilisation + (1.0 - utilisation) * operations.idle_power_fraction
    return operations.power_kw * operations.pue * HOURS_PER_DAY * load * operations.electricity_usd_per_kwh


def colocation_usd_per_gpu_day(operations: OperationsConfig) -> float:
    """Colocation for one GPU per day: ``colocation_usd_per_kw_month * power_kw`` per month."""
    return operations.colocation_usd_per_kw_month * operations.power_kw / DAYS_PER_MONTH


def fixed_usd_per_gpu_day(operations: OperationsConfig) -> float:
    """Fixed monthly costs of one GPU (support, network, ...) per day."""
    return operations.fixed_usd_per_month / DAYS_PER_MONTH


def opex_usd_per_day(scenario: Scenario, utilisation: float | None = None) -> dict[str, float]:
    """Cash operating costs of the whole set-up per day, by kind (``power``, ``colocation``, ``fixed``)."""
    u = scenario.workload.utilisation if utilisation is None else utilisation
    ops, n = scenario.operations, scenario.hardware.gpus
    return {
        "power": n * power_usd_per_gpu_day(ops, u),
        "colocation": n * colocation_usd_per_gpu_day(ops),
        "fixed": n * fixed_usd_per_gpu_day(ops),
    }


def salvage_usd(hardware: HardwareConfig) -> float:
    """Value of the hardware at the end of its life: ``total_capex_usd * salvage_fraction``
    (GPUs and host server, ``capex_usd + host_capex_usd``)."""
    return hardware.total_capex_usd * hardware.salvage_fraction


def depreciation_usd_per_day(hardware: HardwareConfig) -> float:
    """Straight-line depreciation: ``total_capex * (1 - salvage_fraction) / (life_years * 365)``."""
    return (hardware.total_capex_usd - salvage_usd(hardware)) / (hardware.life_years * DAYS_PER_YEAR)


def book_value_usd(hardware: HardwareConfig, days: float) -> float:
    """Straight-line book value after ``days`` (never below the salvage value)."""
    return max(hardware.total_capex_usd - depreciation_usd_per_day(hardware) * days, salvage_usd(hardware))


def capex_paid_usd(hardware: HardwareConfig) -> float:
    """Cash spent on hardware at the start: ``capex_usd + host_capex_usd``, or 0 when ``already_owned``."""
    return 0.0 if hardware.already_owned else hardware.total_capex_usd


# --------------------------------------------------------------------------- market value (issue 14)
# Straight-line depreciation above is the accounting view (profit after depreciation). What the
# hardware is worth -- to NPV, IRR and the simulation's net USD -- is its market resale value
# (analysis.econ.resale): an owned card could be sold on day 0 (that value is forgone by running
# it) and is sold at the horizon; a bought card ends at its resale value, not its book value.


def resale_forgone_usd(hardware: HardwareConfig) -> float:
    """Resale value given up at day 0 by running hardware already owned (``capex_usd`` plus
    ``host_capex_usd``, their market value then); 0 for hardware bought at the start (its price
    is paid in cash instead)."""
    return hardware.total_capex_usd if hardware.already_owned else 0.0


def host_book_value_usd(hardware: HardwareConfig, days: float) -> float:
    """The host server's value ``days`` after start: straight-line from ``host_capex_usd`` to its
    salvage share over ``life_years`` (there is no resale curve for servers; an assumption)."""
    host = hardware.host_capex_usd
    per_day = host * (1.0 - hardware.salvage_fraction) / (hardware.life_years * DAYS_PER_YEAR)
    return max(host - per_day * days, host * hardware.salvage_fraction)


def hardware_resale_usd(hardware: HardwareConfig, days: float) -> float:
    """Market resale value of the whole set-up ``days`` after ``[finance] start``: the cards at
    :func:`analysis.econ.resale.resale_value_usd` (from ``capex_usd`` at ``age_years``) plus the
    host server at :func:`host_book_value_usd`."""
    cards = float(resale_value_usd(hardware.capex_usd, hardware.gpu, hardware.age_years, days))
    return cards + host_book_value_usd(hardware, days)


def hardware_terminal_usd(hardware: HardwareConfig, days: float) -> float:
    """What the hardware adds to an undiscounted net USD at the horizon ``days``, on top of the
    cash (which includes ``capex_paid_usd`` on day 0): its resale value then, less the resale value
    forgone at day 0 when the cards were already owned. The simulation's net USD uses this."""
    return hardware_resale_usd(hardware, days) - resale_forgone_usd(hardware)
