"""TON/USD price scenario generators: ``historical``, ``rolling``, ``bootstrap``, ``gbm``, ``garch``.

Every generator returns a float64 array ``[paths, horizon_days + 1]``: column 0 is the price at
the start (the close of the day before day 1), column ``t`` the close of day ``t`` (the layout of
:mod:`analysis.econ.ledger`). Random generators are reproducible from a seed (a numpy ``Generator``).

Fitting (block length, GBM drift/volatility, GARCH parameters) is separate from sampling, so a
simulation fits once and samples in chunks: ``fit_*`` returns a frozen model with
``sample(n_paths, horizon_days, rng)``.

Drift is neutral unless asked for (docs/risk.md). ``drift`` is ``"zero"`` (the default),
``"historical"`` (estimated from the returns: +64 %/year on 2021-2026 TON, with a standard error of
about +-47 %/year, i.e. noise) or a number, the annual drift ``mu`` with ``E[S_t] = S_0 e^{mu t}``:

- ``gbm``: ``mu`` as given; zero makes the price a martingale, ``E[S_t] = S_0``.
- ``bootstrap``: the log returns are shifted by one constant ``c`` so that ``E[S_t]`` grows at
  exactly ``mu`` per year. The resampled day indices are a Markov chain (next day with probability
  ``1 - 1/block_length``, else a uniform day), so ``E[S_t]`` is computable exactly
  (:meth:`BootstrapModel.expected_growth`); its long-run daily growth factor is the dominant
  eigenvalue ``lambda`` of that chain's expected-growth operator, and ``c = mu / 365 - log lambda``.
  Demeaning the log returns, or making ``mean(exp(r)) = 1``, is not enough: TON's daily returns are
  autocorrelated (lag 1: +0.14), so blocks of about 4 days would still grow ``E[S_t]`` by about
  20 %/year. With block length 1 ``lambda = mean(exp(r))`` and ``E[S_t] = S_0 e^{mu t}`` every day;
  otherwise only the first block's transient remains (within 0.5 % over a year on TON).
- ``garch``: each day's log return has mean ``mu / 365 - sigma_t^2 / 2`` (the GBM convexity term at
  that day's conditional variance), which gives ``E[S_t | S_{t-1}] = S_{t-1} e^{mu / 365}`` for
  normal shocks and to second order for the Student-t ones (whose ``E[e^z]`` is not finite, so no
  mean-zero correction can be exact). ``historical`` keeps the fitted constant mean.

Arrays are built day-major internally (``[days, paths]``, C order) because cumulative operations
over days are then one vector operation over all paths per day; the returned ``[paths, days]``
array is the transposed (Fortran-ordered) view, which numpy treats like any other array.

The fits take the closes as a :func:`~analysis.market.prices.daily_closes` frame (or a series) or as
the arrays of :class:`~analysis.market.latest.PlainCloses`, and read both the same way
(:func:`close_values`): ``cocoon-econ simulate`` fits from the arrays without importing pandas, which
was about 0.3 s of a CLI run (issue 20). pandas is imported only by the dated generators.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, overload

import numpy as np

from analysis.core.errors import DataError, InputError
from analysis.core.numeric import (
    bootstrap_log_growth,
    garch_recursion,
    log_growth_into,
    stationary_block_walk,
)
from analysis.core.units import DAYS_PER_YEAR
from analysis.market.latest import PlainCloses

if TYPE_CHECKING:
    import pandas as pd

METHODS = ("historical", "rolling", "bootstrap", "gbm", "garch")
DRIFTS = ("zero", "historical")


def resolve_drift(drift: str | float = "zero") -> float | None:
    """The annual drift a generator uses: ``0.0`` for ``"zero"``, ``None`` for ``"historical"``
    (estimated from the returns), or the number given."""
    if isinstance(drift, str):
        if drift == "zero":
            return 0.0
        if drift == "historical":
            return None
        raise InputError(f"drift = {drift!r} is not valid; use zero, historical or a number (annual, e.g. 0.2)")
    if isinstance(drift, bool) or not isinstance(drift, (int, float)) or not np.isfinite(drift):
        raise InputError(f"drift = {drift!r} must be zero, historical or a finite annual fraction (e.g. 0.2)")
    return float(drift)


def drift_source(drift: str | float, n_returns: int) -> str:
    """Where the drift came from, in words, for every output."""
    if drift == "zero":
        return "zero (default: E[S_t] = S_0)"
    if drift == "historical":
        return f"historical (estimated from {n_returns} daily returns; opt-in)"
    return "given (drift_annual)"


class PathModel(Protocol):
    """A fitted random generator of price paths (frozen dataclasses: read-only members)."""

    @property
    def start_price(self) -> float:
        """The price every path starts at (USD)."""

    @property
    def drift_annual(self) -> float | None:
        """The annual drift ``mu`` the paths carry (``E[S_t] = S_0 e^{mu t}``; module docstring)."""

    @property
    def drift_source(self) -> str:
        """Where the drift came from, in words."""

    def sample(self, n_paths: int, horizon_days: int, rng: np.random.Generator) -> np.ndarray:
        """Price paths ``[n_paths, horizon_days + 1]`` starting at ``start_price``."""

    def sample_log_growth(self, n_paths: int, horizon_days: int, rng: np.random.Generator,
                          out: np.ndarray | None = None, col0: int = 0) -> np.ndarray:
        """Day-major ``log(S_t / S_0)``, ``[horizon_days + 1, n_paths]``: what ``sample`` exponentiates
        (same numbers for the same generator state). With ``out`` (C-contiguous ``[horizon_days + 1,
        >= col0 + n_paths]``) written into its columns ``col0 ..``, and ``out`` is returned."""


# ---------------------------------------------------------------------------------------------
# helpers


@overload
def close_series(closes: PlainCloses) -> PlainCloses: ...
@overload
def close_series(closes: pd.DataFrame | pd.Series) -> pd.Series: ...
def close_series(closes: pd.DataFrame | pd.Series | PlainCloses) -> pd.Series | PlainCloses:
    """The ``close_usd`` series of a :func:`analysis.market.prices.daily_closes` frame (or a series);
    :class:`~analysis.market.latest.PlainCloses` are returned as they are.

    Checks that the days are consecutive and the prices positive, since returns are taken
    between neighbouring rows.
    """
    if isinstance(closes, PlainCloses):
        check_closes(closes.days, closes.close_usd)
        return closes
    import pandas as pd

    series = closes["close_usd"] if isinstance(closes, pd.DataFrame) else closes
    series = series.astype(float).sort_index()
    check_closes(series.index.to_numpy(), series.to_numpy())
    return series


def check_closes(days: np.ndarray, values: np.ndarray) -> None:
    """:class:`DataError` unless there are at least 3 closes, all positive and finite, on consecutive
    ascending ``days`` (``datetime64``): both kinds of closes are checked here."""
    if len(values) < 3:
        raise DataError(f"price history: only {len(values)} closes; need at least 3 daily closes")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise DataError("price history: closes must be positive numbers; refresh the price cache")
    steps = np.diff(np.asarray(days)).astype("timedelta64[D]").astype(int)
    if np.any(steps != 1):
        gap = np.asarray(days)[1:][steps != 1][0].astype("datetime64[D]")
        raise DataError(f"price history: days are not consecutive before {gap}; "
                        "refresh the price cache (cocoon-econ fetch prices)")


def close_values(closes: pd.DataFrame | pd.Series | PlainCloses) -> np.ndarray:
    """The checked closes (:func:`close_series`) as a float64 array, oldest first."""
    series = close_series(closes)
    if isinstance(series, PlainCloses):
        return series.close_usd
    return series.to_numpy()


def log_returns(closes: pd.DataFrame | pd.Series | PlainCloses, window_days: int | None = None) -> np.ndarray:
    """Daily log returns of the closes (the last ``window_days`` of them if given)."""
    returns = np.diff(np.log(close_values(closes)))
    if window_days is not None:
        if window_days < 2:
            raise InputError(f"window_days = {window_days} is too short; use at least 2 days")
        returns = returns[-window_days:]
    return returns


def _start_price(closes: pd.DataFrame | pd.Series | PlainCloses, start_price: float | None) -> float:
    if start_price is None:
        return float(close_values(closes)[-1])
    if not np.isfinite(start_price) or start_price <= 0:
        raise InputError(f"start_price = {start_price} must be a positive TON/USD price")
    return float(start_price)


def _pandas_series(closes: pd.DataFrame | pd.Series | PlainCloses) -> pd.Series:
    """:func:`close_series` as a pandas series (the dated generators index it by day)."""
    return close_series(closes.to_frame() if isinstance(closes, PlainCloses) else closes)


def _check_size(n_paths: int, horizon_days: int) -> None:
    if int(n_paths) != n_paths or n_paths < 1:
        raise InputError(f"paths = {n_paths} must be a whole number of at least 1")
    if int(horizon_days) != horizon_days or horizon_days < 1:
        raise InputError(f"horizon_days = {horizon_days} must be a whole number of at least 1")


def log_growth_from_returns(returns_days: np.ndarray) -> np.ndarray:
    """Day-major cumulative log growth ``[days + 1, paths]`` (row 0 = 0) from log returns ``[days, paths]``."""
    return log_growth_into(returns_days)


def prices_from_log_growth(start_price: float, log_growth: np.ndarray) -> np.ndarray:
    """Price paths ``[paths, days + 1]`` from day-major log growth ``[days + 1, paths]``.

    Works in place: ``log_growth`` becomes the (day-major) prices.
    """
    np.exp(log_growth, out=log_growth)
    log_growth *= start_price
    return log_growth.T


def prices_from_log_returns(start_price: float, returns_days: np.ndarray) -> np.ndarray:
    """Price paths ``[paths, days + 1]`` from day-major log returns ``[days, paths]``."""
    return prices_from_log_growth(start_price, log_growth_from_returns(returns_days))


# ---------------------------------------------------------------------------------------------
# historical and rolling


def historical_paths(closes: pd.DataFrame | pd.Series | PlainCloses, start: date | str, horizon_days: int,
                     start_price: float | None = None) -> np.ndarray:
    """The actual path ``[1, horizon_days + 1]`` from ``start``.

    Column 0 is the close of the day before ``start`` (so day 1 is ``start``). With
    ``start_price`` the path is rescaled to begin there (the same relative moves); without it,
    the real prices.
    """
    import pandas as pd

    _check_size(1, horizon_days)
    series = _pandas_series(closes)
    first = pd.Timestamp(start) - pd.Timedelta(days=1)
    last = first + pd.Timedelta(days=horizon_days)
    if first < series.index[0] or last > series.index[-1]:
        raise InputError(
            f"start = {pd.Timestamp(start):%Y-%m-%d} with horizon_days = {horizon_days} needs closes "
            f"{first:%Y-%m-%d}..{last:%Y-%m-%d}, but the history covers "
            f"{series.index[0]:%Y-%m-%d}..{series.index[-1]:%Y-%m-%d}; pick an earlier start or a "
            "shorter horizon")
    path = series.loc[first:last].to_numpy()[None, :].copy()
    if start_price is not None:
        path *= _start_price(series, start_price) / path[0, 0]
    return path


def historical_dates(start: date | str, horizon_days: int) -> pd.DatetimeIndex:
    """The UTC days 1..horizon_days of a path starting on ``start``."""
    import pandas as pd

    return pd.date_range(pd.Timestamp(start), periods=horizon_days, freq="D")


def rolling_paths(closes: pd.DataFrame | pd.Series | PlainCloses, horizon_days: int, start_price: float | None = None,
                  window_days: int | None = None) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """Every historical start date with the full horizon inside the history, one path each.

    Each path is rescaled to begin at ``start_price`` (default: the latest close), so the paths
    are the history's relative moves applied to today's price.

    Returns
    -------
    paths : ndarray ``[n_starts, horizon_days + 1]``
    starts : DatetimeIndex of each path's day 1
    """
    _check_size(1, horizon_days)
    series = _pandas_series(closes)
    if window_days is not None:
        series = series.iloc[-(window_days + 1):]
    values = series.to_numpy()
    n_starts = len(values) - horizon_days
    if n_starts < 1:
        raise InputError(f"horizon_days = {horizon_days} is longer than the price history "
                         f"({len(values) - 1} days); use a shorter horizon")
    windows = np.lib.stride_tricks.sliding_window_view(values, horizon_days + 1)
    paths = windows * (_start_price(closes, start_price) / windows[:, :1])
    return paths, series.index[1:n_starts + 1]


# ---------------------------------------------------------------------------------------------
# stationary block bootstrap


@dataclass(frozen=True)
class BootstrapModel:
    """Stationary block bootstrap (Politis & Romano 1994) of daily log returns.

    Blocks start at a uniformly drawn day and continue day after day (wrapping around the end
    of the sample) until a new block starts, which happens each day with probability
    ``1 / block_length`` -- the scheme of ``arch.bootstrap.StationaryBootstrap``, drawn for all
    paths at once instead of one path per iteration.
    """

    log_returns: np.ndarray
    block_length: float
    start_price: float
    drift_annual: float = 0.0          # 365 log lambda of the (shifted) returns: see the module docstring
    drift_source: str = "zero (default: E[S_t] = S_0)"

    def expected_growth(self, horizon_days: int) -> np.ndarray:
        """Exact ``E[S_t] / S_0`` for ``t = 0..horizon_days`` under this bootstrap (the Markov chain of
        the module docstring, its expectation propagated day by day)."""
        v = _expected_growth_steps(np.exp(self.log_returns), self.block_length, horizon_days)
        return np.concatenate([[1.0], v])

    def sample_indices(self, n_paths: int, horizon_days: int, rng: np.random.Generator) -> np.ndarray:
        """Day-major ``[horizon_days, n_paths]`` indices into ``log_returns``."""
        _check_size(n_paths, horizon_days)
        n_obs = len(self.log_returns)
        starts = rng.integers(n_obs, size=(horizon_days, n_paths), dtype=np.int64)
        new_block = rng.random((horizon_days, n_paths)) < 1.0 / self.block_length
        return stationary_block_walk(starts, new_block, n_obs)  # row 0 always starts a block

    def sample_log_growth(self, n_paths: int, horizon_days: int, rng: np.random.Generator,
                          out: np.ndarray | None = None, col0: int = 0) -> np.ndarray:
        # The draws of sample_indices, in its order; walk, gather and cumulative sum in one pass
        # (the same numbers as log_growth_from_returns(log_returns[sample_indices(...)])).
        _check_size(n_paths, horizon_days)
        starts = rng.integers(len(self.log_returns), size=(horizon_days, n_paths), dtype=np.int64)
        uniforms = rng.random((horizon_days, n_paths))
        return bootstrap_log_growth(starts, uniforms, 1.0 / self.block_length, self.log_returns, out, col0)

    def sample_log_growth_pair(self, n_paths: int, horizon_days: int, rng: np.random.Generator,
                               other_returns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`sample_log_growth` and, from the same draws (the same resampled days), the log
        growth of ``other_returns`` (aligned with ``log_returns``: another series of the same days)."""
        _check_size(n_paths, horizon_days)
        other = np.ascontiguousarray(other_returns, dtype=float)
        if other.shape != self.log_returns.shape:
            raise InputError(f"other_returns: {other.shape} values for {self.log_returns.shape} returns")
        starts = rng.integers(len(self.log_returns), size=(horizon_days, n_paths), dtype=np.int64)
        uniforms = rng.random((horizon_days, n_paths))
        p = 1.0 / self.block_length
        return (bootstrap_log_growth(starts, uniforms, p, self.log_returns),
                bootstrap_log_growth(starts, uniforms, p, other))

    def sample(self, n_paths: int, horizon_days: int, rng: np.random.Generator) -> np.ndarray:
        return prices_from_log_growth(self.start_price, self.sample_log_growth(n_paths, horizon_days, rng))


