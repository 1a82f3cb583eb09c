"""A model that logs every fit it makes, so the tests count the fits the children really did.

Module level, so the loky children import it by reference from the same ``sys.path``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline

from thrifty_tui.core.learn.features import linear_features
from thrifty_tui.core.learn.zoo import ModelSpec


class CountingRidge(Ridge):
    """Ridge that appends ``rows alpha`` to ``log`` on each fit (one line per fit)."""

    def __init__(self, alpha: float = 1.0, log: str = ""):
        super().__init__(alpha=alpha)
        self.log = log

    def fit(self, X, y, sample_weight=None):
        with open(self.log, "a", encoding="utf-8") as fh:
            fh.write(f"{len(y)} {self.alpha!r}\n")
            fh.flush()
            os.fsync(fh.fileno())
        return super().fit(X, y, sample_weight=sample_weight)


def build_counting(task, schema, seed, *, params=(), log=""):
    return Pipeline([("features", linear_features(schema)),
                     ("model", CountingRidge(log=log, **dict(params)))])


def counting_spec(log: Path) -> ModelSpec:
    """A tunable regression spec (alpha on a log scale) that logs its fits to ``log``.

    Named after the log's folder: trials are stored by model name, and tests sharing one
    workspace must not resume each other's trials (those that share a log do, on purpose).
    """
    name = f"counting ridge {log.parent.name}"
    return ModelSpec(name, 1, functools.partial(build_counting, params=(("alpha", 1.0),),
                                                log=str(log)),
                     tasks=("regression",), space=(("alpha", ("log", (0.001, 1000.0))),))


def logged_fits(log: Path) -> list[tuple[int, float]]:
    """(training rows, alpha) of every fit logged so far."""
    if not log.exists():
        return []
    return [(int(a), float(b)) for a, b in (line.split() for line in log.read_text().splitlines())]
