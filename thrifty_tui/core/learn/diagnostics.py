"""The numbers behind each diagnostic plot (from out-of-fold predictions) and their drawing.

Computing needs numpy/scikit-learn and runs in the worker's child processes; the frozen
results cross to the UI, which draws them with the same ``draw_*`` functions on a
textual-plotext widget's ``plt`` that ``render_text`` uses (with plotext) for bundles.
Heavy imports stay inside the functions, so the UI can import this module cheaply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from thrifty_tui.core.learn.importances import (
    importance_seconds,
    permutation_importances,
    saved_explanations,
    saved_importances,
)

MAX_CURVE_POINTS = 120
MAX_SCATTER_POINTS = 400


@dataclass(frozen=True)
class Curve:
    """One curve: x and y points (downsampled) and its area, e.g. ROC AUC."""

    name: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    area: float


@dataclass(frozen=True)
class ClassScore:
    """Precision, recall, F1 and support of one class, from out-of-fold predictions."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Diagnostics:
    """Everything the diagnostics panel and the bundle show for one model."""

    model: str
    task: str
    metrics: tuple[tuple[str, float], ...] = ()
    labels: tuple[str, ...] = ()
    confusion: tuple[tuple[int, ...], ...] = ()
    roc: tuple[Curve, ...] = ()
    pr: tuple[Curve, ...] = ()
    per_class: tuple[ClassScore, ...] = ()
    actual: tuple[float, ...] = ()
    predicted: tuple[float, ...] = ()
    importances: tuple[tuple[str, float], ...] = ()
    importance_kind: str = ""
    learning_curve: tuple[tuple[int, float], ...] = field(default_factory=tuple)
    # Binary classifiers, from out-of-fold probabilities (core.learn.calibration).
    positive: str = ""
    threshold_counts: tuple[tuple[float, int, int, int, int], ...] = ()
    reliability: tuple[tuple[float, float, int], ...] = ()
    calibration: tuple[tuple[str, Any], ...] = ()
    # What it learned (core.learn.explain): the first fold's model on its held-out rows.
    dependence: tuple[Any, ...] = ()
    explained: tuple[Any, ...] = ()


def _thin(values: Sequence[float], limit: int) -> tuple[float, ...]:
    if len(values) <= limit:
        return tuple(float(v) for v in values)
    step = (len(values) - 1) / (limit - 1)
    return tuple(float(values[round(i * step)]) for i in range(limit))


def classification_diagnostics(model: str, y_true: Any, y_pred: Any, proba: Any | None,
                               classes: Sequence[str]) -> Diagnostics:
    """Confusion matrix, ROC/PR curves (one-vs-rest), per-class scores and summary metrics."""
    import numpy as np
    from sklearn import metrics as m

    y_true = np.asarray(y_true).astype(str)
    y_pred = np.asarray(y_pred).astype(str)
    labels = [str(c) for c in classes]
    confusion = m.confusion_matrix(y_true, y_pred, labels=labels)
    p, r, f, s = m.precision_recall_fscore_support(y_true, y_pred, labels=labels,
                                                   zero_division=0)
    summary = [("accuracy", m.accuracy_score(y_true, y_pred)),
               ("balanced_accuracy", m.balanced_accuracy_score(y_true, y_pred)),
               ("f1_macro", m.f1_score(y_true, y_pred, average="macro", zero_division=0))]
    roc: list[Curve] = []
    pr: list[Curve] = []
    if proba is not None:
        proba = np.clip(np.asarray(proba, dtype=float), 1e-15, 1 - 1e-15)
        summary.append(("log_loss", m.log_loss(y_true, proba, labels=labels)))
        shown = labels[1:] if len(labels) == 2 else labels[:6]
        for label in shown:
            k = labels.index(label)
            positive = (y_true == label).astype(int)
            if positive.min() == positive.max():
                continue
            fpr, tpr, _ = m.roc_curve(positive, proba[:, k])
            prec, rec, _ = m.precision_recall_curve(positive, proba[:, k])
            roc.append(Curve(label, _thin(fpr, MAX_CURVE_POINTS), _thin(tpr, MAX_CURVE_POINTS),
                             float(m.auc(fpr, tpr))))
            pr.append(Curve(label, _thin(rec[::-1], MAX_CURVE_POINTS),
                            _thin(prec[::-1], MAX_CURVE_POINTS),
                            float(m.average_precision_score(positive, proba[:, k]))))
        if len(labels) == 2:
            summary.append(("roc_auc", roc[0].area if roc else float("nan")))
        else:
            try:
                summary.append(("roc_auc_ovr", m.roc_auc_score(y_true, proba, labels=labels,
                                                               multi_class="ovr")))
            except ValueError:
                pass
    return Diagnostics(
        model=model, task="classification",
        metrics=tuple((k, float(v)) for k, v in summary), labels=tuple(labels),
        confusion=tuple(tuple(int(v) for v in row) for row in confusion),
        roc=tuple(roc), pr=tuple(pr),
        per_class=tuple(ClassScore(lbl, float(pi), float(ri), float(fi), int(si))
                        for lbl, pi, ri, fi, si in zip(labels, p, r, f, s, strict=True)))


