"""The palette's "Connect to a Dask cluster": ask for the address, hand the fits to it; and
the notification when fits change place (or fall back to this machine)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from thrifty_tui.tui.footer_fit import SteadyFooter
from thrifty_tui.config import parse_dask_address

HINT = ("[dim]local:N starts N worker processes on this machine; tcp://HOST:PORT joins a "
        "running scheduler; empty: this machine's processes. Enter: connect · Escape: "
        "cancel[/dim]")


class ClusterDialog(ModalScreen[str | None]):
    """Ask where fits run; dismissed with the address ("" for this machine), None if closed."""

    BINDINGS: ClassVar = [Binding("escape", "cancel", "Cancel", id="cluster-cancel")]

    def __init__(self, default: str):
        super().__init__()
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(id="cluster-box"):
            yield Static("[b]Connect to a Dask cluster[/b]", classes="pane-title")
            yield Static("Screening and tuning fits run on the cluster's workers; sampling, "
                         "the final fit and the bundle stay here (docs/scaling.md). If it "
                         "cannot be reached, fits go on here.")
            yield Input(value=self.default, placeholder="local:2 or tcp://HOST:8786",
                        id="cluster-address")
            yield Static(HINT, id="cluster-status")
        # A modal's own keys at the bottom, over the screen below's footer (its keys do
        # nothing while the modal is open).
        yield SteadyFooter(compact=True)

    def on_mount(self) -> None:
        if not self.app.settings.animations:
            self.query_one(Input).cursor_blink = False
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if value:
            try:
                value = parse_dask_address(value)
            except ValueError as err:
                self.query_one("#cluster-status", Static).update(f"[b red]{err}[/]")
                return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)


def connect_dialog(app: Any) -> None:
    """Ask for an address, then submit ConnectCluster (falling back to this machine)."""
    from thrifty_tui.engine.jobs import ConnectCluster

    def chosen(address: str | None) -> None:
        if address is None:
            return
        app.submit(ConnectCluster(address, fallback_local=True))
        app.notify(f"connecting to {address}…" if address else "back to this machine",
                   title="Dask cluster")

    app.push_screen(ClusterDialog(app.settings.dask or "local:2"), chosen)


def executor_changed(app: Any, event: Any) -> None:
    """Tell the user where fits run now; a warning when the cluster could not be used."""
    if event.message:
        app.notify(f"{event.message}\nfits run on {event.label}", title="Dask cluster",
                   severity="warning", timeout=10)
    else:
        app.notify(f"fits run on {event.label}", title="Executor")
