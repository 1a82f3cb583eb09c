"""Cross-validated screening: the same folds for every model, scored against the baseline."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import get_scorer
from sklearn.model_selection import KFold, StratifiedKFold

from thrifty_tui.core.errors import DataError, describe_error
from thrifty_tui.core.records import USABLE_ROLES, ColumnInfo, ModelResult
from thrifty_tui.core.schema import infer_schema, suggest_task
from thrifty_tui.core.zoo import ModelSpec

DEFAULT_METRIC = {"classification": "balanced_accuracy", "regression": "r2"}
MAX_FOLDS = 5


@dataclass(frozen=True)
class Problem:
    """Features, target and folds, fixed once so every model sees the same splits."""

    X: pd.DataFrame
    y: pd.Series
    task: str
    target: str
    metric: str
    schema: tuple[ColumnInfo, ...]
    folds: tuple[tuple[np.ndarray, np.ndarray], ...]
    classes: tuple[str, ...]
    seed: int
    notices: tuple[str, ...]

    @property
    def feature_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.schema if c.role in USABLE_ROLES)


def make_problem(frame: pd.DataFrame, target: str, task: str | None = None,
                 metric: str | None = None, seed: int = 0, n_splits: int = MAX_FOLDS) -> Problem:
    """Check the target, drop rows without one, fix roles and folds; DataError if unusable."""
    if target not in frame.columns:
        raise DataError(f"no column named {target!r}; columns are: {', '.join(map(str, frame.columns[:20]))}")
    notices: list[str] = []
    missing = int(frame[target].isna().sum())
    if missing == len(frame):
        raise DataError(f"target {target!r} has no values")
    if missing:
        frame = frame[frame[target].notna()]
        notices.append(f"dropped {missing} rows with no {target!r}")
    task = task or suggest_task(frame[target])
    if task not in DEFAULT_METRIC:
        raise DataError(f"task must be classification or regression, not {task!r}")
    y = frame[target]
    classes: tuple[str, ...] = ()
    if task == "classification":
        if pd.api.types.is_float_dtype(y) and bool((y == y.round()).all()):
            # Integer labels read as floats because the column had gaps: class 1, not "1.0".
            y = y.astype("int64")
        y = y.astype(str)
        counts = y.value_counts()
        rare = counts[counts < 2]
        if len(rare):
            frame, y = frame[~y.isin(rare.index)], y[~y.isin(rare.index)]
            notices.append(f"dropped {len(rare)} class(es) with a single row: "
                           + ", ".join(map(str, rare.index[:5])))
        if y.nunique() < 2:
            raise DataError(f"target {target!r} has only one class; nothing to learn")
        classes = tuple(sorted(y.unique()))
        n_splits = int(max(2, min(n_splits, y.value_counts().min())))
        splitter: Any = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    else:
        if not pd.api.types.is_numeric_dtype(y):
            y = pd.to_numeric(y, errors="coerce")
            bad = int(y.isna().sum())
            if bad == len(y):
                raise DataError(f"target {target!r} is not numeric; use --task classification")
            if bad:
                frame, y = frame[y.notna()], y[y.notna()]
                notices.append(f"dropped {bad} rows whose {target!r} is not a number")
        y = y.astype(float)
        if y.nunique() < 2:
            raise DataError(f"target {target!r} is constant; nothing to learn")
        n_splits = int(max(2, min(n_splits, len(y) // 2)))
        splitter = KFold(n_splits=n_splits, shuffle=True, random_state=seed)
    schema = infer_schema(frame, target=target)
    usable = [c for c in schema if c.role in USABLE_ROLES]
    if not usable:
        raise DataError("no usable feature columns besides the target")
    X = frame[[c.name for c in usable]].reset_index(drop=True)
    y = y.reset_index(drop=True)
    folds = tuple((tr, te) for tr, te in splitter.split(X, y))
    return Problem(X=X, y=y, task=task, target=target,
                   metric=metric or DEFAULT_METRIC[task], schema=tuple(usable), folds=folds,
                   classes=classes, seed=seed, notices=tuple(notices))


def build_model(spec: ModelSpec, problem: Problem):
    """The unfitted Pipeline for ``spec`` on ``problem``."""
    return spec.build(problem.task, problem.schema, problem.seed)


def short_params(estimator) -> tuple[tuple[str, str], ...]:
    """The final estimator's parameters as strings (for the manifest and the leaderboard)."""
    model = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    return tuple((k, repr(v)[:80]) for k, v in sorted(model.get_params(deep=False).items()))


def evaluate(spec: ModelSpec, problem: Problem, should_stop=lambda: False) -> ModelResult:
    """Cross-validate one model on the problem's folds; an exception becomes a failed result."""
    scorer = get_scorer(problem.metric)
    scores: list[float] = []
    started = time.perf_counter()
    try:
        template = build_model(spec, problem)
        for train_idx, test_idx in problem.folds:
            if should_stop():
                break
            model = clone(template)
            model.fit(problem.X.iloc[train_idx], problem.y.iloc[train_idx])
            scores.append(float(scorer(model, problem.X.iloc[test_idx], problem.y.iloc[test_idx])))
    except Exception as err:  # noqa: BLE001 - a failing model is a row, not a crash
        return ModelResult(spec.name, "failed", tuple(scores), time.perf_counter() - started,
                           error=describe_error(err), baseline=spec.baseline)
    status = "done" if len(scores) == len(problem.folds) else "cancelled"
    return ModelResult(spec.name, status, tuple(scores), time.perf_counter() - started,
                       params=short_params(template), baseline=spec.baseline)


def refit(spec: ModelSpec, problem: Problem):
    """Fit ``spec`` on all rows of the problem: the model that gets exported."""
    model = build_model(spec, problem)
    model.fit(problem.X, problem.y)
    return model
