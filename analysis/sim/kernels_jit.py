"""The numba kernels behind :mod:`analysis.sim.kernels` (imported only when no compiled library is built).

:mod:`analysis.sim.kernels` says what they compute and why they are shaped this way. They allocate
nothing (their scratch buffers are arguments), so numba's ahead-of-time compiler can build them
without its runtime (:mod:`analysis.core.compiled`, :mod:`analysis.core.aot`).
"""

from __future__ import annotations

import numba
import numpy as np

from analysis.core.numeric_jit import payout_step  # the payout rule, inlined (KernelSet.depends keys on it)

TILE = 256           # paths per tile: their prices, copied contiguous (TILE x (D+1) x 8 bytes), stay in L2
LINEAR, COVER_COSTS, PERP, PEGGED = 0, 1, 2, 3
_STATES = 6          # cash, peak, drawdown, payback day, TON held (cover_costs), position
DAYS = 4             # days per pass over a tile's paths when nothing happens between them (_day_block)


@numba.njit(inline="always")
def _metrics(src, dst, i, x, tf):  # pragma: no cover - compiled
    """Day t's position ``x`` of path ``i``: the running peak, the worst fall from it, the first
    day with ``x >= 0`` (``tf`` = t, inf on day 0). Selects, not branches or in-place max: the
    loop vectorises."""
    T = TILE
    dst[5 * T + i] = x
    p = src[T + i]
    pk = x if x > p else p
    dst[T + i] = pk
    fall = pk - x
    d = src[2 * T + i]
    dst[2 * T + i] = fall if fall > d else d
    b = src[3 * T + i]
    dst[3 * T + i] = tf if (x >= 0.0) & (tf < b) else b


@numba.njit(inline="always")
def _cover_step(src, dst, i, sk, payout, cost, bt, tf):  # pragma: no cover - compiled
    """cover_costs on day t: the payout joins the TON held, valued at ``sk`` (fee-net USD per
    TON); sell up to the day's ``cost``; hold the rest. True when ``sk`` is 0 (numba's ``/`` would
    raise ZeroDivisionError there; its test inside the loop kept the loop scalar)."""
    T = TILE
    value = (src[4 * T + i] + payout) * sk
    cash = src[i]
    proceeds = value if value < cost else cost
    dst[i] = cash + proceeds
    dst[4 * T + i] = np.divide(value - proceeds, sk)   # IEEE division, no test for 0 inside: the loop vectorises
    _metrics(src, dst, i, (cash + value) + bt, tf)
    return sk == 0.0                                    # the caller raises what ``/`` would have


@numba.njit(inline="always")
def _linear_day(s, a, b, bt, tf, cash, pk, dd, pb):  # pragma: no cover - compiled
    """One day of a linear policy on one path, its state in registers: the operations of the
    single-day loop (``cash`` and :func:`_metrics`) in their order."""
    cash = cash + s * a
    x = (cash + bt) + s * b
    pk = x if x > pk else pk
    fall = pk - x
    dd = fall if fall > dd else dd
    pb = tf if (x >= 0.0) & (tf < pb) else pb
    return cash, pk, dd, pb, x


@numba.njit(inline="always")
def _cover_day(sk, payout, cost, bt, tf, cash, pk, dd, pb, ton):  # pragma: no cover - compiled
    """:func:`_cover_step` with its state in registers; the last value is True when ``sk`` is 0."""
    value = (ton + payout) * sk
    proceeds = value if value < cost else cost
    x = (cash + value) + bt
    cash = cash + proceeds
    ton = np.divide(value - proceeds, sk)
    pk = x if x > pk else pk
    fall = pk - x
    dd = fall if fall > dd else dd
    pb = tf if (x >= 0.0) & (tf < pb) else pb
    return cash, pk, dd, pb, ton, x, sk == 0.0


@numba.njit(inline="always")
def _day_value(day, path, k, idx, t, j):  # pragma: no cover - compiled
    return path[idx, t, j] if idx >= 0 else day[k, t]


@numba.njit(inline="always")
def _day_row(day, path, k, idx, t, lo, n, fills, m):  # pragma: no cover - compiled
    """Day t's values of the tile's paths: a row of ``path``, or the day's number copied into ``fills[m]``."""
    if idx >= 0:
        return path[idx, t, lo:lo + n]
    row = fills[m, :n]
    row[:] = day[k, t]
    return row