def _expected_growth_steps(gross: np.ndarray, block_length: float, days: int, normalise: bool = False) -> np.ndarray:
    """``E[prod_{s<=t} g_{I_s}]`` for ``t = 1..days`` (or, with ``normalise``, each day's growth factor of the
    normalised vector, which converges to the dominant eigenvalue): ``v_1 = g / n``,
    ``v_{t+1}(j) = g_j ((1 - p) v_t(j - 1) + p / n sum(v_t))``, indices wrapping as the sampler's do."""
    n = gross.size
    p = 1.0 / block_length
    v = gross / n
    out = np.empty(days)
    out[0] = v.sum()
    for t in range(1, days):
        total = v.sum()
        if normalise:
            v = v / total
            total = 1.0
        v = gross * ((1.0 - p) * np.roll(v, 1) + (p / n) * total)
        out[t] = v.sum()
    return out


def bootstrap_growth_rate(log_returns: np.ndarray, block_length: float) -> float:
    """``log lambda``: the long-run daily log growth of ``E[S_t]`` under the stationary bootstrap of
    ``log_returns`` (power iteration; the chain mixes in a few block lengths)."""
    steps = max(200, int(50 * block_length))
    return float(np.log(_expected_growth_steps(np.exp(log_returns), block_length, steps, normalise=True)[-1]))


