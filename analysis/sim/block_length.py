"""The expected block length of the stationary bootstrap, estimated from the data.

Politis & White (2004), "Automatic Block-Length Selection for the Dependent Bootstrap",
Econometric Reviews 23(1), 53-70, with the correction of Patton, Politis & White (2009),
Econometric Reviews 28(4), 372-375 -- computed with the same tuning choices as
``arch.bootstrap.optimal_block_length`` (autocovariances over the full sample; the band
``2 sqrt(log10(n) / n)``; ``K_n = max(5, log10 n)``; ``M_max = ceil(sqrt n) + K_n``; the
result capped at ``min(3 sqrt n, n / 3)``), so that the bootstrap's default does not need
arch (and, through it, scipy.stats and statsmodels) at start-up. ``tests/test_block_length.py``
checks it against arch.
"""

from __future__ import annotations

import math

import numpy as np


def optimal_block_length(x: np.ndarray) -> tuple[float, float]:
    """Optimal expected block lengths ``(stationary, circular)`` of a 1-D series.

    Parameters
    ----------
    x : ndarray
        The observations (e.g. daily log returns), at least 2.

    Returns
    -------
    tuple of float
        The stationary-bootstrap and the circular-block-bootstrap block lengths, in observations.

    Notes
    -----
    With ``eps = x - mean(x)``, ``R(k) = sum_t eps_t eps_{t-k} / n`` and the flat-top lag
    window ``lambda(s) = 1`` for ``|s| <= 1/2``, ``2 (1 - |s|)`` up to 1:
    ``G = sum_{k=-M}^{M} lambda(k/M) |k| R(k)``, ``sigma^2 = sum lambda(k/M) R(k)``,
    ``D_SB = 2 sigma^4``, ``D_CB = 4/3 sigma^4`` and ``b = (2 G^2 / D)^(1/3) n^(1/3)``.
    ``M = 2 m`` where ``m`` is the first lag after which ``K_n`` consecutive sample
    autocorrelations lie inside the band (arch's normalisation of each autocorrelation by the
    two shortened sums of squares is kept, so the numbers agree).
    """
    values = np.asarray(x, dtype=float).ravel()
    n = values.size
    eps = values - values.mean()
    b_max = math.ceil(min(3 * math.sqrt(n), n / 3))
    k_n = max(5, int(math.log10(n)))
    m_max = math.ceil(math.sqrt(n)) + k_n
    band = 2 * math.sqrt(math.log10(n) / n)
    acv = np.zeros(m_max + 1)
    inside = np.zeros(m_max + 1, dtype=bool)
    first_m = None
    for lag in range(m_max + 1):
        cross = float(eps[lag:] @ eps[: n - lag])
        acv[lag] = cross / n
        head, tail = eps[lag + 1:], eps[: n - lag - 1]
        inside[lag] = abs(cross) / math.sqrt(float(head @ head) * float(tail @ tail)) < band
        if first_m is None and lag >= k_n and inside[lag - k_n: lag].all():
            first_m = lag - k_n
    m = min(2 * max(first_m, 1) if first_m is not None else m_max, m_max)
    g = 0.0
    long_run = float(acv[0])
    for j in range(1, m + 1):  # in order, as a sum of scalars: arch's rounding
        w = 1.0 if j / m <= 0.5 else 2 * (1 - j / m)
        g += 2 * w * j * float(acv[j])
        long_run += 2 * w * float(acv[j])
    stationary = ((2 * g ** 2) / (2 * long_run ** 2)) ** (1 / 3) * n ** (1 / 3)
    circular = ((2 * g ** 2) / (4 / 3 * long_run ** 2)) ** (1 / 3) * n ** (1 / 3)
    return float(min(stationary, b_max)), float(min(circular, b_max))
