"""A bracketing root finder in plain Python (no scipy at start-up for one IRR).

``brentq`` is Brent's method as scipy's ``scipy.optimize.brentq`` implements it
(``scipy/optimize/Zeros/brentq.c``, after Brent 1973, ch. 4): inverse quadratic
interpolation or the secant step when it stays inside the bracket and shrinks it fast
enough, bisection otherwise. ``tests/test_roots.py`` checks it against scipy.
"""

from __future__ import annotations

from collections.abc import Callable

from analysis.core.errors import InputError


def brentq(f: Callable[[float], float], a: float, b: float, xtol: float = 2e-12,
           rtol: float = 8.881784197001252e-16, maxiter: int = 100) -> float:
    """A root of ``f`` in ``[a, b]``, where ``f(a)`` and ``f(b)`` have opposite signs.

    Parameters
    ----------
    f : callable
        A continuous function of one float.
    a, b : float
        The bracket.
    xtol, rtol : float
        The root is returned within ``xtol + rtol * |root|`` (scipy's defaults).
    maxiter : int
        Iterations before giving up.

    Returns
    -------
    float
        The root.

    Raises
    ------
    InputError
        If ``f(a)`` and ``f(b)`` have the same sign, or the iterations run out.
    """
    xpre, xcur = float(a), float(b)
    fpre, fcur = float(f(xpre)), float(f(xcur))
    if fpre * fcur > 0:
        raise InputError(f"brentq: f({a}) and f({b}) have the same sign; give a bracket around the root")
    if fpre == 0:
        return xpre
    if fcur == 0:
        return xcur
    xblk = fblk = spre = scur = 0.0
    for _ in range(maxiter):
        if fpre != 0 and fcur != 0 and (fpre < 0) != (fcur < 0):
            xblk, fblk = xpre, fpre
            spre = scur = xcur - xpre
        if abs(fblk) < abs(fcur):
            xpre, xcur, xblk = xcur, xblk, xcur
            fpre, fcur, fblk = fcur, fblk, fcur
        delta = (xtol + rtol * abs(xcur)) / 2
        sbis = (xblk - xcur) / 2
        if fcur == 0 or abs(sbis) < delta:
            return xcur
        if abs(spre) > delta and abs(fcur) < abs(fpre):
            if xpre == xblk:
                stry = -fcur * (xcur - xpre) / (fcur - fpre)  # secant
            else:  # inverse quadratic interpolation
                dpre = (fpre - fcur) / (xpre - xcur)
                dblk = (fblk - fcur) / (xblk - xcur)
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            if 2 * abs(stry) < min(abs(spre), 3 * abs(sbis) - delta):
                spre, scur = scur, stry  # accept the interpolation
            else:
                spre = scur = sbis  # bisect
        else:
            spre = scur = sbis
        xpre, fpre = xcur, fcur
        xcur += scur if abs(scur) > delta else (delta if sbis > 0 else -delta)
        fcur = float(f(xcur))
    raise InputError(f"brentq: no convergence in {maxiter} iterations on [{a}, {b}]")
