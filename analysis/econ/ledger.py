"""Daily TON income and USD costs of a set-up on TON price paths, and the daily ledger.

Price paths are ``ndarray[paths, days + 1]`` float64 TON/USD: column 0 is the close of
the day before day 1, column t (1..D) the close of day t. Day t's TON is valued at
column t; "the previous day's price" (repricing) is column t-1.

Payouts follow COCOON's proxy (``ProxyWorkerInfo::check`` in TelegramMessenger/cocoon
runners/proxy): each worker -- one per GPU (docs/gpu.md) -- is paid on-chain when its
unpaid earnings reach ``payout_threshold_ton`` (``min_worker_payout_sum``, 10 TON). A
payout is modelled as exactly the threshold (the overshoot is at most one request's
earnings), so a worker that earns more than the threshold in a day is paid several
times that day. With ``E_t`` a worker's cumulative earnings after day t and ``T`` the
threshold, the number of payouts up to day t is ``floor(E_t / T)``.

A payout reaches the owner whole: the proxy's wallet attaches the gas (0.7 TON,
``ProxyRunner::worker_payout``) and the proxy contract sends the owner exactly the worker's
part (see :mod:`analysis.chain.payouts`). The worker's node wallet pays the gas of its own
operations -- at most one per payout, its own payout request (``WorkerRunner::proxy_request_payout``,
~0.01 TON, docs/smart-contracts.md): ``onchain_fee_ton`` per payout, an operating cost in TON
topped up from the payouts, so the treasury sells ``payout - gas``. The node wallet must hold
``node_wallet_balance_ton`` (2.1 TON, ``BaseRunner::min_wallet_balance``) per worker before the
worker starts: capital, bought on day 0 at the start price and worth that TON at the horizon.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from analysis.core.errors import DataError, InputError
from analysis.core.units import NANOTON_PER_TON
from analysis.econ.costs import (
    OPEX_KINDS,
    capex_paid_usd,
    depreciation_usd_per_day,
    hardware_resale_usd,
    opex_usd_per_day,
    resale_forgone_usd,
    salvage_usd,
)
from analysis.econ.networks import daily_tokens_per_gpu, usd_fee_factors, worker_nanoton_per_adjusted_token
from analysis.econ.scenario import Scenario

if TYPE_CHECKING:   # pandas only in the real-history ledger below: breakeven (metrics) imports none (issue 20)
    import pandas as pd

#: What each "net" figure of the toolkit counts (docs/glossary.md); outputs name their basis.
NET_BASIS = {
    "ledger": ("ledger net cash: USD from selling payouts less cash opex, capex paid and the node wallets' TON "
               "bought; no unpaid TON, no hardware or node-wallet value, undiscounted"),
    "simulate": ("simulate net USD: the liquidated position at the horizon (cash, capex paid, TON held sold at "
                 "the last close) plus the hardware's market resale value then, less the resale value forgone "
                 "on day 0 when owned; undiscounted"),
    "npv": ("NPV: daily cash discounted at [finance] discount_rate_annual, less the day-0 outlay (capex paid, "
            "resale forgone when owned, node-wallet TON), plus the horizon's unpaid TON, node-wallet TON "
            "and hardware resale value, discounted"),
    "profit": ("profit after depreciation: accounting view per day, income less opex and straight-line "
               "depreciation of capex_usd over life_years to salvage_fraction"),
}

# Tolerance when counting threshold crossings, so that earnings adding up to exactly
# k * threshold in floating point count as k payouts.
_CROSSING_TOL = 1e-9


@dataclass(frozen=True)
class PathIncome:
    """TON income and USD costs of the WHOLE set-up (all GPUs) on P price paths over D days.

    Attributes
    ----------
    ton_earned : ndarray [P, D]
        TON accrued off-chain each day (depends on the path only in usd_pegged/repriced).
    payout_ton : ndarray [P, D]
        TON left to the treasury that day: the payouts, which arrive whole (:attr:`paid_ton`),
        less the node wallet's gas topped up from them (``fee_ton``). 0 on days without payout.
    fee_ton : ndarray [P, D]
        Gas the node wallet spends that day (``onchain_fee_ton`` per payout; an operating cost).
    payouts : ndarray [P, D]
        Number of payouts that day (over all workers).
    unpaid_ton : ndarray [P]
        Earned but not yet paid at the horizon.
    usd_opex : dict[str, ndarray [D]]
        Cash operating costs per day by kind: ``power``, ``colocation``, ``fixed``.
    capex_usd : float
        Cash paid for hardware at day 0 (0 when the hardware is already owned).
    depreciation_usd_per_day : float
        Straight-line depreciation of ``hardware.capex_usd``.
    salvage_usd : float
        Value of the hardware at the end of its life.
    worker_nanoton_per_token : ndarray [P, D]
        What the worker earned per adjusted token each day.
    adjusted_tokens_per_day : float
        Adjusted tokens per day, all GPUs.
    node_wallet_ton : float
        TON locked in the node wallets (all workers): capital bought on day 0, held to the horizon.
    """

    ton_earned: np.ndarray
    payout_ton: np.ndarray
    fee_ton: np.ndarray
    payouts: np.ndarray
    unpaid_ton: np.ndarray
    usd_opex: dict[str, np.ndarray]
    capex_usd: float
    depreciation_usd_per_day: float
    salvage_usd: float
    worker_nanoton_per_token: np.ndarray
    adjusted_tokens_per_day: float
    node_wallet_ton: float = 0.0

    @property
    def n_days(self) -> int:
        return self.ton_earned.shape[1]

    @property
    def paid_ton(self) -> np.ndarray:
        """TON the payouts bring to the owner's wallet ``[P, D]``, whole (what the chain shows)."""
        return self.payout_ton + self.fee_ton

    @property
    def opex_usd_total(self) -> np.ndarray:
        """Cash operating costs per day, all kinds, ``[D]``."""
        return sum((self.usd_opex[k] for k in OPEX_KINDS), np.zeros(self.n_days))


