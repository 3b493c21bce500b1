"""TON/USD price scenario generators: ``historical``, ``rolling``, ``bootstrap``, ``gbm``, ``garch``.

Every generator returns a float64 array ``[paths, horizon_days + 1]``: column 0 is the price at
the start (the close of the day before day 1), column ``t`` the close of day ``t`` (the layout of
:mod:`analysis.econ.ledger`). Random generators are reproducible from a seed (a numpy ``Generator``).

Fitting (block length, GBM drift/volatility, GARCH parameters) is separate from sampling, so a
simulation fits once and samples in chunks: ``fit_*`` returns a frozen model with
``sample(n_paths, horizon_days, rng)``.

Arrays are built day-major internally (``[days, paths]``, C order) because cumulative operations
over days are then one vector operation over all paths per day; the returned ``[paths, days]``
array is the transposed (Fortran-ordered) view, which numpy treats like any other array.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

import numpy as np
import pandas as pd

from analysis.core.errors import DataError, InputError
from analysis.core.numeric import bootstrap_log_growth, cumsum_days, garch_recursion, stationary_block_walk
from analysis.core.units import DAYS_PER_YEAR

METHODS = ("historical", "rolling", "bootstrap", "gbm", "garch")


class PathModel(Protocol):
    """A fitted random generator of price paths."""

    @property
    def start_price(self) -> float:  # read-only: the models are frozen dataclasses
        """The price every path starts at (day 0)."""

    def sample(self, n_paths: int, horizon_days: int, rng: np.random.Generator) -> np.ndarray:
        """Price paths ``[n_paths, horizon_days + 1]`` starting at ``start_price``."""

    def sample_log_growth(self, n_paths: int, horizon_days: int, rng: np.random.Generator) -> np.ndarray:
        """Day-major ``log(S_t / S_0)``, ``[horizon_days + 1, n_paths]``: what ``sample`` exponentiates
        (same numbers for the same generator state)."""


# ---------------------------------------------------------------------------------------------
# helpers


def close_series(closes: pd.DataFrame | pd.Series) -> pd.Series:
    """The ``close_usd`` series of a :func:`analysis.market.prices.daily_closes` frame (or a series).

    Checks that the days are consecutive and the prices positive, since returns are taken
    between neighbouring rows.
    """
    series = closes["close_usd"] if isinstance(closes, pd.DataFrame) else closes
    series = series.astype(float).sort_index()
    if len(series) < 3:
        raise DataError(f"price history: only {len(series)} closes; need at least 3 daily closes")
    if not np.all(np.isfinite(series.to_numpy())) or (series <= 0).any():
        raise DataError("price history: closes must be positive numbers; refresh the price cache")
    steps = np.diff(series.index.to_numpy()).astype("timedelta64[D]").astype(int)
    if np.any(steps != 1):
        gap = series.index[1:][steps != 1][0]
        raise DataError(f"price history: days are not consecutive before {gap:%Y-%m-%d}; "
                        "refresh the price cache (cocoon-econ fetch prices)")
    return series


def log_returns(closes: pd.DataFrame | pd.Series, window_days: int | None = None) -> np.ndarray:
    """Daily log returns of the closes (the last ``window_days`` of them if given)."""
    series = close_series(closes)
    returns = np.diff(np.log(series.to_numpy()))
    if window_days is not None:
        if window_days < 2:
            raise InputError(f"window_days = {window_days} is too short; use at least 2 days")
        returns = returns[-window_days:]
    return returns


def _start_price(closes: pd.DataFrame | pd.Series, start_price: float | None) -> float:
    if start_price is None:
        return float(close_series(closes).iloc[-1])
    if not np.isfinite(start_price) or start_price <= 0:
        raise InputError(f"start_price = {start_price} must be a positive TON/USD price")
    return float(start_price)


def _check_size(n_paths: int, horizon_days: int) -> None:
    if int(n_paths) != n_paths or n_paths < 1:
        raise InputError(f"paths = {n_paths} must be a whole number of at least 1")
    if int(horizon_days) != horizon_days or horizon_days < 1:
        raise InputError(f"horizon_days = {horizon_days} must be a whole number of at least 1")


def log_growth_from_returns(returns_days: np.ndarray) -> np.ndarray:
    """Day-major cumulative log growth ``[days + 1, paths]`` (row 0 = 0) from log returns ``[days, paths]``."""
    horizon_days, n_paths = returns_days.shape
    out = np.empty((horizon_days + 1, n_paths))
    out[0] = 0.0
    cumsum_days(returns_days, out=out[1:])
    return out


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


def historical_paths(closes: pd.DataFrame | pd.Series, start: date | str, horizon_days: int,
                     start_price: float | None = None) -> np.ndarray:
    """The actual path ``[1, horizon_days + 1]`` from ``start``.

    Column 0 is the close of the day before ``start`` (so day 1 is ``start``). With
    ``start_price`` the path is rescaled to begin there (the same relative moves); without it,
    the real prices.
    """
    _check_size(1, horizon_days)
    series = close_series(closes)
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
    return pd.date_range(pd.Timestamp(start), periods=horizon_days, freq="D")


def rolling_paths(closes: pd.DataFrame | pd.Series, horizon_days: int, start_price: float | None = None,
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
    series = close_series(closes)
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

    def sample_indices(self, n_paths: int, horizon_days: int, rng: np.random.Generator) -> np.ndarray:
        """Day-major ``[horizon_days, n_paths]`` indices into ``log_returns``."""
        _check_size(n_paths, horizon_days)
        n_obs = len(self.log_returns)
        starts = rng.integers(n_obs, size=(horizon_days, n_paths), dtype=np.int64)
        new_block = rng.random((horizon_days, n_paths)) < 1.0 / self.block_length
        return stationary_block_walk(starts, new_block, n_obs)  # row 0 always starts a block

    def sample_log_growth(self, n_paths: int, horizon_days: int, rng: np.random.Generator) -> np.ndarray:
        # The draws of sample_indices, in its order; walk, gather and cumulative sum in one pass
        # (the same numbers as log_growth_from_returns(log_returns[sample_indices(...)])).
        _check_size(n_paths, horizon_days)
        starts = rng.integers(len(self.log_returns), size=(horizon_days, n_paths), dtype=np.int64)
        uniforms = rng.random((horizon_days, n_paths))
        return bootstrap_log_growth(starts, uniforms, 1.0 / self.block_length, self.log_returns)

    def sample(self, n_paths: int, horizon_days: int, rng: np.random.Generator) -> np.ndarray:
        return prices_from_log_growth(self.start_price, self.sample_log_growth(n_paths, horizon_days, rng))


def fit_bootstrap(closes: pd.DataFrame | pd.Series, start_price: float | None = None,
                  window_days: int | None = None, block_length: float | None = None) -> BootstrapModel:
    """A stationary bootstrap of the daily log returns.

    The expected block length defaults to the Politis & White (2004) estimate with the correction
    of Patton, Politis & White (2009) (:func:`analysis.sim.block_length.optimal_block_length`, the
    numbers of ``arch.bootstrap.optimal_block_length`` without importing arch), at least one day.
    """
    from analysis.sim.block_length import optimal_block_length

    returns = log_returns(closes, window_days)
    if block_length is None:
        block_length = optimal_block_length(returns)[0]
    if not np.isfinite(block_length) or block_length < 1:
        block_length = 1.0
    return BootstrapModel(log_returns=returns, block_length=block_length,
                          start_price=_start_price(closes, start_price))


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

    def sample_log_growth(self, n_paths: int, horizon_days: int, rng: np.random.Generator) -> np.ndarray:
        _check_size(n_paths, horizon_days)
        dt = 1.0 / DAYS_PER_YEAR
        out = np.empty((horizon_days + 1, n_paths))
        out[0] = 0.0
        steps = out[1:]
        rng.standard_normal(out=steps)
        steps *= self.vol_annual * np.sqrt(dt)
        steps += (self.drift_annual - 0.5 * self.vol_annual ** 2) * dt
        cumsum_days(steps, out=steps)
        return out

    def sample(self, n_paths: int, horizon_days: int, rng: np.random.Generator) -> np.ndarray:
        return prices_from_log_growth(self.start_price, self.sample_log_growth(n_paths, horizon_days, rng))


def fit_gbm(closes: pd.DataFrame | pd.Series, start_price: float | None = None,
            window_days: int | None = None, drift_annual: float | None = None,
            vol_annual: float | None = None) -> GbmModel:
    """GBM with drift and volatility estimated from the daily log returns (or given).

    From log returns with mean ``m`` and standard deviation ``s`` per day:
    ``sigma = s sqrt(365)`` and ``mu = (m + s^2/2) 365`` (so ``E[S_t] = S_0 e^{mu t}``).
    """
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
                    start_price=_start_price(closes, start_price))


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
        garch_recursion(z, self.first_variance, self.omega, self.alpha, self.beta, self.max_variance)
        z += self.mu
        z /= 100.0
        return z

    def sample_log_growth(self, n_paths: int, horizon_days: int, rng: np.random.Generator) -> np.ndarray:
        return log_growth_from_returns(self.sample_returns(n_paths, horizon_days, rng))

    def sample(self, n_paths: int, horizon_days: int, rng: np.random.Generator) -> np.ndarray:
        return prices_from_log_growth(self.start_price, self.sample_log_growth(n_paths, horizon_days, rng))


def fit_garch(closes: pd.DataFrame | pd.Series, start_price: float | None = None,
              window_days: int | None = None) -> GarchModel:
    """Fit GARCH(1,1) with Student-t errors by ``arch.arch_model`` on percent log returns."""
    from arch import arch_model

    returns = 100.0 * log_returns(closes, window_days)
    if len(returns) < 100:
        raise InputError(f"window_days: a GARCH fit needs at least 100 daily returns, got {len(returns)}")
    result = arch_model(returns, mean="Constant", vol="GARCH", p=1, q=1, dist="t").fit(disp="off")
    if result.convergence_flag != 0:
        raise DataError("GARCH fit did not converge on this price history; try another window_days "
                        "or the bootstrap method")
    params = result.params
    first_variance = float(result.forecast(horizon=1, reindex=False).variance.iloc[-1, 0])
    max_variance = float(np.max(np.asarray(result.conditional_volatility) ** 2))
    return GarchModel(mu=float(params["mu"]), omega=float(params["omega"]), alpha=float(params["alpha[1]"]),
                      beta=float(params["beta[1]"]), nu=float(params["nu"]), first_variance=first_variance,
                      start_price=_start_price(closes, start_price), max_variance=max(max_variance, first_variance))


def fit_model(method: str, closes: pd.DataFrame | pd.Series, start_price: float | None = None,
              window_days: int | None = None, drift_annual: float | None = None,
              vol_annual: float | None = None) -> PathModel:
    """The fitted random model for ``method`` in ``bootstrap``, ``gbm``, ``garch``."""
    if method == "bootstrap":
        return fit_bootstrap(closes, start_price, window_days)
    if method == "gbm":
        return fit_gbm(closes, start_price, window_days, drift_annual, vol_annual)
    if method == "garch":
        return fit_garch(closes, start_price, window_days)
    raise InputError(f"method = {method!r} is not a random generator; use bootstrap, gbm or garch")
