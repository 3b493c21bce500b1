"""Treasury and hedging policies for TON income, vectorised over price paths.

Every policy takes the same inputs -- price paths ``[P, D+1]`` (column 0 the start price, column
``t`` the close of day ``t``), the set-up's :class:`Flows` (TON payouts per day, USD costs),
:class:`TreasuryParams` (the scenario's ``[treasury]`` table) and :class:`Market` (funding,
option volatility) -- and returns a :class:`StrategyResult`:

``position_usd [P, D+1]``
    cumulative net USD marked to market: cash (capex paid on day 0, costs, sales, hedge cash
    flows) plus everything still held (TON, an open short) valued at that day's close net of the
    trading fee to unwind it -- what you would have if you liquidated that day. Column ``D`` is
    the liquidated end state, with accrued-but-unpaid TON valued at the last close.
``net_usd [P]``
    the horizon's result: ``position_usd[:, D] + hardware_end_usd``, the hardware at its market
    resale value at the end, less the resale value forgone on day 0 when already owned (see
    :func:`analysis.econ.costs.hardware_terminal_usd`), so that a GPU costs its loss of market
    value over the horizon, not its price. The node wallets' locked TON (2.1 per worker) is not
    in it (a few USD per GPU; the economics engine's NPV counts it).

Policies (``trading_fee_bps`` is charged on every spot sale and every perp trade):

- ``hold``: keep every payout, sell everything at the horizon.
- ``sell_on_payout``: sell each payout at that day's close.
- ``sell_every``: sell what has accumulated every ``every_days`` days (and at the horizon).
- ``cover_costs``: each day sell just enough TON to pay that day's USD costs (power,
  colocation, fixed); hold the rest and sell it at the horizon. Costs the TON cannot cover are
  paid from the owner's pocket.
- ``stake``: hold and stake every payout at ``staking_apy`` (compounded daily), sell at the horizon.
- ``perp_hedge``: on day 0 short ``hedge_ratio`` x the expected TON income of the horizon on a
  linear TON/USD perpetual; as each payout arrives, sell it and buy back ``hedge_ratio`` x that
  amount of the short; the rest of the short is closed at the horizon. The open short receives
  funding each day (``rate x short x previous close``; positive rates pay shorts). Its collateral
  is posted on day 0, topped up when a rally eats it and costs ``cost_of_capital_annual``; when
  the top-up would pass ``max_collateral_usd`` the short is liquidated at that day's close
  (:mod:`analysis.sim.margin`).
- ``put_protection``: every 30 days buy a European put on the next 30 days' expected TON income,
  strike ``put_strike`` x spot, priced by Black-Scholes at a volatility plus ``vol_premium``; the
  TON is sold at each expiry. No liquid listed TON options market exists, so the premium is a
  theoretical cost. Options are carried at zero between purchase and expiry (premium is cash
  out at purchase, payoff cash in at expiry).
- ``collar``: as ``put_protection``, also selling a call struck at ``call_strike`` x spot.

Each policy is reduced here to :class:`PolicyTerms`; the books are kept day by day, for every
policy at once, by the compiled scan of :mod:`analysis.sim.kernels` -- the one implementation
(the tests check it against an independent day-by-day reference). Arrays are day-major
(``[days, paths]``); there are no per-path Python loops.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.core.errors import InputError
from analysis.core.numeric import cumsum_days, cumulative_squared_steps
from analysis.core.units import DAYS_PER_YEAR
from analysis.econ.scenario import TREASURY_STRATEGIES, TreasuryConfig
from analysis.sim.margin import MarginTerms
from analysis.sim.options import black_scholes_call_unit, black_scholes_put_unit

OPTION_DAYS = 30   # monthly expiries
VOL_WINDOW_DAYS = 30  # trailing window of the realised volatility used to price options

# The engine's pricing mode shown beside the policies: the network pays a USD price per token,
# so the network, not the GPU owner, carries the TON price risk. It needs different income, so
# the simulation runs it (analysis.sim.simulation); it is listed here so names are checked in one place.
USD_PEGGED = "usd_pegged"


@dataclass(frozen=True)
class TreasuryParams(TreasuryConfig):
    """The scenario's ``[treasury]`` table (fields and defaults of
    :class:`analysis.econ.scenario.TreasuryConfig`, validated by the same
    :func:`analysis.econ.scenario.check_treasury` on construction)."""

    @property
    def fee(self) -> float:
        """Trading fee as a fraction of notional."""
        return self.trading_fee_bps / 10_000.0

    @classmethod
    def from_config(cls, treasury: Any) -> TreasuryParams:
        """From the scenario's ``TreasuryConfig`` (any object with these attribute names)."""
        names = cls.__dataclass_fields__
        return cls(**{name: getattr(treasury, name) for name in names if hasattr(treasury, name)})


