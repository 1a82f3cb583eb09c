"""Cross-validated screening: the same folds for every model, scored against the baseline."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import get_scorer
from sklearn.model_selection import KFold, StratifiedKFold

from thrifty_tui.core.learn.importances import save_importances
from thrifty_tui.core.errors import DataError, describe_error
from thrifty_tui.core.policy.racing import MIN_RUNG_ROWS, nested_order, rung_sizes
from thrifty_tui.core.records import USABLE_ROLES, ColumnInfo, FoldResult, ModelResult, Role
from thrifty_tui.core.data.schema import infer_schema, suggest_task
from thrifty_tui.core.learn.zoo import ModelSpec

DEFAULT_METRIC = {"classification": "balanced_accuracy", "regression": "r2"}
METRICS = {
    "classification": ("balanced_accuracy", "accuracy", "f1_macro", "roc_auc", "neg_log_loss"),
    "regression": ("r2", "neg_root_mean_squared_error", "neg_mean_absolute_error"),
}
METRIC_ALIASES = {"rmse": "neg_root_mean_squared_error", "mae": "neg_mean_absolute_error",
                  "log_loss": "neg_log_loss", "f1": "f1_macro", "auc": "roc_auc"}
MAX_FOLDS = 5
IMBALANCE_SHARE = 0.10


def resolve_metric(metric: str | None, task: str, n_classes: int = 2) -> str:
    """The sklearn scorer name for ``metric`` on ``task``; DataError naming the choices."""
    if metric is None:
        return DEFAULT_METRIC[task]
    name = METRIC_ALIASES.get(metric, metric)
    if name not in METRICS[task]:
        raise DataError(f"metric {metric!r} does not fit {task}; choose one of "
                        + ", ".join(METRICS[task]))
    if name == "roc_auc" and n_classes > 2:
        return "roc_auc_ovr"
    return name


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
    order: Any = None  # nested stratified row order: every prefix is a fair subsample
    rungs: tuple[int, ...] = ()

    @property
    def feature_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.schema if c.role in USABLE_ROLES)


def _numeric_target(frame: pd.DataFrame, y: pd.Series, target: str, notices: list[str]
                    ) -> tuple[pd.DataFrame, pd.Series]:
    """A regression target as floats; rows whose target is not a number are dropped (noted),
    and a target with no number at all is refused."""
    if not pd.api.types.is_numeric_dtype(y):
        y = pd.to_numeric(y, errors="coerce")
        bad = int(y.isna().sum())
        if bad == len(y):
            raise DataError(f"target {target!r} is not numeric; use --task classification")
        if bad:
            frame, y = frame[y.notna()], y[y.notna()]
            notices.append(f"dropped {bad} rows whose {target!r} is not a number")
    return frame, y.astype(float)


def make_problem(frame: pd.DataFrame, target: str, task: str | None = None,
                 metric: str | None = None, seed: int = 0, n_splits: int = MAX_FOLDS,
                 roles: Mapping[str, str] | None = None) -> Problem:
    """Check the target, drop rows without one, fix roles and folds; DataError if unusable.

    ``roles`` (column -> role value) overrides the inferred roles: the user's choice."""
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
        if y.nunique() < 2 and len(rare) > 1:  # an id, a date, a free-text column
            raise DataError(f"target {target!r} has {len(counts):,} distinct values, "
                            f"{len(rare):,} of them in a single row: too few classes with "
                            f"two rows or more to learn; an id or a date? choose another target")
        if y.nunique() < 2:
            raise DataError(f"target {target!r} has only one class; nothing to learn")
        classes = tuple(sorted(y.unique()))
        shares = y.value_counts(normalize=True)
        if shares.min() < IMBALANCE_SHARE:
            notices.append(f"imbalanced classes: {shares.idxmin()!r} is {shares.min():.1%} of rows"
                           "; accuracy would mislead, so the default metric is balanced accuracy")
        n_splits = int(max(2, min(n_splits, y.value_counts().min())))
        splitter: Any = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    else:
        frame, y = _numeric_target(frame, y, target, notices)
        if y.nunique() < 2:
            raise DataError(f"target {target!r} is constant; nothing to learn")
        n_splits = int(max(2, min(n_splits, len(y) // 2)))
        splitter = KFold(n_splits=n_splits, shuffle=True, random_state=seed)
    schema = infer_schema(frame, target=target)
    if roles:
        unknown = sorted(set(roles) - set(frame.columns))
        if unknown:
            raise DataError(f"no column named {unknown[0]!r} to give a role to")
        schema = tuple(replace(c, role=Role(roles[c.name]))
                       if c.name in roles and c.name != target else c for c in schema)
    schema = usable_text(frame, schema, notices)
    usable = [c for c in schema if c.role in USABLE_ROLES]
    if not usable:
        raise DataError("no usable feature columns besides the target")
    X = frame[[c.name for c in usable]].reset_index(drop=True)
    y = y.reset_index(drop=True)
    folds = tuple((tr, te) for tr, te in splitter.split(X, y))
    metric = resolve_metric(metric, task, len(classes))
    order = nested_order(y.to_numpy() if task == "classification" else None, len(y), seed)
    return Problem(X=X, y=y, task=task, target=target, metric=metric, schema=tuple(usable),
                   folds=folds, classes=classes, seed=seed, notices=tuple(notices),
                   order=order, rungs=racing_sizes(len(y), len(folds), len(classes)))


def racing_sizes(n_rows: int, n_folds: int, n_classes: int) -> tuple[int, ...]:
    """The racing rungs, none below ``n_folds`` rows per class: such a size cannot be split
    by class (1,000 classes of 8 rows: "n_splits=2 cannot be greater than the number of
    members in each class"). With many classes the small sizes go; with more, no racing."""
    return rung_sizes(n_rows, min_rows=max(MIN_RUNG_ROWS, n_folds * n_classes))


def usable_text(frame: pd.DataFrame, schema: tuple[ColumnInfo, ...], notices: list[str]
                ) -> tuple[ColumnInfo, ...]:
    """Text columns in which no word is in two rows give TF-IDF nothing to keep ("After
    pruning, no terms remain": every model failed). Such a column becomes a category when
    its values repeat, else it is not used; a note (added to ``notices``) says which."""
    from thrifty_tui.core.learn.features import repeated_words

    out = []
    for info in schema:
        if info.role == Role.TEXT and not repeated_words(frame[info.name]):
            values = frame[info.name].dropna()
            repeats = values.nunique() <= 0.5 * len(values)
            info = replace(info, role=Role.CATEGORICAL if repeats else Role.ID)
            notices.append(f"'{info.name}': no word appears in two rows, so it cannot be used as "
                         "text; " + ("it is used as a category" if repeats
                                     else "it is not used (its values are all different)"))
        out.append(info)
    return tuple(out)


def rung_folds(problem: Problem, rung: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Train/test indices (into the full data) of each fold at racing rung ``rung``.

    The last rung is all rows with the problem's fixed folds; smaller rungs take a prefix of
    the nested stratified order and split it with the same kind of splitter and seed.
    """
    rows = problem.rungs[rung] if problem.rungs else len(problem.y)
    if rows >= len(problem.y):
        return problem.folds
    subset = np.sort(problem.order[:rows])
    k = len(problem.folds)
    if problem.task == "classification":
        y_sub = problem.y.iloc[subset]
        k = int(max(2, min(k, y_sub.value_counts().min())))
        splitter: Any = StratifiedKFold(n_splits=k, shuffle=True, random_state=problem.seed)
    else:
        y_sub = problem.y.iloc[subset]
        splitter = KFold(n_splits=k, shuffle=True, random_state=problem.seed)
    return tuple((subset[tr], subset[te]) for tr, te in splitter.split(subset, y_sub))


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def evaluate_fold(spec: ModelSpec, problem: Problem, rung: int, fold: int,
                  oof_file: str | None = None, feature_cache: str | None = None) -> FoldResult:
    """Fit one model on one fold of one rung and score it; errors become a failed/oom result.

    With ``oof_file`` the test-fold predictions (and probabilities) are saved there, for the
    diagnostics computed once every fold is done. With ``feature_cache`` (a folder) the fitted
    feature step is cached there, so models with the same features on the same fold share
    it (on text, TF-IDF took most of each linear model's fit).
    """
    train_idx, test_idx = rung_folds(problem, rung)[fold]
    rows = len(train_idx) + len(test_idx)
    started, cpu_started = time.perf_counter(), time.process_time()

    def result(status: str, score: float, error: str = "") -> FoldResult:
        return FoldResult(model=spec.name, rung=rung, rows=rows, fold=fold, status=status,
                          score=score, fit_seconds=time.perf_counter() - started,
                          cpu_seconds=time.process_time() - cpu_started, peak_mb=_peak_mb(),
                          error=error)

    try:
        model = build_model(spec, problem)
        if feature_cache and hasattr(model, "steps") and len(model.steps) > 1:
            from joblib import Memory

            model.set_params(memory=Memory(feature_cache, verbose=0))
        X_train, y_train = problem.X.iloc[train_idx], problem.y.iloc[train_idx]
        model.fit(X_train, y_train)
        X_test, y_test = problem.X.iloc[test_idx], problem.y.iloc[test_idx]
        # Features once for the score and the saved predictions (a text pipeline's TF-IDF
        # on the test rows cost as much as the linear model's fit, three times over).
        final, X_final = split_features(model, X_test)
        score = float(get_scorer(problem.metric)(final, X_final, y_test))
        if oof_file:
            save_oof(oof_file, final, X_final, test_idx)
    except MemoryError:
        return result("oom", float("nan"), "ran out of memory (over the memory cap)")
    except Exception as err:  # noqa: BLE001 - a failing model is a row, not a crash
        return result("failed", float("nan"), describe_error(err))
    done = result("done", score)
    if oof_file and fold == 0 and not spec.baseline:
        # The diagnostics' permutation importances, from this fitted model, after the clock
        # stopped: otherwise the diagnostics refit the model on this fold's rows just for them.
        save_importances(oof_file, model, X_test, y_test, problem, done.fit_seconds)
    return done


def split_features(model: Any, X: pd.DataFrame) -> tuple[Any, Any]:
    """(final estimator, its input) for a Pipeline, else (model, X) as they are."""
    if hasattr(model, "steps") and len(model.steps) > 1:
        try:
            return model.steps[-1][1], model[:-1].transform(X)
        except NotFittedError:  # stateless steps (the baselines' NoFeatures) fail the check
            pass
    return model, X


def save_oof(path: str, model: Any, X_test: pd.DataFrame, test_idx: np.ndarray) -> None:
    """Save one fold's predictions (and class probabilities when the model has them)."""
    pred = np.asarray(model.predict(X_test))
    pred = pred.astype(str) if pred.dtype == object else pred  # no pickled objects on disk
    arrays = {"index": np.asarray(test_idx), "pred": pred}
    if hasattr(model, "predict_proba"):
        try:
            arrays["proba"] = np.asarray(model.predict_proba(X_test), dtype=float)
            arrays["classes"] = np.asarray(model.classes_).astype(str)
        except (AttributeError, ValueError):
            pass
    if "proba" not in arrays and hasattr(model, "decision_function"):
        try:  # SVMs: no probabilities, but their decision values still rank rows for ROC/PR
            arrays["decision"] = np.asarray(model.decision_function(X_test), dtype=float)
            arrays["classes"] = np.asarray(model.classes_).astype(str)
        except (AttributeError, ValueError):
            pass
    tmp = path + ".tmp.npz"
    np.savez(tmp, **arrays)
    import os

    os.replace(tmp, path)


BALANCED_METRICS = ("balanced_accuracy", "f1_macro")
SCALED_FEATURE_SETS = ("linear", "nonneg")


def _scaled_features(spec: ModelSpec) -> bool:
    """Whether ``spec`` feeds its model scaled features (then its target is scaled too)."""
    return getattr(spec.build, "keywords", {}).get("features") in SCALED_FEATURE_SETS


def build_model(spec: ModelSpec, problem: Problem):
    """The unfitted Pipeline for ``spec`` on ``problem``.

    When the metric weighs every class alike, classifiers that can weigh classes do so
    (``class_weight="balanced"``, unless the zoo set one): otherwise a linear model on
    imbalanced data predicts the majority and scores no better than the baseline.
    """
    model = spec.build(problem.task, problem.schema, problem.seed)
    if (problem.task == "regression" and not spec.baseline and _scaled_features(spec)
            and hasattr(model, "steps")):
        # Models on scaled features (SVR, linear SVR, neighbours, ridge) get a standardized
        # target: SVR's epsilon and C are in target units. Trees do not care.
        from thrifty_tui.core.learn.features import ScaledTarget

        name, final = model.steps[-1]
        model.steps[-1] = (name, ScaledTarget(final))
        return model
    if problem.task == "classification" and problem.metric in BALANCED_METRICS:
        final = model.steps[-1][1] if hasattr(model, "steps") else model
        # Forests reject "balanced" on string labels that look like numbers (scikit-learn 1.9:
        # "The classes, [0, 1], are not in class_weight"), so they are left as they are.
        if type(final).__name__ in ("RandomForestClassifier", "ExtraTreesClassifier"):
            return model
        try:
            if "class_weight" in final.get_params() and final.get_params()["class_weight"] is None:
                final.set_params(class_weight="balanced")
        except (AttributeError, ValueError, TypeError):
            pass
    return model


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
    """Fit ``spec`` on all rows of the problem (or its ``fit_rows``): the exported model."""
    model = build_model(spec, problem)
    X, y = problem.X, problem.y
    if spec.fit_rows is not None and problem.order is not None and spec.fit_rows < len(y):
        rows = np.sort(np.asarray(problem.order)[:spec.fit_rows])  # a stratified subsample
        X, y = X.iloc[rows], y.iloc[rows]
    model.fit(X, y)
    return model