def uses_usd_prices(scenario: Scenario) -> bool:
    """Whether the scenario's income depends on a price the network sets in US dollars: the
    ``usd_pegged``/``repriced`` peg of COCOON, or Render's job price."""
    return scenario.network.name == "render" or scenario.pricing.mode != "fixed_token"


def usd_priced_paths(price_paths: np.ndarray, usd_fx_index: np.ndarray) -> np.ndarray:
    """The prices the income of the network's US-dollar prices is computed on, in another currency.

    A scenario in currency X holds the network's USD prices (the ``usd_pegged``/``repriced`` peg,
    Render's ``job_usd_per_gpu_hour``) converted at ``fx_per_usd``, the ECB rate of ``[finance]
    start`` (:func:`analysis.econ.scenario.parse_scenario`). On day t the network pays
    ``usd / (TON/USD)_t`` TON = ``usd * fx_0 * index_t / (TON/X)_t`` with ``index_t = fx_t / fx_0``
    (X per USD on day t over that rate): the same TON as the engine's ``usd * fx_0 / p`` on
    ``p = (TON/X)_t / index_t``. So the income functions run unchanged on these prices and the
    TON they give is valued at the real TON/X prices; the fiat value of a dollar-priced payout then
    moves with X/USD (docs/currency.md). ``fixed_token`` income does not use the prices at all.
    """
    paths = check_price_paths(price_paths)
    return paths / check_usd_fx_index(usd_fx_index, paths.shape, broadcast=True)


def check_usd_fx_index(usd_fx_index: np.ndarray, shape: tuple[int, ...], *, broadcast: bool = False) -> np.ndarray:
    """``usd_fx_index`` as float64, checked against the price paths' ``shape`` (either orientation);
    with ``broadcast`` a ``[D+1]`` or ``[1, D+1]`` index of ``[P, D+1]`` paths is accepted too.

    Raises
    ------
    InputError
        Another shape, or a value that is not a positive finite ratio of two ECB rates.
    """
    index = np.asarray(usd_fx_index, dtype=float)
    if broadcast and index.ndim == 1:
        index = index[None, :]
    if not (index.shape == tuple(shape) or (broadcast and index.shape == (1, shape[1]))):
        raise InputError(f"usd_fx_index: shape {np.shape(usd_fx_index)} does not match the price paths {tuple(shape)}"
                         + ("; use [paths, days + 1] or [days + 1]" if broadcast else ""))
    if not np.all(np.isfinite(index)) or np.any(index <= 0):
        raise InputError("usd_fx_index: every value must be a positive finite ratio of two ECB rates")
    return index