def fit_bootstrap(closes: pd.DataFrame | pd.Series | PlainCloses, start_price: float | None = None,
                  window_days: int | None = None, block_length: float | None = None,
                  drift: str | float = "zero") -> BootstrapModel:
    """A stationary bootstrap of the daily log returns, shifted to the ``drift`` asked for.

    The expected block length defaults to the Politis & White (2004) estimate with the correction
    of Patton, Politis & White (2009) (:func:`analysis.sim.block_length.optimal_block_length`, the
    numbers of ``arch.bootstrap.optimal_block_length`` without importing arch), at least one day. The returns
    are shifted by ``mu / 365 - log lambda`` (:func:`bootstrap_growth_rate`) so that ``E[S_t]``
    grows at ``mu`` per year (``drift = "zero"``: not at all); ``"historical"`` keeps them as
    recorded (``drift_annual`` then reports ``365 log lambda``).
    """
    from analysis.sim.block_length import optimal_block_length

    returns = log_returns(closes, window_days)
    if block_length is None:
        block_length = optimal_block_length(returns)[0]
    if not np.isfinite(block_length) or block_length < 1:
        block_length = 1.0
    mu = resolve_drift(drift)
    recorded = bootstrap_growth_rate(returns, block_length)   # long-run log growth of E[S_t] per day
    if mu is not None:
        returns = returns + (mu / DAYS_PER_YEAR - recorded)
    return BootstrapModel(log_returns=returns, block_length=block_length,
                          start_price=_start_price(closes, start_price),
                          drift_annual=recorded * DAYS_PER_YEAR if mu is None else mu,
                          drift_source=drift_source(drift, len(returns)))


