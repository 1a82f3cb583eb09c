"""Candidate models, cheapest first; each is a Pipeline of features + one estimator."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from thrifty_tui.core.features import categorical_mask, linear_features, tree_features
from thrifty_tui.core.schema import ColumnInfo

Factory = Callable[[str, Sequence[ColumnInfo], int], Pipeline]


@dataclass(frozen=True)
class ModelSpec:
    """One candidate: a name, a cost tier (0 = cheapest) and how to build it for a task."""

    name: str
    tier: int
    build: Factory
    tasks: tuple[str, ...] = ("classification", "regression")
    baseline: bool = False


def _dummy(task: str, schema: Sequence[ColumnInfo], seed: int) -> Pipeline:
    est = (DummyClassifier(strategy="prior") if task == "classification"
           else DummyRegressor(strategy="mean"))
    return Pipeline([("features", linear_features(schema)), ("model", est)])


def _linear(task: str, schema: Sequence[ColumnInfo], seed: int) -> Pipeline:
    est = (LogisticRegression(max_iter=1000, C=1.0, random_state=seed)
           if task == "classification" else Ridge(alpha=1.0))
    return Pipeline([("features", linear_features(schema)), ("model", est)])


def _tree(task: str, schema: Sequence[ColumnInfo], seed: int) -> Pipeline:
    est = (DecisionTreeClassifier(max_depth=8, min_samples_leaf=5, random_state=seed)
           if task == "classification"
           else DecisionTreeRegressor(max_depth=8, min_samples_leaf=5, random_state=seed))
    return Pipeline([("features", tree_features(schema)), ("model", est)])


def _hgb(task: str, schema: Sequence[ColumnInfo], seed: int) -> Pipeline:
    mask = categorical_mask(schema)
    cats = mask if any(mask) else None
    cls = HistGradientBoostingClassifier if task == "classification" else HistGradientBoostingRegressor
    est = cls(categorical_features=cats, random_state=seed, early_stopping=False, max_iter=100)
    return Pipeline([("features", tree_features(schema)), ("model", est)])


DEFAULT_ZOO: tuple[ModelSpec, ...] = (
    ModelSpec("baseline (dummy)", 0, _dummy, baseline=True),
    ModelSpec("linear", 1, _linear),
    ModelSpec("decision tree", 1, _tree),
    ModelSpec("hist gradient boosting", 2, _hgb),
)


def models_for(task: str, zoo: Sequence[ModelSpec] = DEFAULT_ZOO) -> tuple[ModelSpec, ...]:
    """The specs that apply to ``task``, baseline first, then by tier."""
    specs = [s for s in zoo if task in s.tasks]
    return tuple(sorted(specs, key=lambda s: (not s.baseline, s.tier)))


def spec_by_name(name: str, zoo: Sequence[ModelSpec] = DEFAULT_ZOO) -> ModelSpec:
    """Look a spec up by name (KeyError if unknown)."""
    for spec in zoo:
        if spec.name == name:
            return spec
    raise KeyError(name)
