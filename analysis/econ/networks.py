"""COCOON's token accounting and payment rules, reproduced from the protocol's source.

Sources (TelegramMessenger/cocoon):

- ``runners/helpers/CountTokens.cpp`` (``ByteTokenCounter``): a request's usage is read
  from the OpenAI-style ``usage`` object: ``prompt_tokens`` (which *includes* the cached
  ones), ``prompt_tokens_details.cached_tokens``, ``completion_tokens`` (which *includes*
  reasoning) and ``completion_tokens_details.reasoning_tokens``. Four counts are converted
  separately::

      prompt_adj     = adjust_tokens(prompt_tokens - cached_tokens, coef, prompt_mult)
      cached_adj     = adjust_tokens(cached_tokens, coef, cached_mult)
      completion_adj = adjust_tokens(completion_tokens - reasoning_tokens, coef, completion_mult)
      reasoning_adj  = adjust_tokens(reasoning_tokens, coef, reasoning_mult)
      total_cost     = (prompt_adj + cached_adj + completion_adj + reasoning_adj) * price_per_token

- ``adjust_tokens`` (runner helper header ``Ton.h``, included by CountTokens.cpp)::

      static_cast<int64>((double)tokens * ((double)coefficient * 0.001) * (double)mult * 0.0001)

  i.e. ``trunc(tokens * coefficient/1000 * multiplier/10000)``. :func:`adjusted_tokens`
  computes it in exact integer arithmetic; :func:`adjusted_tokens_runner` replays the
  runner's double-precision expression bit for bit. They agree for the default
  coefficient 1000 (1.0x); for a few unusual coefficients (e.g. 1025) the runner's
  rounding can give one adjusted token less.
- Multipliers are root-contract params (32-bit, in 1/10000). When the root's params
  struct predates them the runner falls back to 10000 (1.0x) for all four (root-contract
  config parsing in the runners); mainnet sets prompt 10000, cached 1000, completion
  80000, reasoning 80000 (network_parameters.csv, observed 2026-04-07), our defaults.
- The client pays ``sum(adjusted) * price_per_token`` nanoTON; the worker earns
  ``sum(adjusted) * worker_fee_per_token`` (root-contract params ``price_per_token``,
  ``worker_fee_per_token``; network_parameters.csv rows of the same names).
- ``runners/proxy/ProxyWorkerInfo.cpp`` (``ProxyWorkerInfo::check``): the proxy pays a
  worker on-chain when ``tokens_ready_to_pay * worker_fee_per_token >=
  min_worker_payout_sum`` (10 TON, ProxyRunner.hpp). Each on-chain operation costs about
  0.01 TON (docs/smart-contracts.md). One worker runs per GPU (docs/gpu.md), so an
  N-GPU host has N workers, each with its own threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from analysis.core.errors import InputError
from analysis.core.units import NANOTON_PER_TON
from analysis.econ.scenario import NetworkConfig, PricingConfig, WorkloadConfig

COEFFICIENT_SCALE = 1000  # coefficient 1000 = 1.0x
MULTIPLIER_SCALE = 10000  # multiplier 10000 = 1.0x
SECONDS_PER_DAY = 86400


def adjusted_tokens(tokens: int, coefficient_milli: int, multiplier: int) -> int:
    """``trunc(tokens * coefficient_milli/1000 * multiplier/10000)`` in exact integer arithmetic.

    Parameters
    ----------
    tokens : int
        A raw token count (non-negative).
    coefficient_milli : int
        The worker's price coefficient in thousandths (1000 = 1.0x).
    multiplier : int
        The token type's price multiplier in ten-thousandths (10000 = 1.0x).
    """
    tokens, coefficient_milli, multiplier = int(tokens), int(coefficient_milli), int(multiplier)
    if tokens < 0 or coefficient_milli < 0 or multiplier < 0:
        raise InputError(f"adjusted_tokens: tokens={tokens}, coefficient={coefficient_milli}, "
                         f"multiplier={multiplier}; all must be 0 or more")
    # Non-negative operands: floor division is truncation.
    return tokens * coefficient_milli * multiplier // (COEFFICIENT_SCALE * MULTIPLIER_SCALE)


def adjusted_tokens_runner(tokens: int, coefficient_milli: int, multiplier: int) -> int:
    """The runner's own double-precision ``adjust_tokens``, bit for bit.

    Python floats are IEEE-754 doubles and ``int()`` truncates toward zero like
    ``static_cast<td::int64>``; the operations are evaluated in the C++ order.
    """
    return int(float(tokens) * (float(coefficient_milli) * 0.001) * float(multiplier) * 0.0001)


class AdjustedTokens(NamedTuple):
    """A request's adjusted token counts (as in the runner's ``tokensUsed``)."""

    prompt: int
    cached: int
    completion: int
    reasoning: int

    @property
    def total(self) -> int:
        return self.prompt + self.cached + self.completion + self.reasoning


def request_adjusted_tokens(prompt_tokens: int, cached_prompt_tokens: int, completion_tokens: int,
                            reasoning_tokens: int, *, params: NetworkConfig,
                            arithmetic: str = "runner") -> AdjustedTokens:
    """Adjusted tokens of one request, as ``ByteTokenCounter::usage()`` computes them.

    Parameters
    ----------
    prompt_tokens : int
        ``usage.prompt_tokens``: all prompt tokens, *including* the cached ones.
    cached_prompt_tokens : int
        ``usage.prompt_tokens_details.cached_tokens``.
    completion_tokens : int
        ``usage.completion_tokens``: all completion tokens, *including* reasoning.
    reasoning_tokens : int
        ``usage.completion_tokens_details.reasoning_tokens``.
    params : NetworkConfig
        Coefficient and multipliers.
    arithmetic : {"runner", "exact"}
        ``"runner"`` replays the runner's double arithmetic (what COCOON charges);
        ``"exact"`` uses exact integers (:func:`adjusted_tokens`).
    """
    counts = {"prompt_tokens": prompt_tokens, "cached_prompt_tokens": cached_prompt_tokens,
              "completion_tokens": completion_tokens, "reasoning_tokens": reasoning_tokens}
    for name, value in counts.items():
        if isinstance(value, bool) or int(value) != value or value < 0:
            raise InputError(f"{name} = {value!r} is not valid; use a whole number of tokens, 0 or more")
    if cached_prompt_tokens > prompt_tokens:
        raise InputError(f"cached_prompt_tokens = {cached_prompt_tokens} exceeds prompt_tokens = {prompt_tokens}; "
                         "prompt_tokens counts all prompt tokens including the cached ones")
    if reasoning_tokens > completion_tokens:
        raise InputError(f"reasoning_tokens = {reasoning_tokens} exceeds completion_tokens = {completion_tokens}; "
                         "completion_tokens counts all completion tokens including reasoning")
    if arithmetic == "runner":
        adjust = adjusted_tokens_runner
    elif arithmetic == "exact":
        adjust = adjusted_tokens
    else:
        raise InputError(f"arithmetic = {arithmetic!r} is not valid; use 'runner' or 'exact'")
    coef = params.coefficient_milli
    return AdjustedTokens(
        prompt=adjust(int(prompt_tokens) - int(cached_prompt_tokens), coef, params.prompt_tokens_price_multiplier),
        cached=adjust(int(cached_prompt_tokens), coef, params.cached_tokens_price_multiplier),
        completion=adjust(int(completion_tokens) - int(reasoning_tokens), coef,
                          params.completion_tokens_price_multiplier),
        reasoning=adjust(int(reasoning_tokens), coef, params.reasoning_tokens_price_multiplier),
    )


def request_worker_earnings_nanoton(prompt_tokens: int, cached_prompt_tokens: int, completion_tokens: int,
                                    reasoning_tokens: int, *, params: NetworkConfig,
                                    arithmetic: str = "runner") -> int:
    """nanoTON the worker earns for one request: ``sum(adjusted) * worker_fee_per_token``.

    Token arguments as in :func:`request_adjusted_tokens` (OpenAI ``usage`` semantics).
    """
    adj = request_adjusted_tokens(prompt_tokens, cached_prompt_tokens, completion_tokens, reasoning_tokens,
                                  params=params, arithmetic=arithmetic)
    return adj.total * params.worker_fee_per_token_nanoton


def request_client_cost_nanoton(prompt_tokens: int, cached_prompt_tokens: int, completion_tokens: int,
                                reasoning_tokens: int, *, params: NetworkConfig, arithmetic: str = "runner") -> int:
    """nanoTON the client pays for one request: ``sum(adjusted) * price_per_token``
    (the runner's ``usage.total_cost``)."""
    adj = request_adjusted_tokens(prompt_tokens, cached_prompt_tokens, completion_tokens, reasoning_tokens,
                                  params=params, arithmetic=arithmetic)
    return adj.total * params.price_per_token_nanoton


# --------------------------------------------------------------------------- workload -> tokens per day


@dataclass(frozen=True)
class DailyTokens:
    """Raw and adjusted tokens served by ONE GPU in one day at the workload's utilisation.

    ``prompt`` includes ``cached_prompt``; ``output`` includes ``reasoning``.
    ``adjusted`` sums the four counts converted at the coefficient and multipliers, without
    the per-request truncation (under one adjusted token per type per request, negligible
    against ~10^8-10^9 adjusted tokens a day).
    """

    output: float
    reasoning: float
    completion: float  # non-reasoning output
    prompt: float
    cached_prompt: float
    uncached_prompt: float
    adjusted: float


def daily_tokens_per_gpu(workload: WorkloadConfig, network: NetworkConfig,
                         utilisation: float | None = None) -> DailyTokens:
    """Tokens per GPU per day: output = ``served_output_tokens_per_s * 86400 * utilisation``;
    prompt, cached and reasoning counts from the workload's ratios."""
    u = workload.utilisation if utilisation is None else utilisation
    output = workload.served_output_tokens_per_s * SECONDS_PER_DAY * u  # after the CC overhead
    reasoning = output * workload.reasoning_output_fraction
    completion = output - reasoning
    prompt = output * workload.prompt_tokens_per_output_token
    cached = prompt * workload.cached_prompt_fraction
    uncached = prompt - cached
    scale = network.coefficient_milli / COEFFICIENT_SCALE / MULTIPLIER_SCALE
    adjusted = scale * (uncached * network.prompt_tokens_price_multiplier
                        + cached * network.cached_tokens_price_multiplier
                        + completion * network.completion_tokens_price_multiplier
                        + reasoning * network.reasoning_tokens_price_multiplier)
    return DailyTokens(output=output, reasoning=reasoning, completion=completion, prompt=prompt,
                       cached_prompt=cached, uncached_prompt=uncached, adjusted=adjusted)


# --------------------------------------------------------------------------- pricing modes


def usd_fee_factors(network: NetworkConfig, pricing: PricingConfig) -> tuple[float, float]:
    """``(usd_per_token, worker_share)`` of the USD-set pricing modes: the worker's nanoTON per adjusted
    token on a day with close ``S`` is ``usd_per_token / S * NANOTON_PER_TON * worker_share``
    (:func:`worker_nanoton_per_adjusted_token`; the payouts kernel computes it from these too)."""
    return pricing.usd_per_m_adjusted_tokens / 1e6, network.worker_share


def worker_nanoton_per_adjusted_token(network: NetworkConfig, pricing: PricingConfig,
                                      price_paths: np.ndarray) -> np.ndarray:
    """What the worker earns per adjusted token on each day of each path, in nanoTON.

    Parameters
    ----------
    price_paths : ndarray [P, D+1]
        TON/USD; column 0 is the close before day 1, column t the close of day t.

    Returns
    -------
    ndarray [P, D] float64
        - ``fixed_token``: ``worker_fee_per_token_nanoton`` every day (COCOON today).
        - ``usd_pegged``: the client's USD price per adjusted token holds, so the worker's
          TON per token is ``usd_target / close_t * worker_fee/price_per_token`` (valued at
          day t's close, its USD value is constant).
        - ``repriced``: fixed in TON and reset on days 1, N+1, 2N+1, ... to the USD target
          at the previous day's close (column t-1); not rounded to whole nanoTON.
    """
    paths = np.asarray(price_paths, dtype=float)
    n_paths, n_days = paths.shape[0], paths.shape[1] - 1
    usd_per_token, share = usd_fee_factors(network, pricing)
    if pricing.mode == "fixed_token":
        return np.full((n_paths, n_days), float(network.worker_fee_per_token_nanoton))
    if pricing.mode == "usd_pegged":
        return usd_per_token / paths[:, 1:] * NANOTON_PER_TON * share
    if pricing.mode == "repriced":
        every = pricing.reprice_every_days
        # Day t (1-based) uses the close of the day before its block started: column
        # ((t-1)//N)*N, i.e. 0 for days 1..N, N for days N+1..2N, ...
        reset_col = (np.arange(n_days) // every) * every
        return usd_per_token / paths[:, reset_col] * NANOTON_PER_TON * share
    raise InputError(f"[pricing] mode = {pricing.mode!r} is not valid; use fixed_token, usd_pegged or repriced")