@numba.njit(inline="always")
def _perp_step(s_prev, s, payout, target, rate, bt, tf, extra, im, mm, rate_k, cap, fk, up,
               cash, short, coll, coc, pc, liq, pk, dd, pb):  # pragma: no cover - compiled
    """Day t of one path of the perp hedge (the rules of analysis.sim.margin), its state in registers
    (cash, short, collateral, cost of capital so far, peak collateral, liquidation day, running peak,
    worst fall, payback day; returned with the day's position); ``extra``: cash added on the day
    (the unpaid TON on day D). Selects for what changes often (margin calls, peaks: data-dependent,
    a mispredicted branch costs more than the day's arithmetic), branches for what is rare
    (liquidation, payback)."""
    carry = rate * short * s_prev                     # funding on yesterday's notional (> 0 pays the short)
    charge = rate_k * coll                            # the collateral held over the day costs its capital
    cash = cash + payout * fk * s + carry - charge + extra
    account = coll + short * (s_prev - s) + carry     # the margin account after the day's move
    new = target if target < short else short         # the schedule only falls; 0 once liquidated
    cash -= (short - new) * up * s                    # buy back what the schedule releases
    notional = new * s
    need = account < mm * notional                    # a rally took the account below maintenance
    if need and im * notional > cap:                  # the top-up would pass the cap: close it all
        cash -= new * up * s
        new = 0.0
        liq = tf
    after = im * new * s
    coll = after if (need | (account > after)) else account   # top up, or sweep the excess back
    coc += charge
    pc = coll if coll > pc else pc
    x = (cash + bt) - new * up * s
    pk = x if x > pk else pk
    fall = pk - x
    dd = fall if fall > dd else dd
    if x >= 0.0 and tf < pb:
        pb = tf
    return cash, new, coll, coc, pc, liq, pk, dd, pb, x


@numba.njit(inline="always")
def _perp_day(st, i, s_prev, s, payout, target, rate, bt, tf, extra, im, mm, rate_k, cap, fk, up):  # pragma: no cover
    """:func:`_perp_step` on path ``i`` with its state in the rows of ``st``."""
    (st[0, i], st[1, i], st[2, i], st[3, i], st[4, i], st[5, i], st[6, i], st[7, i], st[8, i],
     st[9, i]) = _perp_step(s_prev, s, payout, target, rate, bt, tf, extra, im, mm, rate_k, cap, fk, up,
                            st[0, i], st[1, i], st[2, i], st[3, i], st[4, i], st[5, i], st[6, i], st[7, i], st[8, i])


@numba.njit(inline="always")
def _perp_block(st, prices, t, n, a, b, c, base, unpaid, im, mm, rate_k, cap, fk, up):  # pragma: no cover - compiled
    """Days ``t .. t + DAYS - 1`` (all before day D) of the perp hedge with numbers per day, path by
    path with the state in registers: read and written once for the DAYS days (as :func:`_day_block`).
    The day's ``extra`` is ``0 * unpaid`` as on the single days (NaN where the unpaid value is not finite)."""
    p0, p1, p2, p3, p4 = prices[t - 1, :n], prices[t, :n], prices[t + 1, :n], prices[t + 2, :n], prices[t + 3, :n]
    a0, a1, a2, a3 = a[t], a[t + 1], a[t + 2], a[t + 3]
    b0, b1, b2, b3 = b[t], b[t + 1], b[t + 2], b[t + 3]
    c0, c1, c2, c3 = c[t], c[t + 1], c[t + 2], c[t + 3]
    e0, e1, e2, e3 = base[t], base[t + 1], base[t + 2], base[t + 3]
    f0, f1, f2, f3 = float(t), float(t + 1), float(t + 2), float(t + 3)
    for i in range(n):
        cash, short, coll, coc, pc = st[0, i], st[1, i], st[2, i], st[3, i], st[4, i]
        liq, pk, dd, pb = st[5, i], st[6, i], st[7, i], st[8, i]
        z = 0.0 * unpaid[i]
        cash, short, coll, coc, pc, liq, pk, dd, pb, x = _perp_step(
            p0[i], p1[i], a0, b0, c0, e0, f0, z, im, mm, rate_k, cap, fk, up, cash, short, coll, coc, pc, liq, pk,
            dd, pb)
        cash, short, coll, coc, pc, liq, pk, dd, pb, x = _perp_step(
            p1[i], p2[i], a1, b1, c1, e1, f1, z, im, mm, rate_k, cap, fk, up, cash, short, coll, coc, pc, liq, pk,
            dd, pb)
        cash, short, coll, coc, pc, liq, pk, dd, pb, x = _perp_step(
            p2[i], p3[i], a2, b2, c2, e2, f2, z, im, mm, rate_k, cap, fk, up, cash, short, coll, coc, pc, liq, pk,
            dd, pb)
        cash, short, coll, coc, pc, liq, pk, dd, pb, x = _perp_step(
            p3[i], p4[i], a3, b3, c3, e3, f3, z, im, mm, rate_k, cap, fk, up, cash, short, coll, coc, pc, liq, pk,
            dd, pb)
        st[0, i], st[1, i], st[2, i], st[3, i], st[4, i] = cash, short, coll, coc, pc
        st[5, i], st[6, i], st[7, i], st[8, i], st[9, i] = liq, pk, dd, pb, x


