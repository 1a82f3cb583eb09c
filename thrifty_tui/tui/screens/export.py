"""Export dialog: where to write the bundle."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class ExportDialog(ModalScreen[str | None]):
    """Ask for the bundle's path; Enter writes it, Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="export-cancel")]

    def __init__(self, default_path: str):
        super().__init__()
        self.default_path = default_path

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Static("[b]Export bundle[/b]", classes="pane-title")
            yield Static("The refit best model, its manifest and a model card, in one zip.")
            yield Input(value=self.default_path, id="export-path")
            yield Static("[dim]Enter: write  ·  Escape: cancel[/dim]")

    def on_mount(self) -> None:
        if not self.app.settings.animations:
            for widget in self.query(Input):
                widget.cursor_blink = False
        self.query_one("#export-path", Input).focus()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        path = message.value.strip()
        if not path:
            self.notify("Type a file name for the bundle.", severity="warning")
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)
