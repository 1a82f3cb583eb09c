"""Runs (`u`): every run of the workspace; Enter exports the highlighted run's best model."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from thrifty_tui.tui.footer_fit import SteadyFooter
from thrifty_tui.core.events import Event
from thrifty_tui.core.restore_events import RunsListed
from thrifty_tui.core.records import RunSummary

# 76 columns in all, no cell padding: the box fits 80 columns; each cell ends in a space.
COLUMNS = (("run", "run", 4), ("data", "data · target", 15), ("metric", "metric", 10),
           ("best", "best · CV", 20), ("budget", "budget", 7), ("status", "status", 10),
           ("cost", "cost", 10))  # "123 CPU-s" and a space
WIDTH = {key: width for key, _, width in COLUMNS}
RUNS_BOX_MAX = 120  # #runs-box's max-width in screens.tcss
RUNS_BOX_MAX_HEIGHT = 40  # its max-height
STATUS_STYLE = {"done": "green", "cancelled": "yellow", "failed": "bold red",
                "interrupted": "yellow", "running": "cyan"}


def column_widths(room: int) -> dict[str, int]:
    """Each column's width in a table ``room`` cells wide: 76 at least; more room goes to the
    metric first (up to 18: balanced_accuracy), then half each to the data and the best."""
    widths = dict(WIDTH)
    extra = max(0, room - sum(WIDTH.values()))
    metric = min(extra, 8)
    widths["metric"] += metric
    widths["data"] += (extra - metric) // 2
    widths["best"] += extra - metric - (extra - metric) // 2
    return widths


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def run_cells(run: RunSummary, widths: dict[str, int] = WIDTH) -> list[Text]:
    """One row of the table: run, data and target, metric, best and CV, budget, status, cost."""
    score = "—" if math.isnan(run.cv_mean) else (
        f"{abs(run.cv_mean):.3f}" + ("" if math.isnan(run.cv_std) else f"±{run.cv_std:.3f}"))
    best = f"{_short(run.best_model, widths['best'] - len(score) - 2)} {score}" \
        if run.best_model else "—"
    cost = f"{run.cpu_s:.0f} CPU-s" if run.cpu_s else f"{run.elapsed_s:.0f} s"
    texts = {"run": str(run.run_id), "data": f"{Path(run.path).name} · {run.target}",
             "metric": run.metric, "best": best,
             "budget": f"{run.budget_s:g} s" if run.budget_s else "—", "status": run.status,
             "cost": cost}
    return [Text(_short(texts[key], widths[key] - 1), style=STATUS_STYLE.get(run.status, "")
                 if key == "status" else "") for key, _, _ in COLUMNS]


def run_detail(run: RunSummary) -> str:
    """The highlighted run in full: fingerprint, rules, stop reason, money, export."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.started_at))
    money = f" · {run.money:.4f}" if run.money is not None else ""
    export = "Enter exports its best" if run.exportable else "nothing to export"
    fingerprint = run.fingerprint[:16] or "not recorded"
    return (f"[b]run {run.run_id}[/b] {when} · {run.path} · fingerprint {fingerprint}\n"
            f"{run.task} of [b]{run.target}[/b] on {run.n_rows:,} rows · rules: "
            f"{run.rules or 'none'} · {run.elapsed_s:.1f} s{money}\n"
            f"stopped: {run.stop_reason or '—'} · [b]{export}[/b]")


class RunsScreen(ModalScreen[None]):
    """The workspace's runs, newest first; Enter exports a run's best; Escape closes."""

    HELP_KEYS = (("↑ ↓", "highlight a run: its data, budget and stop reason show below", ""),)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "export_run", "Export best", id="runs-export"),
        Binding("escape,u,q", "close", "Close", id="runs-close"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="runs-box"):
            yield Static("[b]Runs[/b] · Enter exports the highlighted run's best · Esc closes",
                         id="runs-title")
            yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
            yield Static("", id="runs-detail")
        # A modal's own keys at the bottom, over the screen below's footer (its keys do
        # nothing while the modal is open).
        yield SteadyFooter(compact=True)

    _widths: dict[str, int] = WIDTH

    def on_mount(self) -> None:
        table = self.query_one("#runs", DataTable)
        table.cell_padding = 0
        self._widths = column_widths(self._room(self.app.size.width))
        self._add_columns()
        self.app.engine_signal.subscribe(self, self.on_engine)
        self.render_runs()
        from thrifty_tui.engine.jobs import Restore

        self.app.submit(Restore())  # the list as the workspace has it now
        table.focus()

    def _add_columns(self) -> None:
        table = self.query_one("#runs", DataTable)
        for key, label, _ in COLUMNS:
            table.add_column(label, key=key, width=self._widths[key])

    @staticmethod
    def _room(width: int) -> int:
        return min(width, RUNS_BOX_MAX) - 4  # the box's border and padding

    def on_resize(self, event: events.Resize) -> None:
        """Past 80 columns the data, the best model and the metric get the room; the table is
        as tall as its runs, up to what the box leaves it (title, detail, border)."""
        room = min(event.size.height, RUNS_BOX_MAX_HEIGHT) - 2 - 1 - 7
        self.query_one("#runs", DataTable).styles.max_height = max(3, room)
        widths = column_widths(self._room(event.size.width))
        if widths != self._widths:
            self._widths = widths
            self.query_one("#runs", DataTable).clear(columns=True)
            self._add_columns()
            self.render_runs()

    def on_engine(self, event: Event) -> None:
        if isinstance(event, RunsListed):
            self.render_runs()

    def render_runs(self) -> None:
        table = self.query_one("#runs", DataTable)
        highlighted = self.selected()
        table.clear()
        for run in self.app.state.runs:
            table.add_row(*run_cells(run, self._widths), key=str(run.run_id))
        if highlighted is not None and str(highlighted.run_id) in table.rows:
            table.move_cursor(row=table.get_row_index(str(highlighted.run_id)))
        if not self.app.state.runs:
            self.query_one("#runs-detail", Static).update(
                "no runs yet: choose a target on Load (l), then s screens the models")
        self._show_detail()

    def selected(self) -> RunSummary | None:
        table = self.query_one("#runs", DataTable)
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - the cursor outside the rows while they change
            return None
        return next((r for r in self.app.state.runs if str(r.run_id) == key), None)

    def _show_detail(self) -> None:
        run = self.selected()
        if run is not None:
            self.query_one("#runs-detail", Static).update(run_detail(run))

    def on_data_table_row_highlighted(self, message: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        self.action_export_run()  # Enter on a row: the table gets the key first

    def action_export_run(self) -> None:
        run = self.selected()
        if run is None:
            return
        if not run.exportable:
            self.notify(f"run {run.run_id} has no model to export ({run.status})",
                        severity="warning")
            return
        if self.app.state.run_active:
            self.notify("a run is going on; export when it ends", severity="warning")
            return
        self.dismiss(None)
        self.app.export_run(run.run_id)

    def action_close(self) -> None:
        self.dismiss(None)