@dataclass(frozen=True)
class Flows:
    """What a treasury policy needs from the economics engine, for the whole set-up.

    ``payout_ton`` is ``[D]`` when the same on every path (fixed TON price per token) or
    ``[P, D]``; ``unpaid_ton`` a number or ``[P]``. ``expected_*`` is the forecast made at the
    start (what a hedge is sized on).
    """

    payout_ton: np.ndarray
    usd_opex_per_day: np.ndarray
    capex_usd: float = 0.0
    hardware_end_usd: float = 0.0
    unpaid_ton: np.ndarray | float = 0.0
    expected_payout_ton: np.ndarray | None = None
    expected_unpaid_ton: float | None = None

    @property
    def horizon_days(self) -> int:
        return int(np.shape(self.payout_ton)[-1])

    @property
    def expected_payout(self) -> np.ndarray:
        if self.expected_payout_ton is not None:
            return np.asarray(self.expected_payout_ton, dtype=float)
        q = np.asarray(self.payout_ton, dtype=float)
        return q if q.ndim == 1 else q.mean(axis=0)

    @property
    def expected_unpaid(self) -> float:
        if self.expected_unpaid_ton is not None:
            return float(self.expected_unpaid_ton)
        return float(np.mean(self.unpaid_ton))

    @property
    def expected_income_ton(self) -> float:
        """Expected TON income of the horizon: payouts plus what is still unpaid at the end."""
        return float(self.expected_payout.sum()) + self.expected_unpaid

    @classmethod
    def from_income(cls, income: Any, hardware_end_usd: float = 0.0, expected: Any | None = None,
                    collapse: bool = True) -> Flows:
        """From the engine's ``PathIncome`` (``expected``: ``PathIncome`` on the forecast path).

        ``hardware_end_usd``: the hardware's value counted at the horizon (see ``net_usd``).
        With ``collapse``, arrays that are the same on every path become ``[D]`` (fixed-token
        pricing), which keeps the policies cheap; pass ``False`` when they surely differ.
        """
        opex = sum(np.asarray(v, dtype=float) for v in income.usd_opex.values())
        opex = np.broadcast_to(opex, (np.shape(income.payout_ton)[-1],)).astype(float)
        kwargs = {}
        if expected is not None:
            kwargs = {"expected_payout_ton": np.asarray(expected.payout_ton, dtype=float).reshape(-1, opex.size).mean(axis=0),
                      "expected_unpaid_ton": float(np.mean(expected.unpaid_ton))}
        payout, unpaid = income.payout_ton, income.unpaid_ton
        if collapse:
            payout, unpaid = collapse_paths(payout), collapse_vector(unpaid)
        return cls(payout_ton=np.asarray(payout, dtype=float), usd_opex_per_day=opex,
                   capex_usd=float(income.capex_usd), hardware_end_usd=float(hardware_end_usd),
                   unpaid_ton=unpaid, **kwargs)


@dataclass(frozen=True)
class Market:
    """Market inputs of the hedges.

    ``funding_rate_per_day``: ``[D]`` or ``[P, D]`` (see :func:`analysis.market.funding.funding_rates_per_day`).
    ``option_vol_annual``: the volatility options are priced at before ``vol_premium`` -- a
    number, a ``[periods]`` or ``[periods, P]`` array, or ``None`` for each path's trailing
    30-day realised volatility at purchase (warmed up with ``history_log_returns``, the daily
    log returns before the start; see :func:`realised_option_vol`).
    """

    funding_rate_per_day: np.ndarray | float = 0.0
    option_vol_annual: float | np.ndarray | None = None
    history_log_returns: np.ndarray | None = None


@dataclass(frozen=True)
class StrategyResult:
    """A policy's outcome on every path (see the module docstring); ``outcomes`` has its per-path
    metrics (:class:`analysis.sim.risk.PathOutcomes`, incl. the perp's collateral)."""

    name: str
    position_usd: np.ndarray  # [P, D+1]
    net_usd: np.ndarray       # [P]
    outcomes: Any = None