@numba.njit(inline="always")
def _day_block(src, dst, prices, t, n, kk, fk, a, b, base):  # pragma: no cover - compiled
    """Days ``t .. t + DAYS - 1`` of a linear or cover_costs policy whose coefficients are numbers per
    day, path by path with the state in registers: read once and written once for the DAYS days
    (the single-day loop is bound by its five stores per path and day)."""
    T = TILE
    r0, r1, r2, r3 = prices[t, :n], prices[t + 1, :n], prices[t + 2, :n], prices[t + 3, :n]
    a0, a1, a2, a3 = a[t], a[t + 1], a[t + 2], a[t + 3]
    b0, b1, b2, b3 = b[t], b[t + 1], b[t + 2], b[t + 3]
    c0, c1, c2, c3 = base[t], base[t + 1], base[t + 2], base[t + 3]
    f0, f1, f2, f3 = float(t), float(t + 1), float(t + 2), float(t + 3)
    if kk == LINEAR:
        for i in range(n):
            cash, pk, dd, pb = src[i], src[T + i], src[2 * T + i], src[3 * T + i]
            cash, pk, dd, pb, x = _linear_day(r0[i], a0, b0, c0, f0, cash, pk, dd, pb)
            cash, pk, dd, pb, x = _linear_day(r1[i], a1, b1, c1, f1, cash, pk, dd, pb)
            cash, pk, dd, pb, x = _linear_day(r2[i], a2, b2, c2, f2, cash, pk, dd, pb)
            cash, pk, dd, pb, x = _linear_day(r3[i], a3, b3, c3, f3, cash, pk, dd, pb)
            dst[i] = cash
            dst[T + i] = pk
            dst[2 * T + i] = dd
            dst[3 * T + i] = pb
            dst[5 * T + i] = x
    else:
        zero = False
        for i in range(n):
            cash, pk, dd, pb, ton = src[i], src[T + i], src[2 * T + i], src[3 * T + i], src[4 * T + i]
            cash, pk, dd, pb, ton, x, z0 = _cover_day(r0[i] * fk, a0, b0, c0, f0, cash, pk, dd, pb, ton)
            cash, pk, dd, pb, ton, x, z1 = _cover_day(r1[i] * fk, a1, b1, c1, f1, cash, pk, dd, pb, ton)
            cash, pk, dd, pb, ton, x, z2 = _cover_day(r2[i] * fk, a2, b2, c2, f2, cash, pk, dd, pb, ton)
            cash, pk, dd, pb, ton, x, z3 = _cover_day(r3[i] * fk, a3, b3, c3, f3, cash, pk, dd, pb, ton)
            zero |= (z0 | z1) | (z2 | z3)
            dst[i] = cash
            dst[T + i] = pk
            dst[2 * T + i] = dd
            dst[3 * T + i] = pb
            dst[4 * T + i] = ton
            dst[5 * T + i] = x
        if zero:
            raise ZeroDivisionError("division by zero")


