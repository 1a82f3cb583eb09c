"""'Would more help?': project a model's score and cost at more rows from its learning curve.

The racing rungs give a few (rows, mean CV score) points per model and the measured seconds
per fit at each size. The score is fitted with an inverse power law, the usual shape of a
learning curve (it rises and flattens toward an asymptote):

    score(n) = a - b * n ** (-c),   b >= 0,  0.05 <= c <= 2

For a fixed ``c`` the law is linear in ``a`` and ``b``, so ``c`` is searched on a grid and
``a``, ``b`` come from least squares: no optimiser, no numpy (the app's process runs this).
Its uncertainty is a parametric bootstrap: each point is redrawn with the noise of a CV mean at
that size (the full-size fold spread, scaled by sqrt(rows_last / rows) for smaller rungs, over
sqrt(k) folds) and the law refitted; the 5th-95th percentiles of the refits are the band.

Fit time is fitted as seconds = s * n ** p in log-log space (p clipped to [0.5, 3]).

With fewer than three sizes, or sizes spanning less than a factor of 2, the answer is "too few
to tell" rather than a line through two noisy points.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

C_GRID = tuple(0.05 * 1.12 ** i for i in range(34))  # 0.05 … ~2.1, denser where curves live
MIN_SIZES = 3
MIN_SPAN = 2.0
BOOTSTRAP = 200
FLAT = 0.005  # a projected gain below this (score units) is "little"


@dataclass(frozen=True)
class ProjectedPoint:
    """The projection at one size: the curve's value, its band, and the cost of one fit."""

    rows: int
    score: float
    low: float
    high: float
    fit_seconds: float | None  # one fit on this many rows (None: no timing to go on)


@dataclass(frozen=True)
class Projection:
    """What more rows would buy, for one model."""

    model: str
    rows_now: int  # the largest size measured
    score_now: float
    points: tuple[ProjectedPoint, ...] = ()
    enough: bool = False  # False: too few sizes to fit a curve; ``advice`` says why
    advice: str = ""
    curve: tuple[tuple[int, float], ...] = field(default=())  # the measured points

    def to_dict(self) -> dict:
        return {"model": self.model, "rows_now": self.rows_now, "score_now": self.score_now,
                "enough": self.enough, "advice": self.advice,
                "curve": [list(p) for p in self.curve],
                "points": [vars(p) for p in self.points]}


def fit_power_law(points: Sequence[tuple[float, float]]) -> tuple[float, float, float] | None:
    """(a, b, c) of score = a - b * n^-c by least squares over a grid of ``c`` (b >= 0)."""
    if len(points) < 3:
        return None
    best: tuple[float, float, float, float] | None = None
    ys = [y for _, y in points]
    for c in C_GRID:
        xs = [n ** (-c) for n, _ in points]
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        sxx = sum((x - mx) ** 2 for x in xs)
        if sxx <= 0:
            continue
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
        b = max(-slope, 0.0)  # a curve that falls with more rows is treated as flat
        a = my + b * mx
        sse = sum((a - b * x - y) ** 2 for x, y in zip(xs, ys))
        if best is None or sse < best[0] - 1e-15:
            best = (sse, a, b, c)
    return None if best is None else best[1:]


def power_law(params: tuple[float, float, float], n: float) -> float:
    a, b, c = params
    return a - b * n ** (-c)


def fit_cost(points: Sequence[tuple[int, float]]) -> tuple[float, float] | None:
    """(s, p) of seconds = s * n^p from (rows, seconds) points; p clipped to [0.5, 3]."""
    pts = [(math.log(n), math.log(t)) for n, t in points if n > 0 and t > 0]
    if not pts:
        return None
    if len({x for x, _ in pts}) < 2:
        p = 1.0  # one size measured: assume linear time
    else:
        mx, my = statistics.fmean(x for x, _ in pts), statistics.fmean(y for _, y in pts)
        sxx = sum((x - mx) ** 2 for x, _ in pts)
        p = sum((x - mx) * (y - my) for x, y in pts) / sxx
    p = min(max(p, 0.5), 3.0)
    log_s = statistics.fmean(y - p * x for x, y in pts)
    return math.exp(log_s), p


