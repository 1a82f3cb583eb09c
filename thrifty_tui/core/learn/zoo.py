"""Candidate models, cheapest first; the zoo is data (a TOML file) that users can edit."""

from __future__ import annotations

import functools
import importlib
import math
import os
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from thrifty_tui.core.errors import DataError
from thrifty_tui.core.records import ColumnInfo, Role

FEATURE_SETS = ("linear", "nonneg", "tree", "none")  # what an entry's `features` may name

Factory = Callable[[str, Sequence[ColumnInfo], int], Any]
ZOO_FILE_NAME = "thrifty-zoo.toml"
# The feature sets of core.features, named here so that reading a zoo (in the app's process)
# does not import scikit-learn: that took 1.6-4.6 s with the GIL held.

# Short names for estimators whose class depends on the task.
TASK_ESTIMATORS = {
    "@dummy": ("sklearn.dummy:DummyClassifier", "sklearn.dummy:DummyRegressor"),
    "@linear": ("sklearn.linear_model:LogisticRegression", "sklearn.linear_model:Ridge"),
    "@hgb": ("sklearn.ensemble:HistGradientBoostingClassifier",
             "sklearn.ensemble:HistGradientBoostingRegressor"),
    "@tree": ("sklearn.tree:DecisionTreeClassifier", "sklearn.tree:DecisionTreeRegressor"),
    "@knn": ("sklearn.neighbors:KNeighborsClassifier", "sklearn.neighbors:KNeighborsRegressor"),
    "@forest": ("sklearn.ensemble:RandomForestClassifier",
                "sklearn.ensemble:RandomForestRegressor"),
    "@extra": ("sklearn.ensemble:ExtraTreesClassifier", "sklearn.ensemble:ExtraTreesRegressor"),
    "@svm": ("sklearn.svm:SVC", "sklearn.svm:SVR"),
}


@dataclass(frozen=True)
class ModelSpec:
    """One candidate: a name, a cost tier (0 = cheapest) and how to build it for a task."""

    name: str
    tier: int
    build: Factory
    tasks: tuple[str, ...] = ("classification", "regression")
    baseline: bool = False
    max_rows: int | None = None
    memory: str = "linear"  # or "quadratic": memory grows with rows squared
    needs_text: bool = False
    space: tuple[tuple[str, tuple[str, tuple[Any, ...]]], ...] = field(default_factory=tuple)
    # The final fit's rows (a stratified prefix of the racing order), None for all rows: set
    # only when a time budget leaves no room to fit the best model on every row.
    fit_rows: int | None = None
    # How fit time grows with the rows (time ~ rows ** exponent) until fits at two sizes are
    # measured; None: 2.0 for quadratic-memory models, else 1.2.
    cost_exponent: float | None = None
    features: str = ""  # the zoo entry's feature set ("linear", "tree", ...): its family

    @property
    def growth(self) -> float:
        """The exponent that extrapolates a fit's time from one measured size."""
        if self.cost_exponent is not None:
            return self.cost_exponent
        return 2.0 if self.memory == "quadratic" else 1.2

    def applies_to(self, task: str, n_rows: int, has_text: bool) -> str:
        """'' when the spec should be tried, else why it is left out."""
        if task not in self.tasks:
            return f"not for {task}"
        if self.max_rows is not None and n_rows > self.max_rows:
            return f"more than {self.max_rows:,} rows"
        if self.needs_text and not has_text:
            return "no free-text column"
        return ""


def _import(path: str) -> Any:
    module, _, name = path.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise DataError(f"zoo: cannot import estimator {path!r} ({err})") from err


def build_from_config(task: str, schema: Sequence[ColumnInfo], seed: int, *, estimator: str,
                      features: str, params: tuple[tuple[str, Any], ...],
                      seed_param: str | None) -> Any:
    """A Pipeline(features, model) from one zoo entry; picklable through functools.partial."""
    from sklearn.pipeline import Pipeline

    from thrifty_tui.core.learn.features import build_features, categorical_mask

    path = estimator
    if estimator in TASK_ESTIMATORS:
        path = TASK_ESTIMATORS[estimator][0 if task == "classification" else 1]
    cls = _import(path)
    kwargs = dict(params)
    if seed_param:
        kwargs[seed_param] = seed
    if estimator == "@linear" and task == "classification":
        kwargs.setdefault("max_iter", 2000)
    if estimator == "@hgb":
        mask = categorical_mask(schema)
        kwargs.setdefault("categorical_features", mask if any(mask) else None)
    return Pipeline([("features", build_features(features, schema)), ("model", cls(**kwargs))])


