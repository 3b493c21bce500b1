"""One draw serves several scenario variants (issue 20): simulate(..., draws=DrawCache()) takes the
chunks an earlier call drew, bit for bit the numbers of a call that draws them again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.econ.currency import scenario_in_currency
from analysis.econ.scenario import load_scenario, scenario_with
from analysis.sim.simulation import DrawCache, simulate

REPO = Path(__file__).resolve().parent.parent
HGX = REPO / "data" / "scenarios" / "hgx_h100_8x_colo.toml"
STRATEGIES = ["hold", "sell_on_payout", "perp_hedge", "put_protection", "collar", "usd_pegged"]


def _same(a, b):
    for name in a.strategies:
        for field in ("net_usd", "payback_day", "max_drawdown_usd"):
            np.testing.assert_array_equal(getattr(a.outcomes[name], field), getattr(b.outcomes[name], field))


@pytest.fixture(scope="module")
def base():
    return scenario_with(load_scenario(HGX), {"finance.horizon_days": 120})


@pytest.mark.parametrize("method", ["bootstrap", "gbm"])
def test_a_variant_takes_the_draw_and_gets_the_numbers_of_its_own_draw(base, method):
    kw = dict(method=method, n_paths=3000, seed=5, strategies=STRATEGIES, chunk_paths=1024)
    cache = DrawCache()
    first = simulate(base, draws=cache, **kw)
    assert cache.stored == 3 and cache.hits == 0
    _same(first, simulate(base, **kw))                       # storing changes nothing
    dearer = scenario_with(base, {"operations.electricity_usd_per_kwh": 0.3, "treasury.trading_fee_bps": 25})
    reused = simulate(dearer, draws=cache, **kw)
    assert cache.hits == 3
    _same(reused, simulate(dearer, **kw))                    # the variant's own draw: the same bits
    assert reused.outcomes["hold"].net_usd.mean() < first.outcomes["hold"].net_usd.mean()


def test_another_seed_method_or_size_draws_again(base):
    cache = DrawCache()
    simulate(base, "gbm", 2048, seed=1, strategies=["hold"], draws=cache)
    for kw in (dict(seed=2), dict(n_paths=1024), dict(method="bootstrap"), dict(horizon_days=60)):
        args = dict(method="gbm", n_paths=2048, seed=1, strategies=["hold"]) | kw
        before = cache.hits
        out = simulate(base, draws=cache, **args)
        assert cache.hits == before
        _same(out, simulate(base, **args))
    # wanting the options' volatility is another draw's inputs too
    before = cache.hits
    simulate(base, "gbm", 2048, seed=1, strategies=["collar"], draws=cache)
    assert cache.hits == before


def test_a_small_cache_keeps_what_fits_and_the_rest_is_drawn(base):
    kw = dict(method="bootstrap", n_paths=4096, seed=3, strategies=STRATEGIES, chunk_paths=1024)
    cache = DrawCache(max_bytes=2 * 1024 * 121 * 8 + 1024 * 8 * 10)    # about two chunks of prices
    simulate(base, draws=cache, **kw)
    assert 1 <= cache.stored < 4
    _same(simulate(base, draws=cache, **kw), simulate(base, **kw))


def test_eur_and_joint_funding_draws_are_kept_whole(base):
    eur = scenario_in_currency(base, "EUR")
    kw = dict(method="bootstrap", n_paths=2048, seed=9, strategies=["usd_pegged", "perp_hedge"], keep_paths=True,
              chunk_paths=2048)   # one chunk (on two threads the default would be two of 1,024)
    cache = DrawCache()
    simulate(eur, draws=cache, **kw)
    again = simulate(eur, draws=cache, **kw)
    fresh = simulate(eur, **kw)
    assert cache.hits == 1
    _same(again, fresh)
    np.testing.assert_array_equal(again.usd_fx_index, fresh.usd_fx_index)
    joint = scenario_with(base, {"treasury.funding": "bootstrap"})
    kw = dict(method="bootstrap", n_paths=1024, seed=9, strategies=["perp_hedge"])
    simulate(joint, draws=cache, **kw)
    before = cache.hits
    _same(simulate(joint, draws=cache, **kw), simulate(joint, **kw))
    assert cache.hits == before + 1


def test_kept_chunks_are_read_only(base):
    cache = DrawCache()
    simulate(base, "gbm", 1024, seed=1, strategies=["hold"], draws=cache)
    paths = cache.get(cache._key, 0)[0]
    with pytest.raises(ValueError):
        paths[0, 0] = 1.0
