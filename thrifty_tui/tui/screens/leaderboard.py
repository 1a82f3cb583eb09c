"""Leaderboard: one row per model, filled in live as racing and cross-validation go on."""

from __future__ import annotations

import math
import time

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, ProgressBar, Static

from thrifty_tui.tui.footer_fit import FittedFooter, SteadyFooter
from thrifty_tui.tui.widgets.board_table import BoardTable, fit_name, money_text
from thrifty_tui.core.events import (
    BoardRestored, Event, JobFailed, LeaderTies, ModelDiagnosed, ModelScored, ModelStarted,
    ModelUpdate, RunFinished, RunProgress, RunStarted,
)
from thrifty_tui.core.records import ModelResult
from thrifty_tui.tui.screens.diagnostics_side import row_value

COLUMNS = (("best", "", 1), ("model", "model", 22), ("score", "CV score ± std", 17),
           ("tie", "≈", 1), ("rows", "rows", 7), ("fit", "fit s", 6), ("status", "status", 10))
STATUS_STYLE = {"done": "green", "failed": "bold red", "cancelled": "yellow", "skipped": "dim",
                "running": "cyan", "racing": "cyan", "timeout": "bold red", "oom": "bold red",
                "dropped": "dim yellow", "queued": "dim"}
WEAK = ("dropped", "failed", "timeout", "oom", "skipped", "cancelled")
WHY_FROM = 110  # from this width on, a last column says why a row was dropped or skipped
NAME_W, WIDE_NAME_W, WIDE_NAMES = 22, 36, 150  # the model column; wider from 150 columns
BOARD_WIDTH = sum(width + 2 for _, _, width in COLUMNS)  # each cell padded by one each side
SORTS = ("arrival", "score", "fit time")


def score_text(metric: str, mean: float, std: float) -> str:
    """A score as people read it: errors (neg_ metrics) shown positive."""
    if math.isnan(mean):
        return "—"
    if metric.startswith("neg_"):
        mean = -mean
    digits = 4 if abs(mean) < 100 else 1
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


