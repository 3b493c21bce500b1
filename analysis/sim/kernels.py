"""The one implementation of the treasury policies' day-by-day books: a compiled (numba) scan.

Every policy of :mod:`analysis.sim.strategies` reaches here as :class:`~analysis.sim.strategies.PolicyTerms`
and is computed by :func:`scan_policies`: tile by tile of :data:`TILE` paths, policy by policy,
day by day it updates the position and, in the same step, the running peak, the worst fall from it
and the first day 1..D with the position >= 0 (the rules of :mod:`analysis.sim.risk`), plus the
perp short's margin account (:mod:`analysis.sim.margin`). The prices of a tile stay in cache while
all policies read them; the ``[K, D+1, P]`` positions are written only when asked for (charts,
:func:`analysis.sim.strategies.run_strategy`). The independent check is the plain day-by-day
reference in ``tests/test_strategies.py``.

A numpy route (2-D blocks of days per policy) used to sit beside this one; the benchmark measured it
at 5.2x the numpy floor against 1.9x for this scan (100,000 GBM paths x 365 days, every policy, two
threads), over the 3x target, so it was removed and the margin logic is written once, here.

Why it is shaped this way (measured on an AVX2 machine, 8192 x 366 x 9 policies): the inner loop
runs over the paths of a tile, reads the state of day ``t-1`` from one buffer and writes day
``t`` to another (``src``/``dst``, swapped each day). Updating a running max in place made LLVM
emit masked stores (``vmaskmovpd``, very slow on AMD), and indexing a 2-D array inside the loop
kept it scalar; with flat rows and double buffering the loop vectorises (about 0.9 ns per path,
day and policy, against about 2.3 ns before). No fast-math: IEEE arithmetic, as numpy.

Measured again on a Zen 4 machine (AVX-512; 8192 paths x 366 days x 9 policies, one thread, the
scan 37 -> 21 ms per chunk, about 1.4 -> 0.8 ns per path, day and policy; the same bits):

- The tile's prices are copied into a contiguous ``[D+1, TILE]`` scratch before the policies run.
  Read in place, day ``t``'s row is ``P`` doubles after day ``t-1``'s, a power of two (8192): every
  row of the tile maps onto the same few L2 sets, so the tile did not stay in cache across policies
  and each policy read it again from memory (-28%).
- Rows are read through 1-D views (``prices[t, :n]``, ``unpaid[k, lo:lo + n]``), not computed
  indices such as ``Sf[off + i]``: numba's negative-index wraparound on those made LLVM emit
  per-lane addresses, gathers and scatters (``vgatherqpd``, slow on Zen 4) in the perp's loop and
  the cold loops.
- cover_costs divides with ``np.divide``: numba's ``/`` tests for a zero divisor in the loop (to
  raise ZeroDivisionError), which kept the loop scalar; the kernel raises the same error after the
  day's loop instead.
- With vector loops in place the single-day loop is bound by its stores (five per path and day:
  dropping one saved 16%). Where nothing happens between them (no event, not day D, no positions
  written, numbers per day), a linear or cover_costs policy runs ``DAYS = 4`` days per pass over
  the paths with its state in registers: read and written once per 4 days (-15%).
- The perp hedge's day is one function of its state in registers (``_perp_step``), called on the
  rows of its state for a single day and four times in a row for a block of ``DAYS`` days where
  its coefficients are numbers per day and no positions are written: 3.1 -> about 1.9 ms per
  8,192 x 366 chunk (ten loads and stores per path and day were its cost, as for the linear kinds).
  ``tests/test_scan_blocks.py`` holds blocks and single days to the same bits for every kind.
- Tried, no effect: padding the state rows of ``buf_a``/``buf_b`` off the 2 KiB multiple.

usd_pegged (``kind = "pegged"``) is sell_on_payout on the pegged income, whose payouts depend on
each path's closes. It used to reach the scan as a ``[D, P]`` payout array (the payouts kernel) and a
``[D+1, P]`` array of TON sold, and read both back a row per path (no 4-day blocks): 0.25 s of the
0.65 s the 9 policies cost on top of 100,000 x 365 GBM paths on one thread. The scan now pays it
from each close as it goes (``_pegged_tile``, the payout rule of :mod:`analysis.core.numeric_jit`
inlined, :func:`analysis.econ.ledger.pegged_payout_factors` its numbers): the same operations in
the same order, the same bits (``tests/test_pegged_scan.py``), about 0.13 s less. Its three IEEE
divisions per path and day (the fee from the close, TON from nanoTON, payouts from the threshold)
are what it costs now. A run with an X/USD index (a COCOON scenario in another currency: the fee from
the dollar price, through the index) and Render keep the payout array; given paths without an index
are paid in the scan, as the payouts kernel would pay them without one.

The kernel releases the GIL (``nogil``), so the simulation's chunks run on all cores in threads.
The kernels are in :mod:`analysis.sim.kernels_jit`; a library built ahead of time runs them when there is one
(:mod:`analysis.core.compiled`), else numba compiles them on first use and caches them on disk (``cache=True``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from analysis.core.compiled import KernelSet
from analysis.sim.risk import PathOutcomes

if TYPE_CHECKING:
    from analysis.sim.strategies import PolicyTerms

__all__ = ["TILE", "scan_policies"]

TILE = 256           # paths per tile: their prices, copied contiguous (TILE x (D+1) x 8 bytes), stay in L2
LINEAR, COVER_COSTS, PERP, PEGGED = 0, 1, 2, 3
_PEG_FACTORS = 9     # analysis.econ.ledger.pegged_payout_factors
_STATES = 6          # cash, peak, drawdown, payback day, TON held (cover_costs), position

#: The scan of :mod:`analysis.sim.kernels_jit` (which repeats the constants above), from the built
#: library or numba (:mod:`analysis.core.compiled`).
KERNELS = KernelSet("analysis.sim.kernels_jit", {
    "scan": ("f8[1]", "i8", "i8", "i8[1]", "f8[2]", "f8[1]", "f8[2]", "f8[3]", "i8[1]", "f8[2]", "f8[3]", "i8[1]",
             "f8[2]", "f8[3]", "i8[1]", "f8[2]", "f8[2]", "i8[2]", "f8[2]", "f8[2]", "f8[2]", "f8[2]", "f8[2]", "f8[2]",
             "f8[2]", "f8[2]", "i8", "f8[3]", "f8[1]", "f8[1]", "f8[1]", "f8[1]", "f8[2]", "f8[2]", "f8[2]"),
}, depends=("analysis.core.numeric_jit",))


def _coefficients(values: Sequence[np.ndarray | None], D1: int, P: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per policy a ``[D+1, 1|P]`` array (or None = 0) as (``day [K, D+1]``, ``path [M, D+1, P]``, ``idx [K]``)."""
    K = len(values)
    day = np.zeros((K, D1))
    idx = np.full(K, -1, dtype=np.int64)
    wide = [k for k, v in enumerate(values) if v is not None and v.shape[1] > 1]
    if len(wide) == 1:    # one policy with a row per path (usd_pegged, say): a view, no copy
        path = np.ascontiguousarray(values[wide[0]], dtype=float)[None]
    else:
        path = np.empty((len(wide), D1, P))
        for m, k in enumerate(wide):
            path[m] = values[k]
    for m, k in enumerate(wide):
        idx[k] = m
    for k, v in enumerate(values):
        if v is not None and v.shape[1] == 1:
            day[k] = v[:, 0]
    return day, path, idx