# ---------------------------------------------------------------------------------------------
# geometric Brownian motion


@dataclass(frozen=True)
class GbmModel:
    """Geometric Brownian motion: ``dS = mu S dt + sigma S dW``, time in years of 365 days.

    Steps are exact: ``log S_t - log S_{t-1} ~ N((mu - sigma^2/2) dt, sigma^2 dt)``, ``dt = 1/365``.
    """

    drift_annual: float
    vol_annual: float
    start_price: float
    drift_source: str = "given (drift_annual)"

    def sample_log_growth(self, n_paths: int, horizon_days: int, rng: np.random.Generator,
                          out: np.ndarray | None = None, col0: int = 0) -> np.ndarray:
        _check_size(n_paths, horizon_days)
        dt = 1.0 / DAYS_PER_YEAR
        z = rng.standard_normal((horizon_days, n_paths))
        # steps z sigma sqrt(dt) + (mu - sigma^2/2) dt and their cumulative sum, in one pass (the same bits)
        return log_growth_into(z, out, col0, scale=self.vol_annual * np.sqrt(dt),
                               shift=(self.drift_annual - 0.5 * self.vol_annual ** 2) * dt)

    def sample(self, n_paths: int, horizon_days: int, rng: np.random.Generator) -> np.ndarray:
        return prices_from_log_growth(self.start_price, self.sample_log_growth(n_paths, horizon_days, rng))


