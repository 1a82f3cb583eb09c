"""What the UI knows: the latest snapshot of each engine event, applied on the UI thread only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # The app makes its state before the first frame, and the events module and the budget
    # (~60 ms of dataclasses) are not needed to draw it: they are imported with the first
    # event, by which time the worker has imported them anyway.
    from thrifty_tui.core.policy.budget import Budget
    from thrifty_tui.core.learn.diagnostics import Diagnostics
    from thrifty_tui.core.records import ModelResult, RunSummary
    from thrifty_tui.core.events import (
        DatasetOpened, Event, ExportFinished, LoadProgress, ModelUpdate, RunFinished,
        RunProgress, RunStarted,
    )
    from thrifty_tui.tui.budget_state import BudgetView
    from thrifty_tui.tui.widgets.label_view import LabelingState


@dataclass
class UiState:
    """The app's view of the engine; screens render from it and never from threads."""

    dataset: DatasetOpened | None = None
    target: str | None = None
    task: str | None = None  # None = let the engine suggest
    run: RunStarted | None = None
    results: dict[str, ModelResult] = field(default_factory=dict)
    arrival: list[str] = field(default_factory=list)  # the models as they came: started, added
    running: list[str] = field(default_factory=list)
    finished: RunFinished | None = None
    exporting: str | None = None
    last_export: ExportFinished | None = None
    loading: str | None = None
    load_progress: LoadProgress | None = None  # the latest, while a file is being read
    roles: dict[str, str] = field(default_factory=dict)  # the user's role per column
    sample_rows: int | None = None  # screen a sample of this many rows (None: all)
    screen_pending: bool = False
    labeling: LabelingState | None = None  # the open label set (label screen)
    racing: dict[str, ModelUpdate] = field(default_factory=dict)
    progress: RunProgress | None = None
    diagnostics: dict[str, Diagnostics] = field(default_factory=dict)
    ties: tuple[str, ...] = ()
    notices: list[str] = field(default_factory=list)  # the current run's notices, in order
    runs: tuple[RunSummary, ...] = ()  # every run of the workspace, newest first (Runs view)
    executor: Any = None  # the latest ExecutorChanged: where fits run (None: here, as ever)
    rules_from_user: bool = False  # rules set with `r` this session win over restored ones
    first_wall_s: float | None = None  # the time budget the app was opened with (--budget)
    first_rules: tuple[tuple[str, object], ...] = ()  # thrifty.toml's [budget] rules
    # What a prediction is worth (core.learn.value.CostMatrix's fields, set on the dashboard
    # with `v` or in thrifty.toml's [cost]): the cost curve and the export's threshold.
    cost: tuple[tuple[str, object], ...] = ()
    _budget: BudgetView | None = field(default=None, repr=False)
    _rules: Budget | None = field(default=None, repr=False)

    @property
    def budget(self) -> BudgetView:
        """The dashboard's run: the budget events of the current run, folded."""
        if self._budget is None:
            from thrifty_tui.tui.budget_state import BudgetView

            self._budget = BudgetView()
        return self._budget

    @property
    def rules(self) -> Budget:
        """The done rules for the next run (set on the dashboard)."""
        if self._rules is None:
            from thrifty_tui.core.policy.budget_file import budget_from_mapping

            rules = dict(self.first_rules)
            if self.first_wall_s is not None:
                rules["seconds"] = self.first_wall_s
            self._rules = budget_from_mapping(rules, "thrifty.toml [budget]")
        return self._rules

    @rules.setter
    def rules(self, rules: Budget) -> None:
        self._rules = rules
        self.rules_from_user = True

    @property
    def run_active(self) -> bool:
        return self.screen_pending or (self.run is not None and self.finished is None)

    @property
    def can_export(self) -> bool:
        """A model to export: this run's, or the last good run's after a cancelled one."""
        return self.export_run_id is not None and self.exporting is None

    @property
    def export_run_id(self) -> int | None:
        """The run whose best `e` exports: the shown run when it finished well, else the
        newest run of the workspace that did (None: none did)."""
        if self.run_active:
            return None
        f = self.finished
        if f is not None and f.status == "done" and f.model_path:
            return f.run_id
        return next((r.run_id for r in self.runs if r.exportable), None)

    def _apply_restored(self, event: Event) -> None:
        """The workspace's runs, and the restored run's rules (unless set this session)."""
        from thrifty_tui.core.restore_events import RunsListed

        if isinstance(event, RunsListed):
            self.runs = event.runs
        elif not self.rules_from_user and self.run is not None \
                and self.run.run_id == getattr(event, "run_id", None):
            from thrifty_tui.core.policy.budget import Budget

            self._rules = Budget(**event.budget)  # type: ignore[attr-defined]
            self.budget.rules = self._rules  # the last run's rules, for the next

    def why_no_mean(self) -> str:
        """Why the finished run has no "mean of …" row though models are marked ≈ ('' when it
        has one, or nothing is tied)."""
        if self.run is None or self.finished is None or not self.ties:
            return ""
        if any(m.startswith("mean of ") for m in self.results):
            return ""
        said = next((n for n in self.notices if n.startswith("no mean of")), "")
        if said:
            return said
        full = self.run.rungs[-1] if self.run.rungs else self.run.n_rows
        best = self.best
        leaders = {*self.ties, *([best.model] if best is not None else [])}
        on_all = [m for m in leaders if m in self.results and self.results[m].rows == full
                  and len(self.results[m].fold_scores) == self.run.n_folds]
        if len(on_all) < 2:
            return (f"no mean of the ≈ rows: {len(on_all)} of them cross-validated on all "
                    f"{full:,} rows (a mean needs two; the others stopped at a smaller rung)")
        if self.budget.update is not None and self.budget.update.wall_s:
            return ("no mean of the ≈ rows: scoring it would have pushed the best model's "
                    "fit past the time budget")
        return "no mean of the ≈ rows: their out-of-fold predictions were not kept"

    def in_arrival_order(self, results: list[ModelResult]) -> list[ModelResult]:
        """The board's "arrival" order: as the run started the models (the live board's rows),
        then the rows it added (tuned, mean of …); not the order they finished in."""
        position = {model: i for i, model in enumerate(self.arrival)}
        return sorted(results, key=lambda r: position.get(r.model, len(position)))

    @property
    def best(self) -> ModelResult | None:
        from thrifty_tui.core.records import best_result

        return best_result(list(self.results.values()))

    def apply(self, event: Event) -> None:
        """Fold one event into the state."""
        from thrifty_tui.core.events import (
            BoardRestored, DatasetOpened, ExportFinished, ExportStarted, JobFailed, LabelingOpened,
            LabelSaved, LeaderTies, LearningUpdated, LoadProgress, ModelDiagnosed, ModelScored,
            ModelStarted, ModelUpdate, Notice, RunFinished, RunProgress, RunStarted,
        )
        from thrifty_tui.core.restore_events import BudgetRestored, RunsListed
        from thrifty_tui.tui.widgets.label_view import fold_labeling

        self.budget.apply(event)
        self._arrived(event)
        if isinstance(event, LabelingOpened | LabelSaved | LearningUpdated):
            self.labeling = fold_labeling(self.labeling, event)
            return
        if isinstance(event, DatasetOpened):
            if self.dataset is None or self.dataset.path != event.path:
                self.roles, self.sample_rows = {}, None  # choices belong to one file
            self.dataset, self.loading, self.load_progress = event, None, None
            names = [c.name for c in event.columns]
            if event.target in names:
                self.target = event.target
            elif self.target not in names:
                self.target = event.suggested_target
            self.roles.pop(self.target or "", None)
        elif event.name == "executor":
            self.executor = event
        elif isinstance(event, LoadProgress) and self.loading is not None:
            self.load_progress = event  # (not after the load ended)
        elif isinstance(event, RunStarted):
            self.run, self.results, self.running, self.finished = event, {}, [], None
            self.screen_pending = False
            self.racing, self.progress, self.diagnostics, self.ties = {}, None, {}, ()
            self.notices = []
        elif isinstance(event, ModelStarted):
            self.running.append(event.model)
        elif isinstance(event, ModelUpdate):
            self.racing[event.model] = event
        elif isinstance(event, RunProgress):
            self.progress = event
        elif isinstance(event, ModelDiagnosed):
            if self.run is not None and event.run_id == self.run.run_id:
                self.diagnostics[event.model] = event.diagnostics
        elif isinstance(event, LeaderTies):
            self.ties = event.ties
        elif isinstance(event, Notice):
            if self.run is not None and self.finished is None:
                self.notices.append(event.message)
        elif isinstance(event, ModelScored):
            self.results[event.result.model] = event.result
            if event.result.model in self.running:
                self.running.remove(event.result.model)
        elif isinstance(event, RunFinished):
            self.finished, self.running = event, []
        elif isinstance(event, BoardRestored):
            if self.run is None:  # a live run wins over an old one read back
                from thrifty_tui.core.records import in_run_order

                self.run = event.run
                # The live board's order: the models as the run started them.
                self.results = {r.model: r for r in in_run_order(event.results,
                                                                  event.run.models)}
                self.finished = event.finished
                self.diagnostics = {}
        elif isinstance(event, RunsListed | BudgetRestored):
            self._apply_restored(event)
        elif isinstance(event, ExportStarted):
            self.exporting = event.path
        elif isinstance(event, ExportFinished):
            self.exporting, self.last_export = None, event
        elif isinstance(event, JobFailed):
            if event.job == "Export":
                self.exporting = None
            if event.job == "OpenDataset":
                self.loading, self.load_progress = None, None
            if event.job == "Screen":
                self.screen_pending = False
                self.running = []
                if self.run is not None and self.finished is None:
                    self._end_failed_run(event.message)

    def _arrived(self, event: Event) -> None:
        """Keep the models' arrival order (see in_arrival_order)."""
        from thrifty_tui.core.events import BoardRestored, ModelScored, ModelStarted, RunStarted

        if isinstance(event, RunStarted):
            self.arrival = []
        elif isinstance(event, BoardRestored) and self.run is None:  # as apply restores it
            from thrifty_tui.core.records import in_run_order

            self.arrival = [r.model for r in in_run_order(event.results, event.run.models)]
        elif isinstance(event, ModelStarted | ModelScored):
            model = event.model if isinstance(event, ModelStarted) else event.result.model
            if model not in self.arrival:
                self.arrival.append(model)

    def _end_failed_run(self, reason: str) -> None:
        """A Screen job that failed after its run started (a full disk, a lost workspace)
        sends no RunFinished: end the run here, or the board, the budget and the footer
        would wait for it for good."""
        import math

        from thrifty_tui.core.events import RunFinished

        assert self.run is not None
        failed = RunFinished(run_id=self.run.run_id, status="failed", best_model="",
                             best_score=math.nan, metric=self.run.metric, elapsed_s=0.0,
                             stop_reason=reason)
        self.finished = failed
        self.budget.apply(failed)