def _with_day0(q: np.ndarray) -> np.ndarray:
    """Payouts ``[D, 1|P]`` as ``[D+1, 1|P]`` with row 0 = 0 (row t = day t's payout)."""
    q = np.asarray(q, dtype=float)
    return np.concatenate([np.zeros((1, q.shape[1])), q])


def scan_policies(terms: list[PolicyTerms], keep_positions: bool = False) -> tuple[list[PathOutcomes],
                                                                                  np.ndarray | None]:
    """Per-path outcomes of each policy, and with ``keep_positions`` their positions ``[K, D+1, P]``.

    Every item of ``terms`` must be on the same price paths (the same ``S``). ``net_usd``
    includes each policy's ``hardware_end_usd``.
    """
    if not terms:
        return [], None
    S = np.ascontiguousarray(terms[0].S, dtype=float)
    D1, P = S.shape
    K = len(terms)
    kind = np.array([{"cover_costs": COVER_COSTS, "perp": PERP, "pegged": PEGGED}.get(t.kind, LINEAR) for t in terms],
                    dtype=np.int64)
    a_values: list[np.ndarray | None] = []
    b_values: list[np.ndarray | None] = []
    c_values: list[np.ndarray | None] = []
    b_costs = np.zeros((K, D1))
    margin = np.zeros((K, 4))
    peg = np.zeros((K, _PEG_FACTORS))
    events: list[np.ndarray] = []
    ev_at = np.full((K, D1), -1, dtype=np.int64)
    for k, term in enumerate(terms):
        if term.kind == "cover_costs":
            assert term.q is not None and term.opex is not None
            a_values.append(_with_day0(term.q))
            b_values.append(None)
            c_values.append(None)
            b_costs[k, 1:] = term.opex
        elif term.kind == "perp":
            assert term.q is not None and term.margin is not None
            a_values.append(_with_day0(term.q))
            b_values.append(term.short)
            c_values.append(term.funding)
            m = term.margin
            margin[k] = (m.initial_margin_fraction, m.maintenance_margin_fraction, m.cost_of_capital_per_day,
                         np.inf if m.max_collateral_usd is None else m.max_collateral_usd)
        elif term.kind == "pegged":   # paid and sold inside the kernel, from the prices
            assert term.peg is not None
            a_values.append(None)
            b_values.append(None)
            c_values.append(None)
            peg[k] = term.peg
        else:
            a_values.append(term.c)
            b_values.append(term.beta)
            c_values.append(None)
            for t, cash in sorted((term.events or {}).items()):
                ev_at[k, t] = len(events)
                events.append(np.broadcast_to(np.asarray(cash, dtype=float), (P,)))
    a_day, a_path, a_idx = _coefficients(a_values, D1, P)
    b_day, b_path, b_idx = _coefficients(b_values, D1, P)
    c_day, c_path, c_idx = _coefficients(c_values, D1, P)
    b_day += b_costs
    ev_val = np.array(events, dtype=float).reshape(len(events), P)
    base = np.array([t.base for t in terms], dtype=float)
    keep = np.array([t.keep for t in terms], dtype=float)
    unpaid = np.array([np.broadcast_to(np.asarray(t.unpaid_usd, dtype=float), (P,)) for t in terms])
    net, payback, drawdown, peak_coll, coc, liq = (np.empty((K, P)) for _ in range(6))
    pos = np.empty((K, D1, P)) if keep_positions else np.empty((0, 0, 0))
    KERNELS.get("scan")(S.reshape(-1), D1, P, kind, base, keep, a_day, a_path, a_idx, b_day, b_path, b_idx, c_day,
                        c_path, c_idx, margin, peg, ev_at, ev_val, unpaid, net, payback, drawdown, peak_coll, coc, liq,
                        int(keep_positions), pos, np.empty(_STATES * TILE), np.empty(_STATES * TILE), np.empty(TILE),
                        np.empty(TILE), np.empty((10, TILE)), np.empty((3, TILE)), np.empty((D1, TILE)))
    outcomes = [PathOutcomes(net_usd=net[k] + term.hardware_end_usd, payback_day=payback[k],
                             max_drawdown_usd=drawdown[k], peak_collateral_usd=peak_coll[k],
                             cost_of_capital_usd=coc[k], liquidation_day=liq[k]) for k, term in enumerate(terms)]
    return outcomes, (pos if keep_positions else None)
