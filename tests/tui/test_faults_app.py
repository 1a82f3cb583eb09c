"""Faults in the app: a job that fails never leaves it stuck, a workspace fault is a
notification (and is checked again on the next job), the corpus of bad files gives a
notification each while the app keeps answering keys."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

from tui_helpers import SIZE, wait_for

from thrifty_tui.core.events import JobFailed, RunStarted
from thrifty_tui.tui.state import UiState


def _messages(app) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


def test_a_screen_job_failing_after_its_run_started_ends_the_run():
    """The state the board, the dashboard and the footer read returns to idle, with why."""
    state = UiState()
    state.apply(RunStarted(run_id=7, path="d.csv", target="y", task="regression", metric="r2",
                           n_rows=100, n_folds=5, models=("ridge", "forest")))
    assert state.run_active and state.budget.running
    state.apply(JobFailed(job="Screen", message="database or disk is full", user_error=False))
    assert not state.run_active
    assert not state.budget.running
    assert state.finished is not None and state.finished.status == "failed"
    assert state.finished.stop_reason == "database or disk is full"
    assert math.isnan(state.finished.best_score) and not state.can_export


async def test_a_locked_workspace_mid_run_leaves_the_app_usable(make_app, tmp_path):
    from thrifty_tui.config import SAMPLE_DIR

    root = tmp_path / "ws"
    app = make_app(str(SAMPLE_DIR / "car_prices.csv"), "Price", workspace=root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.dataset is not None)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.state.run is not None)
        # Another program takes the database: the run's next write fails (after SQLite's
        # 5 s busy wait) and the job fails.
        holder = sqlite3.connect(root / "thrifty.sqlite", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            await wait_for(pilot, lambda: any("locked" in m for m in _messages(app)), 40)
            await wait_for(pilot, lambda: not app.state.run_active)
            assert not app.state.budget.running
            assert app.check_action("screen_models", ()) is True  # `s` is offered again
            failed_run = app.state.finished.run_id
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        # The lock is gone: the next run works, no restart needed.
        await pilot.press("s")
        await wait_for(pilot, lambda: app.state.finished is not None
                       and app.state.finished.run_id != failed_run
                       and app.state.finished.status == "done", 90)


async def test_the_new_corpus_files_each_give_a_notification(make_app):
    """Every file added to the corpus for issue 19, opened one after another in one app: a
    notification each (refused, or read with a note), and the app still answers keys."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
    from corpus import BAD, FILES
    from make_fixtures import more_fixtures
    from textual.widgets import Input, OptionList

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for name in sorted(more_fixtures()):
            words = FILES[name][1]
            app.clear_notifications()
            await pilot.press("o")
            field = app.screen.query_one("#path", Input)
            field.value = str(BAD / name)
            await pilot.press("enter")
            try:
                await wait_for(pilot, lambda: any(words in m for m in _messages(app)), 30)
            except AssertionError:
                raise AssertionError(f"{name}: {_messages(app)}") from None
            await wait_for(pilot, lambda: app.state.loading is None)
        assert app.is_running and app.current_mode == "load"
        await pilot.press("o")
        assert app.screen.query_one("#path", Input).has_focus
        await pilot.press("escape")
        assert app.screen.query_one("#columns", OptionList).has_focus


async def test_a_corrupt_workspace_gives_a_notification(make_app, tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "thrifty.sqlite").write_bytes(b"not a database at all" * 400)
    app = make_app(workspace=root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: any("is corrupt" in m for m in _messages(app)))
        assert app.is_running
        await pilot.press("o")  # the app still answers keys
        from textual.widgets import Input

        assert app.screen.query_one("#path", Input).has_focus
