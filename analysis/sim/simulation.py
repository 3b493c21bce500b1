"""Run a scenario's treasury policies over many TON price paths and collect their outcomes.

``simulate`` ties the layers together: a price scenario generator (:mod:`analysis.sim.paths`), the
economics engine's income on those paths (:func:`analysis.econ.ledger.path_income`), the policies
(:mod:`analysis.sim.strategies`) and the per-path metrics (:mod:`analysis.sim.risk`). Random paths are
drawn and processed in chunks so memory stays bounded whatever the number of paths. Each block of
:data:`PATH_BLOCK` paths draws from its own stream, the ``b``-th child of
``numpy.random.SeedSequence(seed)``, and a chunk is a whole number of blocks, as many as fit
:data:`CHUNK_BYTES` per ``[days, paths]`` array (at most :data:`CHUNK_PATHS` paths): so the
numbers depend on the seed only -- not on the chunk width (chosen from the horizon) nor on how
many threads run the chunks (every core by default; numpy and the compiled scan release the GIL).
Each chunk's policies are evaluated in one compiled pass (:mod:`analysis.sim.kernels`).

Neutral by default (docs/risk.md): random paths have zero drift unless ``drift`` says otherwise;
perp funding is the record where there is one and ``[treasury] funding_rate_annual`` (default 0)
elsewhere; ``usd_pegged`` pegs the USD price per token at the paths' start price. ``notes`` says
which drift, funding and peg each run used.

pandas is not imported for the common run (issue 20: its import was about 0.3 s of a CLI run): random
paths of a scenario in USD with ``[treasury] funding`` "historical" or "fixed" read the closes and the
funding record from plain files into numpy arrays (:func:`analysis.market.latest.plain_daily_closes`,
:func:`analysis.market.funding.plain_daily_funding`; the same merge and arithmetic as the frames) and
fit from them. Dated paths, another currency, ``funding = "bootstrap"`` and any file the plain readers
do not take read frames as before. ``COCOON_ECON_SIMULATE_PANDAS=1`` (internal, for tests and
benchmarks) always takes the frames.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np

from analysis.core.errors import InputError
from analysis.core.plaincsv import NotPlain
from analysis.core.units import DAYS_PER_YEAR
from analysis.econ.bounds import check_argument
from analysis.econ.costs import hardware_terminal_usd
from analysis.econ.ledger import (
    PathIncome,
    check_usd_fx_index,
    path_income,
    payouts_day_major,
    pegged_payout_factors,
    uses_usd_prices,
)
from analysis.econ.scenario import Scenario, price_asset
from analysis.market.funding import (
    PlainFunding,
    annualised,
    funding_rates_per_day,
    historical_mean_rate_per_day,
    joint_returns_and_funding,
    plain_daily_funding,
    recorded_on,
)
from analysis.market.latest import PlainCloses, plain_daily_closes
from analysis.sim import paths as pathgen
from analysis.sim.budget import check_run_budget
from analysis.sim.fxleg import FxLeg, fit_fx_leg, recorded_index
from analysis.sim.kernels import scan_policies
from analysis.sim.risk import PathOutcomes, summarise
from analysis.sim.strategies import (
    STRATEGY_NAMES,
    USD_PEGGED,
    VOL_WINDOW_DAYS,
    Flows,
    Market,
    TreasuryParams,
    check_strategy_names,
    pegged_terms,
    policy_terms,
    realised_option_vol,
    realised_option_vol_from_log,
)

if TYPE_CHECKING:
    import pandas as pd

#: Set to 1 to read the closes and the funding record as pandas frames always (internal: the tests
#: and benchmarks compare the two routes with it).
PANDAS_ROUTE_ENV = "COCOON_ECON_SIMULATE_PANDAS"

CHUNK_PATHS = 8192   # the widest chunk
PATH_BLOCK = 1024    # paths per random stream; a chunk is a whole number of blocks
# Bytes of one float64 [days + 1, paths] array of a chunk: 8 blocks (8,192 paths) up to 365 days,
# one block at 1,825 days (measured there: 0.85x the time and a third of the memory of 8,192).
CHUNK_BYTES = 24 * 2 ** 20
_R = TypeVar("_R")
OPTION_VOL_SOURCES = ("realised", "garch")


_SUMMARY_THREADS_FROM = 20_000   # paths; below it a thread pool costs more than the percentiles


@dataclass
class Simulation:
    """Outcomes of every policy on the same price paths.

    ``outcomes[name]`` holds per-path ``net_usd``, ``payback_day``, ``max_drawdown_usd``;
    ``positions[name]`` the ``[P, D+1]`` cumulative position and ``price_paths`` the paths, kept
    only with ``keep_paths=True``. The positions are transposed views of day-major ``[D+1, P]``
    arrays (Fortran-ordered ``[P, D+1]``): the same numbers, without a transposing copy.
    """

    scenario: str
    method: str
    seed_entropy: int | None
    n_paths: int
    horizon_days: int
    start_price: float
    strategies: list[str]
    outcomes: dict[str, PathOutcomes]
    positions: dict[str, np.ndarray] | None = None
    price_paths: np.ndarray | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    #: ``[P, D+1]`` X per USD over the scenario's rate beside each kept path (a run in another
    #: currency whose network prices in US dollars; :mod:`analysis.sim.fxleg`), else ``None``
    usd_fx_index: np.ndarray | None = None

    def summary(self, workers: int | None = None) -> dict[str, dict]:
        """:func:`analysis.sim.risk.summarise` of each policy, keyed by name; the policies on ``workers``
        threads (default: every core) when there are many paths (numpy's partitions release the GIL)."""
        names = list(self.strategies)
        if self.n_paths < _SUMMARY_THREADS_FROM or len(names) < 2:
            return {name: summarise(self.outcomes[name]) for name in names}
        summaries = map_chunks(lambda k: summarise(self.outcomes[names[k]]), len(names), workers)
        return dict(zip(names, summaries))


@dataclass(frozen=True)
class _Setup:
    scenario: Scenario
    pegged: Scenario
    strategies: list[str]
    params: TreasuryParams
    horizon_days: int
    hardware_end_usd: float
    fixed_flows: Flows | None          # path-independent income (fixed_token pricing)
    expected: PathIncome               # on the flat forecast path (hedge sizing)
    pegged_flat: PathIncome            # of the pegged scenario on that path (its costs)
    option_vol: float | None
    keep_paths: bool
    peg_note: str = ""
    index_0: float | None = None        # the X/USD index on day 0 when the USD prices follow X/USD
    pegged_costs: Flows | None = None   # the pegged income's costs (COCOON: what the scan's pegged kind needs)
    peg_factors: tuple[float, ...] | None = None   # ledger.pegged_payout_factors of the pegged scenario (COCOON)


def simulate(scenario: Scenario, method: str = "bootstrap", n_paths: int = 2000, horizon_days: int | None = None,
             seed: int | None = None, strategies: list[str] | None = None, *,
             closes: pd.DataFrame | PlainCloses | None = None,
             start_price: float | None = None, window_days: int | None = None, drift: str | float = "zero",
             drift_annual: float | None = None, vol_annual: float | None = None, option_vol: str = "realised",
             keep_paths: bool = False, cache_dir: str | Path | None = None, workers: int | None = None,
             chunk_paths: int | None = None, price_paths: np.ndarray | None = None,
             funding_daily: pd.DataFrame | PlainFunding | None = None, usd_fx_index: np.ndarray | None = None,
             draws: DrawCache | None = None) -> Simulation:
    """Simulate the scenario's treasury policies over TON price paths.

    Parameters
    ----------
    method : ``historical`` (the real path from ``[finance] start``, at real prices unless
        ``start_price``), ``rolling`` (every historical start date, rescaled to ``start_price``,
        default the latest close), ``bootstrap``, ``gbm`` or ``garch`` (``n_paths`` random paths
        from the latest close or ``start_price``).
    horizon_days : default ``[finance] horizon_days``.
    strategies : names from :data:`analysis.sim.strategies.STRATEGY_NAMES` (default: all).
    window_days : fit the random models on the last ``window_days`` returns only (default: all).
    drift : of the random paths: ``"zero"`` (default, ``E[S_t] = S_0``), ``"historical"`` (estimated
        from the returns) or an annual number (see :mod:`analysis.sim.paths`); ``drift_annual``,
        when given, is that number.
    vol_annual : GBM volatility instead of the estimate.
    option_vol : ``realised`` (each path's trailing 30-day volatility) or ``garch`` (the GARCH
        forecast of the next 30 days at the start) -- before ``[treasury] vol_premium``.
    keep_paths : keep the price paths and every policy's position array (for charts).
    workers : threads the chunks of paths run on (default: every core); the numbers do not
        depend on it.
    chunk_paths : paths per chunk, a multiple of :data:`PATH_BLOCK` (default: from the horizon,
        :func:`chunk_width`); the numbers do not depend on it.
    price_paths : already drawn paths ``[P, D+1]`` (e.g. ``price_paths`` of a ``keep_paths=True``
        run) instead of drawing: one draw serves several variants of a scenario (funding, fees,
        strategies). ``method`` then only labels them; ``n_paths``, ``seed`` and the model are unused
        and ``horizon_days`` must be ``D`` or ``None``.
    usd_fx_index : with ``price_paths`` in a scenario in another currency, the X-per-USD index beside
        them (``usd_fx_index`` of the ``keep_paths=True`` run that drew them); without it the
        network's US-dollar prices stay at the rate of ``[finance] start`` on the given paths.
    draws : a :class:`DrawCache` kept between calls: a call that draws exactly the random chunks an
        earlier call drew (the same model, seed, paths, horizon, X/USD leg...) takes them from it
        instead of drawing again, bit for bit the same; a sweep's cells on the same paths use one.
    closes, funding_daily : the price history (:func:`~analysis.market.prices.daily_closes`) and the
        daily funding (:func:`~analysis.market.funding.daily_funding` of the recorded payments) to use
        instead of reading them from the cache (a sweep reads them once and ships them to its workers);
        or as the arrays of :func:`~analysis.market.latest.plain_daily_closes` and
        :func:`~analysis.market.funding.plain_daily_funding` (made frames for a run that needs them).

    ``[treasury] funding = "bootstrap"`` (random paths, ``bootstrap`` method only) draws the paths from
    the days with both a TON return and a funding record, each day's funding with its return.
    """
    if method not in pathgen.METHODS:
        raise InputError(f"method = {method!r} is not known; use one of {', '.join(pathgen.METHODS)}")
    if option_vol not in OPTION_VOL_SOURCES:
        raise InputError(f"option_vol = {option_vol!r} is not known; use realised or garch")
    if drift_annual is not None:
        drift = drift_annual
    pathgen.resolve_drift(drift)
    names = check_strategy_names(list(strategies) if strategies is not None else list(STRATEGY_NAMES))
    if len(set(names)) != len(names):
        raise InputError("strategies: a strategy is listed twice; list each once")
    horizon = scenario.finance.horizon_days if horizon_days is None else horizon_days
    if int(horizon) != horizon or horizon < 1:
        raise InputError(f"horizon_days = {horizon} must be a whole number of days, at least 1")
    if int(n_paths) != n_paths or n_paths < 1:
        raise InputError(f"paths = {n_paths} must be a whole number, at least 1")
    if window_days is not None:
        check_argument("--window-days", window_days)  # arch cannot fit 3 returns
    numeric_drift = drift if isinstance(drift, (int, float)) and not isinstance(drift, bool) else None
    for flag, value in (("--start-price", start_price), ("--drift-annual", numeric_drift),
                        ("--vol-annual", vol_annual)):
        check_argument(flag, value)
    if method not in ("historical", "rolling") and price_paths is None:  # before reading prices or fitting (issue 13)
        _check_budget(int(n_paths), int(horizon), len(names), workers, keep_paths)
    plain = plain_route(scenario, method)
    if isinstance(closes, PlainCloses) and not plain:   # given as arrays to a run that indexes them by day
        closes = closes.to_frame()
    if isinstance(funding_daily, PlainFunding) and not plain:   # joined by day (funding = "bootstrap")
        funding_daily = funding_daily.to_frame()
    if closes is None:  # TON for COCOON, RENDER for a Render scenario
        closes = _read_closes(scenario, cache_dir, plain)
    series = pathgen.close_series(closes)
    try:
        params = TreasuryParams.from_config(scenario.treasury)
    except InputError as exc:
        raise InputError(f"{scenario.origin}: {exc}") from None
    returns = pathgen.log_returns(series)
    notes: dict[str, Any] = {}
    if _in_currency(closes):
        # The FX risk the paths carry: TON/USD and X/USD of the same days (analysis.market.fx).
        from analysis.market.fx import joint_return_stats

        notes["fx"] = joint_return_stats(closes, window_days if method in ("bootstrap", "gbm", "garch") else None)
    funding_mode = params.funding
    random_method = method not in ("historical", "rolling")
    if scenario.network.name != "cocoon" and funding_mode != "fixed":
        # Only TON funding is on record; a RENDER perp hedge runs at the fixed rate (issue 7).
        notes["funding_note"] = (f"no RENDER funding history on record: perp hedge at funding_rate_annual "
                                 f"{params.funding_rate_annual:+.1%}/year")
        funding_mode = "fixed"
    if funding_mode == "bootstrap" and not random_method:
        # a dated path has its own record: the joint distribution's draw is what happened
        notes["funding_note"] = "funding = bootstrap on dated paths: the record of the paths' own days"
        funding_mode = "historical"
    if funding_mode == "bootstrap" and method != "bootstrap":
        raise InputError(f"{scenario.origin}: [treasury] funding = \"bootstrap\" resamples recorded funding with "
                         f"the TON returns of the same days, which the {method} generator does not draw; use "
                         "--method bootstrap, or funding = \"historical\" or \"fixed\"")
    daily = None
    if funding_mode != "fixed":
        daily = _read_funding(cache_dir, plain) if funding_daily is None else funding_daily
    joint = None

    seed_seq = np.random.SeedSequence(seed)
    model: Any = None   # a fitted pathgen.PathModel (the bootstrap's indices are used for funding = bootstrap)
    if price_paths is not None:
        if funding_mode == "bootstrap":
            raise InputError(f"{scenario.origin}: [treasury] funding = \"bootstrap\" draws each day's funding with "
                             "its return, which given price_paths do not carry; draw the paths in the same call")
        all_paths = _given_paths(price_paths, horizon_days)
        horizon = all_paths.shape[1] - 1
        first_price = float(all_paths[0, 0])
        n_total = all_paths.shape[0]
        dates = None
        history = returns[-VOL_WINDOW_DAYS:]
        notes["price_paths"] = "given (drawn before the call)"
        notes["drift"] = "the given paths' own (drawn before the call)"
    elif not random_method:
        import pandas as pd  # dated paths are indexed by day

        if method == "historical":
            start = pd.Timestamp(scenario.finance.start)
            _check_history_span(series, start, horizon, scenario.origin)
            all_paths = pathgen.historical_paths(series, start, horizon, start_price)
            dates = pathgen.historical_dates(start, horizon)
            history = _history_before(returns, series, [start])
            notes["start"] = f"{start:%Y-%m-%d}"
        else:
            all_paths, starts = pathgen.rolling_paths(series, horizon, start_price, window_days)
            dates = (starts.to_numpy().astype("datetime64[D]")[:, None] + np.arange(horizon))
            history = _history_before(returns, series, starts)
            notes["first_start"], notes["last_start"] = f"{starts[0]:%Y-%m-%d}", f"{starts[-1]:%Y-%m-%d}"
        first_price = float(all_paths[0, 0])
        n_total = all_paths.shape[0]
        model = None
        notes["drift"] = "the recorded path(s): no drift assumed"
    else:
        if funding_mode == "bootstrap":
            import pandas as pd  # the joint record is a frame: funding = "bootstrap" takes the pandas route

            joint = joint_returns_and_funding(series, daily)
            if len(joint) < 2 * VOL_WINDOW_DAYS:
                raise InputError(f"[treasury] funding = \"bootstrap\": only {len(joint)} days have both a TON return "
                                 "and a funding record; use funding = \"historical\" or \"fixed\"")
            fit_on = pd.Series(np.exp(np.concatenate([[0.0], np.cumsum(joint["log_return"].to_numpy())])),
                               index=pd.date_range("2000-01-01", periods=len(joint) + 1, freq="D"))
            model = pathgen.fit_bootstrap(fit_on, pathgen.close_values(series)[-1] if start_price is None else start_price,
                                          drift=drift)
            notes["funding_bootstrap_days"] = len(joint)
        else:
            model = pathgen.fit_model(method, series, start_price, window_days, drift, vol_annual, cache_dir=cache_dir)
        first_price = model.start_price
        n_total = int(n_paths)
        dates = None
        history = returns[-VOL_WINDOW_DAYS:]
        if isinstance(model, pathgen.BootstrapModel):  # what fit_model gives for "bootstrap"
            notes["model"] = {"block_length": model.block_length, "returns": len(model.log_returns),
                              "start_price": model.start_price, "drift_annual": model.drift_annual}
        else:  # GbmModel, GarchModel: dataclasses of the fitted parameters
            notes["model"] = dataclasses.asdict(cast(Any, model))
        drift_annual = model.drift_annual
        if drift_annual is None:   # GARCH with drift = "historical": its fitted constant mean, per year of log return
            drift_annual = float(model.mu) * DAYS_PER_YEAR / 100.0
        notes["drift_annual"] = drift_annual
        notes["drift"] = f"{_drift_text(drift_annual)}, {model.drift_source}"

    # The network's US-dollar prices in another currency follow X/USD day by day (analysis.sim.fxleg).
    fx_leg: FxLeg | None = None
    recorded_fx: np.ndarray | None = None
    if usd_fx_index is not None:   # checked whether or not this run needs it
        if price_paths is None:
            raise InputError("usd_fx_index goes with price_paths; leave it out when the paths are drawn here")
        given_fx = check_usd_fx_index(usd_fx_index, all_paths.shape)
    if (scenario.currency != "USD" and _in_currency(closes)
            and (uses_usd_prices(scenario) or USD_PEGGED in names)):
        rate = scenario.fx_per_usd
        assert not isinstance(series, PlainCloses)   # closes in another currency are a frame
        if price_paths is not None:
            if usd_fx_index is not None:
                recorded_fx = given_fx
                notes["usd_fx"] = (f"the network's US-dollar prices follow the {scenario.currency} per US dollar index "
                                   "given with the paths")
            else:
                notes["usd_fx"] = (f"given paths without their {scenario.currency} per US dollar index: the network's "
                                   f"US-dollar prices at the ECB rate of [finance] start ({rate:.6g} {scenario.currency}"
                                   " per US dollar)")
        elif method == "historical":
            row = series.index.get_indexer([pd.Timestamp(scenario.finance.start) - pd.Timedelta(days=1)])
            recorded_fx = recorded_index(closes, series, row, horizon, rate, rescale_to_latest=False)
        elif method == "rolling":
            rows = series.index.get_indexer(starts) - 1
            recorded_fx = recorded_index(closes, series, rows, horizon, rate, rescale_to_latest=True)
        else:
            fx_leg = fit_fx_leg(model, closes, series, rate, window_days=window_days, drift=drift,
                                joint_index=None if joint is None else joint.index, currency=scenario.currency)
            notes["usd_fx"] = fx_leg.note
        if recorded_fx is not None and "usd_fx" not in notes:
            notes["usd_fx"] = (f"the network's US-dollar prices follow {scenario.currency} per US dollar day by "
                               "day: the recorded ECB rates of the paths' days"
                               + (", as moves from the latest fixing" if method == "rolling" else ""))
    index_0 = fx_leg.index_0 if fx_leg is not None else (float(recorded_fx[0, 0]) if recorded_fx is not None else None)

    # One plan for every kind of path: the run's budget, then chunks of whole path blocks.
    _check_budget(n_total, horizon, len(names), workers, keep_paths)
    width = _check_chunk_paths(chunk_paths, horizon)
    if chunk_paths is None:
        width = balanced_width(width, n_total, workers)
    chunks = [(i, min(i + width, n_total)) for i in range(0, n_total, width)]

    setup = _make_setup(scenario, names, params, horizon, first_price, option_vol, series, window_days, keep_paths,
                        index_0, cache_dir)
    notes["usd_pegged"] = setup.peg_note
    # [D], or [P, D] for rolling paths (each has its own dates)
    if funding_mode == "fixed":
        funding = funding_rates_per_day(params.funding_rate_annual, horizon)
    else:
        funding = funding_rates_per_day("historical", horizon, dates=dates, daily=daily,
                                        fallback_rate_annual=params.funding_rate_annual)
    streams = seed_seq.spawn(-(-n_total // PATH_BLOCK)) if model is not None else []
    joint_rates = None if joint is None else joint["rate_per_day"].to_numpy()

    wants_vol = setup.option_vol is None and any(n in ("put_protection", "collar") for n in names)
    draw_key = None
    if draws is not None and model is not None:
        # every input of a chunk's draw (paths, options' volatility, X/USD leg, joint funding)
        draw_key = _draw_key(model, seed_seq, n_total, horizon, chunks, fx_leg, joint_rates,
                             history if wants_vol else None)
        draws.start(draw_key)

    def run_chunk(k: int) -> tuple[dict[str, PathOutcomes], dict[str, np.ndarray], np.ndarray | None,
                                   np.ndarray | None]:
        lo, hi = chunks[k]
        vol: float | np.ndarray | None = setup.option_vol
        rates = funding if funding.ndim == 1 else funding[lo:hi]
        fx_index = None if recorded_fx is None else recorded_fx[lo:hi]
        drawn = None if draw_key is None else draws.get(draw_key, k)   # type: ignore[union-attr]
        if drawn is not None:   # this chunk as an earlier call drew it
            chunk_paths, kept_vol, fx_index, kept_rates = drawn
            vol = kept_vol if wants_vol else vol
            rates = kept_rates if joint_rates is not None else rates
        elif model is not None:
            fx_log = None
            if joint_rates is not None:   # each day's funding rides with its return, block by block
                growth, rates, fx_log = _sample_joint_blocks(model, lo, hi, horizon, streams, joint_rates, fx_leg)
            elif fx_leg is not None and fx_leg.kind == "bootstrap":   # TON/X and X/USD of the same days
                growth, fx_log = _sample_pair_blocks(model, lo, hi, horizon, streams, fx_leg)
            else:
                growth = sample_blocks(model, lo, hi, horizon, streams)
                if fx_leg is not None:
                    fx_log = _sample_fx_blocks(fx_leg, growth, lo, hi, streams)
            if fx_log is not None:
                fx_index = np.exp(fx_log, out=fx_log).T
            if wants_vol:  # each path's realised volatility, from the log prices before they are exponentiated
                vol = realised_option_vol_from_log(growth, horizon, history)
            chunk_paths = pathgen.prices_from_log_growth(model.start_price, growth)
            if draw_key is not None:
                draws.put(draw_key, k, (chunk_paths, vol if wants_vol else None, fx_index,   # type: ignore[union-attr]
                                        rates if joint_rates is not None else None))
        else:
            chunk_paths = all_paths[lo:hi]
            if wants_vol:
                vol = realised_option_vol(chunk_paths, history if history.ndim == 1 else history[lo:hi])
        market = Market(funding_rate_per_day=rates, option_vol_annual=vol)
        return _run_policies(setup, chunk_paths, market, fx_index)

    results = map_chunks(run_chunk, len(chunks), workers)

    # strategy by strategy, dropping each chunk's arrays once joined: not all of them twice at once
    outcomes = {name: PathOutcomes.concat([r[0].pop(name) for r in results]) for name in names}
    positions = kept_paths = kept_fx = None
    if keep_paths:
        # Day-major underneath ([D+1, P], as the kernel wrote them), shown [P, D+1] by a transposed view:
        # no copy for one chunk, and fans across paths (risk.fan) read whole days contiguously.
        positions = {name: (results[0][1][name] if len(results) == 1 else
                            np.concatenate([r[1][name] for r in results], axis=1)).T for name in names}
        kept_paths = np.concatenate([r[2] for r in results])
        if results and results[0][3] is not None:
            kept_fx = np.concatenate([r[3] for r in results])
    notes.update(_funding_notes(funding_mode, params.funding_rate_annual, daily, dates, joint))
    return Simulation(scenario=scenario.name, method=method, seed_entropy=cast(int, seed_seq.entropy) if model is not None else None,
                      n_paths=n_total, horizon_days=horizon, start_price=first_price, strategies=names,
                      outcomes=outcomes, positions=positions, price_paths=kept_paths, notes=notes,
                      usd_fx_index=kept_fx)


def _given_paths(price_paths: np.ndarray, horizon_days: int | None) -> np.ndarray:
    paths = np.asarray(price_paths, dtype=np.float64)
    if paths.ndim != 2 or paths.shape[0] < 1 or paths.shape[1] < 2:
        raise InputError(f"price_paths: shape {paths.shape} is not [paths, days + 1] with at least one day")
    if horizon_days is not None and paths.shape[1] - 1 != horizon_days:
        raise InputError(f"price_paths hold {paths.shape[1] - 1} days but horizon_days = {horizon_days}; "
                         "leave horizon_days out or give the paths' horizon")
    if not np.all(np.isfinite(paths)) or not np.all(paths > 0):
        raise InputError("price_paths: every price must be a positive finite number of USD")
    return paths


class DrawCache:
    """The random chunks of one draw, kept for the next :func:`simulate` call that draws the same.

    A sweep's cells on the same paths (``[simulation] same_paths``) differ in costs, fees or
    strategies, not in their draw, which is 40-60 % of a large simulation; with one cache the
    first cell draws and the others take its chunks. Holds one draw (a call with another key
    empties it) and at most ``max_bytes`` of arrays (chunks past that are drawn each time). The
    arrays are kept read-only, so a policy cannot change what the next call reads. Thread-safe:
    a get returns only what was stored under the same key.
    """

    def __init__(self, max_bytes: int = 256 * 2 ** 20) -> None:
        import threading

        self.max_bytes = int(max_bytes)
        self.hits = 0            # chunks taken from the cache
        self.stored = 0          # chunks stored
        self._key: str | None = None
        self._chunks: dict[int, tuple] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def start(self, key: str) -> None:
        """A run with ``key`` begins: keep what it drew before, else empty the cache."""
        with self._lock:
            if key != self._key:
                self._key, self._chunks, self._bytes = key, {}, 0

    def get(self, key: str, k: int) -> tuple | None:
        with self._lock:
            found = self._chunks.get(k) if key == self._key else None
            self.hits += found is not None
            return found

    def put(self, key: str, k: int, arrays: tuple) -> None:
        size = sum(a.nbytes for a in arrays if isinstance(a, np.ndarray))
        with self._lock:
            if key != self._key or k in self._chunks or self._bytes + size > self.max_bytes:
                return
            for a in arrays:
                if isinstance(a, np.ndarray):
                    a.flags.writeable = False
            self._chunks[k] = arrays
            self._bytes += size
            self.stored += 1


def _draw_key(model: Any, seed_seq: np.random.SeedSequence, n_total: int, horizon: int, chunks: list,
              fx_leg: FxLeg | None, joint_rates: np.ndarray | None, vol_history: np.ndarray | None) -> str:
    """A digest of everything a chunk's draw depends on (pickled: frozen dataclasses and arrays)."""
    import hashlib
    import pickle

    parts = (type(model).__name__, model, seed_seq.entropy, seed_seq.spawn_key, n_total, horizon, chunks,
             PATH_BLOCK, fx_leg, joint_rates, vol_history)
    return hashlib.sha256(pickle.dumps(parts, protocol=5)).hexdigest()


def chunk_width(horizon_days: int) -> int:
    """Paths per chunk at ``horizon_days``: the whole blocks of :data:`PATH_BLOCK` paths whose
    ``[days + 1, paths]`` float64 array fits :data:`CHUNK_BYTES`, at least one block, at most
    :data:`CHUNK_PATHS` paths."""
    blocks = CHUNK_BYTES // (PATH_BLOCK * (int(horizon_days) + 1) * 8)
    return PATH_BLOCK * int(min(max(blocks, 1), max(CHUNK_PATHS // PATH_BLOCK, 1)))


def balanced_width(width: int, n_paths: int, workers: int | None = None) -> int:
    """At most ``width`` paths per chunk, in whole blocks of :data:`PATH_BLOCK`, so that the chunks come
    in a multiple of the threads and as even as whole blocks allow: each thread gets the same work.

    100,000 paths in chunks of 8,192 were 13 chunks, so one of two threads ran 7 of them (at best
    1.74x one thread's speed); 14 chunks of 7,168 give each thread 7. The numbers do not depend on
    the chunks (each block of paths has its own stream), only the time does.
    """
    threads = int(workers or default_workers())
    blocks = -(-int(n_paths) // PATH_BLOCK)
    widest = max(width // PATH_BLOCK, 1)
    if threads <= 1 or blocks <= 1:
        return width

    def busiest(w: int) -> int:   # blocks the busiest thread runs with chunks of w blocks
        chunks = -(-blocks // w)
        return -(-chunks // threads) * w

    # at least half the widest (each chunk costs a few ms of Python), unless there are so few blocks that
    # each thread's share is less (5 blocks on 2 threads: 3 + 2, not 4 + 1); of those the widest within
    # 3 % of the best balance (fewer, larger chunks: less overhead)
    widths = range(min(-(-widest // 2), -(-blocks // threads)), widest + 1)
    best = min(busiest(w) for w in widths)
    return PATH_BLOCK * max(w for w in widths if busiest(w) <= 1.03 * best)


def _check_chunk_paths(chunk_paths: int | None, horizon_days: int) -> int:
    if chunk_paths is None:
        return chunk_width(horizon_days)
    if int(chunk_paths) != chunk_paths or chunk_paths < PATH_BLOCK or chunk_paths % PATH_BLOCK:
        raise InputError(f"chunk_paths = {chunk_paths} must be a whole multiple of {PATH_BLOCK} paths")
    return int(chunk_paths)


def sample_blocks(model: pathgen.PathModel, lo: int, hi: int, horizon_days: int,
                  streams: list[np.random.SeedSequence]) -> np.ndarray:
    """Day-major log growth ``[days + 1, hi - lo]`` of paths ``lo..hi`` (``lo`` on a block boundary):
    each block of :data:`PATH_BLOCK` paths drawn from its own stream ``streams[b]``, written into its
    columns of the chunk's array (no joining copy)."""
    out = np.empty((horizon_days + 1, hi - lo))
    for b_lo in range(lo, hi, PATH_BLOCK):
        model.sample_log_growth(min(b_lo + PATH_BLOCK, hi) - b_lo, horizon_days,
                                np.random.default_rng(streams[b_lo // PATH_BLOCK]), out=out, col0=b_lo - lo)
    return out


def _sample_joint_blocks(model: pathgen.BootstrapModel, lo: int, hi: int, horizon_days: int,
                         streams: list[np.random.SeedSequence], joint_rates: np.ndarray, fx_leg: FxLeg | None
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """:func:`sample_blocks` for ``funding = "bootstrap"``: the log growth and, ``[paths, days]``, the
    funding of the same sampled days (and, with ``fx_leg``, the log X/USD index of those days)."""
    growth, rates, fx = [], [], []
    for b_lo in range(lo, hi, PATH_BLOCK):
        rng = np.random.default_rng(streams[b_lo // PATH_BLOCK])
        index = model.sample_indices(min(b_lo + PATH_BLOCK, hi) - b_lo, horizon_days, rng)
        growth.append(pathgen.log_growth_from_returns(model.log_returns[index]))
        rates.append(joint_rates[index])
        if fx_leg is not None:
            assert fx_leg.returns is not None
            fx.append(pathgen.log_growth_from_returns(fx_leg.returns[index]) + np.log(fx_leg.index_0))
    fx_log = None if fx_leg is None else _join(fx)
    return _join(growth), np.ascontiguousarray(_join(rates).T), fx_log


def _join(parts: list[np.ndarray]) -> np.ndarray:
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


def _sample_pair_blocks(model: pathgen.PathModel, lo: int, hi: int, horizon_days: int,
                        streams: list[np.random.SeedSequence], fx_leg: FxLeg) -> tuple[np.ndarray, np.ndarray]:
    """:func:`sample_blocks` of a bootstrap and the log X/USD index of the same resampled days."""
    assert isinstance(model, pathgen.BootstrapModel) and fx_leg.returns is not None
    growth, fx = [], []
    for b_lo in range(lo, hi, PATH_BLOCK):
        rng = np.random.default_rng(streams[b_lo // PATH_BLOCK])
        g, f = model.sample_log_growth_pair(min(b_lo + PATH_BLOCK, hi) - b_lo, horizon_days, rng, fx_leg.returns)
        f += np.log(fx_leg.index_0)
        growth.append(g)
        fx.append(f)
    return _join(growth), _join(fx)


def fx_stream(stream: np.random.SeedSequence) -> np.random.SeedSequence:
    """The X/USD draws' stream of a path block: the first child of the block's stream (what
    ``stream.spawn(1)[0]`` gives), built without changing ``stream``."""
    return np.random.SeedSequence(stream.entropy, spawn_key=(*stream.spawn_key, 0), pool_size=stream.pool_size)


def _sample_fx_blocks(fx_leg: FxLeg, growth: np.ndarray, lo: int, hi: int,
                      streams: list[np.random.SeedSequence]) -> np.ndarray:
    """The log X/USD index ``[days + 1, hi - lo]`` beside the day-major TON/X log growth of paths
    ``lo..hi``, each block from its stream's first child (:func:`fx_stream`)."""
    parts = [fx_leg.log_index(growth[:, b_lo - lo:min(b_lo + PATH_BLOCK, hi) - lo],
                              np.random.default_rng(fx_stream(streams[b_lo // PATH_BLOCK])))
             for b_lo in range(lo, hi, PATH_BLOCK)]
    return _join(parts)


def plain_route(scenario: Scenario, method: str) -> bool:
    """Whether a run reads its closes and funding record without pandas (the module docstring): random
    paths, the scenario in USD, funding "historical" or "fixed" (files the plain readers refuse aside)."""
    return (method in ("bootstrap", "gbm", "garch") and scenario.currency == "USD"
            and scenario.treasury.funding != "bootstrap" and os.environ.get(PANDAS_ROUTE_ENV, "") != "1")


def _read_closes(scenario: Scenario, cache_dir: str | Path | None, plain: bool) -> pd.DataFrame | PlainCloses:
    """The scenario's price history: arrays from plain files when ``plain`` and they are, else the frame of
    :func:`~analysis.market.prices.daily_closes` (TON/X closes in another currency: every model then
    resamples or fits the TON/X returns, the TON/USD and X/USD moves of the same days; docs/currency.md)."""
    cache = None if cache_dir is None else str(cache_dir)
    if plain:
        try:
            return plain_daily_closes(price_asset(scenario), cache)
        except NotPlain:
            pass   # a file only pandas reads as the frames do: the frames' route, with its numbers or errors
    from analysis.market.prices import daily_closes

    return daily_closes(price_asset(scenario), cache_dir=cache, currency=scenario.currency)


def _read_funding(cache_dir: str | Path | None, plain: bool) -> pd.DataFrame | PlainFunding:
    """The daily funding record: :func:`~analysis.market.funding.plain_daily_funding` when ``plain`` and the
    files are, else :func:`~analysis.market.funding.daily_funding` of the recorded payments."""
    if plain:
        try:
            return plain_daily_funding(cache_dir)
        except NotPlain:
            pass
    from analysis.market.funding import daily_funding, read_funding

    return daily_funding(read_funding(cache_dir))


def _in_currency(closes: Any) -> bool:
    """Closes converted to another currency (a frame with ``fx_per_usd``; never the plain arrays)."""
    return not isinstance(closes, PlainCloses) and "fx_per_usd" in getattr(closes, "columns", ())


def _drift_text(drift_annual: float) -> str:
    return f"{drift_annual:+.1%}/year"


def _funding_notes(mode: str, fallback: float, daily: pd.DataFrame | PlainFunding | None, dates,
                   joint: pd.DataFrame | None
                   ) -> dict[str, object]:
    """What the perp hedge's funding was, for every output (``funding`` is the sentence)."""
    out: dict[str, object] = {"funding_mode": mode, "funding_rate_annual": fallback}
    if mode == "fixed":
        out["funding"] = f"fixed {fallback:+.1%}/year every day ([treasury] funding_rate_annual)"
        return out
    assert daily is not None
    out["funding_record_days"] = len(daily)
    out["funding_record_mean_annual"] = float(annualised(historical_mean_rate_per_day(daily))) if len(daily) else None
    if mode == "bootstrap":
        assert joint is not None
        mean = float(annualised(joint["rate_per_day"].mean()))
        out["funding"] = (f"bootstrap: recorded daily funding resampled with the TON returns of the same "
                          f"{len(joint)} days (their mean {mean:+.1%}/year); the price paths come from those days")
        return out
    if dates is None:
        covered = 0.0
    else:
        covered = float(np.mean(~np.isnan(recorded_on(daily, dates))))
    out["funding_recorded_fraction"] = covered
    out["funding"] = (f"historical: the record on {covered:.0%} of the path days ({len(daily)} days on record), "
                      f"{fallback:+.1%}/year on the others ([treasury] funding_rate_annual)")
    return out


def _check_budget(n_paths: int, horizon: int, n_strategies: int, workers: int | None, keep_paths: bool) -> None:
    """Refuse a run that would not fit in memory or time, before any path is drawn (issue 13)."""
    n_chunks = -(-n_paths // CHUNK_PATHS)
    check_run_budget(n_paths, horizon, n_strategies, min(int(workers or default_workers()), n_chunks), keep_paths)


def default_workers() -> int:
    """Threads the chunks run on by default: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def map_chunks(run_chunk: Callable[[int], _R], n_chunks: int, workers: int | None = None) -> list[_R]:
    """``run_chunk(k)`` for every chunk ``k``, in order, on ``workers`` threads (default: every core).

    numpy's array operations and the compiled kernels release the GIL, so chunks run side by
    side; each chunk has its own seed, so the numbers do not depend on the number of threads.
    """
    if workers is not None and (int(workers) != workers or workers < 1):
        raise InputError(f"workers = {workers} must be a whole number of threads, at least 1")
    workers = min(int(workers or default_workers()), n_chunks)
    if workers <= 1:
        return [run_chunk(k) for k in range(n_chunks)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run_chunk, range(n_chunks)))


def _check_history_span(series: pd.Series, start: pd.Timestamp, horizon: int, origin: str) -> None:
    import pandas as pd

    first, last = series.index[0], series.index[-1]
    if start - pd.Timedelta(days=1) < first or start > last:
        raise InputError(f"{origin}: [finance] start = {start:%Y-%m-%d} is outside the TON price history "
                         f"({first + pd.Timedelta(days=1):%Y-%m-%d} .. {last:%Y-%m-%d}); choose a start inside it")
    most = (last - start).days + 1
    if horizon > most:
        raise InputError(f"horizon_days = {horizon} runs past the last TON close ({last:%Y-%m-%d}) from "
                         f"[finance] start = {start:%Y-%m-%d}; use --horizon-days {most} or less, or an earlier start")


def _history_before(returns: np.ndarray, series: pd.Series, starts) -> np.ndarray:
    """The 30 daily log returns before each start day (``[n]`` for one start, else ``[P, n]``).

    Start days too early to have 30 returns before them use the first 30 of the history.
    """
    import pandas as pd

    index = series.index
    positions = index.get_indexer(pd.DatetimeIndex(starts))  # row of day 1 of each path
    # returns[j] is the move from close j to close j+1, so the last return known before day 1's
    # close (row r) is returns[r - 2] (close r-2 -> r-1, column 0 of the path).
    last = np.maximum(positions - 1, VOL_WINDOW_DAYS)
    window = np.stack([returns[e - VOL_WINDOW_DAYS:e] for e in last])
    return window[0] if len(starts) == 1 else window


def pegged_usd_per_m(scenario: Scenario, start_price: float) -> tuple[float, str]:
    """The USD price per million adjusted tokens of the ``usd_pegged`` comparison, and where it came from.

    The scenario's ``[pricing] usd_per_m_adjusted_tokens`` when its file sets it; otherwise the
    network's TON price per token at the paths' start price, so that on day 0 the pegged network
    pays what the real one does and only the risk transfer differs (a flat path gives
    ``sell_on_payout`` exactly). COCOON's worker earns ``worker_fee / price_per_token`` of it.
    """
    if "pricing.usd_per_m_adjusted_tokens" in scenario.given_keys:
        usd = scenario.pricing.usd_per_m_adjusted_tokens
        if scenario.currency != "USD":   # held in the run's currency at the start day's rate (parse_scenario)
            # "US dollars" in words: printed text turns the unit USD into the run's currency
            return usd, (f"{usd / scenario.fx_per_usd:.4f} US dollars per million adjusted tokens ([pricing] "
                         f"usd_per_m_adjusted_tokens) = {usd:.4f} {scenario.currency} at the ECB rate of "
                         f"{scenario.finance.start}")
        return usd, f"{usd:.4f} USD per million adjusted tokens ([pricing] usd_per_m_adjusted_tokens)"
    usd = scenario.network.price_per_token_nanoton / 1e9 * start_price * 1e6
    return usd, (f"{usd:.4f} USD per million adjusted tokens: {scenario.network.price_per_token_nanoton} nanoTON at "
                 f"the start price {start_price:.4f} USD/TON")


def _make_setup(scenario: Scenario, names: list[str], params: TreasuryParams, horizon: int, start_price: float,
                option_vol: str, series: pd.Series | PlainCloses, window_days: int | None, keep_paths: bool,
                index_0: float | None = None, cache_dir: str | Path | None = None) -> _Setup:
    flat = np.full((1, horizon + 1), start_price)
    # the flat forecast: today's TON/X price and today's X/USD rate held
    flat_fx = None if index_0 is None else np.full(horizon + 1, index_0)
    expected = path_income(scenario, flat, usd_fx_index=flat_fx)
    # market resale at the horizon, less the resale forgone on day 0 when owned (issue 14)
    hardware_end = hardware_terminal_usd(scenario.hardware, horizon)
    fixed = None
    if scenario.pricing.mode == "fixed_token" and scenario.network.name == "cocoon":
        # TON per token does not depend on the TON price: the same income on every path
        # (MODEL_INTERFACE.md: ton_earned depends on the path only in usd_pegged/repriced).
        fixed = Flows.from_income(expected, hardware_end, expected=expected)
    vol = None
    if option_vol == "garch" and any(n in ("put_protection", "collar") for n in names):
        vol = pathgen.fit_garch(series, window_days=window_days, cache_dir=cache_dir).vol_forecast_annual(30)
    peg_note = ""
    pricing = dataclasses.replace(scenario.pricing, mode="usd_pegged")
    if scenario.network.name == "cocoon":
        usd, peg_note = pegged_usd_per_m(scenario, start_price)
        if index_0 is not None and "pricing.usd_per_m_adjusted_tokens" not in scenario.given_keys:
            # derived in X at the paths' day 0, i.e. at that day's X/USD: in the engine's unit (X at
            # the scenario's rate, which the index is taken over) it is usd / index_0
            usd /= index_0
        pricing = dataclasses.replace(pricing, usd_per_m_adjusted_tokens=usd)
    pegged = dataclasses.replace(scenario, pricing=pricing)
    pegged_flat = path_income(pegged, flat, usd_fx_index=flat_fx)
    cocoon = scenario.network.name == "cocoon"
    return _Setup(scenario=scenario, pegged=pegged, strategies=names, params=params, horizon_days=horizon,
                  hardware_end_usd=hardware_end, fixed_flows=fixed, expected=expected, pegged_flat=pegged_flat,
                  option_vol=vol, keep_paths=keep_paths, peg_note=peg_note, index_0=index_0,
                  # once for every chunk: the pegged policy's costs and payout rule do not depend on the paths
                  pegged_costs=Flows.from_income(pegged_flat, hardware_end, collapse=False) if cocoon else None,
                  peg_factors=pegged_payout_factors(pegged) if cocoon else None)


def _pegged_flows(setup: _Setup, price_paths: np.ndarray, usd_fx_index: np.ndarray | None) -> Flows:
    """The usd_pegged income's flows on these paths, for sell_on_payout: a COCOON scenario in another
    currency (the network's dollar prices through ``usd_fx_index``) or a Render one."""
    if setup.pegged.network.name == "cocoon":
        # the engine's payouts computed day-major in place (path_income's numbers)
        payout, unpaid = payouts_day_major(
            setup.pegged, np.ascontiguousarray(price_paths.T),
            usd_fx_index=None if usd_fx_index is None else np.ascontiguousarray(usd_fx_index.T))
        income = dataclasses.replace(setup.pegged_flat, payout_ton=payout.T, unpaid_ton=unpaid)
    else:  # Render's income model lives in analysis.econ.render, reached through path_income
        income = path_income(setup.pegged, price_paths, usd_fx_index=usd_fx_index)
    return Flows.from_income(income, setup.hardware_end_usd, collapse=False)


def _run_policies(setup: _Setup, price_paths: np.ndarray, market: Market, usd_fx_index: np.ndarray | None = None
                  ) -> tuple[dict[str, PathOutcomes], dict[str, np.ndarray], np.ndarray | None, np.ndarray | None]:
    flows = setup.fixed_flows
    # The paths are day-major underneath ([D+1, P] transposed); so are the engine's outputs then,
    # which the policies use without a copy.
    engine_paths = price_paths
    if flows is None and any(n != USD_PEGGED for n in setup.strategies):
        flows = Flows.from_income(path_income(setup.scenario, engine_paths, usd_fx_index=usd_fx_index),
                                  setup.hardware_end_usd,
                                  expected=setup.expected)
    outcomes, positions = {}, {}
    terms = []
    shared: dict[str, Any] = {}   # what the policies on these paths compute alike (the options' puts), once
    for name in setup.strategies:
        if name != USD_PEGGED:
            assert flows is not None  # made above whenever a policy other than the pegged one runs
            terms.append(policy_terms(name, price_paths, flows, setup.params, market, shared=shared))
        elif setup.pegged_costs is not None and setup.peg_factors is not None and usd_fx_index is None:
            # the network carries the risk: each payout of the pegged income sold on its day, paid and
            # sold inside the scan from each close (no [D, P] payouts: path_income's numbers, the same bits)
            terms.append(pegged_terms(price_paths, setup.pegged_costs, setup.params, setup.peg_factors))
        else:
            terms.append(policy_terms("sell_on_payout", price_paths, _pegged_flows(setup, price_paths, usd_fx_index),
                                      setup.params, market))
    # every policy in one compiled pass (analysis.sim.kernels), positions kept only for charts
    scanned, kept = scan_policies(terms, keep_positions=setup.keep_paths)
    outcomes = dict(zip(setup.strategies, scanned))
    if kept is not None:  # day-major [D+1, P] each: simulate shows them transposed
        positions = {name: kept[k] for k, name in enumerate(setup.strategies)}
    kept_fx = None if usd_fx_index is None or not setup.keep_paths else np.ascontiguousarray(usd_fx_index)
    return outcomes, positions, (np.ascontiguousarray(price_paths) if setup.keep_paths else None), kept_fx