def collapse_paths(values: Any) -> np.ndarray:
    """A per-path ``[P, D]`` array as ``[D]`` when every path has the same row, else unchanged."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 2 and (arr.strides[0] == 0 or np.array_equal(arr, np.broadcast_to(arr[0], arr.shape))):
        return arr[0].copy()
    return arr


def collapse_vector(values: Any) -> np.ndarray | float:
    """A per-path ``[P]`` array as one number when every path has the same value, else unchanged."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 0 or (arr.size and np.all(arr == arr.flat[0])):
        return float(arr.flat[0]) if arr.size else 0.0
    return arr


# ---------------------------------------------------------------------------------------------
# internals: day-major arrays


class _Days:
    """The inputs of one evaluation, day-major: prices ``S [D+1, P]``, payouts ``q`` etc."""

    def __init__(self, price_paths: np.ndarray, flows: Flows, params: TreasuryParams):
        paths = np.asarray(price_paths, dtype=float)
        if paths.ndim != 2 or paths.shape[1] < 2:
            raise InputError(f"price_paths: shape {paths.shape}; expected [paths, horizon_days + 1]")
        self.S = np.ascontiguousarray(paths.T)   # no copy for the generators' output
        self.D = self.S.shape[0] - 1
        self.P = self.S.shape[1]
        if flows.horizon_days != self.D:
            raise InputError(f"flows: {flows.horizon_days} days of payouts for price paths of {self.D} days")
        self.q = _day_major(flows.payout_ton, self.D, self.P)        # [D, 1] or [D, P]
        self.opex, self.base = _costs(flows, self.D)
        self.keep = 1.0 - params.fee
        # accrued-but-unpaid TON at the horizon, valued at the last close net of the fee
        self.unpaid_usd = self.keep * np.asarray(flows.unpaid_ton, dtype=float) * self.S[self.D]
        self.flows = flows
        self.params = params

    def cum_payouts(self) -> np.ndarray:
        """Cumulative payouts ``[D+1, 1|P]`` with row 0 = 0."""
        out = np.zeros((self.D + 1, self.q.shape[1]))
        cumsum_days(self.q, out=out[1:])
        return out


def _costs(flows: Flows, D: int) -> tuple[np.ndarray, np.ndarray]:
    """The USD costs per day ``[D]`` and the cash before any TON is sold ``[D+1]``: capex on day 0,
    costs each day."""
    opex = np.asarray(flows.usd_opex_per_day, dtype=float).reshape(D)
    return opex, -flows.capex_usd - np.concatenate([[0.0], np.cumsum(opex)])


def _policy_days(name: str, price_paths: np.ndarray, flows: Flows, params: TreasuryParams) -> _Days:
    """The day-major inputs of the policy ``name``, after checking it is one this module runs."""
    check_strategy_names([name], "strategy")
    if name == USD_PEGGED:
        raise InputError("strategy: usd_pegged needs the usd_pegged income; run it through "
                         "analysis.sim.simulation (it is sell_on_payout on that income)")
    return _Days(price_paths, flows, params)


def _day_major(values: Any, days: int, n_paths: int) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 1:
        return arr.reshape(days, 1)
    if arr.shape != (n_paths, days):
        raise InputError(f"flows: per-path array of shape {arr.shape}; expected ({n_paths}, {days})")
    return np.ascontiguousarray(arr.T)


_Terms = tuple["np.ndarray | None", "np.ndarray | None", "dict[int, np.ndarray] | None"]


