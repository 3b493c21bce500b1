"""Per-strategy outcome metrics across paths, against independent calculations."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.econ.metrics import payback_days
from analysis.sim import risk


def _positions(n: int = 300, days: int = 120, capex: float = 500.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    steps = rng.normal(5.0, 40.0, (n, days))
    return np.concatenate([np.full((n, 1), -capex), -capex + np.cumsum(steps, axis=1)], axis=1)


def _drawdown_brute_force(position: np.ndarray) -> np.ndarray:
    return np.max(np.maximum.accumulate(position, axis=1) - position, axis=1)


@pytest.mark.parametrize("capex", [500.0, 0.0], ids=["capex", "no-capex"])
def test_payback_and_drawdown_match_independent_calculations(capex):
    position = _positions(capex=capex)
    net = position[:, -1] + 123.0
    out = risk.path_outcomes(position, net)
    # the engine's payback rule (analysis.econ.metrics.payback_days) on days 1..D
    np.testing.assert_array_equal(out.payback_day, payback_days(position[:, 1:]))
    assert np.isnan(out.payback_day).any() and (~np.isnan(out.payback_day)).any()
    np.testing.assert_allclose(out.max_drawdown_usd, _drawdown_brute_force(position))
    np.testing.assert_array_equal(out.net_usd, net)


def test_scanning_rows_equals_the_array_version():
    position = _positions(seed=1)
    from_rows = risk.scan_positions(iter(position.T.copy()), hardware_end_usd=50.0)
    from_array = risk.path_outcomes(position, position[:, -1] + 50.0)
    for name in ("net_usd", "payback_day", "max_drawdown_usd"):
        np.testing.assert_array_equal(getattr(from_rows, name), getattr(from_array, name))


def test_cvar_is_the_mean_of_the_worst_five_percent():
    values = np.random.default_rng(2).permutation(np.arange(1.0, 101.0))
    assert risk.cvar(values) == pytest.approx(np.mean([1, 2, 3, 4, 5]))
    assert risk.cvar(np.array([7.0, -3.0])) == -3.0   # at least one value


def test_summary_numbers():
    position = _positions(seed=3)
    net = position[:, -1]
    summary = risk.summarise(risk.path_outcomes(position, net))
    assert summary["mean_usd"] == pytest.approx(net.mean())
    assert summary["p5_usd"] == pytest.approx(np.percentile(net, 5))
    assert summary["p50_usd"] == pytest.approx(np.median(net))
    assert summary["p95_usd"] == pytest.approx(np.percentile(net, 95))
    assert summary["prob_loss"] == pytest.approx(np.mean(net < 0))
    worst = np.sort(net)[:15]  # 5 % of 300
    assert summary["cvar5_usd"] == pytest.approx(worst.mean())
    paid = payback_days(position[:, 1:])
    assert summary["prob_payback"] == pytest.approx(np.mean(~np.isnan(paid)))
    assert summary["payback_days_p50"] == pytest.approx(np.median(paid[~np.isnan(paid)]))
    assert summary["drawdown_worst_usd"] == pytest.approx(_drawdown_brute_force(position).max())
    assert summary["paths"] == 300


def test_no_payback_gives_none():
    position = -np.ones((5, 10))
    summary = risk.summarise(risk.path_outcomes(position, position[:, -1]))
    assert summary["prob_payback"] == 0.0
    assert summary["payback_days_p50"] is None
    assert summary["prob_loss"] == 1.0


def test_fan_percentiles():
    position = _positions(seed=4)
    fan = risk.fan(position)
    assert fan.shape == (5, position.shape[1])
    np.testing.assert_allclose(fan[2], np.median(position, axis=0))
    assert np.all(np.diff(fan, axis=0) >= 0)


def test_concat_keeps_order():
    a = risk.PathOutcomes(np.array([1.0]), np.array([np.nan]), np.array([0.0]))
    b = risk.PathOutcomes(np.array([2.0, 3.0]), np.array([4.0, 5.0]), np.array([1.0, 2.0]))
    both = risk.PathOutcomes.concat([a, b])
    np.testing.assert_array_equal(both.net_usd, [1, 2, 3])
    assert both.n_paths == 3
