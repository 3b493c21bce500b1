"""The X-per-USD path beside each TON/X price path: what the network's US-dollar prices are worth in X.

A simulation in currency X runs its models on TON/X closes (TON/USD x X per USD of the same day,
:func:`analysis.market.fx.convert_closes`), so everything valued at TON/X carries both risks. The
income the network sets in US dollars -- the ``usd_pegged``/``repriced`` peg and Render's job
price -- needs the dollar's own path too: the TON paid on day t is ``usd / (TON/USD)_t``, worth
``usd * (X per USD)_t`` in X. This module draws that second leg, path by path, with the price
paths (:func:`analysis.econ.ledger.usd_priced_paths` turns it into the income's prices):

- **historical / rolling**: the recorded ECB rates of the paths' days (rolling: their relative
  moves from the latest fixing, as the TON/X paths are rescaled to the latest close).
- **bootstrap**: the X/USD returns of the *same* resampled days as the TON/X returns (the same
  start and "new block?" draws), so the pair's dependence is kept exactly; shifted to zero drift
  (``E[rate_t] = rate_0``) unless ``drift = "historical"``, as the TON/X returns are.
- **gbm / garch**: conditionally Gaussian given the path's TON/X moves: ``f_t = c + b (r_t - m) +
  s e_t`` with the regression slope ``b`` and residual deviation ``s`` of the X/USD on the TON/X
  daily log returns of the fitted window, ``m`` the model's mean TON/X log return and ``e_t``
  standard normals of the path block's own stream (its first child). So the pair has the
  history's covariance; ``c = -(b^2 sigma_r^2 + s^2) / 2`` (zero drift) or the recorded mean.

Each path's leg starts at the rate of its day 0 (the latest fixing for random and rolling paths,
the day before ``[finance] start`` for the historical one). The index the engine takes is that
path over ``scenario.fx_per_usd`` (the rate the scenario's USD prices were converted at).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np

from analysis.core.errors import DataError
from analysis.core.numeric import cumsum_days
from analysis.core.units import DAYS_PER_YEAR
from analysis.sim import paths as pathgen

if TYPE_CHECKING:   # a run in another currency reads its closes with pandas; a USD one need not (issue 20)
    import pandas as pd


@dataclass(frozen=True)
class FxLeg:
    """A fitted X-per-USD leg (see the module docstring); ``index_0`` is its day-0 index.

    ``kind``: ``"bootstrap"`` (``returns``, aligned with the bootstrap's TON/X returns) or
    ``"gaussian"`` (``slope``, ``const``, ``resid_sd``, ``ton_mean``, per day).
    """

    kind: str
    index_0: float
    returns: np.ndarray | None = None
    slope: float = 0.0
    const: float = 0.0
    resid_sd: float = 0.0
    ton_mean: float = 0.0
    note: str = ""

    def log_index(self, growth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Day-major ``log`` index ``[days + 1, paths]`` beside the TON/X log growth ``growth``
        (same shape; ``"gaussian"`` legs only -- the bootstrap draws both in one pass)."""
        out = np.empty_like(growth)
        out[0] = 0.0
        steps = out[1:]
        rng.standard_normal(out=steps)
        steps *= self.resid_sd
        steps += self.const - self.slope * self.ton_mean
        cumsum_days(steps, out=steps)   # sum of (c - b m) + s e over days 1..t
        out += self.slope * growth      # + b sum r: the regression's terms, accumulated
        out += np.log(self.index_0)
        return out


def _rates(closes: pd.DataFrame, series: pd.Series) -> np.ndarray:
    """X per USD on each day of ``series`` (the TON/X closes), checked: every day has its ECB rate."""
    rates = closes["fx_per_usd"].reindex(series.index).to_numpy(dtype=float)
    if not np.all(np.isfinite(rates)) or np.any(rates <= 0):
        raise DataError("the TON/X closes have a day without an ECB rate; run 'cocoon-econ fetch fx'")
    return rates


def fit_fx_leg(model: pathgen.PathModel, closes: pd.DataFrame, series: pd.Series, scenario_rate: float, *,
               window_days: int | None, drift: str | float, joint_index: pd.Index | None = None,
               currency: str = "X") -> FxLeg:
    """The leg of a random model fitted on ``series`` (the TON/X closes of ``closes``).

    ``joint_index``: the days a ``funding = "bootstrap"`` model resamples (its returns' days).
    """
    import pandas as pd

    rates = _rates(closes, series)
    # daily log returns of X per USD, indexed by the day they end on (as the TON/X returns)
    fx = pd.Series(np.diff(np.log(rates)), index=series.index[1:])
    ton = pd.Series(pathgen.log_returns(series), index=series.index[1:])
    if joint_index is not None:
        fx, ton = fx.reindex(joint_index), ton.reindex(joint_index)
    elif window_days is not None:
        fx, ton = fx.iloc[-window_days:], ton.iloc[-window_days:]
    f, r = fx.to_numpy(dtype=float), ton.to_numpy(dtype=float)
    index_0 = float(rates[-1]) / scenario_rate
    neutral = drift != "historical"
    if isinstance(model, pathgen.BootstrapModel):
        if len(f) != len(model.log_returns):
            raise DataError("the FX returns do not line up with the bootstrap's TON/X returns")
        shift = -pathgen.bootstrap_growth_rate(f, model.block_length) if neutral else 0.0
        return FxLeg(kind="bootstrap", index_0=index_0, returns=f + shift,
                     note=_note(f, r, "the same resampled days as TON", neutral, currency))
    var_r = float(np.var(r, ddof=1))
    slope = float(np.cov(r, f, ddof=1)[0, 1] / var_r) if var_r > 0 else 0.0
    resid_var = max(float(np.var(f, ddof=1)) - slope ** 2 * var_r, 0.0)
    if isinstance(model, pathgen.GbmModel):
        dt = 1.0 / DAYS_PER_YEAR
        model_var, ton_mean = model.vol_annual ** 2 * dt, (model.drift_annual - 0.5 * model.vol_annual ** 2) * dt
    else:   # GarchModel: its mean log return, with the history's variance (its own varies by path)
        garch = cast(pathgen.GarchModel, model)
        model_var = var_r
        mu = garch.drift_annual
        ton_mean = garch.mu / 100.0 if mu is None else mu / DAYS_PER_YEAR - var_r / 2
    const = -(slope ** 2 * model_var + resid_var) / 2 if neutral else float(np.mean(f))
    return FxLeg(kind="gaussian", index_0=index_0, slope=slope, const=const, resid_sd=float(np.sqrt(resid_var)),
                 ton_mean=ton_mean,
                 note=_note(f, r, "Gaussian given each path's TON moves (the history's regression)", neutral,
                           currency))


def _note(f: np.ndarray, r: np.ndarray, how: str, neutral: bool, currency: str) -> str:
    vol = float(np.std(f, ddof=1) * np.sqrt(DAYS_PER_YEAR))
    rho = float(np.corrcoef(r, f)[0, 1]) if np.std(f) > 0 and np.std(r) > 0 else 0.0
    drift = "zero drift" if neutral else f"the recorded drift {float(np.mean(f)) * DAYS_PER_YEAR:+.1%}/year"
    # "US dollar" in words: printed text turns the unit USD into the run's currency
    return (f"the network's US-dollar prices follow {currency} per US dollar day by day: {how}, {len(f)} days, "
            f"vol {vol:.1%}/year, correlation with the token in {currency} {rho:+.2f}, {drift}")


def recorded_index(closes: pd.DataFrame, series: pd.Series, paths_start: np.ndarray, horizon_days: int,
                   scenario_rate: float, rescale_to_latest: bool) -> np.ndarray:
    """``[n, days + 1]`` index of recorded paths whose day 0 rows in ``series`` are ``paths_start``.

    ``rescale_to_latest`` (rolling paths): each path's relative moves from the latest fixing.
    """
    rates = _rates(closes, series)
    rows = np.asarray(paths_start, dtype=np.int64)[:, None] + np.arange(horizon_days + 1)
    out = rates[rows]
    if rescale_to_latest:
        out = out * (rates[-1] / out[:, :1])
    return out / scenario_rate