def check_price_paths(price_paths: np.ndarray, field: str = "price_paths") -> np.ndarray:
    """``price_paths`` as a 2-D float64 array ``[P, D+1]`` of positive finite prices."""
    paths = np.asarray(price_paths, dtype=float)
    if paths.ndim == 1:
        paths = paths[None, :]
    if paths.ndim != 2 or paths.shape[1] < 2 or paths.shape[0] < 1:
        raise InputError(f"{field}: shape {np.shape(price_paths)} is not valid; use [paths, days + 1] with "
                         "at least 1 path and 1 day")
    if not np.all(np.isfinite(paths)) or np.any(paths <= 0):
        raise InputError(f"{field}: prices must be positive and finite (TON/USD)")
    return paths


def path_income(scenario: Scenario, price_paths: np.ndarray,
                worker_fee_by_day: np.ndarray | None = None, *,
                usd_fx_index: np.ndarray | None = None) -> PathIncome:
    """TON earned, payouts, fees and USD costs of ``scenario`` on each price path.

    Vectorised over paths. The number of days D is taken from ``price_paths``
    (``[P, D+1]``), usually ``scenario.finance.horizon_days``. ``worker_fee_by_day`` (``[D]``,
    nanoTON per adjusted token) replaces the scenario's constant fee with the one in force on
    each day (a replay on the chain's parameter history; ``fixed_token`` pricing only).
    ``usd_fx_index`` (``[P, D+1]`` or ``[D+1]``; see :func:`usd_priced_paths`): in a scenario in
    another currency, the network's US-dollar prices follow the dollar day by day.
    """
    if usd_fx_index is not None and uses_usd_prices(scenario):
        price_paths = usd_priced_paths(price_paths, usd_fx_index)
    if scenario.network.name == "render":  # Render Network rules (issue 7): analysis/render.py
        from analysis.econ.render import path_income as render_path_income

        return render_path_income(scenario, price_paths)
    if scenario.network.name != "cocoon":
        raise InputError(f"{scenario.origin}: [network] name = {scenario.network.name!r} is not modelled; "
                         'use name = "cocoon" or "render"')
    paths = check_price_paths(price_paths)
    n_days = paths.shape[1] - 1
    net = scenario.network
    gpus = scenario.hardware.gpus

    tokens = daily_tokens_per_gpu(scenario.workload, net)
    fee_nanoton = worker_nanoton_per_adjusted_token(net, scenario.pricing, paths)  # [P, D]
    if worker_fee_by_day is not None:
        if scenario.pricing.mode != "fixed_token":
            raise InputError(f"{scenario.origin}: the chain's parameter history replaces a fixed fee in TON; "
                             f"[pricing] mode = {scenario.pricing.mode!r} derives the fee from USD instead; use "
                             'mode = "fixed_token" for a replay')
        by_day = np.asarray(worker_fee_by_day, dtype=float)
        if by_day.shape != (n_days,) or not np.all(np.isfinite(by_day)) or np.any(by_day < 0):
            raise InputError(f"worker_fee_by_day: expected {n_days} finite non-negative nanoTON values, got "
                             f"shape {by_day.shape}")
        fee_nanoton = np.broadcast_to(by_day, (paths.shape[0], n_days)).copy()
    earned_per_worker = tokens.adjusted * fee_nanoton / NANOTON_PER_TON  # TON, [P, D]

    # Every worker has the same traffic, so all cross the threshold on the same days.
    threshold = net.payout_threshold_ton
    cumulative = np.cumsum(earned_per_worker, axis=1)
    paid_count = np.floor(cumulative / threshold + _CROSSING_TOL)
    payouts_per_worker = np.diff(paid_count, axis=1, prepend=0.0)
    unpaid_per_worker = np.maximum(cumulative[:, -1] - paid_count[:, -1] * threshold, 0.0)

    opex = opex_usd_per_day(scenario)
    return PathIncome(
        ton_earned=gpus * earned_per_worker,
        payout_ton=gpus * payouts_per_worker * (threshold - net.onchain_fee_ton),
        fee_ton=gpus * payouts_per_worker * net.onchain_fee_ton,
        payouts=gpus * payouts_per_worker,
        unpaid_ton=gpus * unpaid_per_worker,
        usd_opex={kind: np.full(n_days, opex[kind]) for kind in OPEX_KINDS},
        capex_usd=capex_paid_usd(scenario.hardware),
        depreciation_usd_per_day=depreciation_usd_per_day(scenario.hardware),
        salvage_usd=salvage_usd(scenario.hardware),
        worker_nanoton_per_token=fee_nanoton,
        adjusted_tokens_per_day=gpus * tokens.adjusted,
        node_wallet_ton=gpus * net.node_wallet_balance_ton,
    )


