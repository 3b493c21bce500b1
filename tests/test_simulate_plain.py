"""``simulate`` without pandas (issue 20): random paths of a scenario in USD read the closes and the
funding record from plain files into arrays and fit from them. The arrays equal the frames the pandas
route reads, and the CLI prints byte for byte what the pandas route prints (stdout and stderr), with
and without cached prices and funding, for every random method and the options that reach the fits.
Files the plain readers refuse, another currency and ``funding = "bootstrap"`` take the pandas route
and give its numbers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from analysis.cli.jit_start import kernel_sets
from analysis.core.plaincsv import NotPlain
from analysis.core.resources import SCENARIO_DIR
from analysis.econ.currency import scenario_in_currency
from analysis.econ.scenario import load_scenario
from analysis.market import funding, latest, prices, store
from analysis.sim import paths as pathgen
from analysis.sim import simulation
from analysis.sources.common import find_gaps

SCENARIO = str(SCENARIO_DIR / "hgx_h100_8x_colo.toml")
RENDER = str(SCENARIO_DIR / "render_rtx4090.toml")

# main() in a fresh interpreter; prints its code, stdout, stderr and which heavy modules it loaded
_PROBE = """
import contextlib, io, json, sys
from analysis.cli.main import main
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    code = main(sys.argv[1:])
print(json.dumps([code, out.getvalue(), err.getvalue(),
                  sorted(m for m in ("pandas", "pyarrow", "scipy", "numba", "arch") if m in sys.modules)]))