@numba.njit(cache=True, nogil=True)   # a call, not inlined: the big scan's loops keep vectorising
def _perp_tile(prices, D1, lo, n, k, base, keep, a_day, a_path, a_idx, b_day, b_path, b_idx, c_day, c_path, c_idx,
               margin, unpaid, net, payback, drawdown, peak_coll, coc, liq_day, write_pos, pos,
               st, fills):  # pragma: no cover - compiled
    """perp_hedge on the paths ``lo .. lo + n`` (analysis.sim.margin states the rules), day by day over
    the tile's paths like the other kinds (``prices`` holds the tile's, ``[D+1, TILE]``), with its
    state in the rows of ``st`` (``[10, TILE]``): cash,
    short, collateral, cost of capital so far, peak collateral, liquidation day, running peak, worst
    fall, payback day, the day's position; ``fills [3, TILE]`` holds the day's inputs when they are
    rows. (Path by path would read the prices with a stride of ``P`` doubles, a power of two that maps
    every day of a path onto the same cache set.) No test of the day or of ``write_pos`` inside the
    loop over paths: they kept it from being compiled tight (about 4x slower)."""
    D = D1 - 1
    im = margin[k, 0]
    mm = margin[k, 1]
    rate_k = margin[k, 2]
    cap = margin[k, 3]
    fk = keep[k]
    up = 2.0 - fk                                     # 1 + fee
    ai, bi, ci = a_idx[k], b_idx[k], c_idx[k]
    b0 = base[k, 0]
    unpaid_k = unpaid[k, lo:lo + n]
    for i in range(n):
        j = lo + i
        s = prices[0, i]
        h = _day_value(b_day, b_path, k, bi, 0, j)     # the opening short H
        cash = h * fk * s                             # sold at S_0, net of the fee
        st[0, i] = cash
        st[1, i] = h
        st[2, i] = im * h * s                         # initial margin posted
        st[3, i] = 0.0
        st[4, i] = im * h * s
        st[5, i] = np.nan
        x = (cash + b0) - h * up * s
        st[6, i] = x
        st[7, i] = 0.0
        st[8, i] = np.inf
        st[9, i] = x
        if write_pos:
            pos[k, 0, j] = x
    per_day = ai < 0 and bi < 0 and ci < 0            # numbers per day: the common case
    t = 1
    while t < D1:
        if per_day and not write_pos and t + DAYS - 1 < D:
            _perp_block(st, prices, t, n, a_day[k], b_day[k], c_day[k], base[k], unpaid_k, im, mm, rate_k, cap, fk,
                        up)
            t += DAYS
            continue
        prev = prices[t - 1, :n]
        cur = prices[t, :n]
        bt = base[k, t]
        tf = float(t)
        final = 1.0 if t == D else 0.0                # the accrued-but-unpaid TON counts on day D
        if per_day:
            av = a_day[k, t]
            bv = b_day[k, t]
            cv = c_day[k, t]
            for i in range(n):
                _perp_day(st, i, prev[i], cur[i], av, bv, cv, bt, tf, final * unpaid_k[i], im, mm, rate_k, cap, fk, up)
        else:
            arow = _day_row(a_day, a_path, k, ai, t, lo, n, fills, 0)
            brow = _day_row(b_day, b_path, k, bi, t, lo, n, fills, 1)
            crow = _day_row(c_day, c_path, k, ci, t, lo, n, fills, 2)
            for i in range(n):
                _perp_day(st, i, prev[i], cur[i], arow[i], brow[i], crow[i], bt, tf, final * unpaid_k[i],
                          im, mm, rate_k, cap, fk, up)
        if write_pos:                                 # outside the loop over paths: it stays branch-free
            pos_row = pos[k, t, lo:lo + n]
            for i in range(n):
                pos_row[i] = st[9, i]
        t += 1
    net_k, dd_k, pb_k = net[k, lo:lo + n], drawdown[k, lo:lo + n], payback[k, lo:lo + n]
    pc_k, coc_k, liq_k = peak_coll[k, lo:lo + n], coc[k, lo:lo + n], liq_day[k, lo:lo + n]
    for i in range(n):
        net_k[i] = st[9, i]
        dd_k[i] = st[7, i]
        pb = st[8, i]
        pb_k[i] = pb if pb < np.inf else np.nan
        pc_k[i] = st[4, i]
        coc_k[i] = st[3, i]
        liq_k[i] = st[5, i]