def project(model: str, curve: Sequence[tuple[int, float]], fold_std: float, n_folds: int,
            at: Sequence[int], fit_points: Sequence[tuple[int, float]] = (),
            seed: int = 0) -> Projection:
    """Project ``model``'s score (and the seconds of one fit) at each size in ``at``.

    ``curve``: (rows, mean CV score) per size; ``fold_std``: the spread of the fold scores at
    the largest size; ``fit_points``: (training rows, seconds) of single fits measured.
    """
    curve = sorted((int(n), float(s)) for n, s in curve if n > 0 and math.isfinite(s))
    if not curve:
        return Projection(model=model, rows_now=0, score_now=math.nan,
                          advice="no learning curve: the model finished no rung")
    rows_now, score_now = curve[-1]
    fold_std = float(fold_std) if math.isfinite(fold_std) else 0.0
    cost = fit_cost(fit_points)

    def seconds(n: int) -> float | None:
        return None if cost is None else round(cost[0] * n ** cost[1], 3)

    sizes = [n for n, _ in curve]
    if len(sizes) < MIN_SIZES or sizes[-1] / sizes[0] < MIN_SPAN:
        points = tuple(ProjectedPoint(rows=int(n), score=math.nan, low=math.nan, high=math.nan,
                                      fit_seconds=seconds(int(n))) for n in at)
        why = (f"{len(sizes)} size{'s' if len(sizes) != 1 else ''} measured"
               if len(sizes) < MIN_SIZES else
               f"sizes span only {sizes[-1] / sizes[0]:.1f}x")
        return Projection(model=model, rows_now=rows_now, score_now=score_now, points=points,
                          enough=False, curve=tuple(curve),
                          advice=f"too few points to tell ({why}; need {MIN_SIZES} sizes "
                                 f"spanning {MIN_SPAN:g}x or more)")
    params = fit_power_law(curve)
    assert params is not None
    rng = random.Random(seed)
    k = max(n_folds, 1)
    refits = []
    for _ in range(BOOTSTRAP):
        noisy = [(n, s + rng.gauss(0.0, fold_std * math.sqrt(rows_now / n) / math.sqrt(k)))
                 for n, s in curve]
        p = fit_power_law(noisy)
        if p is not None:
            refits.append(p)
    points = []
    for n in at:
        mid = power_law(params, n)
        values = sorted(power_law(p, n) for p in refits) or [mid]
        low = float(values[int(0.05 * (len(values) - 1))])
        high = float(values[int(0.95 * (len(values) - 1))])
        points.append(ProjectedPoint(rows=int(n), score=round(float(mid), 4), low=round(low, 4),
                                     high=round(high, 4), fit_seconds=seconds(int(n))))
    return Projection(model=model, rows_now=rows_now, score_now=score_now,
                      points=tuple(points), enough=True, curve=tuple(curve),
                      advice=advise(score_now, points))


def advise(score_now: float, points: Sequence[ProjectedPoint]) -> str:
    """The answer in words, from the first (nearest) projected size."""
    first = points[0]
    gain, low_gain, high_gain = (first.score - score_now, first.low - score_now,
                                 first.high - score_now)
    where = f"{first.rows:,} rows"
    cost = (f", one fit ~{_seconds(first.fit_seconds)}" if first.fit_seconds is not None
            else "")
    if high_gain < FLAT:
        return (f"more rows would add little: {first.score:.3f} projected at {where} "
                f"(band {first.low:.3f}–{first.high:.3f}){cost}; stop downsampling, or add a "
                "better feature")
    if low_gain > 0:
        return (f"more rows should help: +{gain:.3f} projected at {where} "
                f"(band +{low_gain:.3f} to +{high_gain:.3f}){cost}")
    return (f"more rows might help: {gain:+.3f} projected at {where}, but the band "
            f"({low_gain:+.3f} to {high_gain:+.3f}) includes no gain{cost}")


def _seconds(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.0f} min"
