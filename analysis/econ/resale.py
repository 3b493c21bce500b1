"""What a GPU would sell for on the secondary market, by model and age: the resale curve.

The curve is ``data/reference/gpu_resale_curve.csv``: for each curve (``H100``, ``A100``) the
residual fraction of the new price at whole ages in years, derived from the dated, sourced rows
of ``data/reference/gpu_resale_prices.csv`` (its ``derivation`` column says how; each point is
the geometric mean of the published age curves at that age, range mid-points where a source
gives a range). Age 0 is the new price, fraction 1.

Interpolation is **log-linear in age**: between two points ``(a0, f0)`` and ``(a1, f1)``::

    f(a) = f0 * (f1 / f0) ** ((a - a0) / (a1 - a0))

i.e. a constant rate of decline within each year of the table. **Beyond the last point** the
last segment's rate continues (the value keeps falling by the same fraction a year; it never
reaches zero and never rises). Ages below 0 are refused.

A set-up's resale value ``days`` after ``[finance] start`` scales what the hardware is worth at
the start (``[hardware] capex_usd``: the price paid when bought, the market value when already
owned) by the curve, from the cards' age at the start (``[hardware] age_years``)::

    resale(days) = capex_usd * f(age_years + days / 365) / f(age_years)

GPUs with no resale data of their own use a stand-in curve (the ``stand_in_for`` column, e.g.
H200 and B200 use H100's); :func:`resale_curve` says which in its ``note``. Selling costs
(broker or auction haircuts) are not deducted.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import cache

import numpy as np

from analysis.core.errors import DataError, InputError
from analysis.core.resources import reference_path
from analysis.core.units import DAYS_PER_YEAR

RESALE_CURVE_FILE = "gpu_resale_curve.csv"
RESALE_PRICES_FILE = "gpu_resale_prices.csv"


@dataclass(frozen=True)
class ResaleCurve:
    """Residual fraction of the new price at ``ages_years`` (ascending, starting at 0 with 1.0).

    ``name`` is the curve's row name in the CSV, ``gpu`` the GPU it was looked up for and
    ``stand_in`` whether that GPU has no data of its own (the curve of another model is used).
    """

    name: str
    gpu: str
    ages_years: tuple[float, ...]
    fractions: tuple[float, ...]
    stand_in: bool
    source: str

    @property
    def note(self) -> str:
        """One line for the CLI: which curve, from what, and what it does beyond the data."""
        points = ", ".join(f"{a:g} y {f:.3f}" for a, f in zip(self.ages_years, self.fractions))
        whose = (f"no resale data for {self.gpu}: the {self.name} curve stands in" if self.stand_in
                 else f"{self.name} curve")
        return (f"hardware resale value: {whose} ({points} of the new price; log-linear in age, "
                f"the last year's rate continues beyond {self.ages_years[-1]:g} y; {RESALE_CURVE_FILE})")

    def fraction(self, age_years: float | np.ndarray) -> float | np.ndarray:
        """Residual fraction of the new price at ``age_years`` (log-linear; see the module)."""
        age = np.asarray(age_years, dtype=float)
        if np.any(~np.isfinite(age)) or np.any(age < 0):
            raise InputError(f"resale curve: age {age_years!r} is not valid; use an age of 0 years or more")
        ages = np.asarray(self.ages_years)
        logs = np.log(np.asarray(self.fractions))
        inside = np.interp(np.minimum(age, ages[-1]), ages, logs)
        slope = (logs[-1] - logs[-2]) / (ages[-1] - ages[-2])   # the last segment's log rate per year
        out = np.exp(inside + slope * np.maximum(age - ages[-1], 0.0))
        return float(out) if out.ndim == 0 else out


@cache
def _curve_rows() -> tuple[dict[str, str], ...]:
    with open(reference_path(RESALE_CURVE_FILE), newline="", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


def resale_curve(gpu: str) -> ResaleCurve:
    """The resale curve of canonical GPU ``gpu`` (its own or a stand-in; see the module).

    Raises
    ------
    DataError
        When no curve covers ``gpu`` or the table is malformed (fractions must fall from 1 at age 0).
    """
    rows = _curve_rows()
    for stand_in_column in ("gpus", "stand_in_for"):
        names = [r["curve"] for r in rows if gpu in r[stand_in_column].split()]
        if names:
            break
    else:
        raise DataError(f"{RESALE_CURVE_FILE} has no resale curve for GPU {gpu!r}; add its rows "
                        "(or list it under stand_in_for)")
    name = names[0]
    points = sorted((float(r["age_years"]), float(r["residual_fraction"]), r["source"]) for r in rows
                    if r["curve"] == name)
    ages = tuple(p[0] for p in points)
    fractions = tuple(p[1] for p in points)
    if (len(points) < 2 or ages[0] != 0.0 or fractions[0] != 1.0 or any(b <= a for a, b in zip(ages, ages[1:]))
            or not all(0.0 < f <= 1.0 and math.isfinite(f) for f in fractions)):
        raise DataError(f"{RESALE_CURVE_FILE}: curve {name!r} must start at age 0 with fraction 1.0, "
                        "have ascending ages and fractions in (0, 1]")
    sources = "; ".join(dict.fromkeys(p[2] for p in points if p[2] != "definition"))
    return ResaleCurve(name=name, gpu=gpu, ages_years=ages, fractions=fractions,
                       stand_in=stand_in_column == "stand_in_for", source=sources)


def resale_value_usd(capex_usd: float, gpu: str, age_years: float, days: float | np.ndarray) -> float | np.ndarray:
    """Market resale value ``days`` after the start of hardware worth ``capex_usd`` at the start,
    aged ``age_years`` then: ``capex_usd * f(age_years + days/365) / f(age_years)``."""
    curve = resale_curve(gpu)
    later = curve.fraction(age_years + np.asarray(days, dtype=float) / DAYS_PER_YEAR)
    return capex_usd * later / curve.fraction(age_years)
