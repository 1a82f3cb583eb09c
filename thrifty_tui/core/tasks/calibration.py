"""The calibration fit (issue 20's cost model): one small fixed fit, timed in a child at the
run's start-up, whose seconds over the reference machine's are the machine factor of
``policy.costs`` (``engine.calibration`` submits it beside the children's warm-up)."""

from __future__ import annotations

import os
import time

CALIBRATION_ROWS = 2_000
CALIBRATION_COLUMNS = 20


def calibration_fit(seed: int = 0) -> float:
    """Seconds of one fixed fit: a logistic regression and a depth-8 tree on a fixed-seed
    synthetic problem of 2,000 x 20 (about 0.05 s on an idle core; the imports are not timed)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((CALIBRATION_ROWS, CALIBRATION_COLUMNS))
    y = (X[:, :5].sum(axis=1) + rng.standard_normal(CALIBRATION_ROWS) > 0).astype(int)
    began = time.perf_counter()
    LogisticRegression(max_iter=200).fit(X, y)
    DecisionTreeClassifier(max_depth=8, random_state=seed).fit(X, y)
    return time.perf_counter() - began


def warm_up_timed(problem_file: str, min_seconds: float = 0.3) -> tuple[int, float]:
    """``fits.warm_up`` after the calibration fit: (the child's process id, its seconds)."""
    from thrifty_tui.core.tasks.fits import warm_up

    seconds = calibration_fit()
    return warm_up(problem_file, max(0.0, min_seconds - seconds)), seconds


if __name__ == "__main__":  # the reference: python -m thrifty_tui.core.tasks.calibration
    print(min(calibration_fit() for _ in range(int(os.environ.get("REPEAT", "20")))))
