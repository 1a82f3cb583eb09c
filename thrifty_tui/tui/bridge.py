"""Engine events -> Textual messages. The worker thread calls ``emit``; nothing else crosses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import App
from textual.message import Message

if TYPE_CHECKING:
    from thrifty_tui.core.events import Event


class EngineEvent(Message):
    """One frozen engine event, delivered on the app's thread."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


def make_emit(app: App):
    """An ``emit`` for the worker: ``post_message`` is thread-safe and never blocks the worker."""

    def emit(event: Event) -> None:
        app.post_message(EngineEvent(event))

    return emit
