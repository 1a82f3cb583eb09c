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
        if proba_seen is None and len(problem.classes) == 2:
            decision = _decision_scores(oof_files, n)
            if decision is not None and not np.isnan(decision[seen]).any():
                diag = _with_ranking_curves(diag, y_true, decision[seen], problem.classes[1])
    else:
        diag = regression_diagnostics(spec.name, y_true, pred[seen].astype(float), problem.seed)
    importances: tuple[tuple[str, float], ...] = ()
    note = ""
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
            importances, note = permutation_importances(
                model, problem.X.iloc[test_idx], problem.y.iloc[test_idx], problem.metric,
                problem.seed, max_seconds=importance_seconds(time.perf_counter() - started))
        except Exception:  # noqa: BLE001 - importances are a nice-to-have, not a failure
            importances = ()
    kind = f"permutation importance ({problem.metric})" + (f"; {note}" if note else "")
    return dataclasses.replace(diag, importances=importances, importance_kind=kind,
                               learning_curve=tuple(learning_curve))


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
    """Rebuild Diagnostics from its JSON form (lists back to tuples)."""
    def tup(v: Any) -> Any:
        return tuple(tup(x) for x in v) if isinstance(v, list) else v

    fields = dict(data)
    fields["roc"] = tuple(Curve(c["name"], tuple(c["x"]), tuple(c["y"]), c["area"])
                          for c in data.get("roc", []))
    fields["pr"] = tuple(Curve(c["name"], tuple(c["x"]), tuple(c["y"]), c["area"])
                         for c in data.get("pr", []))
    fields["per_class"] = tuple(ClassScore(**c) for c in data.get("per_class", []))
    for key in ("metrics", "labels", "confusion", "actual", "predicted", "importances",
                "learning_curve"):
        fields[key] = tup(data.get(key, []))
    return Diagnostics(**fields)


# -- drawing: works on plotext's module API and on textual-plotext's ``plt`` alike -------------

PLOT_KINDS = {
    "classification": ("confusion", "roc", "pr", "per-class", "importance", "learning"),
    "regression": ("predicted-vs-actual", "residuals", "importance", "learning"),
}


def draw(plt: Any, diag: Diagnostics, kind: str) -> None:
    """Draw plot ``kind`` of ``diag`` on ``plt`` (after clearing it)."""
    plt.clear_data()
    plt.clear_figure() if hasattr(plt, "clear_figure") else None
    if kind == "confusion" and diag.confusion:
        # Drawn as a table by confusion_text; as a plot, correct share per true class.
        labels = [lbl[:10] for lbl in diag.labels]
        recall = [diag.confusion[i][i] / max(1, sum(diag.confusion[i]))
                  for i in range(len(labels))]
        plt.bar(labels, recall)
        plt.ylim(0, 1)
        plt.title(f"{diag.model}: share predicted right per true class")
    elif kind in ("roc", "pr"):
        curves = diag.roc if kind == "roc" else diag.pr
        for curve in curves:
            plt.plot(list(curve.x), list(curve.y), label=f"{curve.name[:12]} {curve.area:.3f}")
        if kind == "roc":
            plt.plot([0, 1], [0, 1], label="chance")
            plt.xlabel("false positive rate")
            plt.ylabel("true positive rate")
        else:
            plt.xlabel("recall")
            plt.ylabel("precision")
        plt.title(f"{diag.model}: {'ROC' if kind == 'roc' else 'precision-recall'}")
    elif kind == "per-class" and diag.per_class:
        plt.multiple_bar([c.label[:10] for c in diag.per_class],
                         [[c.precision for c in diag.per_class],
                          [c.recall for c in diag.per_class], [c.f1 for c in diag.per_class]],
                         labels=["precision", "recall", "f1"])
        plt.title(f"{diag.model}: per-class scores")
    elif kind == "predicted-vs-actual" and diag.actual:
        plt.scatter(list(diag.actual), list(diag.predicted), label="rows")
        lo, hi = min(diag.actual), max(diag.actual)
        plt.plot([lo, hi], [lo, hi], label="perfect")
        plt.xlabel("actual")
        plt.ylabel("predicted")
        plt.title(f"{diag.model}: predicted vs actual")
    elif kind == "residuals" and diag.actual:
        residuals = [p - a for a, p in zip(diag.actual, diag.predicted, strict=True)]
        plt.scatter(list(diag.predicted), residuals)
        plt.hline(0)
        plt.xlabel("predicted")
        plt.ylabel("residual")
        plt.title(f"{diag.model}: residuals")
    elif kind == "importance" and diag.importances:
        names = [n[:14] for n, _ in diag.importances][::-1]
        values = [v for _, v in diag.importances][::-1]
        plt.bar(names, values, orientation="horizontal")
        plt.title(f"{diag.model}: {diag.importance_kind or 'importance'}")
    elif kind == "importance" and diag.importance_kind:  # not computed: say why
        plt.title(f"{diag.model}: importances {diag.importance_kind.rsplit('; ', 1)[-1]}")
    elif kind == "learning" and diag.learning_curve:
        xs = [n for n, _ in diag.learning_curve]
        ys = [s for _, s in diag.learning_curve]
        plt.plot(xs, ys, marker="dot")
        plt.xlabel("training rows")
        plt.ylabel("CV score")
        plt.title(f"{diag.model}: learning curve")
    else:
        plt.title(f"{diag.model}: no {kind} data")


def confusion_text(diag: Diagnostics, max_labels: int = 12, max_width: int | None = None) -> str:
    """The confusion matrix as an aligned text table (rows: true class, columns: predicted):
    the first ``max_labels`` classes, fewer if the lines must fit ``max_width`` cells (the
    diagnostics screen's side pane: 6 of 150 classes wrapped every line there)."""
    head = "true \\ predicted"
    labels = [lbl[:10] for lbl in diag.labels[:max_labels]]
    width = max([len(lbl) for lbl in labels] + [len(str(v)) for row in diag.confusion
                                                   for v in row] + [6])
    first = max([len(head)] + [len(lbl) for lbl in labels]) + 1
    if max_width is not None:
        labels = labels[:max(1, (max_width - first + 1) // (width + 1))]
    lines = [head.ljust(first) + " ".join(lbl.rjust(width) for lbl in labels)]
    for label, row in zip(labels, diag.confusion, strict=False):
        lines.append(label.ljust(first) + " ".join(str(v).rjust(width)
                                                       for v in row[:len(labels)]))
    if len(diag.labels) > len(labels):
        lines.append(f"({len(diag.labels) - len(labels)} more classes not shown)")
    return "\n".join(lines)


def render_text(diag: Diagnostics, kind: str, width: int = 80, height: int = 22) -> str:
    """The plot as plain text (no colour codes), as saved in bundles."""
    if kind == "confusion":
        return f"{diag.model}: confusion matrix (out-of-fold)\n\n" + confusion_text(diag)
    import re

    import plotext

    plotext.clear_figure()
    plotext.plotsize(width, height)
    plotext.clc()
    draw(plotext, diag, kind)
    plotext.plotsize(width, height)
    return re.sub(r"\x1b\[[0-9;]*m", "", plotext.build())