def spec_from_entry(entry: dict[str, Any], source: str = "zoo") -> ModelSpec:
    """One ``[[model]]`` table -> a ModelSpec; DataError naming the entry when it is wrong."""
    try:
        name = str(entry["name"])
        tier = int(entry.get("tier", 2))
        estimator = str(entry["estimator"])
    except (KeyError, TypeError, ValueError) as err:
        raise DataError(f"{source}: each [[model]] needs a name, a tier and an estimator ({err})"
                        ) from err
    features = str(entry.get("features", "linear"))
    if features not in FEATURE_SETS:
        raise DataError(f"{source}: model {name!r} has unknown features {features!r}")
    tasks = tuple(entry.get("tasks", ("classification", "regression")))
    space = tuple(sorted((str(k), (next(iter(v)), tuple(next(iter(v.values())))
                                    if isinstance(next(iter(v.values())), list)
                                    else (next(iter(v.values())),)))
                         for k, v in dict(entry.get("space", {})).items()))
    build = functools.partial(build_from_config, estimator=estimator, features=features,
                              params=tuple(sorted(dict(entry.get("params", {})).items())),
                              seed_param=entry.get("seed_param"))
    return ModelSpec(name=name, tier=tier, build=build, tasks=tasks,
                     baseline=bool(entry.get("baseline", False)),
                     max_rows=entry.get("max_rows"), memory=str(entry.get("memory", "linear")),
                     needs_text=bool(entry.get("needs_text", False)), space=space,
                     cost_exponent=_exponent(entry, name, source), features=features)


def _exponent(entry: dict[str, Any], name: str, source: str) -> float | None:
    value = entry.get("cost_exponent")
    if value is None:
        return None
    try:
        exponent = float(value)
    except (TypeError, ValueError):
        exponent = math.nan
    if not 0.0 < exponent <= 3.0:
        raise DataError(f"{source}: model {name!r} has cost_exponent {value!r}; "
                        "use a number in (0, 3]")
    return exponent


BUNDLED_ZOOS = {"default": "zoo.toml", "full": "zoo.toml", "quick": "quick-zoo.toml"}


def load_zoo(path: str | os.PathLike[str] | None = None) -> tuple[ModelSpec, ...]:
    """The zoo from a TOML file, or a bundled one by name ("default", "quick"; None: default)."""
    if path is None or str(path) in BUNDLED_ZOOS:
        name = BUNDLED_ZOOS[str(path or "default")]
        text = resources.files("thrifty_tui.data").joinpath(name).read_text()
        source = f"bundled zoo {name}"
    else:
        p = Path(path).expanduser()
        try:
            text = p.read_text()
        except OSError as err:
            raise DataError(f"cannot read zoo file {p}: {err.strerror or err}") from err
        source = str(p)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise DataError(f"{source} is not valid TOML: {err}") from err
    specs = tuple(spec_from_entry(e, source) for e in data.get("model", []))
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise DataError(f"{source}: model names must be unique")
    if not specs:
        raise DataError(f"{source} defines no [[model]]")
    return specs


@functools.cache
def _cached_zoo(name: str | None) -> tuple[ModelSpec, ...]:
    return load_zoo(name)


def default_zoo() -> tuple[ModelSpec, ...]:
    """The zoo named by $THRIFTY_ZOO (a file or "quick"), else the bundled default."""
    return _cached_zoo(os.environ.get("THRIFTY_ZOO") or None)


def find_zoo_file(data_path: str | None) -> Path | None:
    """A ``thrifty-zoo.toml`` next to the data file, if the user put one there."""
    if not data_path:
        return None
    candidate = Path(data_path).expanduser().resolve().parent / ZOO_FILE_NAME
    return candidate if candidate.is_file() else None


def has_free_text(schema: Sequence[ColumnInfo]) -> bool:
    """A text column of sentences: what ``needs_text`` models (naive Bayes on word counts)
    are for. Short text (names, codes) is text for the linear models' character n-grams, but
    not documents."""
    return any(c.role == Role.TEXT and not c.short_text for c in schema)


def models_for(task: str, zoo: Sequence[ModelSpec] | None = None, n_rows: int = 0,
               schema: Sequence[ColumnInfo] = ()) -> tuple[ModelSpec, ...]:
    """The specs that apply, baseline first, then by tier (stable within a tier)."""
    has_text = has_free_text(schema)
    specs = [s for s in (zoo if zoo is not None else default_zoo())
             if not s.applies_to(task, n_rows, has_text)]
    return tuple(sorted(specs, key=lambda s: (not s.baseline, s.tier)))


def spec_by_name(name: str, zoo: Sequence[ModelSpec] | None = None) -> ModelSpec:
    """Look a spec up by name (KeyError if unknown)."""
    for spec in zoo if zoo is not None else default_zoo():
        if spec.name == name:
            return spec
    raise KeyError(name)


def __getattr__(name: str) -> Any:  # DEFAULT_ZOO stays importable, parsed on first use
    if name == "DEFAULT_ZOO":
        return default_zoo()
    raise AttributeError(name)