def _schedule_terms(days: _Days, sale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(c, beta) of selling everything held on the days where ``sale`` [D+1] is True.

    ``c_t`` = fee-net TON sold on day t (proceeds ``c_t S_t``), ``beta_t`` = fee-net TON held
    after day t's sale (marked at ``S_t``).
    """
    cum = days.cum_payouts()
    last_sale = np.maximum.accumulate(np.where(sale, np.arange(days.D + 1), 0))
    before = np.concatenate([[0], last_sale[:-1]])  # the last sale strictly before day t
    held_before = cum - cum[before]                 # held at day t's close before selling
    sold = held_before * sale[:, None]
    return days.keep * sold, days.keep * (held_before - sold)


def _sale_days(D: int, every_days: int) -> np.ndarray:
    sale = np.zeros(D + 1, dtype=bool)
    sale[every_days::every_days] = True
    sale[D] = True
    return sale


# ---------------------------------------------------------------------------------------------
# policies: each ``_<name>_terms`` gives the coefficients of its linear books


def _hold_terms(days: _Days, market: Market) -> _Terms:
    c, beta = _schedule_terms(days, _sale_days(days.D, days.D))
    return beta, c, None


def _sell_on_payout_terms(days: _Days, market: Market) -> _Terms:
    c = np.empty((days.D + 1, days.q.shape[1]))
    c[0] = 0.0
    np.multiply(days.q, days.keep, out=c[1:])
    return None, c, None


def _sell_every_terms(days: _Days, market: Market) -> _Terms:
    c, beta = _schedule_terms(days, _sale_days(days.D, days.params.every_days))
    return beta, c, None


def _stake_terms(days: _Days, market: Market) -> _Terms:
    """Holdings ``h_t = g h_{t-1} + q_t``, ``g = (1 + apy)^(1/365)``: ``h_t = g^t sum_{s<=t} q_s g^{-s}``."""
    growth = (1.0 + days.params.staking_apy) ** (np.arange(days.D + 1) / DAYS_PER_YEAR)
    discounted = np.zeros((days.D + 1, days.q.shape[1]))
    cumsum_days(days.q / growth[1:, None], out=discounted[1:])
    return days.keep * discounted * growth[:, None], None, None


def _perp_schedule(days: _Days, market: Market) -> tuple[np.ndarray, np.ndarray]:
    """The short's schedule ``short_t = max(H - h cum_payouts_t, 0)`` and day t's funding rate,
    both ``[D+1, 1|P]`` (row 0: the opening short ``H``; funding 0)."""
    D, params = days.D, days.params
    hedged = params.hedge_ratio * days.flows.expected_income_ton
    short = np.maximum(hedged - params.hedge_ratio * days.cum_payouts(), 0.0)
    rate = market.funding_rate_per_day
    funding = _day_major(np.broadcast_to(rate, (D,)) if np.ndim(rate) < 2 else rate, D, days.P)
    return short, np.concatenate([np.zeros((1, funding.shape[1])), funding])


def _option_terms(days: _Days, market: Market, sell_calls: bool, shared: dict[str, Any] | None = None) -> _Terms:
    S, D, params, flows = days.S, days.D, days.params, days.flows
    starts, expiries = option_periods(D)
    sale = np.zeros(D + 1, dtype=bool)
    sale[expiries] = True
    c, beta = _schedule_terms(days, sale)
    expected = np.concatenate([[0.0], np.cumsum(flows.expected_payout)])
    notional = (expected[expiries] - expected[starts])[:, None]    # expected TON income of each month
    notional[-1] += flows.expected_unpaid
    years = ((expiries - starts) / DAYS_PER_YEAR)[:, None]
    shared = {} if shared is None else shared
    if "option_vol" not in shared:   # the same for put_protection and collar on these paths
        vol = shared["option_vol"] = _option_vol(market, S.T, len(starts)) + params.vol_premium
        # Black-Scholes is homogeneous in (spot, strike): price(S, kS) = S price(1, k); r = 0.
        shared["put_unit"] = black_scholes_put_unit(params.put_strike, years, vol)
    vol, unit = shared["option_vol"], shared["put_unit"]
    if sell_calls:
        unit = unit - black_scholes_call_unit(params.call_strike, years, vol)
    spot, at_expiry = S[starts], S[expiries]                          # [periods, P]
    premium = -(notional * unit) * spot
    payoff = notional * np.maximum(params.put_strike * spot - at_expiry, 0.0)
    if sell_calls:
        payoff -= notional * np.maximum(at_expiry - params.call_strike * spot, 0.0)
    events: dict[int, np.ndarray] = {}
    for k in range(len(starts)):
        events[int(starts[k])] = events.get(int(starts[k]), 0.0) + premium[k]
        events[int(expiries[k])] = events.get(int(expiries[k]), 0.0) + payoff[k]
    return beta, c, events


_TERMS: dict[str, Callable[[_Days, Market], _Terms]] = {
    "hold": _hold_terms,
    "sell_on_payout": _sell_on_payout_terms,
    "sell_every": _sell_every_terms,
    "stake": _stake_terms,
}
_OPTION_TERMS = {"put_protection": False, "collar": True}   # name -> sells calls


@dataclass(frozen=True)
class PolicyTerms:
    """A policy's position in the form a compiled scan consumes (see :mod:`analysis.sim.kernels`).

    ``kind == "linear"``: ``position_t = cash_t + base_t + beta_t S_t`` with
    ``cash_t = cash_{t-1} + c_t S_t + events_t`` (every policy but ``cover_costs``);
    ``kind == "cover_costs"``: the holdings recursion of :func:`cover_costs` with payouts ``q``
    and daily costs ``opex``; ``kind == "perp"``: the short of :func:`perp_hedge` with its
    schedule ``short``, daily ``funding`` and ``margin`` (:mod:`analysis.sim.margin`), payouts ``q``;
    ``kind == "pegged"``: usd_pegged, the linear sell_on_payout whose payouts the scan computes from
    each close by the rule ``peg`` (:func:`pegged_terms`).
    ``unpaid_usd`` (``[P]`` or a number) is added on day D.
    """

    kind: str
    S: np.ndarray                       # [D+1, P] day-major prices
    base: np.ndarray                    # [D+1] cash before any TON is sold
    keep: float                         # 1 - trading fee
    unpaid_usd: np.ndarray | float
    hardware_end_usd: float
    beta: np.ndarray | None = None      # [D+1, 1|P] fee-net TON held (linear)
    c: np.ndarray | None = None         # [D+1, 1|P] fee-net TON sold (linear)
    events: dict[int, np.ndarray] | None = None  # cash on a few days, [P] each (linear)
    q: np.ndarray | None = None         # [D, 1|P] payouts (cover_costs)
    opex: np.ndarray | None = None      # [D] USD costs per day (cover_costs)
    short: np.ndarray | None = None     # [D+1, 1|P] scheduled short after day t's buy-back (perp)
    funding: np.ndarray | None = None   # [D+1, 1|P] day t's funding per unit notional, row 0 = 0 (perp)
    margin: MarginTerms | None = None   # (perp)
    peg: np.ndarray | None = None       # [9] the usd_pegged payout rule (pegged: ledger.pegged_payout_factors)


def policy_terms(name: str, price_paths: np.ndarray, flows: Flows, params: TreasuryParams,
                 market: Market | None = None, *, shared: dict[str, Any] | None = None) -> PolicyTerms:
    """The :class:`PolicyTerms` of the policy ``name`` on these paths (``price_paths [P, D+1]``).

    ``shared``: a dict the caller keeps across the policies of the same paths, flows, params and
    market (one chunk of a simulation), so that what two policies compute alike is computed once:
    the options' volatility and the monthly puts' unit price of put_protection and collar (the same
    arrays, the same bits). Give a new one for other paths or inputs.
    """
    days = _policy_days(name, price_paths, flows, params)
    common = dict(S=days.S, base=days.base, keep=days.keep, unpaid_usd=days.unpaid_usd,
                  hardware_end_usd=flows.hardware_end_usd)
    if name == "cover_costs":
        return PolicyTerms(kind="cover_costs", q=days.q, opex=days.opex, **common)
    if name == "perp_hedge":
        short, funding = _perp_schedule(days, market or Market())
        margin = MarginTerms.from_params(params)
        margin.check_opening(float(np.max(short[0])), days.S[0])
        return PolicyTerms(kind="perp", q=days.q, short=short, funding=funding, margin=margin, **common)
    if name in _OPTION_TERMS:
        beta, c, events = _option_terms(days, market or Market(), _OPTION_TERMS[name], shared)
    else:
        beta, c, events = _TERMS[name](days, market or Market())
    return PolicyTerms(kind="linear", beta=beta, c=c, events=events, **common)


def pegged_terms(price_paths: np.ndarray, costs: Flows, params: TreasuryParams, factors: Sequence[float]) -> PolicyTerms:
    """usd_pegged's :class:`PolicyTerms` on these paths (``price_paths [P, D+1]``, USD): sell_on_payout
    on the usd_pegged income, that income paid inside the scan from each close by the rule
    ``factors`` (:func:`analysis.econ.ledger.pegged_payout_factors`), with the costs of ``costs``
    (its payouts are not read): the numbers of ``policy_terms("sell_on_payout", ...)`` on the
    income of :func:`analysis.econ.ledger.payouts_day_major`, without its ``[D, P]`` arrays."""
    S = np.ascontiguousarray(np.asarray(price_paths, dtype=float).T)
    D = S.shape[0] - 1
    if costs.horizon_days != D:
        raise InputError(f"flows: {costs.horizon_days} days of payouts for price paths of {D} days")
    peg = np.asarray(factors, dtype=float)
    if peg.shape != (9,):
        raise InputError(f"usd_pegged payout factors: {peg.shape}, expected 9 numbers (ledger.pegged_payout_factors)")
    _, base = _costs(costs, D)
    return PolicyTerms(kind="pegged", S=S, base=base, keep=1.0 - params.fee, unpaid_usd=0.0,
                       hardware_end_usd=costs.hardware_end_usd, peg=peg)


def run_strategy(name: str, price_paths: np.ndarray, flows: Flows, params: TreasuryParams,
                 market: Market | None = None) -> StrategyResult:
    """Run the policy called ``name`` (one of :data:`STRATEGIES`) on every path, keeping its
    ``[P, D+1]`` positions (the compiled scan of :mod:`analysis.sim.kernels`)."""
    from analysis.sim.kernels import scan_policies  # numba: imported where it runs

    terms = policy_terms(name, price_paths, flows, params, market)
    (outcomes,), positions = scan_policies([terms], keep_positions=True)
    assert positions is not None   # asked for
    return StrategyResult(name=name, position_usd=positions[0].T, net_usd=outcomes.net_usd, outcomes=outcomes)


def hold(price_paths: np.ndarray, flows: Flows, params: TreasuryParams, market: Market | None = None) -> StrategyResult:
    """Keep every payout; sell everything at the horizon."""
    return run_strategy("hold", price_paths, flows, params, market)


def sell_on_payout(price_paths: np.ndarray, flows: Flows, params: TreasuryParams,
                   market: Market | None = None) -> StrategyResult:
    """Sell each payout at that day's close."""
    return run_strategy("sell_on_payout", price_paths, flows, params, market)


def sell_every(price_paths: np.ndarray, flows: Flows, params: TreasuryParams,
               market: Market | None = None) -> StrategyResult:
    """Sell what has accumulated every ``params.every_days`` days and at the horizon."""
    return run_strategy("sell_every", price_paths, flows, params, market)


def stake(price_paths: np.ndarray, flows: Flows, params: TreasuryParams, market: Market | None = None) -> StrategyResult:
    """Stake every payout at ``staking_apy`` (compounded daily); sell everything at the horizon."""
    return run_strategy("stake", price_paths, flows, params, market)


def cover_costs(price_paths: np.ndarray, flows: Flows, params: TreasuryParams,
                market: Market | None = None) -> StrategyResult:
    """Each day sell just enough TON (if held) to pay that day's USD costs; sell the rest at the horizon."""
    return run_strategy("cover_costs", price_paths, flows, params, market)


def perp_hedge(price_paths: np.ndarray, flows: Flows, params: TreasuryParams,
               market: Market | None = None) -> StrategyResult:
    """Short ``hedge_ratio`` x expected TON income on day 0; sell payouts and buy back as they arrive.

    With ``short_t = max(H - h cum_payouts_t, 0)`` (``H = h`` x expected income), buy-backs
    ``b_t = short_{t-1} - short_t``, fee ``f``, funding ``F_t`` (fraction of notional, positive
    pays shorts), cost of capital ``C_t`` on the collateral (:mod:`analysis.sim.margin`) and no
    liquidation, the liquidation value is::

        position_t = base_t + H (1 - f) S_0 + sum_{j=1..t} (q_j (1 - f) - b_j (1 + f)) S_j
                     + sum_{j=1..t} F_j short_{j-1} S_{j-1} - short_t (1 + f) S_t - sum_{j<=t} C_j

    A liquidation on day L closes the whole short at ``S_L`` (fee included); later payouts are sold.
    """
    return run_strategy("perp_hedge", price_paths, flows, params, market)


def option_periods(horizon_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Purchase and expiry days of the monthly options: ``(starts, expiries)``."""
    starts = np.arange(0, horizon_days, OPTION_DAYS)
    return starts, np.minimum(starts + OPTION_DAYS, horizon_days)


def realised_option_vol(price_paths: np.ndarray, history_log_returns: np.ndarray | None = None) -> np.ndarray:
    """Trailing 30-day realised volatility (annual) of each path on each option purchase day.

    ``sqrt(365 * mean(r^2))`` over the 30 daily log returns up to the purchase day; days before
    the start come from ``history_log_returns`` (``[n]``, or ``[P, n]`` when each path has its own
    past, as rolling historical paths do). Returns ``[periods, P]``.
    """
    S = np.asarray(price_paths, dtype=float).T
    last = int(option_periods(S.shape[0] - 1)[0][-1])
    return realised_option_vol_from_log(np.log(S[:last + 1]), S.shape[0] - 1, history_log_returns)


def realised_option_vol_from_log(log_prices: np.ndarray, horizon_days: int,
                                 history_log_returns: np.ndarray | None) -> np.ndarray:
    """:func:`realised_option_vol` from day-major log prices ``[>= last purchase day + 1, P]``
    (any constant offset, e.g. ``log(S_t / S_0)`` as the generators produce)."""
    starts, _ = option_periods(horizon_days)
    history = np.zeros(0) if history_log_returns is None else np.asarray(history_log_returns, dtype=float)
    if history.shape[-1] < VOL_WINDOW_DAYS:
        raise InputError(f"options: need at least {VOL_WINDOW_DAYS} daily log returns before the start to "
                         "price the first month's options, or give option_vol_annual")
    hist_sq = history[..., -VOL_WINDOW_DAYS:] ** 2
    # cumulative squared log returns along each path: sq[t] = sum_{j<=t} r_j^2, r_0 = 0, in one pass;
    # only the rows the windows start and end on (purchase days s and s - window) are kept
    last = int(starts[-1])
    every = math.gcd(OPTION_DAYS, VOL_WINDOW_DAYS)
    sq = cumulative_squared_steps(log_prices, last + 1, every)   # sq[r] = sum_{j <= r every} r_j^2
    vols = np.empty((len(starts), log_prices.shape[1]))
    for k, s in enumerate(starts):
        lo = max(0, s - VOL_WINDOW_DAYS)
        total = sq[s // every] - sq[lo // every]
        from_history = VOL_WINDOW_DAYS - (s - lo)
        if from_history:
            total = total + hist_sq[..., VOL_WINDOW_DAYS - from_history:].sum(axis=-1)
        vols[k] = np.sqrt(total * DAYS_PER_YEAR / VOL_WINDOW_DAYS)
    return vols


def _option_vol(market: Market, price_paths: np.ndarray, periods: int) -> np.ndarray:
    """The volatility of each month's options before the premium, ``[periods, 1|P]``."""
    given = market.option_vol_annual
    if given is None:
        return realised_option_vol(price_paths, market.history_log_returns)
    vol = np.asarray(given, dtype=float)
    if vol.ndim == 0:
        return np.full((periods, 1), float(vol))
    if vol.ndim == 1:
        return vol.reshape(periods, 1)
    return vol.reshape(periods, -1)


def put_protection(price_paths: np.ndarray, flows: Flows, params: TreasuryParams,
                   market: Market | None = None) -> StrategyResult:
    """Buy monthly puts on the expected monthly TON income; sell the TON at each expiry."""
    return run_strategy("put_protection", price_paths, flows, params, market)


def collar(price_paths: np.ndarray, flows: Flows, params: TreasuryParams, market: Market | None = None) -> StrategyResult:
    """Buy monthly puts and sell monthly calls on the expected monthly TON income."""
    return run_strategy("collar", price_paths, flows, params, market)


Strategy = Callable[[np.ndarray, Flows, TreasuryParams, "Market | None"], StrategyResult]

STRATEGIES: dict[str, Strategy] = {
    "hold": hold,
    "sell_on_payout": sell_on_payout,
    "sell_every": sell_every,
    "cover_costs": cover_costs,
    "stake": stake,
    "perp_hedge": perp_hedge,
    "put_protection": put_protection,
    "collar": collar,
}
STRATEGY_NAMES = (*STRATEGIES, USD_PEGGED)
# the names a scenario may give are checked when it is loaded (analysis.econ.scenario); they must be these
assert STRATEGY_NAMES == TREASURY_STRATEGIES, "analysis.econ.scenario.TREASURY_STRATEGIES is out of date"


def check_strategy_names(names: list[str] | tuple[str, ...], field: str = "strategies") -> list[str]:
    """``names`` if every one is known, else an ``InputError`` naming the bad one."""
    if not names:
        raise InputError(f"{field}: no strategy given; use some of {', '.join(STRATEGY_NAMES)}")
    for name in names:
        if name not in STRATEGY_NAMES:
            raise InputError(f"{field}: unknown strategy {name!r}; use one of {', '.join(STRATEGY_NAMES)}")
    return list(names)

