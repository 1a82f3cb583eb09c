"""Shared by the engine tests: an event recorder and model specs that fail, sleep or crash.

The specs live at module level so they pickle by reference into the loky children, which
import this module from the same ``sys.path`` as the test process.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence

from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline

from thrifty_tui.config import SAMPLE_DIR
from thrifty_tui.core.events import Event, JobFailed, RunFinished
from thrifty_tui.core.learn.features import linear_features
from thrifty_tui.core.learn.zoo import DEFAULT_ZOO, ModelSpec

CAR_PRICES = str(SAMPLE_DIR / "car_prices.csv")  # 804 rows, regression on Price: fast fits
BASELINE, LINEAR = DEFAULT_ZOO[0], DEFAULT_ZOO[1]


class Recorder:
    """The worker's ``emit``: keeps every event, in order, and lets a test wait for one."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = threading.Condition()

    def __call__(self, event: Event) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def mark(self) -> int:
        """Where the events of the next job will start."""
        with self._changed:
            return len(self.events)

    def wait_for(self, predicate: Callable[[list[Event]], bool], since: int = 0,
                 timeout: float = 60.0) -> list[Event]:
        """The events from ``since`` once ``predicate`` holds on them (AssertionError if never)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.events[since:]):
                left = deadline - time.monotonic()
                if left <= 0:
                    names = [e.name for e in self.events[since:]]
                    raise AssertionError(f"timed out after {timeout} s; events: {names}")
                self._changed.wait(left)
            return list(self.events[since:])

    def wait_for_end(self, since: int = 0, timeout: float = 60.0) -> list[Event]:
        """Events up to the end of a Screen job (RunFinished) or any failed job."""
        return self.wait_for(lambda es: any(isinstance(e, RunFinished | JobFailed) for e in es),
                             since, timeout)


def of_type(events: Sequence[Event], kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


# --- estimators that misbehave --------------------------------------------------------------

class Exploding(BaseEstimator, RegressorMixin):
    """Raises in fit, like a model that cannot cope with the data."""

    def fit(self, X, y):
        raise RuntimeError("exploding fit: this model always fails")

    def predict(self, X):
        raise AssertionError("never fitted")


class Sleepy(BaseEstimator, RegressorMixin):
    """A fit that takes far longer than any test: only killing its process ends it."""

    def __init__(self, seconds: float = 30.0, min_rows: int = 0):
        self.seconds = seconds
        self.min_rows = min_rows

    def fit(self, X, y):
        if len(y) >= self.min_rows:
            time.sleep(self.seconds)
        self.model_ = Ridge().fit(X, y)
        return self

    def predict(self, X):
        return self.model_.predict(X)


class Crashing(BaseEstimator, RegressorMixin):
    """Ends its process mid-fit, like a segfault in native code or the out-of-memory killer."""

    def __init__(self, after: float = 0.5):
        self.after = after

    def fit(self, X, y):
        time.sleep(self.after)
        os._exit(9)


def _pipeline(schema, model) -> Pipeline:
    return Pipeline([("features", linear_features(schema)), ("model", model)])


def build_exploding(task, schema, seed):
    return _pipeline(schema, Exploding())


def build_sleepy(task, schema, seed):
    return _pipeline(schema, Sleepy(seconds=30.0))


def build_slow_on_all_rows(task, schema, seed):
    # Cross-validation trains on 4/5 of car_prices' 804 rows (643); only the final fit on
    # all rows sleeps, so a test can cancel during that fit.
    return _pipeline(schema, Sleepy(seconds=30.0, min_rows=700))


def build_a_little_slow(task, schema, seed):
    return _pipeline(schema, Sleepy(seconds=0.4))  # 5 folds: ~2 s, outlives a crash beside it


def build_crashing(task, schema, seed):
    return _pipeline(schema, Crashing(after=0.5))


EXPLODING = ModelSpec("exploding", 1, build_exploding, tasks=("regression",))
SLEEPY = ModelSpec("sleepy", 1, build_sleepy, tasks=("regression",))
SLOW_ON_ALL_ROWS = ModelSpec("slow on all rows", 1, build_slow_on_all_rows, tasks=("regression",))
A_LITTLE_SLOW = ModelSpec("a little slow", 1, build_a_little_slow, tasks=("regression",))
CRASHING = ModelSpec("crashing", 2, build_crashing, tasks=("regression",))
