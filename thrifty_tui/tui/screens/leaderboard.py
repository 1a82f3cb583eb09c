"""Leaderboard: one row per model, filled in live as each cross-validation finishes."""

from __future__ import annotations

import math
import time

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, ProgressBar, Static

from thrifty_tui.core.events import (
    BoardRestored, Event, JobFailed, ModelScored, ModelStarted, RunFinished, RunStarted,
)
from thrifty_tui.core.records import ModelResult

COLUMNS = (("best", ""), ("model", "model"), ("score", "score (mean ± std)"),
           ("fit", "fit s"), ("status", "status"))
STATUS_STYLE = {"done": "green", "failed": "bold red", "cancelled": "yellow", "skipped": "dim",
                "running": "cyan", "timeout": "bold red"}


class LeaderboardScreen(Screen):
    """Models and their cross-validated scores; the best is starred."""

    def compose(self) -> ComposeResult:
        yield Static("[b]Leaderboard[/b]  no run yet: choose a target on Load (l), then s",
                     id="run-info", classes="screen-title")
        with Horizontal(id="run-progress-row"):
            yield ProgressBar(id="run-progress", show_eta=False)
            yield Static("", id="run-status")
        yield DataTable(id="board", cursor_type="row", zebra_stripes=True)
        yield Static("", id="row-detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#board", DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key, width=1 if key == "best" else None)
        self.app.engine_signal.subscribe(self, self.on_engine)
        self._started_at: float | None = None
        self.render_state()
        self.set_interval(0.5, self._tick)
        table.focus()

    # -- rendering ------------------------------------------------------------------------------
    def render_state(self) -> None:
        """Redraw everything from the app's state (on mount and after a restore)."""
        state = self.app.state
        table = self.query_one("#board", DataTable)
        table.clear()
        if state.run is None:
            return
        self._render_info()
        for result in state.results.values():
            self._put_row(result)
        for name in state.running:
            self._put_running(name)
        self._mark_best()
        self._render_progress()

    def _render_info(self) -> None:
        run = self.app.state.run
        assert run is not None
        notes = f"  [yellow]{'; '.join(run.notices)}[/]" if run.notices else ""
        self.query_one("#run-info", Static).update(
            f"[b]Leaderboard[/b]  run {run.run_id} · [b]{run.target}[/b] · {run.task} · "
            f"{run.metric} · {run.n_rows:,} rows · {run.n_folds}-fold CV{notes}")

    def _cells(self, result: ModelResult) -> list[Text]:
        score = (f"{result.mean:.4f} ± {result.std:.4f}" if result.fold_scores
                 and not math.isnan(result.mean) else "—")
        name = result.model
        return [Text(""), Text(name), Text(score), Text(f"{result.fit_seconds:.1f}"),
                Text(result.status, style=STATUS_STYLE.get(result.status, ""))]

    def _put_row(self, result: ModelResult) -> None:
        table = self.query_one("#board", DataTable)
        cells = self._cells(result)
        if result.model in table.rows:
            for (key, _), cell in zip(COLUMNS, cells, strict=True):
                table.update_cell(result.model, key, cell)
        else:
            table.add_row(*cells, key=result.model)

    def _put_running(self, name: str) -> None:
        table = self.query_one("#board", DataTable)
        if name not in table.rows:
            table.add_row(Text(""), Text(name), Text("…"), Text(""),
                          Text("running", style=STATUS_STYLE["running"]), key=name)

    def _mark_best(self) -> None:
        table = self.query_one("#board", DataTable)
        best = self.app.state.best
        for key in list(table.rows):
            model = key.value
            result = self.app.state.results.get(model)
            is_best = best is not None and model == best.model
            table.update_cell(model, "best", Text("★", style="bold yellow") if is_best else Text(""))
            if result is not None:
                style = "bold green" if is_best else ""
                table.update_cell(model, "model", Text(self._cells(result)[1].plain, style=style))
                table.update_cell(model, "score", Text(self._cells(result)[2].plain, style=style))

    def _render_progress(self) -> None:
        state = self.app.state
        if state.run is None:
            return
        total = len(state.run.models)
        done = len(state.results)
        self.query_one("#run-progress", ProgressBar).update(total=total, progress=done)
        if state.finished is not None:
            f = state.finished
            text = f"{f.status} in {f.elapsed_s:.1f} s · {f.stop_reason}"
        else:
            elapsed = time.monotonic() - self._started_at if self._started_at else 0.0
            queued = total - done - len(state.running)
            text = (f"{done}/{total} done · {len(state.running)} running · {queued} queued"
                    f" · {elapsed:.0f} s · x to cancel")
        self.query_one("#run-status", Static).update(text)

    def _tick(self) -> None:
        if self.app.state.run_active:
            self._render_progress()

    # -- events ---------------------------------------------------------------------------------
    def on_engine(self, event: Event) -> None:
        table = self.query_one("#board", DataTable)
        if isinstance(event, RunStarted):
            self._started_at = time.monotonic()
            table.clear()
            self._render_info()
            self.query_one("#row-detail", Static).update("")
        elif isinstance(event, ModelStarted):
            self._put_running(event.model)
        elif isinstance(event, ModelScored):
            with self.app.batch_update():
                self._put_row(event.result)
                self._mark_best()
        elif isinstance(event, BoardRestored):
            self.render_state()
            return
        elif isinstance(event, RunFinished):
            self._mark_best()
        elif isinstance(event, JobFailed) and event.job == "Screen":
            self.query_one("#run-status", Static).update(f"[b red]{event.message}[/]")
            return
        else:
            return
        self._render_progress()
        self._show_detail()

    def on_data_table_row_highlighted(self, message: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        table = self.query_one("#board", DataTable)
        if not table.row_count:
            return
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - cursor outside the rows while they change
            return
        result = self.app.state.results.get(key)
        detail = self.query_one("#row-detail", Static)
        if result is None:
            detail.update(f"[b]{key}[/b]: cross-validating…")
        elif result.error:
            detail.update(f"[b]{key}[/b] [red]{result.status}[/]: {result.error}")
        else:
            folds = "  ".join(f"{s:.3f}" for s in result.fold_scores)
            detail.update(f"[b]{key}[/b] folds: {folds}")