def pegged_payout_factors(scenario: Scenario) -> tuple[float, float, float, float, float, float, float, float, float]:
    """The numbers of the ``usd_pegged`` payout rule, in the order of
    :func:`analysis.core.numeric.pegged_payout_rows`'s arguments (``usd_per_token``, nanoTON per TON
    twice, worker share, adjusted tokens per GPU-day, threshold, crossing tolerance, GPUs, TON per
    payout): :func:`payouts_day_major` passes them to that kernel, and the simulation's scan
    (:mod:`analysis.sim.kernels`) pays and sells the pegged income from them as it goes, without
    a ``[D, P]`` payout array. One source, so both give :func:`path_income`'s numbers."""
    net = scenario.network
    if scenario.pricing.mode != "usd_pegged":
        raise InputError(f"{scenario.origin}: pricing mode {scenario.pricing.mode!r} is not usd_pegged")
    # worker_nanoton_per_adjusted_token's usd_pegged numbers, from the same factors
    usd_per_token, share = usd_fee_factors(net, scenario.pricing)
    adjusted = daily_tokens_per_gpu(scenario.workload, net).adjusted
    per_payout = net.payout_threshold_ton - net.onchain_fee_ton   # path_income's payout_ton: less the node's gas
    return (float(usd_per_token), float(NANOTON_PER_TON), float(share), float(NANOTON_PER_TON), float(adjusted),
            float(net.payout_threshold_ton), _CROSSING_TOL, float(scenario.hardware.gpus), float(per_payout))