"""


def _cli(*argv: str, pandas_route: bool = False) -> tuple[int, str, str, list[str]]:
    env = {k: v for k, v in os.environ.items() if k != simulation.PANDAS_ROUTE_ENV}
    if pandas_route:
        env[simulation.PANDAS_ROUTE_ENV] = "1"
    done = subprocess.run([sys.executable, "-W", "error", "-c", _PROBE, "simulate", *argv],
                          capture_output=True, text=True, env=env, check=True)
    code, out, err, heavy = json.loads(done.stdout.splitlines()[-1])
    return code, out, err, heavy


def _kernels_built() -> bool:
    return all(kernels.library() is not None for _, kernels in kernel_sets())


def _both_routes(*argv: str, plain_expected: bool = True) -> tuple[int, str, str]:
    """Run ``simulate *argv`` on both routes; assert the same code, stdout and stderr, and that the plain
    route imported no pandas (nor pyarrow, scipy, arch; numba when the kernels are built)."""
    plain = _cli(*argv)
    frames = _cli(*argv, pandas_route=True)
    assert plain[:3] == frames[:3]
    assert "pandas" in frames[3]
    if plain_expected:
        unwanted = {"pandas", "pyarrow", "scipy", "arch"} | ({"numba"} if _kernels_built() else set())
        assert not unwanted & set(plain[3]), plain[3]
    else:
        assert "pandas" in plain[3]
    return plain[:3]


# --------------------------------------------------------------------------- fixtures: a cache


def _write_prices(cache, asset, source, days, closes, label):
    index = pd.DatetimeIndex(pd.to_datetime(days), name="date")
    frame = pd.DataFrame({"open": closes, "high": np.nan, "low": closes, "close": closes, "volume": 7.25,
                          "source": label}, index=index)
    store.write_prices_csv(frame, store.price_cache_path(asset, source, cache))


def _fill_to_yesterday(cache, asset="ton", seed=0):
    """Cached closes from the snapshot's last day to yesterday: binance has most days, okx the rest
    (and some of binance's, which binance wins), bybit a day both left blank."""
    snap = prices.read_snapshot(asset)
    last = snap.index[-1].date()
    today = dt.datetime.now(dt.UTC).date()
    days = [last + dt.timedelta(days=k) for k in range((today - last).days)]   # last .. yesterday
    rng = np.random.default_rng(seed)
    path = float(snap["close_usd"].iloc[-1]) * np.exp(np.cumsum(rng.normal(0, 0.04, len(days))))
    text = [d.isoformat() for d in days]
    binance = path.copy()
    binance[5] = np.nan                      # left to okx
    binance[9] = np.nan                      # left to okx, which has none either: bybit's
    _write_prices(cache, asset, "binance", text[:-3], binance[:-3], f"binance {asset.upper()}USDT spot")
    okx = path * 1.001
    okx[9] = np.nan
    _write_prices(cache, asset, "okx", text, okx, f"okx {asset.upper()}-USDT")
    _write_prices(cache, asset, "bybit", [text[9]], [path[9] * 0.999], f"bybit {asset.upper()}USDT")


def _write_funding(cache, source, times, rates, hours):
    frame = pd.DataFrame({"time": pd.to_datetime(times, utc=True), "rate": rates, "interval_hours": hours,
                          "source": f"{source} TONUSDT"})
    store.write_funding_csv(frame, store.funding_cache_path(source, cache))


def _funding_cache(cache):
    """binance over part of the vendored history (a cached payment wins) and okx interleaved on the same
    days (two venues a day), with a duplicated time in okx's file."""
    base = pd.Timestamp("2024-04-20T00:00:00Z")
    b_times = [base + pd.Timedelta(hours=4 * k) for k in range(40)]
    _write_funding(cache, "binance", b_times, np.linspace(-3e-4, 5e-4, 40), 4.0)
    o_times = [base + pd.Timedelta(hours=2 + 8 * k) for k in range(15)]
    o_times.insert(3, o_times[3])                       # the same payment twice: the later row wins
    o_rates = np.linspace(2e-4, -1e-4, 16)
    _write_funding(cache, "okx", o_times, o_rates, 8.0)


# --------------------------------------------------------------------------- the arrays equal the frames


@pytest.mark.parametrize("asset", ["ton", "render"])
def test_plain_closes_without_a_cache_equal_daily_closes(isolated_cache, asset):
    plain = latest.plain_daily_closes(asset)
    frame = prices.daily_closes(asset)
    pd.testing.assert_frame_equal(plain.to_frame(), frame, check_exact=True)
    assert plain.to_frame().attrs == frame.attrs and frame.attrs["origin"] == "snapshot"
    assert np.array_equal(pathgen.log_returns(plain), pathgen.log_returns(frame))   # the same bits


def test_plain_closes_merge_the_cache_as_daily_closes_does(isolated_cache):
    _fill_to_yesterday(isolated_cache)
    plain = latest.plain_daily_closes("ton")
    frame = prices.daily_closes("ton")
    pd.testing.assert_frame_equal(plain.to_frame(), frame, check_exact=True)
    assert plain.attrs == frame.attrs and plain.attrs["origin"] == "cache+snapshot"
    assert frame.attrs["days_by_origin"]["cache"] > 200
    # independent: the day binance left blank is okx's, the one both left blank bybit's
    sources = dict(zip(plain.days.astype(str), plain.source))
    last = prices.read_snapshot("ton").index[-1].date()
    assert sources[str(last + dt.timedelta(days=5))] == "okx TON-USDT"
    assert sources[str(last + dt.timedelta(days=9))] == "bybit TONUSDT"
    assert sources[str(last)] == "binance TONUSDT spot"       # the cache wins the snapshot's last day


def test_a_gap_is_reported_as_daily_closes_reports_it(isolated_cache):
    last = prices.read_snapshot("ton").index[-1].date()
    _write_prices(isolated_cache, "ton", "kraken", [(last + dt.timedelta(days=d)).isoformat() for d in (3, 4, 8)],
                  [1.5, 1.25, 1.0], "kraken TONUSD")
    plain = latest.plain_daily_closes("ton")
    frame = prices.daily_closes("ton")
    assert plain.attrs == frame.attrs
    expected = [(last + dt.timedelta(days=1), last + dt.timedelta(days=2)),
                (last + dt.timedelta(days=5), last + dt.timedelta(days=7))]
    assert plain.attrs["gaps"] == [(a.isoformat(), b.isoformat()) for a, b in find_gaps(frame.index)]
    assert find_gaps(frame.index) == expected
    with pytest.raises(Exception) as from_arrays:
        pathgen.close_series(plain)
    with pytest.raises(Exception) as from_frame:
        pathgen.close_series(frame)
    assert str(from_arrays.value) == str(from_frame.value) and str(last + dt.timedelta(days=3)) in str(from_frame.value)


def test_plain_funding_equals_daily_funding_of_the_record(isolated_cache):
    got = funding.plain_daily_funding()
    want = funding.daily_funding(funding.read_funding())
    pd.testing.assert_frame_equal(got.to_frame(), want, check_exact=True)
    # the record of one venue: pandas' own grouped sums give the same bits (pandas >= 3.1 sums sorted
    # groups with numpy.add.reduceat, as daily_of does; earlier ones compensate, equal to the last bit)
    payments = funding.read_funding()
    day = payments["time"].dt.tz_convert("UTC").dt.tz_localize(None).dt.floor("D")
    by_day = payments.assign(date=day).groupby("date").agg(rate=("rate", "sum"), hours=("interval_hours", "sum"))
    np.testing.assert_allclose(want["rate_per_day"].to_numpy(), (by_day["rate"] * 24 / by_day["hours"]).to_numpy(),
                               rtol=1e-14, atol=0)
    # the notes' mean (one function for both routes) is what pandas' Series.mean gave
    assert funding.historical_mean_rate_per_day(got) == want["rate_per_day"].mean()


def test_plain_funding_with_cached_venues_equals_the_frames_and_a_hand_count(isolated_cache):
    _funding_cache(isolated_cache)
    got = funding.plain_daily_funding()
    want = funding.daily_funding(funding.read_funding())
    pd.testing.assert_frame_equal(got.to_frame(), want, check_exact=True)
    # 2024-04-21 by hand: binance's six 4-hour payments (the cache's, not the vendored ones) and okx's
    # three 8-hour ones (of its two 2024-04-21T02:00 rows the later one, o[4], counts)
    b = np.linspace(-3e-4, 5e-4, 40)[6:12]
    o = np.linspace(2e-4, -1e-4, 16)[4:7]
    k = int(np.flatnonzero(got.days == np.datetime64("2024-04-21"))[0])
    assert got.sources[k] == "binance,okx"
    assert got.rate_per_day[k] == pytest.approx((b.sum() * 24 / 24 + o.sum() * 24 / 24) / 2, rel=1e-12)
    assert got.hours_covered[k] == 24.0


def test_a_file_the_plain_readers_refuse_goes_the_pandas_route(isolated_cache):
    last = prices.read_snapshot("ton").index[-1].date()
    path = store.price_cache_path("ton", "okx", isolated_cache)
    path.parent.mkdir(parents=True)
    path.write_text("date,open,high,low,close,volume,source\n"
                    f"{last + dt.timedelta(days=1)},1,1,1,NA,1,okx TON-USDT\n")   # NA: pandas' missing value
    with pytest.raises(NotPlain):
        latest.plain_daily_closes("ton")
    funding_path = store.funding_cache_path("bybit", isolated_cache)
    funding_path.parent.mkdir(parents=True)
    funding_path.write_text("time,rate,interval_hours,source\n2025-01-02 00:00:00+00:00,0.0001,8,bybit TONUSDT\n")
    with pytest.raises(NotPlain):
        funding.plain_daily_funding()
    scenario = load_scenario(SCENARIO)
    kwargs = dict(method="gbm", n_paths=700, horizon_days=40, seed=5)
    read = simulation.simulate(scenario, **kwargs)   # both fall back inside simulate
    given = simulation.simulate(scenario, **kwargs, closes=prices.daily_closes("ton"),
                                funding_daily=funding.daily_funding(funding.read_funding()))
    assert read.summary() == given.summary() and read.notes == given.notes
    assert "(86 days on record)" in read.notes["funding"]   # bybit's payment is a day of its own


@pytest.mark.parametrize("method", ["bootstrap", "gbm", "garch"])
def test_the_library_gives_the_same_outcomes_from_arrays_and_frames(isolated_cache, method):
    _fill_to_yesterday(isolated_cache, seed=2)
    _funding_cache(isolated_cache)
    scenario = load_scenario(SCENARIO)
    kwargs = dict(method=method, n_paths=1500, horizon_days=60, seed=11, keep_paths=True)
    plain = simulation.simulate(scenario, **kwargs, closes=latest.plain_daily_closes("ton"),
                                funding_daily=funding.plain_daily_funding())
    frames = simulation.simulate(scenario, **kwargs, closes=prices.daily_closes("ton"),
                                 funding_daily=funding.daily_funding(funding.read_funding()))
    assert plain.notes == frames.notes and plain.summary() == frames.summary()
    assert np.array_equal(plain.price_paths, frames.price_paths)
    assert plain.notes["funding_record_mean_annual"] == pytest.approx(
        365 * funding.daily_funding(funding.read_funding())["rate_per_day"].mean(), rel=1e-12)


def test_arrays_given_to_a_dated_run_are_indexed_as_a_frame(isolated_cache):
    scenario = load_scenario(SCENARIO)
    kwargs = dict(method="rolling", horizon_days=30)
    plain = simulation.simulate(scenario, **kwargs, closes=latest.plain_daily_closes("ton"))
    frames = simulation.simulate(scenario, **kwargs, closes=prices.daily_closes("ton"))
    assert plain.summary() == frames.summary() and plain.notes == frames.notes


def test_arrays_of_funding_given_to_a_joint_run_are_read_as_a_frame(isolated_cache):
    # funding = "bootstrap" joins the record to the returns by day: given as arrays, it used to raise a
    # TypeError ('PlainFunding' object is not subscriptable) instead of running as with the frame
    usd = load_scenario(SCENARIO)
    joint = dataclasses.replace(usd, treasury=dataclasses.replace(usd.treasury, funding="bootstrap"))
    kwargs = dict(method="bootstrap", n_paths=600, horizon_days=30, seed=3, strategies=["hold", "perp_hedge"])
    plain = simulation.simulate(joint, **kwargs, funding_daily=funding.plain_daily_funding())
    frames = simulation.simulate(joint, **kwargs, funding_daily=funding.daily_funding(funding.read_funding()))
    assert plain.summary() == frames.summary() and plain.notes == frames.notes
    assert plain.notes["funding_bootstrap_days"] >= 60


def test_the_route_is_plain_only_for_random_paths_in_usd_without_joint_funding(monkeypatch):
    usd = load_scenario(SCENARIO)
    assert all(simulation.plain_route(usd, m) for m in ("bootstrap", "gbm", "garch"))
    assert not any(simulation.plain_route(usd, m) for m in ("historical", "rolling"))
    assert not simulation.plain_route(scenario_in_currency(usd, "EUR"), "gbm")
    joint = dataclasses.replace(usd, treasury=dataclasses.replace(usd.treasury, funding="bootstrap"))
    assert not simulation.plain_route(joint, "bootstrap")
    monkeypatch.setenv(simulation.PANDAS_ROUTE_ENV, "1")
    assert not simulation.plain_route(usd, "gbm")


# --------------------------------------------------------------------------- the CLI: the same bytes


@pytest.mark.parametrize("extra", [
    ["--method", "gbm", "--paths", "3000", "--horizon-days", "365", "--seed", "1"],
    ["--method", "gbm", "--paths", "1025", "--horizon-days", "30", "--seed", "77", "--vol-annual", "0.9",
     "--start-price", "2.5"],
    ["--method", "gbm", "--paths", "800", "--horizon-days", "200", "--seed", "3", "--drift", "historical",
     "--strategies", "hold,perp_hedge,collar"],
    ["--method", "bootstrap", "--paths", "2500", "--horizon-days", "120", "--seed", "9", "--utilisation", "observed"],
    ["--method", "bootstrap", "--paths", "900", "--horizon-days", "90", "--seed", "4", "--drift-annual", "0.15",
     "--window-days", "500"],
])
def test_the_cli_prints_the_same_without_pandas(isolated_cache, extra):
    code, out, err = _both_routes("--scenario", SCENARIO, "--json", *extra)
    assert code == 0 and json.loads(out)
    # no cache: the snapshot's close is stale and both routes say so, unless the start price is given
    assert ("days old" in err) == ("--start-price" not in extra)


def test_the_cli_prints_the_same_without_pandas_from_a_fresh_cache(isolated_cache):
    _fill_to_yesterday(isolated_cache, seed=3)
    _funding_cache(isolated_cache)
    code, out, err = _both_routes("--scenario", SCENARIO, "--json", "--method", "bootstrap", "--paths", "1200",
                                  "--horizon-days", "100", "--seed", "8")
    assert code == 0 and "days old" not in err   # the cache's close is yesterday's: no stale warning
    days = len(funding.daily_funding(funding.read_funding()))
    assert days > 85 and f"({days} days on record)" in json.loads(out)["hold"]["assumptions"]["funding"]
    text = _both_routes("--scenario", SCENARIO, "--method", "gbm", "--paths", "500", "--horizon-days", "45",
                        "--seed", "8")
    assert text[0] == 0 and "gbm, 500 path(s) x 45 days" in text[1]


def test_garch_prints_the_same_and_imports_no_arch_once_its_fit_is_cached(isolated_cache):
    argv = ("--scenario", SCENARIO, "--json", "--method", "garch", "--paths", "1500", "--horizon-days", "60",
            "--seed", "2", "--option-vol", "garch")
    fitted = _cli(*argv, pandas_route=True)          # fits (arch) and keeps the fit in the cache
    assert fitted[0] == 0 and "arch" in fitted[3]
    code, out, _ = _both_routes(*argv)
    assert code == 0 and out == fitted[1]


def test_render_prints_the_same_without_pandas(isolated_cache):
    code, out, err = _both_routes("--scenario", RENDER, "--json", "--method", "gbm", "--paths", "600",
                                  "--horizon-days", "50", "--seed", "6")
    assert code == 0 and "RENDER" in err


def test_a_gap_in_the_cache_gives_the_same_one_line_error(isolated_cache):
    last = prices.read_snapshot("ton").index[-1].date()
    _write_prices(isolated_cache, "ton", "kraken", [(last + dt.timedelta(days=3)).isoformat()], [1.5], "kraken TONUSD")
    code, out, err = _both_routes("--scenario", SCENARIO, "--json", "--method", "gbm", "--paths", "100", "--seed", "1")
    assert code != 0 and out == "" and err.strip().splitlines()[-1].startswith("cocoon-econ: error: price history")


def test_fallbacks_print_the_same_as_the_pandas_route(isolated_cache):
    # a cached close pandas reads as missing: the plain reader refuses the file, pandas reads it
    last = prices.read_snapshot("ton").index[-1].date()
    path = store.price_cache_path("ton", "okx", isolated_cache)
    path.parent.mkdir(parents=True)
    path.write_text("date,open,high,low,close,volume,source\n"
                    f"{last + dt.timedelta(days=1)},1,1,1,NA,1,okx TON-USDT\n")
    _both_routes("--scenario", SCENARIO, "--json", "--method", "gbm", "--paths", "300", "--horizon-days", "20",
                 "--seed", "1", plain_expected=False)
    # another currency: TON/EUR closes are a frame (analysis.market.fx)
    code, out, _ = _both_routes("--scenario", SCENARIO, "--json", "--method", "gbm", "--paths", "300",
                                "--horizon-days", "20", "--seed", "1", "--currency", "EUR", plain_expected=False)
    assert code == 0 and json.loads(out)["hold"]["assumptions"]["eur_fx"]   # printed in EUR
