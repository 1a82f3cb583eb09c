"""The mean of the leaders: an ensemble scored from its members' out-of-fold predictions.

Runs in child processes (numpy and scikit-learn are imported here), called from
core/tasks/ensemble.py. Scoring needs no new fit: on each of the full size folds the members' saved test-fold predictions are averaged (regression) or their class
probabilities are (classification), and the run's own scorer scores the average. The final
model is a scikit-learn ``VotingRegressor`` / soft ``VotingClassifier`` assembled from the
members' fitted Pipelines, so a bundle holds a plain scikit-learn estimator.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import get_scorer

from thrifty_tui.core.learn.diagnostics import aligned_proba


class _FixedRegressor(RegressorMixin, BaseEstimator):
    """Answers ``predict`` with predictions made already, so a sklearn scorer can score them."""

    def __init__(self, pred: Any = None):
        self.pred = pred

    def predict(self, X: Any) -> Any:
        return self.pred


class _FixedClassifier(ClassifierMixin, BaseEstimator):
    """Answers ``predict`` and ``predict_proba`` with arrays made already (for a scorer)."""

    def __init__(self, pred: Any = None, proba: Any = None, classes: Any = None):
        self.pred, self.proba, self.classes = pred, proba, classes
        self.classes_ = classes

    def predict(self, X: Any) -> Any:
        return self.pred

    def predict_proba(self, X: Any) -> Any:
        return self.proba


def _mean_fold(paths: Sequence[str], problem: Any) -> dict[str, Any] | None:
    """The members' averaged predictions on one fold, as ``save_oof`` stores a fold; None
    when the members were not scored on the same rows, or a classifier has no probabilities
    (a mean of labels is no answer)."""
    folds = []
    for path in paths:
        with np.load(path, allow_pickle=False) as data:
            folds.append({k: data[k] for k in data.files})
    index = folds[0]["index"]
    if any(not np.array_equal(f["index"], index) for f in folds):
        return None
    if problem.task != "classification":
        return {"index": index, "pred": np.mean([f["pred"].astype(float) for f in folds], axis=0)}
    if any("proba" not in f for f in folds):
        return None
    classes = list(problem.classes)
    proba = np.mean([aligned_proba(f, classes) for f in folds], axis=0)
    # As VotingClassifier(voting="soft") predicts: the class of the largest mean probability.
    pred = np.asarray(classes)[np.argmax(proba, axis=1)]
    return {"index": index, "pred": pred, "proba": proba, "classes": np.asarray(classes)}


def fold_score(problem: Any, fold: dict[str, Any]) -> float:
    """The run's metric on one fold's averaged predictions (the very scorer the folds use)."""
    y_true = problem.y.iloc[fold["index"]]
    if problem.task == "classification":
        answers: Any = _FixedClassifier(fold["pred"], fold["proba"], fold["classes"])
    else:
        answers = _FixedRegressor(fold["pred"])
    return float(get_scorer(problem.metric)(answers, np.zeros((len(y_true), 1)), y_true))


def mean_of_fitted(members: Sequence[Any], names: Sequence[str], task: str) -> Any:
    """A fitted VotingRegressor (or soft VotingClassifier) over already fitted Pipelines.

    Assembled, not fitted: ``fit`` would clone and refit every member. Every member was fitted
    on the same rows and target, so their ``classes_`` agree with the label encoder's.
    """
    from sklearn.ensemble import VotingClassifier, VotingRegressor
    from sklearn.preprocessing import LabelEncoder

    pairs = list(zip(names, members, strict=True))
    if task == "classification":
        model: Any = VotingClassifier(pairs, voting="soft")
        model.le_ = LabelEncoder().fit(np.asarray(members[0].classes_))
        model.classes_ = model.le_.classes_
    else:
        model = VotingRegressor(pairs)
    # (named_estimators_ is left out: its Bunch is a type skops does not trust.)
    model.estimators_ = list(members)
    return model