def payouts_day_major(scenario: Scenario, prices: np.ndarray, block_days: int = 32, *,
                      usd_fx_index: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``payout_ton`` and ``unpaid_ton`` of :func:`path_income`, from day-major prices.

    ``prices`` is ``[D+1, P]`` (C order; ``price_paths.T``). Returns ``payout_ton [D, P]``
    (day-major; ``.T`` is path_income's ``[P, D]``) and ``unpaid_ton [P]``, computed with the
    same operations as :func:`path_income` (so the same numbers) but ``block_days`` days at a
    time in place, which is what a simulation over many paths needs from the engine.
    ``usd_fx_index`` is day-major too (``[D+1, P]``; :func:`usd_priced_paths`).
    """
    if usd_fx_index is not None and uses_usd_prices(scenario):
        # day-major as they are: the same quotients as usd_priced_paths, without transposed copies
        check_price_paths(np.asarray(prices).T)
        prices = np.asarray(prices, dtype=float) / check_usd_fx_index(usd_fx_index, np.shape(prices))
    if scenario.network.name != "cocoon":
        raise InputError(f"{scenario.origin}: [network] name = {scenario.network.name!r} is not modelled yet; "
                         'use name = "cocoon"')
    prices = np.asarray(prices, dtype=float)
    n_days, n_paths = prices.shape[0] - 1, prices.shape[1]
    net = scenario.network
    gpus = scenario.hardware.gpus
    adjusted = daily_tokens_per_gpu(scenario.workload, net).adjusted
    threshold = net.payout_threshold_ton
    per_payout = threshold - net.onchain_fee_ton   # path_income's payout_ton: the payout less the node's gas
    whole = None
    if scenario.pricing.mode == "repriced":   # resets refer to absolute days: one call for all days
        whole = worker_nanoton_per_adjusted_token(net, scenario.pricing, prices.T).T
    # compiled, imported here so the engine's other users do not load the kernels at start-up
    from analysis.core.numeric import payout_rows, pegged_payout_rows

    payout = np.empty((n_days, n_paths))
    cumulative = np.zeros(n_paths)   # a worker's earnings so far
    paid = np.zeros(n_paths)         # its payouts so far
    if scenario.pricing.mode == "usd_pegged":   # the fee from each close inside the kernel: one pass
        pegged_payout_rows(prices, *pegged_payout_factors(scenario), cumulative, paid, payout)
        return payout, gpus * np.maximum(cumulative - paid * threshold, 0.0)
    for lo in range(0, n_days, block_days):
        hi = min(lo + block_days, n_days)
        if whole is None:   # days lo+1..hi use closes lo+1..hi (columns lo..hi of the block)
            fee_nanoton = worker_nanoton_per_adjusted_token(net, scenario.pricing, prices[lo:hi + 1].T).T
        else:
            fee_nanoton = whole[lo:hi]
        payout_rows(np.ascontiguousarray(fee_nanoton, dtype=float), float(NANOTON_PER_TON), float(adjusted),
                    float(threshold), _CROSSING_TOL, float(gpus), float(per_payout), cumulative, paid, payout[lo:hi])
    unpaid = gpus * np.maximum(cumulative - paid * threshold, 0.0)
    return payout, unpaid


# --------------------------------------------------------------------------- sell on payout


def sell_on_payout_usd(income: PathIncome, price_paths: np.ndarray, trading_fee_bps: float) -> np.ndarray:
    """USD proceeds ``[P, D]`` of selling each payout at that day's close, net of the trading fee."""
    paths = check_price_paths(price_paths)
    return income.payout_ton * paths[:, 1:] * (1.0 - trading_fee_bps / 10_000.0)


def net_cash_usd(income: PathIncome, income_usd: np.ndarray) -> np.ndarray:
    """Daily net cash ``[P, D]``: USD income minus cash operating costs (capex excluded)."""
    return np.asarray(income_usd, dtype=float) - income.opex_usd_total[None, :]


def node_wallet_purchase_usd(scenario: Scenario, income: PathIncome, price_paths: np.ndarray) -> np.ndarray:
    """USD ``[P]`` spent on day 0 buying the node wallets' locked TON at the start price
    (column 0), trading fee included: capital, recovered at the horizon."""
    paths = check_price_paths(price_paths)
    fee = scenario.treasury.trading_fee_bps / 10_000.0
    return income.node_wallet_ton * paths[:, 0] * (1.0 + fee)


def initial_outlay_usd(scenario: Scenario, income: PathIncome, price_paths: np.ndarray) -> np.ndarray:
    """What the project ties up on day 0 ``[P]``: capex paid in cash, the resale value forgone
    by running cards already owned, and the node wallets' TON. NPV, IRR and payback start here."""
    return (income.capex_usd + resale_forgone_usd(scenario.hardware)
            + node_wallet_purchase_usd(scenario, income, price_paths))


def terminal_value_usd(scenario: Scenario, income: PathIncome, price_paths: np.ndarray) -> np.ndarray:
    """Value ``[P]`` left at the horizon: the unpaid TON and the node wallets' TON sold at the
    last close (net of the trading fee) plus the hardware's market resale value then
    (:func:`analysis.econ.costs.hardware_resale_usd`; bought or owned alike -- an owned card's
    resale value forgone at day 0 is in :func:`initial_outlay_usd`)."""
    paths = check_price_paths(price_paths)
    fee = scenario.treasury.trading_fee_bps / 10_000.0
    hardware = hardware_resale_usd(scenario.hardware, income.n_days)
    return (income.unpaid_ton + income.node_wallet_ton) * paths[:, -1] * (1.0 - fee) + hardware


# --------------------------------------------------------------------------- one real path


def history_path(closes: pd.Series | pd.DataFrame, start: dt.date, end: dt.date,
                 *, start_field: str = "start", end_field: str = "end") -> pd.Series:
    """The closes from the day before ``start`` through ``end`` (checked: inside the
    history, no missing days). Raises InputError naming the field and the available span,
    DataError when the series has gaps."""
    import pandas as pd

    series = closes["close_usd"] if isinstance(closes, pd.DataFrame) else closes
    series = series.sort_index()
    index = pd.DatetimeIndex(series.index).normalize()
    if len(index) < 2:
        raise DataError("TON price history has fewer than 2 days; run 'cocoon-econ fetch prices'")
    first, last = index[0].date(), index[-1].date()
    span = f"the TON price history covers {first} .. {last}"
    earliest_start = first + dt.timedelta(days=1)
    if start < earliest_start or start > last:
        raise InputError(f"{start_field} = {start} is outside the price history; {span}, so use a start "
                         f"from {earliest_start} to {last}")
    if end < start or end > last:
        raise InputError(f"{end_field} = {end} is not valid; {span}, so use an end from {start} to {last}")
    want = pd.date_range(pd.Timestamp(start) - pd.Timedelta(days=1), pd.Timestamp(end), freq="D")
    window = pd.Series(series.to_numpy(dtype=float), index=index).reindex(want)
    missing = window.index[window.isna().to_numpy()]
    if len(missing):
        raise DataError(f"TON price series has {len(missing)} missing day(s) between {want[0].date()} and "
                        f"{want[-1].date()} (first {missing[0].date()}); refresh it with 'cocoon-econ fetch prices' "
                        "or choose other dates")
    window.index.name = "date"
    return window


def daily_ledger(scenario: Scenario, closes: pd.Series | pd.DataFrame, start: dt.date | None = None,
                 end: dt.date | None = None, *, start_field: str = "start", end_field: str = "end",
                 parameters: pd.DataFrame | None = None) -> pd.DataFrame:
    """The day-by-day ledger of ``scenario`` on a real TON price history.

    Treasury policy: sell each payout at that day's close (``treasury.trading_fee_bps``
    charged on the sale). Capex (unless ``already_owned``) is paid on the first day.

    Parameters
    ----------
    closes : Series or DataFrame
        Daily TON/USD closes indexed by date (``close_usd`` column for a frame), e.g.
        :func:`analysis.market.prices.daily_closes`.
    start, end : date, optional
        First and last day; default ``[finance] start`` and ``horizon_days`` later
        (clipped to the last close available).
    start_field, end_field : str
        How error messages name ``start``/``end`` (e.g. ``"--start"`` from the CLI).
    parameters : DataFrame, optional
        The network's parameters in force on each day, indexed by date with a
        ``worker_fee_per_token`` column in nanoTON
        (:func:`analysis.market.network_demand.parameters_in_force`); the replay then pays each
        day's tokens at that day's fee instead of the scenario's.

    Returns
    -------
    DataFrame indexed by ``date`` with token counts, TON flows (``earned_ton``,
    ``payout_ton``, ``fee_ton``, ``unpaid_ton``, ``sold_ton``, ``wallet_ton``), USD flows
    (``sales_usd``, ``trading_fee_usd``, ``node_gas_usd``, ``power_usd``, ``colocation_usd``,
    ``fixed_usd``, ``capex_usd``, ``node_wallet_usd``, ``net_usd``, ``cumulative_net_usd``: ledger
    net cash, see :data:`NET_BASIS`) and ``depreciation_usd`` / ``profit_usd`` (accrual view: TON
    earned valued at the close, minus opex and straight-line depreciation). ``payout_ton`` is
    whole; ``node_gas_ton`` is the node wallet's gas topped up from it; ``sold_ton`` the rest.
    """
    import pandas as pd

    origin = scenario.origin
    start_field = start_field if start is not None else f"{origin}: [finance] start"
    start = start if start is not None else scenario.finance.start
    series = closes["close_usd"] if isinstance(closes, pd.DataFrame) else closes
    if end is None:
        last = pd.DatetimeIndex(series.index).max().date() if len(series) else start
        end = min(start + dt.timedelta(days=scenario.finance.horizon_days - 1), last)
        if end < start:
            end = start  # history_path reports the start as outside the history
    window = history_path(series, start, end, start_field=start_field, end_field=end_field)
    paths = window.to_numpy(dtype=float)[None, :]
    fee_by_day = None
    if parameters is not None:
        fees = parameters["worker_fee_per_token"].reindex(pd.DatetimeIndex(window.index[1:]))
        if fees.isna().any():
            raise DataError("the parameter history has no worker fee for "
                            f"{fees.index[fees.isna()][0]:%Y-%m-%d}; run 'cocoon-econ chain network' to read it")
        fee_by_day = fees.to_numpy(dtype=float)
    income = path_income(scenario, paths, fee_by_day, usd_fx_index=_ledger_fx_index(scenario, closes, window))
    proceeds = sell_on_payout_usd(income, paths, scenario.treasury.trading_fee_bps)[0]
    close = paths[0, 1:]
    n_days = income.n_days

    tokens = daily_tokens_per_gpu(scenario.workload, scenario.network)
    gpus = scenario.hardware.gpus
    if scenario.network.name == "render":  # paid per epoch, not at a threshold (analysis/render.py)
        unpaid_path = np.maximum(np.cumsum(income.ton_earned[0] - income.paid_ton[0]), 0.0)
    else:
        unpaid_path = _unpaid_by_day(income, gpus, scenario.network.payout_threshold_ton)
    frame = pd.DataFrame(index=pd.DatetimeIndex(window.index[1:], name="date"))
    frame["close_usd"] = close
    frame["output_tokens"] = gpus * tokens.output
    frame["prompt_tokens"] = gpus * tokens.prompt
    frame["cached_prompt_tokens"] = gpus * tokens.cached_prompt
    frame["reasoning_tokens"] = gpus * tokens.reasoning
    frame["adjusted_tokens"] = income.adjusted_tokens_per_day
    frame["worker_nanoton_per_token"] = income.worker_nanoton_per_token[0]
    frame["earned_ton"] = income.ton_earned[0]
    frame["payouts"] = income.payouts[0].astype(int)
    frame["payout_ton"] = income.paid_ton[0]        # whole: the proxy pays the payout's gas
    frame["node_gas_ton"] = income.fee_ton[0]       # the node wallet's own gas, topped up from the payout
    frame["unpaid_ton"] = unpaid_path
    frame["sold_ton"] = income.payout_ton[0]        # payout less the node wallet's gas
    frame["wallet_ton"] = 0.0
    frame["sales_usd"] = proceeds
    frame["trading_fee_usd"] = income.payout_ton[0] * close - proceeds
    frame["node_gas_usd"] = income.fee_ton[0] * close  # operating cost, paid in TON (kept, not sold)
    for kind in OPEX_KINDS:
        frame[f"{kind}_usd"] = income.usd_opex[kind]
    capex = np.zeros(n_days)
    capex[0] = income.capex_usd
    frame["capex_usd"] = capex
    wallet = np.zeros(n_days)
    wallet[0] = node_wallet_purchase_usd(scenario, income, paths)[0]
    frame["node_wallet_usd"] = wallet                # capital: the node wallets' locked TON, bought on day 1
    frame["net_usd"] = proceeds - income.opex_usd_total - capex - wallet
    frame["cumulative_net_usd"] = frame["net_usd"].cumsum()
    frame["depreciation_usd"] = income.depreciation_usd_per_day
    frame["profit_usd"] = income.ton_earned[0] * close - income.opex_usd_total - income.depreciation_usd_per_day
    frame.attrs.update(scenario=scenario.name, start=str(start), end=str(end),
                       unpaid_ton=float(income.unpaid_ton[0]), node_wallet_ton=float(income.node_wallet_ton),
                       net_basis=NET_BASIS["ledger"])
    return frame


def _ledger_fx_index(scenario: Scenario, closes: pd.Series | pd.DataFrame, window: pd.Series) -> np.ndarray | None:
    """The real X-per-USD index of the ledger's days (:func:`usd_priced_paths`), for a scenario in
    another currency whose network prices in US dollars; ``None`` when nothing needs it."""
    import pandas as pd

    if (scenario.currency == "USD" or not uses_usd_prices(scenario) or not isinstance(closes, pd.DataFrame)
            or "fx_per_usd" not in closes.columns):
        return None
    rates = closes["fx_per_usd"].reindex(pd.DatetimeIndex(window.index)).to_numpy(dtype=float)
    if not np.all(np.isfinite(rates)):
        raise DataError("the TON/X closes have no ECB rate for some ledger day; run 'cocoon-econ fetch fx'")
    return rates / scenario.fx_per_usd


def _unpaid_by_day(income: PathIncome, gpus: int, threshold: float) -> np.ndarray:
    """Unpaid TON at the end of each day of the first path, computed as in
    :func:`path_income` (cumulative earnings less the payouts' thresholds)."""
    cumulative = np.cumsum(income.ton_earned[0] / gpus)
    paid = np.cumsum(income.payouts[0] / gpus)
    return gpus * np.maximum(cumulative - paid * threshold, 0.0)
