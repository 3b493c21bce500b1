"""Black-Scholes prices of European puts and calls, vectorised (numpy broadcasting).

There is no liquid listed TON options market, so these are theoretical costs: what a desk
quoting at the given volatility would charge. Volatility is annual (365-day crypto year), time
in years, rates continuously compounded. ``N`` is the standard normal CDF
:func:`analysis.core.numeric.ndtr` (``scipy.special.ndtr``'s formula compiled, so scipy.special
is not imported at start-up; ``scipy.stats.norm.cdf``'s per-call argument handling would
dominate on the small arrays the strategies price).
"""

from __future__ import annotations

import numpy as np

from analysis.core.errors import InputError
from analysis.core.numeric import ndtr

ArrayLike = float | np.ndarray


def _d1_d2(spot: np.ndarray, strike: np.ndarray, years: np.ndarray, vol: np.ndarray,
           rate: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """d1, d2 and the mask of live options (positive time and volatility)."""
    live = (years > 0) & (vol > 0)
    sd = np.where(live, vol * np.sqrt(np.where(live, years, 1.0)), 1.0)
    d1 = (np.log(spot / strike) + (rate + 0.5 * vol * vol) * years) / sd
    return d1, d1 - sd, live


def _prepare(spot: ArrayLike, strike: ArrayLike, years: ArrayLike, vol_annual: ArrayLike,
             rate_annual: ArrayLike) -> tuple[np.ndarray, ...]:
    arrays = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (spot, strike, years, vol_annual,
                                                                            rate_annual)))
    spot, strike, years, vol, rate = arrays
    if np.any(spot <= 0) or np.any(strike <= 0):
        raise InputError("options: spot and strike must be positive prices")
    if np.any(years < 0) or np.any(vol < 0):
        raise InputError("options: years and vol_annual must be non-negative")
    return spot, strike, years, vol, rate


def black_scholes_call(spot: ArrayLike, strike: ArrayLike, years: ArrayLike, vol_annual: ArrayLike,
                       rate_annual: ArrayLike = 0.0) -> np.ndarray | float:
    """Price of a European call: ``S N(d1) - K e^{-rT} N(d2)``.

    At zero time or zero volatility the price is the discounted intrinsic value
    ``max(S - K e^{-rT}, 0)``.
    """
    spot, strike, years, vol, rate = _prepare(spot, strike, years, vol_annual, rate_annual)
    discounted = strike * np.exp(-rate * years)
    d1, d2, live = _d1_d2(spot, strike, years, vol, rate)
    price = np.where(live, spot * ndtr(d1) - discounted * ndtr(d2), np.maximum(spot - discounted, 0.0))
    return price if price.ndim else float(price)


def black_scholes_put(spot: ArrayLike, strike: ArrayLike, years: ArrayLike, vol_annual: ArrayLike,
                      rate_annual: ArrayLike = 0.0) -> np.ndarray | float:
    """Price of a European put: ``K e^{-rT} N(-d2) - S N(-d1)``.

    At zero time or zero volatility the price is ``max(K e^{-rT} - S, 0)``.
    """
    spot, strike, years, vol, rate = _prepare(spot, strike, years, vol_annual, rate_annual)
    discounted = strike * np.exp(-rate * years)
    d1, d2, live = _d1_d2(spot, strike, years, vol, rate)
    price = np.where(live, discounted * ndtr(-d2) - spot * ndtr(-d1), np.maximum(discounted - spot, 0.0))
    return price if price.ndim else float(price)


def black_scholes_put_unit(strike: float, years: ArrayLike, vol_annual: ArrayLike) -> np.ndarray:
    """``black_scholes_put(1, strike, years, vol_annual)`` at zero rate, with fewer temporaries.

    The put on one unit of spot (Black-Scholes is homogeneous: ``put(S, kS) = S put(1, k)``),
    which is what the option strategies price on every path and month:
    ``k N(-d2) - N(-d1)`` with ``d1 = -ln(k) / sd + sd / 2``, ``d2 = d1 - sd``,
    ``sd = vol sqrt(years)``; ``max(k - 1, 0)`` where ``sd`` is 0.
    """
    if not strike > 0:
        raise InputError("options: spot and strike must be positive prices")
    years = np.asarray(years, dtype=float)
    vol = np.asarray(vol_annual, dtype=float)
    if np.any(years < 0) or np.any(vol < 0):
        raise InputError("options: years and vol_annual must be non-negative")
    sd = vol * np.sqrt(years)
    live = sd > 0
    all_live = bool(np.all(live))
    if not all_live:
        sd = np.where(live, sd, 1.0)
    minus_d1 = np.log(strike) / sd
    minus_d1 -= 0.5 * sd
    minus_d2 = minus_d1 + sd
    price = ndtr(minus_d2)
    price *= strike
    price -= ndtr(minus_d1)
    return price if all_live else np.where(live, price, max(strike - 1.0, 0.0))


def black_scholes_call_unit(strike: float, years: ArrayLike, vol_annual: ArrayLike) -> np.ndarray:
    """``black_scholes_call(1, strike, years, vol_annual)`` at zero rate: by put-call parity,
    ``call = put + 1 - k`` (see :func:`black_scholes_put_unit`)."""
    return black_scholes_put_unit(strike, years, vol_annual) + (1.0 - strike)
