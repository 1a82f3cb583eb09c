"""Small statistics in the standard library: the paired test behind "cannot be told apart".

Kept free of numpy/scipy so the worker thread (in the app's process) can use it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction for the incomplete beta function (Lentz's method)."""
    tiny, eps = 1e-300, 3e-14
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """Two-sided p-value of Student's t with ``df`` degrees of freedom."""
    if math.isnan(t):
        return math.nan
    if math.isinf(t):
        return 0.0
    return regularized_beta(df / 2.0, 0.5, df / (df + t * t))


def corrected_paired_t(scores_a: Sequence[float], scores_b: Sequence[float],
                       test_fraction: float) -> tuple[float, float]:
    """Nadeau & Bengio's corrected resampled t-test on per-fold scores of two models.

    The plain paired t-test is too confident on CV folds because training sets overlap;
    the variance is inflated by ``n_test / n_train``. Returns (t, two-sided p).
    """
    diffs = [a - b for a, b in zip(scores_a, scores_b, strict=True)]
    k = len(diffs)
    if k < 2:
        return math.nan, math.nan
    mean = statistics.fmean(diffs)
    var = statistics.variance(diffs)
    ratio = test_fraction / max(1e-12, 1.0 - test_fraction)
    denom = math.sqrt((1.0 / k + ratio) * var)
    if denom == 0.0:
        return (0.0, 1.0) if mean == 0.0 else (math.copysign(math.inf, mean), 0.0)
    t = mean / denom
    return t, t_two_sided_p(t, k - 1)


def indistinguishable(leader: Sequence[float], other: Sequence[float], test_fraction: float,
                      alpha: float = 0.05) -> bool:
    """True when ``other`` cannot be told apart from the leader at level ``alpha``."""
    _, p = corrected_paired_t(leader, other, test_fraction)
    return not (p < alpha) if not math.isnan(p) else True


def clearly_worse(leader: Sequence[float], other: Sequence[float], test_fraction: float,
                  alpha: float = 0.05, margin: float = 0.0) -> bool:
    """True when ``other`` is below the leader by more than ``margin`` and significantly so."""
    if len(leader) != len(other) or len(leader) < 2:
        return False
    gap = statistics.fmean(leader) - statistics.fmean(other)
    if gap <= margin:
        return False
    t, p = corrected_paired_t(leader, other, test_fraction)
    return t > 0 and p / 2.0 < alpha  # one-sided: the leader is better
