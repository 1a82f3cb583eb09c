"""A plotext plot of diagnostics, drawn with the widget's own ``plt`` (never the global one)."""

from __future__ import annotations

from textual_plotext import PlotextPlot

from thrifty_tui.core.learn.diagnostics import Diagnostics, draw


class DiagnosticsPlot(PlotextPlot):
    """Shows one plot kind of one model's Diagnostics, or fit time vs score across models."""

    DEFAULT_CSS = """
    DiagnosticsPlot {
        width: 1fr;
        height: 1fr;
        min-height: 10;
    }
    """

    def show(self, diag: Diagnostics, kind: str) -> None:
        """Replot: clear the data, draw, refresh."""
        draw(self.plt, diag, kind)
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
        plt.title("fit time vs score across models")
        self.refresh()
