"""Export dialog: where to write the bundle, then the write's progress as the worker reports it."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, ProgressBar, Static

from thrifty_tui.tui.footer_fit import SteadyFooter
from thrifty_tui.core.events import (
    Event,
    ExportFinished,
    ExportProgress,
    ExportStarted,
    JobFailed,
)
from thrifty_tui.engine.jobs import Export

IDLE_HINT = "[dim]Enter: write  ·  Escape: cancel[/dim]"
BUSY_HINT = "[dim]Escape: hide (the bundle is still written; you will be told)[/dim]"


class ExportDialog(ModalScreen[str | None]):
    """Ask for the bundle's path; Enter hands an Export job to the worker and shows its progress.

    Dismissed with the written path when the worker reports ExportFinished; None when closed
    before that (the write itself goes on; the app notifies when it ends).
    """

    HELP_KEYS = (("⏎", "write the bundle to the path typed in the box",
                  "run … --export BUNDLE"),)
    BINDINGS: ClassVar = [Binding("escape", "cancel", "Cancel", id="export-cancel")]

    def __init__(self, default_path: str, run_id: int | None = None):
        super().__init__()
        self.default_path = default_path
        self.run_id = run_id
        self.writing: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Static("[b]Export bundle[/b]", classes="pane-title")
            yield Static("The refit best model (skops + joblib), its feature steps and "
                         "lexicons, diagnostics, a manifest with checksums and a model card, "
                         "in one zip.")
            offer = self.calibration_offer()
            if offer is not None:
                yield Checkbox(offer, value=True, id="export-calibrate")
            yield Input(value=self.default_path, id="export-path")
            yield ProgressBar(total=1, show_eta=False, id="export-progress")
            yield Static(IDLE_HINT, id="export-status")
        # A modal's own keys at the bottom, over the screen below's footer (its keys do
        # nothing while the modal is open).
        yield SteadyFooter(compact=True)

    def on_mount(self) -> None:
        if not self.app.settings.animations:
            for widget in self.query(Input):
                widget.cursor_blink = False
        self.query_one("#export-progress", ProgressBar).display = False
        self.app.engine_signal.subscribe(self, self.on_engine)
        self.query_one("#export-path", Input).focus()

    def calibration_offer(self) -> str | None:
        """The calibration check of the model to export (the current run's best), when
        calibrating lowered its cross-validated log loss: the checkbox's words."""
        state = self.app.state
        finished = state.finished
        if finished is None or (self.run_id is not None and self.run_id != finished.run_id):
            return None
        diag = state.diagnostics.get(finished.best_model)
        check = dict(diag.calibration) if diag is not None else {}
        if not check.get("improved"):
            return None
        return (f"Calibrate ({check.get('method')}): CV log loss "
                f"{check.get('log_loss_before'):.3f} → {check.get('log_loss_after'):.3f}")

    @property
    def calibrate(self) -> bool:
        """Whether the bundle carries the calibration map (the checkbox; True without one:
        the export then decides from the diagnostics, which found nothing to gain)."""
        boxes = self.query("#export-calibrate")
        return bool(boxes.first(Checkbox).value) if boxes else True

    def _status(self, text: str) -> None:
        self.query_one("#export-status", Static).update(text)

    def on_input_submitted(self, message: Input.Submitted) -> None:
        if self.writing is not None:
            return
        path = message.value.strip()
        if not path:
            self.notify("Type a file name for the bundle.", severity="warning")
            return
        self.writing = path
        self.query_one("#export-path", Input).disabled = True
        bar = self.query_one("#export-progress", ProgressBar)
        bar.update(total=None, progress=0)  # indeterminate until the first stage arrives
        bar.display = True
        self._status(f"Queued…\n{BUSY_HINT}")
        self.app.submit(Export(path=path, run_id=self.run_id, cost=self.app.state.cost,
                               calibrate=self.calibrate))

    def on_engine(self, event: Event) -> None:
        if self.writing is None:
            return
        bar = self.query_one("#export-progress", ProgressBar)
        if isinstance(event, ExportStarted):
            self._status(f"Writing…\n{BUSY_HINT}")
        elif isinstance(event, ExportProgress):
            bar.update(total=event.total, progress=event.step)
            self._status(f"{event.stage}…\n{BUSY_HINT}")
        elif isinstance(event, ExportFinished):
            bar.update(total=1, progress=1)
            self.writing = None
            self.dismiss(event.path)
        elif isinstance(event, JobFailed) and event.job == "Export":
            # Let the user fix the path (a missing folder, no permission) and try again.
            self.writing = None
            bar.display = False
            path_input = self.query_one("#export-path", Input)
            path_input.disabled = False
            path_input.focus()
            self._status(f"[red]{event.message}[/red]\n{IDLE_HINT}")

    def action_cancel(self) -> None:
        if self.writing is not None:
            self.notify(f"Still writing {self.writing} in the background.", title="Export")
        self.dismiss(None)