def regression_diagnostics(model: str, y_true: Any, y_pred: Any, seed: int = 0) -> Diagnostics:
    """R², RMSE and MAE, and a sample of predicted-vs-actual points for the scatter plots."""
    import numpy as np
    from sklearn import metrics as m

    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    summary = [("r2", m.r2_score(y_true, y_pred)),
               ("rmse", float(np.sqrt(m.mean_squared_error(y_true, y_pred)))),
               ("mae", m.mean_absolute_error(y_true, y_pred))]
    idx = np.arange(len(y_true))
    if len(idx) > MAX_SCATTER_POINTS:
        idx = np.sort(np.random.default_rng(seed).choice(idx, MAX_SCATTER_POINTS, replace=False))
    return Diagnostics(model=model, task="regression",
                       metrics=tuple((k, float(v)) for k, v in summary),
                       actual=tuple(float(v) for v in y_true[idx]),
                       predicted=tuple(float(v) for v in y_pred[idx]))


def diagnose(spec: Any, problem: Any, oof_files: Sequence[str],
             learning_curve: tuple[tuple[int, float], ...] = ()) -> Diagnostics:
    """Assemble a model's out-of-fold predictions and compute its diagnostics.

    Importances come from the first fold's model, scored by permutation on that fold's test
    rows (saved by the fold's task; else a model refit on that fold), with the original
    column names.
    """
    import dataclasses

    import numpy as np

    from thrifty_tui.core.learn.explain import learned_from_fold
    from thrifty_tui.core.learn.screening import build_model

    n = len(problem.y)
    pred = np.empty(n, dtype=object if problem.task == "classification" else float)
    seen = np.zeros(n, dtype=bool)
    proba = None
    for path in oof_files:
        with np.load(path, allow_pickle=False) as data:
            idx = data["index"]
            pred[idx] = data["pred"].astype(str) if problem.task == "classification" \
                else data["pred"]
            seen[idx] = True
            if "proba" in data.files and problem.task == "classification":
                if proba is None:
                    proba = np.full((n, len(problem.classes)), np.nan)
                proba[idx] = aligned_proba(data, problem.classes)
    y_true = problem.y.to_numpy()[seen]
    if problem.task == "classification":
        proba_seen = proba[seen] if proba is not None and not np.isnan(proba[seen]).any() \
            else None
        diag = classification_diagnostics(spec.name, y_true, pred[seen], proba_seen,
                                          problem.classes)
        diag = with_probability_fields(diag, y_true, proba_seen, problem)
        if proba_seen is None and len(problem.classes) == 2:
            decision = _decision_scores(oof_files, n)
            if decision is not None and not np.isnan(decision[seen]).any():
                diag = _with_ranking_curves(diag, y_true, decision[seen], problem.classes[1])
    else:
        diag = regression_diagnostics(spec.name, y_true, pred[seen].astype(float), problem.seed)
    importances: tuple[tuple[str, float], ...] = ()
    note = ""
    learned: dict[str, Any] = {}
    saved = saved_importances(oof_files[0]) if oof_files else None
    if saved is not None and not getattr(spec, "baseline", False):
        importances, note = saved
    elif not getattr(spec, "baseline", False):
        try:
            import time

            train_idx, test_idx = problem.folds[0]
            started = time.perf_counter()
            model = build_model(spec, problem).fit(problem.X.iloc[train_idx],
                                                    problem.y.iloc[train_idx])
            allowed = importance_seconds(time.perf_counter() - started)
            importances, note = permutation_importances(
                model, problem.X.iloc[test_idx], problem.y.iloc[test_idx], problem.metric,
                problem.seed, max_seconds=allowed)
            learned = learned_from_fold(model, problem.X.iloc[test_idx], problem,
                                        [k for k, _ in importances], allowed)
        except Exception:  # noqa: BLE001 - importances are a nice-to-have, not a failure
            importances = importances or ()
    kind = f"permutation importance ({problem.metric})" + (f"; {note}" if note else "")
    if not learned and oof_files:
        learned = saved_explanations(oof_files[0])
    return dataclasses.replace(diag, importances=importances, importance_kind=kind,
                               learning_curve=tuple(learning_curve), **learned)


