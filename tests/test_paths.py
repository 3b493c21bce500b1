"""Price scenario generators: shapes, reproducibility and the statistics they must keep."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from arch import arch_model
from arch.bootstrap import optimal_block_length
from arch.univariate import StudentsT

from analysis.core.errors import DataError, InputError
from analysis.market.prices import daily_closes
from analysis.sim import paths


@pytest.fixture(scope="module")
def ton() -> pd.Series:
    return daily_closes("ton")["close_usd"]


def test_historical_path_is_the_real_closes(ton):
    path = paths.historical_paths(ton, "2024-12-01", 365)
    assert path.shape == (1, 366)
    # column 0 is the close of the day before the start, column t the close of day t
    assert path[0, 0] == ton.loc["2024-11-30"]
    assert path[0, 1] == ton.loc["2024-12-01"]
    assert path[0, -1] == ton.loc["2025-11-30"]
    rescaled = paths.historical_paths(ton, "2024-12-01", 365, start_price=2.0)
    np.testing.assert_allclose(rescaled / 2.0, path / path[0, 0])


def test_historical_outside_the_history_is_an_input_error(ton):
    with pytest.raises(InputError, match="horizon_days"):
        paths.historical_paths(ton, "2026-01-01", 365)


def test_rolling_has_one_path_per_start_date(ton):
    horizon = 200
    rolled, starts = paths.rolling_paths(ton, horizon, start_price=1.5)
    assert rolled.shape == (len(ton) - horizon, horizon + 1)
    assert len(starts) == rolled.shape[0]
    np.testing.assert_allclose(rolled[:, 0], 1.5)
    # path i is the history from starts[i] rescaled: same relative moves
    i = 123
    real = paths.historical_paths(ton, starts[i], horizon)[0]
    np.testing.assert_allclose(rolled[i], 1.5 * real / real[0])
    with pytest.raises(InputError, match="horizon_days"):
        paths.rolling_paths(ton, len(ton) + 5)


def test_default_start_price_is_the_latest_close(ton):
    model = paths.fit_gbm(ton)
    assert model.start_price == ton.iloc[-1]
    sample = model.sample(3, 10, np.random.default_rng(0))
    np.testing.assert_array_equal(sample[:, 0], ton.iloc[-1])


def test_gaps_in_the_history_are_a_data_error(ton):
    with pytest.raises(DataError, match="consecutive"):
        paths.log_returns(ton.drop(ton.index[100]))


@pytest.mark.parametrize("method", ["bootstrap", "gbm", "garch"])
def test_same_seed_same_numbers(ton, method):
    model = paths.fit_model(method, ton, start_price=2.0)
    a = model.sample(50, 40, np.random.default_rng(7))
    b = model.sample(50, 40, np.random.default_rng(7))
    c = model.sample(50, 40, np.random.default_rng(8))
    assert a.shape == (50, 41)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.all(np.isfinite(a)) and np.all(a > 0)
    np.testing.assert_array_equal(a[:, 0], 2.0)


def test_bootstrap_block_length_comes_from_arch(ton):
    model = paths.fit_bootstrap(ton)
    expected = optimal_block_length(np.diff(np.log(ton.to_numpy())))["stationary"].iloc[0]
    assert model.block_length == pytest.approx(max(expected, 1.0))


def test_bootstrap_indices_follow_the_stationary_scheme():
    returns = np.random.default_rng(1).normal(size=500)
    model = paths.BootstrapModel(log_returns=returns, block_length=8.0, start_price=1.0)
    index = model.sample_indices(400, 250, np.random.default_rng(2))
    assert index.min() >= 0 and index.max() < 500
    # a block continues with the next day (wrapping at the end of the sample)...
    continues = index[1:] == (index[:-1] + 1) % 500
    # ...and a new one starts each day with probability 1/8 (a new start can coincide with the
    # continuation with probability 1/500)
    p_new = 1 / 8 * (1 - 1 / 500)
    n = continues.size
    assert abs((1 - continues.mean()) - p_new) < 4 * np.sqrt(p_new * (1 - p_new) / n)


def test_bootstrap_keeps_mean_and_variance_within_sampling_error(ton):
    model = paths.fit_bootstrap(ton)
    data = model.log_returns
    n_paths, horizon = 400, 365
    sampled = np.diff(np.log(model.sample(n_paths, horizon, np.random.default_rng(3))), axis=1).ravel()
    # standard errors with dependence: roughly n / block_length independent blocks
    n_eff = sampled.size / max(model.block_length, 1.0)
    var = data.var()
    se_mean = np.sqrt(var / n_eff)
    kurtosis = np.mean((data - data.mean()) ** 4) / var ** 2
    se_var = var * np.sqrt((kurtosis - 1) / n_eff)
    assert abs(sampled.mean() - data.mean()) < 4 * se_mean
    assert abs(sampled.var() - var) < 4 * se_var


def test_gbm_log_returns_have_the_given_moments():
    model = paths.GbmModel(drift_annual=0.3, vol_annual=0.8, start_price=2.0)
    n, horizon = 2000, 365
    sample = model.sample(n, horizon, np.random.default_rng(4))
    log_growth = np.log(sample[:, -1] / sample[:, 0])
    t = horizon / 365
    mean, sd = (0.3 - 0.5 * 0.8 ** 2) * t, 0.8 * np.sqrt(t)
    assert abs(log_growth.mean() - mean) < 4 * sd / np.sqrt(n)
    assert abs(log_growth.std(ddof=1) / sd - 1) < 4 * np.sqrt(1 / (2 * (n - 1)))
    daily = np.diff(np.log(sample), axis=1)
    assert abs(daily.std() - 0.8 / np.sqrt(365)) < 0.01 * 0.8 / np.sqrt(365)


def test_gbm_estimates_from_the_window(ton):
    window = 365
    model = paths.fit_gbm(ton, window_days=window, drift_annual="historical")
    r = np.diff(np.log(ton.to_numpy()))[-window:]
    s = r.std(ddof=1)
    assert model.vol_annual == pytest.approx(s * np.sqrt(365))
    assert model.drift_annual == pytest.approx((r.mean() + s * s / 2) * 365)
    assert model.drift_source.startswith("historical")
    neutral = paths.fit_gbm(ton, window_days=window)          # the default: zero drift, same volatility
    assert (neutral.drift_annual, neutral.vol_annual) == (0.0, model.vol_annual)
    assert neutral.drift_source.startswith("zero")
    given = paths.fit_gbm(ton, drift_annual=0.0, vol_annual=0.5)
    assert (given.drift_annual, given.vol_annual) == (0.0, 0.5)


def test_garch_simulation_keeps_the_unconditional_variance():
    # percent returns: long-run variance omega / (1 - alpha - beta) = 0.1 / 0.05 = 2
    model = paths.GarchModel(mu=0.05, omega=0.1, alpha=0.1, beta=0.85, nu=8.0, first_variance=2.0, start_price=1.0,
                             drift_annual=None)    # historical: the fitted constant mean
    returns = 100 * model.sample_returns(4000, 60, np.random.default_rng(5))
    assert returns.mean() == pytest.approx(0.05, abs=0.02)
    assert returns.var() == pytest.approx(2.0, rel=0.05)
    # volatility clusters: squared returns are autocorrelated, and tails are fat
    sq = returns ** 2
    lag1 = np.corrcoef(sq[1:].ravel(), sq[:-1].ravel())[0, 1]
    assert lag1 > 0.05
    assert np.mean((returns - returns.mean()) ** 4) / returns.var() ** 2 > 3.5


def test_garch_fit_recovers_parameters_of_an_arch_simulation():
    params = np.array([0.05, 0.2, 0.1, 0.85, 6.0])  # mu, omega, alpha, beta, nu
    model = arch_model(None, mean="Constant", vol="GARCH", p=1, q=1)
    model.distribution = StudentsT(seed=np.random.default_rng(11))
    simulated = model.simulate(params, 4000)
    prices = pd.Series(np.exp(np.cumsum(simulated["data"].to_numpy() / 100)),
                       index=pd.date_range("2015-01-01", periods=4000, freq="D"))
    model = paths.fit_garch(prices)
    assert model.alpha + model.beta == pytest.approx(0.95, abs=0.04)
    assert model.nu == pytest.approx(6.0, rel=0.4)
    assert model.first_variance > 0
    assert 0 < model.vol_forecast_annual(30) < 2


def test_garch_variance_cap_stops_an_explosive_model():
    # alpha + beta = 1.1: without a cap the variance grows without bound along the paths
    explosive = paths.GarchModel(mu=0.0, omega=0.5, alpha=0.3, beta=0.8, nu=5.0, first_variance=4.0, start_price=1.0,
                                 drift_annual=None)
    capped = dataclasses.replace(explosive, max_variance=25.0)      # 5 % a day at most
    free = 100 * explosive.sample_returns(20000, 120, np.random.default_rng(3))
    held = 100 * capped.sample_returns(20000, 120, np.random.default_rng(3))
    assert free[-1].std() > 50.0
    # unit-variance shocks: no day's spread across paths exceeds the cap (up to sampling error)
    assert held.std(axis=1).max() < 1.1 * 5.0
    assert held.std(axis=1)[-1] > 0.8 * 5.0       # and the cap is reached, not undercut


def test_garch_fit_caps_variance_at_the_worst_fitted_day(ton):
    model = paths.fit_garch(ton, drift="historical")
    assert model.first_variance <= model.max_variance < np.inf
    returns = 100 * paths.log_returns(ton)
    # the worst fitted day is of the order of the largest squared move on record
    assert model.max_variance < 2 * np.max(returns ** 2)
    # on these seeds the uncapped model sends a path to ~1e11 times the start; the capped one stays
    # within the range a fat-tailed coin can plausibly travel in half a year
    capped = model.sample(2000, 180, np.random.default_rng(1)) / model.start_price
    uncapped = dataclasses.replace(model, max_variance=np.inf).sample(2000, 180, np.random.default_rng(1))
    assert (uncapped / model.start_price).max() > 1e6
    assert capped.max() < 1e3
    assert 0.5 < capped[:, -1].mean() < 5.0


def test_bad_sizes_are_input_errors():
    model = paths.GbmModel(0.0, 0.5, 1.0)
    with pytest.raises(InputError, match="paths"):
        model.sample(0, 10, np.random.default_rng(0))
    with pytest.raises(InputError, match="horizon_days"):
        model.sample(5, 0, np.random.default_rng(0))


def test_bootstrap_log_growth_in_one_pass_equals_walk_gather_cumsum():
    # the fused kernel gives the bits of the three steps it replaces, from the same generator state
    returns = np.random.default_rng(2).normal(0, 0.04, 300)
    model = paths.BootstrapModel(log_returns=returns, block_length=3.7, start_price=2.0)
    fused = model.sample_log_growth(57, 90, np.random.default_rng(8))
    steps = paths.log_growth_from_returns(returns[model.sample_indices(57, 90, np.random.default_rng(8))])
    np.testing.assert_array_equal(fused, steps)


def test_garch_fit_is_kept_in_the_cache_and_read_back_without_arch(ton, tmp_path):
    import json
    import subprocess
    import sys

    fresh = paths.fit_garch(ton, cache_dir=tmp_path, use_cache=False)
    assert not (tmp_path / "models").exists()
    first = paths.fit_garch(ton, cache_dir=tmp_path)                  # fits and keeps the numbers
    kept = list((tmp_path / "models").glob("garch_*.json"))
    assert len(kept) == 1 and first == fresh
    assert paths.fit_garch(ton, cache_dir=tmp_path) == fresh          # read back: the same floats
    # another window is another fit, another file
    other = paths.fit_garch(ton, window_days=400, cache_dir=tmp_path)
    assert other != fresh and len(list((tmp_path / "models").glob("garch_*.json"))) == 2
    # a fresh process reads it back without importing arch
    code = ("import sys; from analysis.market.prices import daily_closes; from analysis.sim import paths; "
            f"m = paths.fit_garch(daily_closes('ton'), cache_dir={str(tmp_path)!r}); "
            "print(m.alpha, 'arch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert float(out[0]) == fresh.alpha and out[1] == "False"
    # a damaged file is fitted again and replaced
    kept[0].write_text("{not json")
    assert paths.fit_garch(ton, cache_dir=tmp_path) == fresh
    assert json.loads(kept[0].read_text())["alpha"] == fresh.alpha
