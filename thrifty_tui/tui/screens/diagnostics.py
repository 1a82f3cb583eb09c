"""Diagnostics of one model: plots from out-of-fold predictions, computed by the core."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Static

from thrifty_tui.core.learn.diagnostic_plots import confusion_text, plot_kinds
from thrifty_tui.tui.footer_fit import FittedFooter, SteadyFooter
from thrifty_tui.tui.screens.diagnostics_side import cost_matrix
from thrifty_tui.tui.screens.diagnostics_side import side_text as explained_side
from thrifty_tui.tui.widgets.plot_panel import DiagnosticsPlot

BOARD_KIND = "models"  # fit time vs score across all models of the run


class DiagnosticsScreen(FittedFooter, Screen):
    """← → switch plots; Escape goes back to the leaderboard."""

    # Keys left out of the footer first when it would not fit 80 columns (they still work).
    FOOTER_DROP = ("runs", "label", "budget", "load", "board", "export")
    FOOTER_COMPACT = True
    FOOTER_RESERVE = 14  # ^p palette

    BINDINGS = [
        Binding("right,n", "next_plot", "Next plot", id="next-plot"),
        Binding("left,p", "previous_plot", "Prev plot", id="prev-plot"),
        Binding("down,j", "next_item", "Next col/row", id="next-item"),
        Binding("up,k", "previous_item", "Prev col/row", id="prev-item", show=False),
        Binding("escape,b", "back", "Back", id="back"),
    ]
    ITEM_KINDS = ("dependence", "explain")  # plots with a column or row to choose

    def __init__(self, model: str):
        super().__init__()
        self.model = model
        self.kind_index = 0
        self.item_index = 0  # the column of a dependence plot, the row of an explanation

    @property
    def kinds(self) -> tuple[str, ...]:
        diag = self.app.state.diagnostics[self.model]
        return (*plot_kinds(diag), BOARD_KIND)

    def compose(self) -> ComposeResult:
        yield Static("", id="diag-title", classes="screen-title")
        with Horizontal(id="diag-body"):
            yield DiagnosticsPlot(id="diag-plot")
            yield Static("", id="diag-empty")
            with Vertical(id="diag-side"):
                yield Static("", id="diag-metrics")
        yield SteadyFooter(compact=True)

    def on_mount(self) -> None:
        self.call_after_refresh(self.show)  # the plot knows its width after the first layout

    def on_resize(self) -> None:
        self.show()

    def show(self) -> None:
        state = self.app.state
        diag = state.diagnostics[self.model]
        kind = self.kinds[self.kind_index]
        names = "  ".join(f"[reverse]{k}[/]" if k == kind else k for k in self.kinds)
        plain = f"{self.model}  " + "  ".join(self.kinds)
        if len(plain) + 2 > self.size.width:  # at 80 columns: the plot shown, and where
            names = (f"[reverse]{kind}[/] ({self.kind_index + 1}/{len(self.kinds)}) "
                     f"[dim]← → plots[/]")
        self.query_one("#diag-title", Static).update(f"[b]{escape(self.model)}[/b]  {names}")
        plot = self.query_one("#diag-plot", DiagnosticsPlot)
        side = self.query_one("#diag-metrics", Static)
        metric_lines = [f"{name:<18} {abs(value) if name in ('rmse', 'mae', 'log_loss') else value:.4f}"
                        for name, value in diag.metrics]
        side_text = "[b]out-of-fold[/b]\n" + "\n".join(metric_lines)
        if kind == "confusion":
            side_text += "\n\n[b]confusion[/b] (rows: true)\n" + escape(confusion_text(
                diag, 6, max_width=side.content_size.width or 34))  # (#diag-side: 36 - padding)
        elif kind == "per-class":
            side_text += "\n\n[b]per class[/b]  P / R / F1\n" + "\n".join(
                f"{c.label[:10]:<10} {c.precision:.2f} {c.recall:.2f} {c.f1:.2f}"
                for c in diag.per_class[:10])
        elif kind == "importance":
            side_text += "\n\n[b]top columns[/b]\n" + ("\n".join(
                f"{n[:14]:<14} {v:+.4f}" for n, v in diag.importances[:10])
                or escape(diag.importance_kind))
        else:
            side_text += explained_side(kind, diag, state, self.item_index)
        side.update(side_text)
        # No importances (too dear to compute in the time allowed): the reason, not an empty box.
        empty = kind == "importance" and not diag.importances
        plot.display = not empty
        message = self.query_one("#diag-empty", Static)
        message.display = empty
        if empty:
            message.update(f"[b]Importances not computed[/b]\n\n{escape(diag.importance_kind)}"
                           "\n\n[dim]Permutation importances shuffle each column and score "
                           "again; they are skipped when that would take longer than a second "
                           "or half the model's fit. The other plots (← →) are complete.[/dim]")
            return
        if kind == BOARD_KIND:
            points = [(r.fit_seconds, r.mean, r.model) for r in state.results.values()
                      if r.fold_scores and r.status == "done"]
            plot.show_models(points, state.run.metric if state.run else "score")
        else:
            plot.show(diag, kind, cost_matrix(state), self.item_index)

    def action_next_plot(self) -> None:
        self.kind_index = (self.kind_index + 1) % len(self.kinds)
        self.item_index = 0
        self.refresh_bindings()
        self.show()

    def action_previous_plot(self) -> None:
        self.kind_index = (self.kind_index - 1) % len(self.kinds)
        self.item_index = 0
        self.refresh_bindings()
        self.show()

    def action_next_item(self) -> None:
        self.item_index += 1
        self.show()

    def action_previous_item(self) -> None:
        self.item_index = max(0, self.item_index - 1)
        self.show()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """↑ ↓ only where there is a column or row to choose (hidden elsewhere: the footer
        must fit 80 columns)."""
        if action in ("next_item", "previous_item"):
            return self.kinds[self.kind_index] in self.ITEM_KINDS
        return True

    def action_back(self) -> None:
        self.app.pop_screen()
