"""A model that collapses when fitted on all rows: for the final fit's sanity check.

At module level so the spec pickles by reference into the loky children.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline

from thrifty_tui.core.learn.features import linear_features
from thrifty_tui.core.learn.zoo import ModelSpec


class CollapsesOnAllRows(BaseEstimator, RegressorMixin):
    """Ridge on the cross-validation folds; the constant 0 once fitted on ``min_rows`` or more
    (like a fit that did not converge on all the data)."""

    def __init__(self, min_rows: int = 700):
        self.min_rows = min_rows

    def fit(self, X, y):
        self.collapsed_ = len(y) >= self.min_rows
        self.model_ = Ridge().fit(X, y)
        return self

    def predict(self, X):
        return np.zeros(X.shape[0]) if self.collapsed_ else self.model_.predict(X)


def build_collapsing(task, schema, seed):
    return Pipeline([("features", linear_features(schema)),
                     ("model", CollapsesOnAllRows(min_rows=700))])


COLLAPSING = ModelSpec("collapsing", 1, build_collapsing, tasks=("regression",))


class SlowOnAllRows(BaseEstimator, RegressorMixin):
    """Ridge that remembers how many rows it was fitted on, and takes ``sleep_s`` seconds to
    fit on ``slow_rows`` or more (a fit on all rows that cannot finish within the budget);
    a negative ``sleep_s`` fails there instead."""

    def __init__(self, slow_rows: int = 10**9, sleep_s: float = 0.0):
        self.slow_rows = slow_rows
        self.sleep_s = sleep_s

    def fit(self, X, y):
        import time

        if len(y) >= self.slow_rows:
            if self.sleep_s < 0:
                raise ValueError("no convergence on all rows")
            time.sleep(self.sleep_s)
        self.n_rows_ = len(y)
        self.model_ = Ridge().fit(X, y)
        return self

    def predict(self, X):
        return self.model_.predict(X)


def build_counting(task, schema, seed):
    return Pipeline([("features", linear_features(schema)), ("model", SlowOnAllRows())])


def build_slow_on_all(task, schema, seed):
    return Pipeline([("features", linear_features(schema)),
                     ("model", SlowOnAllRows(slow_rows=700, sleep_s=60.0))])


COUNTING = ModelSpec("counting", 1, build_counting, tasks=("regression",))
SLOW_ON_ALL = ModelSpec("slow on all rows", 1, build_slow_on_all, tasks=("regression",))


def build_fails_on_all(task, schema, seed):
    return Pipeline([("features", linear_features(schema)),
                     ("model", SlowOnAllRows(slow_rows=700, sleep_s=-1))])


FAILS_ON_ALL = ModelSpec("fails on all rows", 1, build_fails_on_all, tasks=("regression",))