@numba.njit(inline="always")
def _pegged_step(s, bt, tf, fk, usd, nf, share, npt, adj, thr, tol, gpus, per, cash, pk, dd, pb, cum, paid,
                 last):  # pragma: no cover - compiled
    """Day t >= 1 of usd_pegged on one path, its state in registers: the day's payouts at the pegged
    fee of close ``s`` (:func:`analysis.core.numeric_jit.pegged_payout_rows`'s operations), each sold
    at ``s`` net of the fee, as sell_on_payout's linear step (``c_t = q_t keep``); on the last day
    (``last``) the accrued-but-unpaid TON is sold too, first, as the scan adds ``unpaid`` (ledger's
    ``gpus * np.maximum(cumulative - paid * threshold, 0)``, valued ``keep * unpaid * S_D``)."""
    fee = np.divide(usd, s)
    fee *= nf
    fee *= share
    q, cum, paid = payout_step(fee, npt, adj, thr, tol, gpus, per, cum, paid)
    c = q * fk
    if last:
        u = cum - paid * thr
        u = u if (u >= 0.0) | (u != u) else 0.0      # np.maximum(u, 0.0): NaN through, -0.0 kept
        cash += (fk * (gpus * u)) * s
    cash = cash + s * c
    x = (cash + bt) + s * 0.0                          # nothing held (beta = 0), as the linear step
    pk = x if x > pk else pk
    fall = pk - x
    dd = fall if fall > dd else dd
    pb = tf if (x >= 0.0) & (tf < pb) else pb
    return cash, pk, dd, pb, cum, paid, x


@numba.njit(cache=True, nogil=True)   # a call, not inlined: the big scan's loops keep vectorising
def _pegged_tile(prices, D1, lo, n, k, base, keep, peg, net, payback, drawdown, peak_coll, coc, liq_day,
                 write_pos, pos, st):  # pragma: no cover - compiled
    """usd_pegged on the paths ``lo .. lo + n``: sell_on_payout on the usd_pegged income, that income
    paid day by day here from the tile's closes (``peg[k]``: ledger.pegged_payout_factors) instead of
    read from a ``[D, P]`` payout array and a ``[D+1, P]`` array of TON sold, the same operations in
    the same order (the same bits). State in rows of ``st`` read through 1-D views (cash, running
    peak, worst fall, payback day, a worker's earnings so far, its payouts so far, the day's
    position), and in registers for ``DAYS`` days at a time where no positions are written."""
    D = D1 - 1
    fk = keep[k]
    usd, nf, share, npt = peg[k, 0], peg[k, 1], peg[k, 2], peg[k, 3]
    adj, thr, tol, gpus, per = peg[k, 4], peg[k, 5], peg[k, 6], peg[k, 7], peg[k, 8]
    r_cash, r_pk, r_dd, r_pb = st[0, :n], st[1, :n], st[2, :n], st[3, :n]
    r_cum, r_paid, r_x = st[4, :n], st[5, :n], st[6, :n]
    b0 = base[k, 0]
    row = prices[0, :n]
    for i in range(n):                                 # day 0: nothing paid yet (c_0 = 0)
        s = row[i]
        cash = 0.0 + s * 0.0
        x = (cash + b0) + s * 0.0
        r_cash[i] = cash
        pk = -np.inf
        pk = x if x > pk else pk
        r_pk[i] = pk
        fall = pk - x
        r_dd[i] = fall if fall > 0.0 else 0.0
        r_pb[i] = np.inf
        r_cum[i] = 0.0
        r_paid[i] = 0.0
        r_x[i] = x
    if write_pos:
        pos_row = pos[k, 0, lo:lo + n]
        for i in range(n):
            pos_row[i] = r_x[i]
    t = 1
    while t < D1:
        if not write_pos and t + DAYS - 1 < D:         # four days, the state in registers
            p0, p1, p2, p3 = prices[t, :n], prices[t + 1, :n], prices[t + 2, :n], prices[t + 3, :n]
            e0, e1, e2, e3 = base[k, t], base[k, t + 1], base[k, t + 2], base[k, t + 3]
            f0, f1, f2, f3 = float(t), float(t + 1), float(t + 2), float(t + 3)
            for i in range(n):
                cash, pk, dd, pb, cum, paid = r_cash[i], r_pk[i], r_dd[i], r_pb[i], r_cum[i], r_paid[i]
                cash, pk, dd, pb, cum, paid, x = _pegged_step(p0[i], e0, f0, fk, usd, nf, share, npt, adj, thr, tol,
                                                              gpus, per, cash, pk, dd, pb, cum, paid, False)
                cash, pk, dd, pb, cum, paid, x = _pegged_step(p1[i], e1, f1, fk, usd, nf, share, npt, adj, thr, tol,
                                                              gpus, per, cash, pk, dd, pb, cum, paid, False)
                cash, pk, dd, pb, cum, paid, x = _pegged_step(p2[i], e2, f2, fk, usd, nf, share, npt, adj, thr, tol,
                                                              gpus, per, cash, pk, dd, pb, cum, paid, False)
                cash, pk, dd, pb, cum, paid, x = _pegged_step(p3[i], e3, f3, fk, usd, nf, share, npt, adj, thr, tol,
                                                              gpus, per, cash, pk, dd, pb, cum, paid, False)
                r_cash[i], r_pk[i], r_dd[i], r_pb[i], r_cum[i], r_paid[i], r_x[i] = cash, pk, dd, pb, cum, paid, x
            t += DAYS
            continue
        row = prices[t, :n]
        bt = base[k, t]
        tf = float(t)
        if t < D:
            for i in range(n):
                (r_cash[i], r_pk[i], r_dd[i], r_pb[i], r_cum[i], r_paid[i], r_x[i]) = _pegged_step(
                    row[i], bt, tf, fk, usd, nf, share, npt, adj, thr, tol, gpus, per, r_cash[i], r_pk[i], r_dd[i],
                    r_pb[i], r_cum[i], r_paid[i], False)
        else:
            for i in range(n):
                (r_cash[i], r_pk[i], r_dd[i], r_pb[i], r_cum[i], r_paid[i], r_x[i]) = _pegged_step(
                    row[i], bt, tf, fk, usd, nf, share, npt, adj, thr, tol, gpus, per, r_cash[i], r_pk[i], r_dd[i],
                    r_pb[i], r_cum[i], r_paid[i], True)
        if write_pos:                                  # outside the loop over paths: it stays branch-free
            pos_row = pos[k, t, lo:lo + n]
            for i in range(n):
                pos_row[i] = r_x[i]
        t += 1
    net_k, dd_k, pb_k = net[k, lo:lo + n], drawdown[k, lo:lo + n], payback[k, lo:lo + n]
    pc_k, coc_k, liq_k = peak_coll[k, lo:lo + n], coc[k, lo:lo + n], liq_day[k, lo:lo + n]
    for i in range(n):
        net_k[i] = r_x[i]
        dd_k[i] = r_dd[i]
        pb = r_pb[i]
        pb_k[i] = pb if pb < np.inf else np.nan
        pc_k[i] = 0.0                # no collateral outside the perp
        coc_k[i] = 0.0
        liq_k[i] = np.nan


