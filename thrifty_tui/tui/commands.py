"""The command palette's entries: every action of the app, with its key in the help text."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.app import SystemCommand
from textual.screen import Screen

from thrifty_tui.tui.screens.load import LoadScreen


def system_commands(app: Any, screen: Screen) -> Iterable[SystemCommand]:
    """The app's palette entries on ``screen`` (after Textual's own)."""
    if isinstance(screen, LoadScreen):
        yield SystemCommand("Open a file", "A path with completion, or the folder tree (o)",
                            screen.action_open_picker)
        yield SystemCommand("Task", "auto → classification → regression (t)",
                            screen.action_cycle_task)
        yield SystemCommand("Column role", "The highlighted column: numeric → category → "
                            "text → date → id-like, not used (r)", screen.action_cycle_role)
        yield SystemCommand("Sample size", "Screen all rows or a seeded sample (z)",
                            screen.action_cycle_sample)
        yield SystemCommand("Cancel loading", "Stop reading the file being opened (Esc)",
                            app.cancel_load)
    yield SystemCommand("Load data", "Open a file and choose the target (l)",
                        lambda: app.switch_mode("load"))
    yield SystemCommand("Leaderboard", "Show the live leaderboard (b)",
                        lambda: app.switch_mode("board"))
    yield SystemCommand("Screen models", "Cross-validate the model zoo (s)",
                        app.action_screen_models)
    yield SystemCommand("Budget dashboard", "Done rules, time and fits spent, the verdict (d)",
                        lambda: app.switch_mode("budget"))
    yield SystemCommand("Label data", "Label rows by hand; a model learns from them (a)",
                        lambda: app.switch_mode("label"))
    yield SystemCommand("Cancel run", "Stop the running screening (x)", app.action_cancel_run)
    yield SystemCommand("Export bundle", "Write the best model as a bundle (e)",
                        app.action_export)
    yield SystemCommand("Runs", "Every run of the workspace; export any run's best (u)",
                        app.action_runs)
    yield SystemCommand("Connect to a Dask cluster", "Run the fits on local:N worker processes "
                        "or a scheduler at tcp://HOST:PORT; empty: this machine",
                        lambda: _import_cluster().connect_dialog(app))
    yield SystemCommand("Help", "The keys of this screen and the CLI's commands (? or F1)",
                        app.action_help)


def _import_cluster() -> Any:
    from thrifty_tui.tui.screens import cluster

    return cluster
