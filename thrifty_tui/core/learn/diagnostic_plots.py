"""Drawing diagnostics: on plotext's module API (text plots saved in bundles) and on
textual-plotext's ``plt`` alike, from the frozen Diagnostics records (core.learn.diagnostics).
Imports nothing heavy: the app draws with it.
"""

from __future__ import annotations

from typing import Any

Diagnostics = Any  # core.learn.diagnostics.Diagnostics (not imported: no cycle)

# -- drawing: works on plotext's module API and on textual-plotext's ``plt`` alike -------------

PLOT_KINDS = {
    "classification": ("confusion", "roc", "pr", "per-class", "importance", "learning",
                       "dependence", "reliability", "cost", "explain"),
    "regression": ("predicted-vs-actual", "residuals", "importance", "learning", "dependence",
                   "explain"),
}
EXPLAIN_KINDS = ("dependence", "reliability", "cost", "explain")
EXPLAIN_DATA = {"dependence": "dependence", "reliability": "reliability",
                "cost": "threshold_counts", "explain": "explained"}


def plot_kinds(diag: Diagnostics) -> tuple[str, ...]:
    """The plots of ``diag``'s task, less those of EXPLAIN_KINDS it has no data for (more
    than two classes: no reliability or cost curve; a model too slow to explain in time)."""
    return tuple(k for k in PLOT_KINDS[diag.task]
                 if k not in EXPLAIN_DATA or getattr(diag, EXPLAIN_DATA[k], ()))


# The cost curve with no cost matrix set: every error costs 1 (the error rate per 1,000).
UNIT_COST = {"false_positive": 1.0, "false_negative": 1.0}


def draw(plt: Any, diag: Diagnostics, kind: str, cost: Any = None, index: int = 0) -> None:
    """Draw plot ``kind`` of ``diag`` on ``plt`` (after clearing it). ``cost`` (a
    core.learn.value.CostMatrix) prices the cost curve; ``index`` picks the column of a
    dependence plot, the row of an explanation."""
    plt.clear_data()
    plt.clear_figure() if hasattr(plt, "clear_figure") else None
    if kind in EXPLAIN_KINDS:
        if not _draw_explained(plt, diag, kind, cost, index):
            plt.title(f"{diag.model}: no {kind} data")
    elif kind == "confusion" and diag.confusion:
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


def _draw_explained(plt: Any, diag: Diagnostics, kind: str, cost: Any, index: int) -> bool:
    """The plots of what a model learned, how sure it is and what it is worth; False when
    ``diag`` has no data for ``kind``."""
    if kind == "dependence" and diag.dependence:
        dep = diag.dependence[index % len(diag.dependence)]
        if dep.kind == "categorical":
            plt.bar([str(g)[:10] for g in dep.grid], list(dep.average))
        else:
            for line in dep.ice:
                plt.plot(list(dep.grid), list(line), color="gray", marker="braille")
            plt.plot(list(dep.grid), list(dep.average), label="average", marker="hd")
        plt.xlabel(dep.feature[:30])
        plt.ylabel(dep.response[:20])
        plt.title(f"{diag.model}: partial dependence on {dep.feature}")
        return True
    if kind == "reliability" and diag.reliability:
        plt.plot([p for p, _, _ in diag.reliability], [o for _, o, _ in diag.reliability],
                 marker="dot", label="model")
        plt.plot([0, 1], [0, 1], label="perfect")
        plt.xlabel(f"predicted P({diag.positive[:12]})")
        plt.ylabel("observed share")
        plt.title(f"{diag.model}: reliability (out-of-fold)")
        return True
    if kind == "cost" and diag.threshold_counts:
        from thrifty_tui.core.errors import DataError
        from thrifty_tui.core.learn.value import CostMatrix, best_threshold, cost_curve, oriented

        matrix = cost if cost is not None and cost.is_set else CostMatrix(**UNIT_COST)
        try:
            matrix = oriented(matrix, diag)
        except DataError:  # a positive class the model does not have: drawn as given
            pass
        curve = cost_curve(diag.threshold_counts, matrix)
        best, at_best = best_threshold(diag.threshold_counts, matrix)
        plt.plot([t for t, _ in curve], [c for _, c in curve], label="cost per 1,000")
        plt.vline(0.5)
        plt.scatter([best], [at_best], marker="x", label=f"best {best:.2f}")
        plt.xlabel(f"threshold on P({diag.positive[:12]})")
        plt.ylabel("cost per 1,000")
        plt.title(f"{diag.model}: expected cost per 1,000 predictions")
        return True
    if kind == "explain" and diag.explained:
        row = diag.explained[index % len(diag.explained)]
        pairs = list(row.contributions)[::-1]
        plt.bar([n[:14] for n, _ in pairs], [v for _, v in pairs], orientation="horizontal")
        plt.title(f"{diag.model}: held-out row {row.row + 1}, predicted {row.prediction[:14]}")
        return True
    return False


def render_text(diag: Diagnostics, kind: str, width: int = 80, height: int = 22,
                cost: Any = None, index: int = 0) -> str:
    """The plot as plain text (no colour codes), as saved in bundles."""
    if kind == "confusion":
        return f"{diag.model}: confusion matrix (out-of-fold)\n\n" + confusion_text(diag)
    import re

    import plotext

    plotext.clear_figure()
    plotext.plotsize(width, height)
    plotext.clc()
    draw(plotext, diag, kind, cost, index)
    plotext.plotsize(width, height)
    return re.sub(r"\x1b\[[0-9;]*m", "", plotext.build())