def with_probability_fields(diag: Diagnostics, y_true: Any, proba: Any, problem: Any
                            ) -> Diagnostics:
    """``diag`` with the reliability, calibration and cost-curve counts of a binary
    classifier (unchanged when they cannot be computed)."""
    import dataclasses

    from thrifty_tui.core.learn.calibration import probability_fields

    try:
        extra = probability_fields(y_true, proba, problem.classes, problem.seed)
    except Exception:  # noqa: BLE001 - a nice-to-have; the other plots stand
        return diag
    if not extra:
        return diag
    brier = extra.pop("brier")
    return dataclasses.replace(diag, metrics=diag.metrics + (("brier", brier),), **extra)


def aligned_proba(data: Any, classes: Sequence[str]) -> Any:
    """A saved fold's class probabilities with one column per class of ``classes``, in that
    order (zeros for a class the fold's model never saw)."""
    import numpy as np

    saved = [str(c) for c in data["classes"]]
    block = np.zeros((len(data["index"]), len(classes)))
    for j, label in enumerate(classes):
        if label in saved:
            block[:, j] = data["proba"][:, saved.index(label)]
    return block


def _decision_scores(oof_files: Sequence[str], n: int) -> Any:
    """Binary decision values assembled from the folds (None when a fold has none)."""
    import numpy as np

    scores = np.full(n, np.nan)
    for path in oof_files:
        with np.load(path, allow_pickle=False) as data:
            if "decision" not in data.files or data["decision"].ndim != 1:
                return None
            scores[data["index"]] = data["decision"]
    return scores


def _with_ranking_curves(diag: Diagnostics, y_true: Any, scores: Any, positive: str
                         ) -> Diagnostics:
    """ROC and PR curves from decision values (for models without probabilities)."""
    import dataclasses

    import numpy as np
    from sklearn import metrics as m

    target = (np.asarray(y_true).astype(str) == positive).astype(int)
    fpr, tpr, _ = m.roc_curve(target, scores)
    prec, rec, _ = m.precision_recall_curve(target, scores)
    roc = Curve(positive, _thin(fpr, MAX_CURVE_POINTS), _thin(tpr, MAX_CURVE_POINTS),
                float(m.auc(fpr, tpr)))
    pr = Curve(positive, _thin(rec[::-1], MAX_CURVE_POINTS), _thin(prec[::-1], MAX_CURVE_POINTS),
               float(m.average_precision_score(target, scores)))
    return dataclasses.replace(diag, roc=(roc,), pr=(pr,),
                               metrics=diag.metrics + (("roc_auc", roc.area),))


def diagnostics_from_dict(data: dict[str, Any]) -> Diagnostics:
    """Rebuild Diagnostics from its JSON form (lists back to tuples; keys it does not know,
    from a newer thrifty-tui, are ignored; fields an older one did not write stay empty)."""
    from dataclasses import fields

    from thrifty_tui.core.learn.explain import Dependence, RowExplanation

    def tup(v: Any) -> Any:
        return tuple(tup(x) for x in v) if isinstance(v, list | tuple) else v

    nested = {"roc": Curve, "pr": Curve, "per_class": ClassScore, "dependence": Dependence,
              "explained": RowExplanation}
    kwargs: dict[str, Any] = {}
    for f in fields(Diagnostics):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name in nested and isinstance(value, list | tuple):
            cls = nested[f.name]
            names = {g.name for g in fields(cls)}
            value = tuple(cls(**{k: tup(v) for k, v in item.items() if k in names})
                          for item in value if isinstance(item, dict))
        else:
            value = tup(value)
        kwargs[f.name] = value
    return Diagnostics(**kwargs)


# The drawing lives in core.learn.diagnostic_plots; these names stay importable from here.
from thrifty_tui.core.learn.diagnostic_plots import (
    PLOT_KINDS,
    confusion_text,
    draw,
    render_text,
)

__all__ = ["PLOT_KINDS", "ClassScore", "Curve", "Diagnostics", "confusion_text", "diagnose",
           "diagnostics_from_dict", "draw", "render_text"]
