"""Racing on growing subsamples: rung sizes, nested stratified subsamples, cost prediction.

Pure functions, no clocks: the engine feeds in what it measured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from thrifty_tui.core.policy.settings import shipped

# The shipped rung sizes (thrifty_tui/data/policy.toml, [racing]).
MIN_RUNG_ROWS = shipped().min_rung_rows
RUNG_FACTOR = shipped().rung_factor
MAX_RUNGS = shipped().max_rungs
MIN_PER_CLASS = 10


def rung_sizes(n_rows: int, min_rows: int = MIN_RUNG_ROWS, factor: int = RUNG_FACTOR,
               max_rungs: int = MAX_RUNGS) -> tuple[int, ...]:
    """Row counts of the racing rungs, growing by ``factor`` and ending at all rows."""
    sizes = [n_rows]
    while len(sizes) < max_rungs and sizes[0] // factor >= min_rows:
        sizes.insert(0, sizes[0] // factor)
    return tuple(sizes)


def nested_order(labels: Sequence[object] | None, n_rows: int, seed: int,
                 min_per_class: int = MIN_PER_CLASS):
    """A row order whose every prefix is a stratified sample (numpy array of indices).

    Rows of each class are spread evenly along the order, and the first ``min_per_class``
    rows of every class come first, so a rare class never vanishes from a small rung.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    jitter = rng.random(n_rows)
    if labels is None:
        return np.argsort(jitter, kind="stable")
    codes = np.unique(np.asarray(labels).astype(str), return_inverse=True)[1]
    keys = np.empty(n_rows)
    for code in np.unique(codes):
        members = np.flatnonzero(codes == code)
        members = members[rng.permutation(len(members))]
        ranks = np.arange(len(members))
        spread = (ranks + jitter[members]) / len(members)
        spread[ranks < min_per_class] = ranks[ranks < min_per_class] * 1e-9 - 1.0
        keys[members] = spread
    return np.argsort(keys, kind="stable")


def predict_seconds(points: Sequence[tuple[int, float]], rows: int,
                    default_exponent: float = 1.2) -> float:
    """Predicted seconds at ``rows`` from measured (rows, seconds) points (log-log fit)."""
    usable = [(r, s) for r, s in points if r > 0 and s > 0]
    if not usable:
        return math.nan
    if len(usable) == 1 or len({r for r, _ in usable}) == 1:
        r0, s0 = max(usable)
        return s0 * (rows / r0) ** default_exponent
    xs = [math.log(r) for r, _ in usable]
    ys = [math.log(s) for _, s in usable]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / max(
        1e-12, sum((x - mx) ** 2 for x in xs))
    # Not below 0.3: fits of a fixed number of boosting rounds barely grow with the rows
    # (HistGradientBoosting's 200 rounds: 1.3 s on 1.5 k rows, 1.7 s on 39 k), but noise on
    # two small fits must not predict a free fit.
    slope = min(2.2, max(0.3, slope))
    r0, s0 = max(usable)
    return s0 * (rows / r0) ** slope


def predict_quadratic_bytes(rows: int, n_features_hint: int = 0) -> float:
    """Memory of a kernel model at ``rows``: a rows x rows float64 matrix, plus data."""
    return 8.0 * rows * rows + 8.0 * rows * max(1, n_features_hint)
