"""A plotext plot of diagnostics, drawn with the widget's own ``plt`` (never the global one)."""

from __future__ import annotations

from typing import Any

from textual_plotext import PlotextPlot

from thrifty_tui.core.learn.diagnostics import Diagnostics, draw

# The plots' titles without the model's name (the screen's title line has it): plotext drops
# a title wider than the plot, which it was at 80x24 ("…: share predicted right per true
# class" in a 44-column plot).
TITLES = {"confusion": "share predicted right per true class", "roc": "ROC (one vs rest)",
          "pr": "precision-recall", "per-class": "per-class precision, recall, F1",
          "predicted-vs-actual": "predicted vs actual", "residuals": "residuals",
          "importance": "score drop when shuffled",
          "learning": "learning curve (racing rungs)",
          "dependence": "partial dependence (grey: single rows)",
          "reliability": "reliability: predicted vs observed",
          "cost": "expected cost per 1,000 (x: least)",
          "explain": "why this held-out row"}


def fit_title(title: str, width: int) -> str:
    """``title`` cut to ``width`` columns (with an ellipsis), so plotext keeps it."""
    return title if len(title) <= width else title[: max(1, width - 1)] + "…"


class DiagnosticsPlot(PlotextPlot):
    """Shows one plot kind of one model's Diagnostics, or fit time vs score across models."""

    DEFAULT_CSS = """
    DiagnosticsPlot {
        width: 1fr;
        height: 1fr;
        min-height: 10;
    }
    """

    def show(self, diag: Diagnostics, kind: str, cost: Any = None, index: int = 0) -> None:
        """Replot: clear the data, draw, refresh (``cost`` prices the cost curve, ``index``
        picks the column of a dependence plot, the row of an explanation)."""
        draw(self.plt, diag, kind, cost, index)
        if kind in TITLES and (kind != "importance" or diag.importances):
            # The canvas is the widget less its axis labels (up to 14 columns of names).
            room = self.size.width - (18 if kind in ("importance", "explain") else 8)
            title = TITLES[kind]
            if kind == "dependence" and diag.dependence:
                title = f"{diag.dependence[index % len(diag.dependence)].feature}: {title}"
            elif kind == "explain" and diag.explained:
                row = diag.explained[index % len(diag.explained)]
                title = f"row {row.row + 1}: predicted {row.prediction[:12]}"
            self.plt.title(fit_title(title, max(10, room)))
        self.refresh()

    def show_models(self, points: list[tuple[float, float, str]], metric: str) -> None:
        """Fit seconds (x) against mean CV score (y), one point per finished model."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        if points:
            xs = [p[0] for p in points]
            ys = [-p[1] if metric.startswith("neg_") else p[1] for p in points]
            plt.scatter(xs, ys, marker="dot")
            for x, y, (_, _, name) in zip(xs, ys, points, strict=True):
                plt.text(name[:12], x, y)
        plt.xlabel("fit seconds (all folds and rungs)")
        plt.ylabel(metric)
        plt.title(fit_title("fit time vs score across models", max(10, self.size.width - 4)))
        self.refresh()