def fit_gbm(closes: pd.DataFrame | pd.Series | PlainCloses, start_price: float | None = None,
            window_days: int | None = None, drift_annual: float | str | None = "zero",
            vol_annual: float | None = None) -> GbmModel:
    """GBM with volatility estimated from the daily log returns (or given) and zero drift unless asked.

    ``drift_annual``: ``"zero"`` (default), ``"historical"`` or ``None`` (estimated), or a number.
    From log returns with mean ``m`` and standard deviation ``s`` per day:
    ``sigma = s sqrt(365)`` and the estimated ``mu = (m + s^2/2) 365`` (so ``E[S_t] = S_0 e^{mu t}``).
    """
    spec = "historical" if drift_annual is None else drift_annual
    n_returns = len(log_returns(closes, window_days)) if spec == "historical" or vol_annual is None else 0
    drift_annual = resolve_drift(spec)
    if drift_annual is None or vol_annual is None:
        returns = log_returns(closes, window_days)
        s = float(np.std(returns, ddof=1))
        m = float(np.mean(returns))
        vol_est, drift_est = s * np.sqrt(DAYS_PER_YEAR), (m + 0.5 * s * s) * DAYS_PER_YEAR
        drift_annual = drift_est if drift_annual is None else drift_annual
        vol_annual = vol_est if vol_annual is None else vol_annual
    if not np.isfinite(vol_annual) or vol_annual < 0:
        raise InputError(f"vol_annual = {vol_annual} must be a non-negative fraction per year (e.g. 0.8)")
    if not np.isfinite(drift_annual):
        raise InputError(f"drift_annual = {drift_annual} must be a number (fraction per year)")
    return GbmModel(drift_annual=float(drift_annual), vol_annual=float(vol_annual),
                    start_price=_start_price(closes, start_price), drift_source=drift_source(spec, n_returns))


