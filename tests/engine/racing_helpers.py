"""Estimators for the racing tests: picklable by reference into the loky children."""

from __future__ import annotations

import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline

from thrifty_tui.core.learn.features import linear_features
from thrifty_tui.core.learn.zoo import ModelSpec, load_zoo


class SleepsForever(BaseEstimator, ClassifierMixin):
    """A fit that only a kill can end (30 s, far past any cap in the tests)."""

    def fit(self, X, y):
        time.sleep(30)
        return self


class EatsMemory(BaseEstimator, ClassifierMixin):
    """Allocates 3 GB at once: over the test's memory cap, so the fit must become OOM."""

    def fit(self, X, y):
        self.blob_ = np.ones(3 * 2**30 // 8)
        return self


def _pipe(schema, model):
    return Pipeline([("features", linear_features(schema)), ("model", model)])


def build_sleeper(task, schema, seed):
    return _pipe(schema, SleepsForever())


def build_eater(task, schema, seed):
    return _pipe(schema, EatsMemory())


def build_coin(task, schema, seed):
    return _pipe(schema, DummyClassifier(strategy="uniform", random_state=seed))


FULL = load_zoo("default")
QUICK = load_zoo("quick")
SLEEPER = ModelSpec("sleeper", 1, build_sleeper, tasks=("classification",))
EATER = ModelSpec("eater", 1, build_eater, tasks=("classification",))
COIN = ModelSpec("coin flip", 1, build_coin, tasks=("classification",))