class LeaderboardScreen(FittedFooter, Screen):
    """Models and their cross-validated scores; the best is starred, its equals marked ≈."""

    # Keys left out of the footer first when it would not fit 80 columns (they still work).
    FOOTER_DROP = ("runs", "label", "load", "weak")
    HELP_KEYS = (("↑ ↓", "highlight a model: its folds, cost and diagnostics show below", ""),)
    FOOTER_COMPACT = True
    FOOTER_RESERVE = 14  # ^p palette

    BINDINGS = [
        Binding("enter", "diagnose", "Diagnostics", id="diagnose"),
        Binding("o", "cycle_sort", "Sort", id="sort"),
        Binding("w", "toggle_weak", "Hide weak", id="weak"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sort_by = "arrival"
        self.hide_weak = False
        self._started_at: float | None = None

    def compose(self) -> ComposeResult:
        yield Static("[b]Leaderboard[/b]  no run yet: choose a target on Load (l), then s",
                     id="run-info", classes="screen-title")
        with Horizontal(id="run-progress-row"):
            yield ProgressBar(id="run-progress", show_eta=False)
            yield Static("", id="run-status")
        yield BoardTable(id="board", cursor_type="row", zebra_stripes=True)
        yield Static("", id="row-detail")
        yield SteadyFooter(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#board", DataTable)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        self.app.engine_signal.subscribe(self, self.on_engine)
        self._fit_why(self.app.size.width)
        self.render_state()
        self.set_interval(0.5, self._tick)
        table.focus()

    def _left(self, eta_s: float, elapsed: float) -> float:
        """Seconds left: the estimate, at most what the time budget leaves (not ~238 s of 120)."""
        state = self.app.state
        update = state.budget.update
        if update is None or state.run is None or update.run_id != state.run.run_id \
                or not update.wall_s:
            return eta_s
        return min(eta_s, max(0.0, update.wall_s - elapsed))

    # -- rendering ------------------------------------------------------------------------------
    _why, _name_w = False, NAME_W  # the "why" column is there; the model column's width

    def _keys(self) -> list[str]:
        return [key for key, _, _ in COLUMNS] + ["why"] * self._why

    def on_resize(self, event: events.Resize) -> None:
        """From WHY_FROM columns, why each row was dropped, skipped or failed; wider names."""
        super().on_resize(event)
        self._fit_why(event.size.width)

    def _fit_why(self, width: int) -> None:
        """The "why" column and wider names (cut at 200 columns), in place: rows keep order."""
        table = self.query_one("#board", BoardTable)
        if not table.columns:
            return  # before on_mount: it calls this again
        if self._why:
            table.remove_column("why")
        self._why, self._name_w = width >= WHY_FROM, WIDE_NAME_W if width >= WIDE_NAMES else NAME_W
        table.fit_names(self._name_w)
        if not self._why:
            return
        table.add_column("why", key="why", width=width - BOARD_WIDTH - 4 - self._name_w + NAME_W)
        for key in list(table.rows):
            result = self.app.state.results.get(str(key.value))
            table.update_cell(key, "why", self._cells(result)[-1] if result else Text(""))

    @property
    def metric(self) -> str:
        run = self.app.state.run
        return run.metric if run is not None else ""

    def render_state(self) -> None:
        """Redraw everything from the app's state (on mount, after a restore, on re-sort)."""
        state = self.app.state
        table = self.query_one("#board", DataTable)
        highlighted = self.selected_model()
        table.clear()
        if state.run is None:
            return
        self._render_info()
        for result in self._ordered(list(state.results.values())):
            if not (self.hide_weak and result.status in WEAK):
                self._put_row(result)
        for name in state.running:
            if name not in state.results:
                self._put_racing(name)
        self._mark_best()
        if highlighted is not None and highlighted in table.rows:
            # The cursor follows the model, not the row number it had before a re-sort.
            table.move_cursor(row=table.get_row_index(highlighted), animate=False)
        self._render_progress()
        self._show_detail()

    def _ordered(self, results: list[ModelResult]) -> list[ModelResult]:
        if self.sort_by == "score":
            return sorted(results, key=lambda r: -r.mean if not math.isnan(r.mean) else math.inf)
        if self.sort_by == "fit time":
            return sorted(results, key=lambda r: r.fit_seconds)
        return self.app.state.in_arrival_order(results)

    def _render_info(self) -> None:
        run = self.app.state.run
        assert run is not None
        rungs = (" · racing " + " → ".join(f"{r:,}" for r in run.rungs)
                 if len(run.rungs) > 1 else "")
        self.query_one("#run-info", Static).update(
            f"[b]Leaderboard[/b]  run {run.run_id} · [b]{run.target}[/b] · {run.task} · "
            f"{run.metric} · {run.n_rows:,} rows · {run.n_folds}-fold CV{rungs}")

    def _cells(self, result: ModelResult) -> list[Text]:
        tie, score = "≈" if result.model in self.app.state.ties else "", (result.mean, result.std)
        return [Text(""), Text(fit_name(result.model, self._name_w)),
                Text(score_text(self.metric, *score)),
                Text(tie, style="bold cyan"), Text(f"{result.rows:,}" if result.rows else ""),
                Text(f"{result.fit_seconds:.1f}"),
                Text(result.status, style=STATUS_STYLE.get(result.status, ""))] + (
                    [Text(result.error.splitlines()[0] if result.error else "", style="dim",
                          overflow="ellipsis", no_wrap=True)]  # all of it: the line below
                    if self._why else [])

    def _set_row(self, key: str, cells: list[Text]) -> None:
        table = self.query_one("#board", DataTable)
        if key in table.rows:
            for col, cell in zip(self._keys(), cells, strict=True):
                self._put_cell(table, key, col, cell)
        else:
            table.add_row(*cells, key=key)

    @staticmethod
    def _put_cell(table: DataTable, row: str, col: str, cell: Text) -> None:
        """Update a cell only if it changes (re-rendering each row held the loop 20-40 ms)."""
        current = table.get_cell(row, col)
        if (isinstance(current, Text) and current.plain == cell.plain
                and current.style == cell.style and current.spans == cell.spans):
            return
        table.update_cell(row, col, cell)

    def _put_row(self, result: ModelResult) -> None:
        if self.hide_weak and result.status in WEAK:
            table = self.query_one("#board", DataTable)
            if result.model in table.rows:
                table.remove_row(result.model)
            return
        self._set_row(result.model, self._cells(result))

    def _put_racing(self, name: str) -> None:
        update, shown = self.app.state.racing.get(name), Text(fit_name(name, self._name_w))
        if update is None:
            cells = [Text(""), shown, Text("…"), Text(""), Text(""), Text(""),
                     Text("racing", style=STATUS_STYLE["racing"])]
        else:
            cells = [Text(""), shown,
                     Text(score_text(self.metric, update.mean, update.std), style="dim"),
                     Text(""), Text(f"{update.rows:,}"), Text(""),
                     Text(f"racing {update.rung + 1}/{update.n_rungs}",
                          style=STATUS_STYLE["racing"])]
        self._set_row(name, cells + [Text("")] * self._why)

    def _mark_best(self) -> None:
        table = self.query_one("#board", DataTable)
        best = self.app.state.best
        for key in list(table.rows):
            model = key.value
            result = self.app.state.results.get(model)
            is_best = best is not None and model == best.model
            self._put_cell(table, model, "best",
                           Text("★", style="bold yellow") if is_best else Text(""))
            if result is not None:
                style = "bold green" if is_best else ""
                cells = self._cells(result)
                self._put_cell(table, model, "model", Text(cells[1].plain, style=style))
                self._put_cell(table, model, "score", Text(cells[2].plain, style=style))
                self._put_cell(table, model, "tie", cells[3])

    def _render_progress(self) -> None:
        state = self.app.state
        if state.run is None:
            return
        bar = self.query_one("#run-progress", ProgressBar)
        if state.finished is not None:
            f = state.finished
            bar.update(total=1, progress=1)
            update = state.budget.update  # the cost meter: thrift you can see
            cost = (f" · {update.cost.cpu_s:.0f} CPU-s" + (
                f" · {money_text(update.cost.money)}" if update.cost.money is not None else "")
                if update is not None and update.run_id == f.run_id else "")
            wall = update.wall_s if update is not None and update.run_id == f.run_id else None
            over = (f", {f.elapsed_s - wall:.1f} s over the {wall:g} s budget"
                    if wall and f.elapsed_s > wall + 0.05 else "")
            why = state.why_no_mean()
            text = (f"{f.status} in {f.elapsed_s:.1f} s{over}{cost} · {f.stop_reason}"
                    + (f"\n{why}" if why else ""))
        else:
            progress = state.progress
            elapsed = progress.elapsed_s if progress is not None else 0.0
            if self._started_at is not None:
                elapsed = time.monotonic() - self._started_at
            if progress is not None:
                bar.update(total=max(1, progress.fits_total), progress=progress.fits_done)
                eta = f" · ~{self._left(progress.eta_s, elapsed):.0f} s left" \
                    if progress.eta_s >= 1 else ""
            else:
                bar.update(total=None)
                eta = ""
            done = len(state.results)
            where = f" · {state.executor.label}" if state.executor is not None else ""
            text = (f"{done}/{len(state.run.models)} models · {elapsed:.0f} s{eta}{where}"
                    " · x cancels")
        # While a run goes the line keeps its size (no re-layout twice a second); the finished
        # line may wrap to a second one.
        self.query_one("#run-status", Static).update(text,
                                                     layout=state.finished is not None)

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
            self.query_one("#row-detail", Static).update("", layout=False)
        elif isinstance(event, ModelStarted | ModelUpdate):
            if event.model not in self.app.state.results:
                self._put_racing(event.model)
        elif isinstance(event, ModelScored):
            with self.app.batch_update():
                self._put_row(event.result)
                self._mark_best()
        elif isinstance(event, LeaderTies):
            self._mark_best()
        elif isinstance(event, BoardRestored):
            self.render_state()
            return
        elif isinstance(event, RunFinished):
            self._started_at = None
            self._mark_best()
        elif isinstance(event, RunProgress):
            pass
        elif isinstance(event, ModelDiagnosed):
            self._show_detail()
            return
        elif isinstance(event, JobFailed) and event.job == "Screen":
            self._started_at = None  # the run is over (UiState ended it): stop the clock
            self._render_progress()
            self.query_one("#run-status", Static).update(f"[b red]{event.message}[/]",
                                                         layout=False)
            return
        else:
            return
        self._render_progress()
        self._show_detail()

    def on_data_table_row_highlighted(self, message: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        self.action_diagnose()  # Enter on a row: the table gets the key first

    def selected_model(self) -> str | None:
        table = self.query_one("#board", DataTable)
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - cursor outside the rows while they change
            return None

    def _show_detail(self) -> None:
        key = self.selected_model()
        if key is None:
            return
        state = self.app.state
        result = state.results.get(key)
        detail = self.query_one("#row-detail", Static)
        if result is None:
            update = state.racing.get(key)
            where = f" (rung {update.rung + 1} of {update.n_rungs} done)" if update else ""
            detail.update(f"[b]{key}[/b]: cross-validating…{where}", layout=False)
            return
        lines = []
        if result.fold_scores:
            folds = "  ".join(score_text(self.metric, s, 0.0).split(" ±")[0]
                              for s in result.fold_scores)
            lines.append(f"[b]{key}[/b] folds: {folds}")
        else:
            lines.append(f"[b]{key}[/b]")
        if result.error:
            lines.append(f"[{STATUS_STYLE.get(result.status, '')}]{result.status}[/]: "
                         f"{result.error}")
        else:
            live = state.finished is None or state.run_active
            diag = "Enter: diagnostics" if key in state.diagnostics else (
                "diagnostics on the way…" if result.status == "done" and live else
                "no diagnostics (Enter says why)")
            value = row_value(state, key)  # with a cost matrix: what the row costs
            diag = "Enter: plots" if value and key in state.diagnostics else diag
            lines.append(f"cpu {result.cpu_seconds:.1f} s · peak {result.peak_mb:,.0f} MB"
                         f" · {diag}{value}")
        detail.update("\n".join(lines), layout=False)

    # -- actions --------------------------------------------------------------------------------
    def action_diagnose(self) -> None:
        key = self.selected_model()
        if key is None:
            return
        diag = self.app.state.diagnostics.get(key)
        if diag is None:
            self.notify(self.why_no_diagnostics(key), severity="warning", timeout=8)
            return
        from thrifty_tui.tui.screens.diagnostics import DiagnosticsScreen

        self.app.push_screen(DiagnosticsScreen(key))

    def why_no_diagnostics(self, model: str) -> str:
        """Why ``model`` has no diagnostics, in words the user can act on."""
        state = self.app.state
        result = state.results.get(model)
        if result is None or result.status not in ("done",):
            status = result.status if result is not None else "still racing"
            return f"No diagnostics for {model}: only models that finish get them ({status})."
        if state.finished is None:
            return f"Diagnostics of {model} are on the way (computed after its folds)."
        update = state.budget.update
        wall = update.wall_s if update is not None and update.run_id == state.finished.run_id \
            else None
        if wall:
            return (f"No diagnostics for {model}: the {wall:g} s budget left no time to compute "
                    f"them; a larger budget (or none) computes them for the best models.")
        return f"No diagnostics were saved for {model} in this run."

    def action_cycle_sort(self) -> None:
        self.sort_by = SORTS[(SORTS.index(self.sort_by) + 1) % len(SORTS)]
        self.render_state()
        self.notify(f"sorted by {self.sort_by}", timeout=2)

    def action_toggle_weak(self) -> None:
        self.hide_weak = not self.hide_weak
        self.render_state()
        self.notify("weak rows hidden" if self.hide_weak else "all rows shown", timeout=2)