# ---------------------------------------------------------------------------------------------
# GARCH(1,1) with Student-t errors


@dataclass(frozen=True)
class GarchModel:
    """GARCH(1,1) with standardised Student-t errors on percent daily log returns.

    ``r_t = mu + e_t``, ``e_t = sigma_t z_t``, ``sigma_t^2 = omega + alpha e_{t-1}^2 + beta sigma_{t-1}^2``,
    ``z_t ~ t(nu) * sqrt((nu - 2) / nu)`` (unit variance, as ``arch``'s ``StudentsT``);
    ``first_variance`` is the fitted one-day-ahead variance at the end of the history.

    ``max_variance`` caps ``sigma_t^2`` in the simulation: :func:`fit_garch` sets it to the
    largest conditional variance fitted on the history. Without it a fat-tailed, near-integrated
    fit explodes on a few paths -- on the TON history (``nu`` about 3.1, ``alpha + beta`` about
    0.99) 2,000 paths of 180 days held a one-day move of ``e^10.7`` and a price of 1.9e11 USD,
    which made the mean of every TON-holding policy meaningless. The cap keeps the tails
    (Student-t shocks) and the clustering, but no day is more volatile than the worst one on record.
    """

    mu: float
    omega: float
    alpha: float
    beta: float
    nu: float
    first_variance: float
    start_price: float
    max_variance: float = np.inf
    #: None: the fitted constant mean ``mu`` (historical); a number: each day's mean is
    #: ``drift / 365 - sigma_t^2 / 2`` (the module docstring; 0 = neutral)
    drift_annual: float | None = 0.0
    drift_source: str = "zero (default: E[S_t] = S_0)"

    @property
    def persistence(self) -> float:
        return self.alpha + self.beta

    def vol_forecast_annual(self, horizon_days: int = 30) -> float:
        """Annualised volatility over the next ``horizon_days`` (mean forecast variance)."""
        h = np.arange(horizon_days)
        p = self.persistence
        long_run = self.omega / (1.0 - p) if p < 1 else self.first_variance
        variance = long_run + (self.first_variance - long_run) * p ** h
        return float(np.sqrt(variance.mean() * DAYS_PER_YEAR) / 100.0)

    def sample_returns(self, n_paths: int, horizon_days: int, rng: np.random.Generator) -> np.ndarray:
        """Day-major ``[horizon_days, n_paths]`` log returns (fractions, not percent)."""
        _check_size(n_paths, horizon_days)
        z = rng.standard_t(self.nu, size=(horizon_days, n_paths))
        z *= np.sqrt((self.nu - 2.0) / self.nu)
        drift = self.drift_annual
        # neutral drift: each day's log return less sigma^2 / 2 (percent units: variance / 200)
        garch_recursion(z, self.first_variance, self.omega, self.alpha, self.beta, self.max_variance,
                        variance_drag=drift is not None)
        z += self.mu if drift is None else 100.0 * drift / DAYS_PER_YEAR
        z /= 100.0
        return z

    def sample_log_growth(self, n_paths: int, horizon_days: int, rng: np.random.Generator,
                          out: np.ndarray | None = None, col0: int = 0) -> np.ndarray:
        return log_growth_into(self.sample_returns(n_paths, horizon_days, rng), out, col0)

    def sample(self, n_paths: int, horizon_days: int, rng: np.random.Generator) -> np.ndarray:
        return prices_from_log_growth(self.start_price, self.sample_log_growth(n_paths, horizon_days, rng))