@numba.njit(cache=True, nogil=True)
def scan(Sf, D1, P, kind, base, keep, a_day, a_path, a_idx, b_day, b_path, b_idx, c_day, c_path, c_idx,
          margin, peg, ev_at, ev_val, unpaid, net, payback, drawdown, peak_coll, coc, liq_day,
          write_pos, pos, buf_a, buf_b, a_fill, b_fill, perp_state, perp_fills, prices):  # pragma: no cover - compiled
    """See the module docstring. ``Sf`` is the day-major ``[D+1, P]`` prices, flattened.

    Per policy ``k``: ``a`` is ``c`` (TON sold, fee-net) for a linear policy and the day's payout
    (``a_t = q_{t-1}``, ``a_0 = 0``) for cover_costs and perp; ``b`` is ``beta`` (TON held,
    fee-net), the day's USD costs for cover_costs, the scheduled short for perp; ``c`` is the
    perp's funding of day t (0 otherwise). Each is a number per day (``*_day[k, t]``) or, when
    ``*_idx[k] >= 0``, a row per path (``*_path[*_idx[k], t]``). ``ev_at[k, t]`` is the row of
    ``ev_val`` holding that day's event cash, or -1; ``unpaid[k]`` is added on day D;
    ``margin[k]`` holds the perp's margin terms, ``peg[k]`` usd_pegged's payout factors. With ``write_pos`` (0/1) the positions go to ``pos``.
    Scratch: ``buf_a``, ``buf_b`` ``[6 TILE]``, ``a_fill``, ``b_fill`` ``[TILE]``, ``perp_state [10, TILE]``,
    ``perp_fills [3, TILE]``, ``prices [D+1, TILE]`` (the tile's prices, copied out of ``Sf``).
    """
    K = kind.shape[0]
    D = D1 - 1
    T = TILE
    for lo in range(0, P, TILE):
        n = min(TILE, P - lo)
        for t in range(D1):                  # the tile's prices, contiguous: every policy reads them from L2
            src_row = Sf[t * P + lo:t * P + lo + n]
            dst_row = prices[t]
            for i in range(n):
                dst_row[i] = src_row[i]
        for k in range(K):
            src = buf_a
            dst = buf_b
            kk = kind[k]
            fk = keep[k]
            if kk == PERP:
                _perp_tile(prices, D1, lo, n, k, base, keep, a_day, a_path, a_idx, b_day, b_path, b_idx, c_day, c_path,
                           c_idx, margin, unpaid, net, payback, drawdown, peak_coll, coc, liq_day, write_pos, pos,
                           perp_state, perp_fills)
                continue
            if kk == PEGGED:
                _pegged_tile(prices, D1, lo, n, k, base, keep, peg, net, payback, drawdown, peak_coll, coc, liq_day,
                             write_pos, pos, perp_state)
                continue
            for i in range(n):
                src[i] = 0.0                 # cash
                src[T + i] = -np.inf         # running peak
                src[2 * T + i] = 0.0         # worst fall from it
                src[3 * T + i] = np.inf      # payback day (inf: not yet)
                src[4 * T + i] = 0.0         # TON held
                src[5 * T + i] = 0.0         # position
            wide = a_idx[k] >= 0 or b_idx[k] >= 0
            t = 0
            while t < D1:
                row = prices[t, :n]
                e = ev_at[k, t]
                if e >= 0:                   # option premiums and payoffs: cash on the day
                    cash_row = ev_val[e, lo:lo + n]
                    for i in range(n):
                        src[i] += cash_row[i]
                if t == D:                   # accrued-but-unpaid TON, valued at the last close
                    unpaid_row = unpaid[k, lo:lo + n]
                    for i in range(n):
                        src[i] += unpaid_row[i]
                bt = base[k, t]
                tf = np.inf if t == 0 else float(t)
                if (not wide and not write_pos and t >= 1 and t + DAYS - 1 < D and ev_at[k, t + 1] < 0
                        and ev_at[k, t + 2] < 0 and ev_at[k, t + 3] < 0):
                    _day_block(src, dst, prices, t, n, kk, fk, a_day[k], b_day[k], base[k])
                    t += DAYS
                    src, dst = dst, src
                    continue
                if wide:                     # a row per path: fill the other one if it is a number
                    if a_idx[k] >= 0:
                        arow = a_path[a_idx[k], t, lo:lo + n]
                    else:
                        arow = a_fill[:n]
                        arow[:] = a_day[k, t]
                    if b_idx[k] >= 0:
                        brow = b_path[b_idx[k], t, lo:lo + n]
                    else:
                        brow = b_fill[:n]
                        brow[:] = b_day[k, t]
                    if kk == LINEAR:
                        for i in range(n):
                            s = row[i]
                            cash = src[i] + s * arow[i]
                            dst[i] = cash
                            _metrics(src, dst, i, (cash + bt) + s * brow[i], tf)
                    else:
                        zero = False
                        for i in range(n):
                            zero |= _cover_step(src, dst, i, row[i] * fk, arow[i], brow[i], bt, tf)
                        if zero:
                            raise ZeroDivisionError("division by zero")
                else:                        # numbers per day: the common case, fewer loads
                    av = a_day[k, t]
                    bv = b_day[k, t]
                    if kk == LINEAR:
                        for i in range(n):
                            s = row[i]
                            cash = src[i] + s * av
                            dst[i] = cash
                            _metrics(src, dst, i, (cash + bt) + s * bv, tf)
                    else:
                        zero = False
                        for i in range(n):
                            zero |= _cover_step(src, dst, i, row[i] * fk, av, bv, bt, tf)
                        if zero:
                            raise ZeroDivisionError("division by zero")
                if write_pos:
                    pos_row = pos[k, t, lo:lo + n]
                    for i in range(n):
                        pos_row[i] = dst[5 * T + i]
                t += 1
                src, dst = dst, src
            net_k, dd_k, pb_k = net[k, lo:lo + n], drawdown[k, lo:lo + n], payback[k, lo:lo + n]
            pc_k, coc_k, liq_k = peak_coll[k, lo:lo + n], coc[k, lo:lo + n], liq_day[k, lo:lo + n]
            for i in range(n):
                net_k[i] = src[5 * T + i]
                dd_k[i] = src[2 * T + i]
                pb = src[3 * T + i]
                pb_k[i] = pb if pb < np.inf else np.nan
                pc_k[i] = 0.0                # no collateral outside the perp
                coc_k[i] = 0.0
                liq_k[i] = np.nan
