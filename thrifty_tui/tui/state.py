"""What the UI knows: the latest snapshot of each engine event, applied on the UI thread only."""

from __future__ import annotations

from dataclasses import dataclass, field

from thrifty_tui.core.events import (
    BoardRestored, DatasetOpened, Event, ExportFinished, ExportStarted, JobFailed, ModelScored,
    ModelStarted, RunFinished, RunStarted,
)
from thrifty_tui.core.records import ModelResult, best_result


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
    screen_pending: bool = False

    @property
    def run_active(self) -> bool:
        return self.screen_pending or (self.run is not None and self.finished is None)

    @property
    def can_export(self) -> bool:
        return (self.finished is not None and self.finished.status == "done"
                and bool(self.finished.model_path) and self.exporting is None)

    @property
    def best(self) -> ModelResult | None:
        return best_result(list(self.results.values()))

    def apply(self, event: Event) -> None:
        """Fold one event into the state."""
        if isinstance(event, DatasetOpened):
            self.dataset, self.loading = event, None
            names = [c.name for c in event.columns]
            if self.target not in names:
                self.target = event.suggested_target
        elif isinstance(event, RunStarted):
            self.run, self.results, self.running, self.finished = event, {}, [], None
            self.screen_pending = False
        elif isinstance(event, ModelStarted):
            self.running.append(event.model)
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
        elif isinstance(event, ExportStarted):
            self.exporting = event.path
        elif isinstance(event, ExportFinished):
            self.exporting, self.last_export = None, event
        elif isinstance(event, JobFailed):
            if event.job == "Export":
                self.exporting = None
            if event.job == "OpenDataset":
                self.loading = None
            if event.job == "Screen":
                self.screen_pending = False
                self.running = []