def fit_garch(closes: pd.DataFrame | pd.Series | PlainCloses, start_price: float | None = None,
              window_days: int | None = None, drift: str | float = "zero", *,
              cache_dir: str | os.PathLike[str] | None = None, use_cache: bool = True) -> GarchModel:
    """Fit GARCH(1,1) with Student-t errors by ``arch.arch_model`` on percent log returns.

    The fit always has a constant mean; ``drift`` says whether the simulation uses it
    (``"historical"``) or the neutral mean of the module docstring (``"zero"``, or a number).

    The fit is deterministic in the returns, and importing arch (with scipy and statsmodels) and
    fitting cost seconds, so the fitted numbers are kept in the cache
    (``<cache>/models/garch_<key>.json``, the key a hash of the returns and arch's version) and read
    back on the next fit of the same returns without importing arch; ``use_cache=False`` always fits.
    """
    mu_given = resolve_drift(drift)
    returns = 100.0 * log_returns(closes, window_days)
    if len(returns) < 100:
        raise InputError(f"window_days: a GARCH fit needs at least 100 daily returns, got {len(returns)}")
    fitted = _garch_fit(returns, cache_dir, use_cache)
    return GarchModel(mu=fitted["mu"], omega=fitted["omega"], alpha=fitted["alpha"], beta=fitted["beta"],
                      nu=fitted["nu"], first_variance=fitted["first_variance"],
                      start_price=_start_price(closes, start_price),
                      max_variance=max(fitted["max_variance"], fitted["first_variance"]),
                      drift_annual=mu_given,
                      drift_source=drift_source(drift, len(returns)) if mu_given is not None else
                      f"historical (the fitted constant mean, {fitted['mu'] * DAYS_PER_YEAR / 100:+.3f}/year "
                      f"of log return, from {len(returns)} daily returns; opt-in)")


