"""What the UI knows: the latest snapshot of each engine event, applied on the UI thread only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # The app makes its state before the first frame, and the events module and the budget
    # (~60 ms of dataclasses) are not needed to draw it: they are imported with the first
    # event, by which time the worker has imported them anyway.
    from thrifty_tui.core.budget import Budget
    from thrifty_tui.core.diagnostics import Diagnostics
    from thrifty_tui.core.records import ModelResult
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
    first_wall_s: float | None = None  # the time budget the app was opened with (--budget)
    first_rules: tuple[tuple[str, object], ...] = ()  # thrifty.toml's [budget] rules
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
            from thrifty_tui.core.budget import budget_from_mapping

            rules = dict(self.first_rules)
            if self.first_wall_s is not None:
                rules["seconds"] = self.first_wall_s
            self._rules = budget_from_mapping(rules, "thrifty.toml [budget]")
        return self._rules

    @rules.setter
    def rules(self, rules: Budget) -> None:
        self._rules = rules

    @property
    def run_active(self) -> bool:
        return self.screen_pending or (self.run is not None and self.finished is None)

    @property
    def can_export(self) -> bool:
        return (self.finished is not None and self.finished.status == "done"
                and bool(self.finished.model_path) and self.exporting is None)

    @property
    def best(self) -> ModelResult | None:
        from thrifty_tui.core.records import best_result

        return best_result(list(self.results.values()))

    def apply(self, event: Event) -> None:
        """Fold one event into the state."""
        from thrifty_tui.core.events import (
            BoardRestored, DatasetOpened, ExportFinished, ExportStarted, JobFailed, LabelingOpened,
            LabelSaved, LeaderTies, LearningUpdated, LoadProgress, ModelDiagnosed, ModelScored,
            ModelStarted, ModelUpdate, RunFinished, RunProgress, RunStarted,
        )
        from thrifty_tui.tui.widgets.label_view import fold_labeling

        self.budget.apply(event)
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
        elif isinstance(event, LoadProgress):
            if self.loading is not None:
                self.load_progress = event
        elif isinstance(event, RunStarted):
            self.run, self.results, self.running, self.finished = event, {}, [], None
            self.screen_pending = False
            self.racing, self.progress, self.diagnostics, self.ties = {}, None, {}, ()
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
        elif isinstance(event, ModelScored):
            self.results[event.result.model] = event.result
            if event.result.model in self.running:
                self.running.remove(event.result.model)
        elif isinstance(event, RunFinished):
            self.finished, self.running = event, []
        elif isinstance(event, BoardRestored):
            if self.run is None:  # a live run wins over an old one read back
                self.run = event.run
                self.results = {r.model: r for r in event.results}
                self.finished = event.finished
                self.diagnostics = {}
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