_GARCH_KEYS = ("mu", "omega", "alpha", "beta", "nu", "first_variance", "max_variance")
_GARCH_CACHE_VERSION = 1   # bump when what is fitted or stored changes


def _garch_cache_path(returns: np.ndarray, cache_dir: str | os.PathLike[str] | None) -> Path:
    import hashlib
    from importlib.metadata import version

    from analysis.market.paths import cache_dir as resolve_cache

    digest = hashlib.sha256()
    digest.update(f"garch-v{_GARCH_CACHE_VERSION};arch {version('arch')};".encode())
    digest.update(np.ascontiguousarray(returns, dtype="<f8").tobytes())
    return resolve_cache(cache_dir) / "models" / f"garch_{digest.hexdigest()[:32]}.json"


def _garch_fit(returns: np.ndarray, cache_dir: str | os.PathLike[str] | None, use_cache: bool) -> dict[str, float]:
    """The fitted numbers of :func:`fit_garch` on percent returns: from the cache, else fitted (and kept)."""
    path = _garch_cache_path(returns, cache_dir) if use_cache else None
    if path is not None and path.is_file():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            values = {k: float(stored[k]) for k in _GARCH_KEYS}
            if all(np.isfinite(v) for v in values.values()):
                return values
        except (OSError, ValueError, KeyError, TypeError):
            pass   # unreadable or from elsewhere: fit again and replace it
    from arch import arch_model

    result = arch_model(returns, mean="Constant", vol="GARCH", p=1, q=1, dist="t").fit(disp="off")
    if result.convergence_flag != 0:
        raise DataError("GARCH fit did not converge on this price history; try another window_days "
                        "or the bootstrap method")
    params = result.params
    values = {"mu": float(params["mu"]), "omega": float(params["omega"]), "alpha": float(params["alpha[1]"]),
              "beta": float(params["beta[1]"]), "nu": float(params["nu"]),
              "first_variance": float(result.forecast(horizon=1, reindex=False).variance.iloc[-1, 0]),
              "max_variance": float(np.max(np.asarray(result.conditional_volatility) ** 2))}
    if path is not None:
        from analysis.core.outputs import atomic_write_bytes

        try:   # a cache that cannot be written costs the next run a fit, nothing else
            atomic_write_bytes(path, (json.dumps({**values, "returns": len(returns)}, indent=1) + "\n").encode("utf-8"))
        except OSError:
            pass
    return values


def fit_model(method: str, closes: pd.DataFrame | pd.Series | PlainCloses, start_price: float | None = None,
              window_days: int | None = None, drift: str | float = "zero",
              vol_annual: float | None = None, cache_dir: str | os.PathLike[str] | None = None) -> PathModel:
    """The fitted random model for ``method`` in ``bootstrap``, ``gbm``, ``garch``.

    ``drift``: ``"zero"`` (default, neutral), ``"historical"`` or an annual number (module docstring);
    ``vol_annual`` applies to ``gbm`` only.
    """
    resolve_drift(drift)
    if method == "bootstrap":
        return fit_bootstrap(closes, start_price, window_days, drift=drift)
    if method == "gbm":
        return fit_gbm(closes, start_price, window_days, drift, vol_annual)
    if method == "garch":
        return fit_garch(closes, start_price, window_days, drift, cache_dir=cache_dir)
    raise InputError(f"method = {method!r} is not a random generator; use bootstrap, gbm or garch")
