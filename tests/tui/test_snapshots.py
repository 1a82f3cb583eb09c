"""One SVG snapshot per screen and key state at 80x24 (deterministic: no blink, fixed data,
recorded results and events, a frozen clock)."""

from __future__ import annotations

from pathlib import Path

import pytest
import snapshot_states as states
from tui_helpers import fixed_workspace, wait_for

from thrifty_tui.config import make_settings
from thrifty_tui.tui.app import create_app

REPO = Path(__file__).resolve().parents[2]
SIZE = (80, 24)


def _app(workspace: Path, path: str | None = None, target: str | None = None):
    return create_app(make_settings(str(workspace), path=path, target=target, max_procs=1,
                                    animations=False))


@pytest.fixture
def frozen(monkeypatch):
    """The board's elapsed seconds do not move; the export's default folder is fixed."""
    from thrifty_tui.tui.screens import leaderboard, runs

    monkeypatch.setattr(leaderboard, "time", states.FrozenClock)
    monkeypatch.setattr(runs, "time", states.FrozenClock)
    monkeypatch.chdir("/")
    monkeypatch.setenv("THRIFTY_CONFIG", "/thrifty-snapshots/thrifty.toml")  # help's settings


def test_load_screen(snap_compare, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    app = _app(tmp_path / "ws", "sample_data/movies.csv", "Comedy")

    async def ready(pilot):
        # The columns list is filled when the screen has rendered the opened file.
        await wait_for(pilot, lambda: app.state.dataset is not None
                       and app.screen.query_one("#columns").option_count > 0)
        await pilot.pause(0.2)
        app.clear_notifications()  # toasts come and go with the wall clock
        await pilot.pause(0.05)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_leaderboard_screen(snap_compare, tmp_path):
    app = _app(fixed_workspace(tmp_path / "ws"))

    async def ready(pilot):
        await wait_for(pilot, lambda: app.state.finished is not None)
        await pilot.press("b")
        await pilot.pause(0.2)
        app.clear_notifications()  # toasts come and go with the wall clock
        await pilot.pause(0.05)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_leaderboard_live(snap_compare, tmp_path, frozen):
    app = _app(fixed_workspace(tmp_path / "ws"))

    async def ready(pilot):
        await pilot.press("b")
        await states.live_run(pilot, app)
        await pilot.pause(0.2)
        app.clear_notifications()  # toasts come and go with the wall clock
        await pilot.pause(0.05)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


# confusion roc pr per-class importance learning, then models (the last: one key left), then
# dependence reliability cost explain (issue 23: what it learned, how sure, worth, why)
@pytest.mark.parametrize("plot", range(11))
def test_diagnostics_plot(snap_compare, tmp_path, frozen, plot):
    app = _app(fixed_workspace(tmp_path / "ws"))

    async def ready(pilot):
        await states.finished_run(pilot, app)
        await pilot.press("b", "down", "down", "down", "enter")
        await pilot.press(*(["left"] if plot == 6 else ["right"] * (plot - (plot > 6))))
        await pilot.pause(0.2)
        app.clear_notifications()  # toasts come and go with the wall clock
        await pilot.pause(0.05)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_budget_running(snap_compare, tmp_path, frozen):
    app = _app(fixed_workspace(tmp_path / "ws"))

    async def ready(pilot):
        await states.live_run(pilot, app)
        await pilot.press("d")
        await pilot.pause(0.2)
        app.clear_notifications()  # toasts come and go with the wall clock
        await pilot.pause(0.05)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_budget_done(snap_compare, tmp_path, frozen):
    app = _app(fixed_workspace(tmp_path / "ws"))

    async def ready(pilot):
        await states.budget_done(pilot, app)
        await pilot.press("d")
        await pilot.pause(0.2)
        app.clear_notifications()  # toasts come and go with the wall clock
        await pilot.pause(0.05)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_export_dialog(snap_compare, tmp_path, frozen):
    app = _app(fixed_workspace(tmp_path / "ws", model_path="model.joblib"))

    async def ready(pilot):
        await states.finished_run(pilot, app)
        await pilot.press("b", "e")
        await pilot.pause(0.2)
        app.clear_notifications()  # toasts come and go with the wall clock
        await pilot.pause(0.05)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_help_on_the_leaderboard(snap_compare, tmp_path, frozen):
    app = _app(fixed_workspace(tmp_path / "ws"))

    async def ready(pilot):
        await wait_for(pilot, lambda: app.state.finished is not None)
        await pilot.press("b", "question_mark")
        await pilot.pause(0.2)
        app.clear_notifications()  # toasts come and go with the wall clock
        await pilot.pause(0.05)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_runs_view(snap_compare, tmp_path, frozen):
    app = _app(fixed_workspace(tmp_path / "ws", model_path="model.joblib"))

    async def ready(pilot):
        await wait_for(pilot, lambda: app.state.runs)
        await pilot.press("u")
        await wait_for(pilot, lambda: app.screen.query_one("#runs").row_count == 1)
        await pilot.pause(0.2)
        app.clear_notifications()
        await pilot.pause(0.05)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_load_screen_at_200x60(snap_compare, tmp_path, monkeypatch):
    """The room of a big terminal used: every sampled row, whole column names."""
    monkeypatch.chdir(REPO)
    app = _app(tmp_path / "ws", "sample_data/movies.csv", "Comedy")

    async def ready(pilot):
        await wait_for(pilot, lambda: app.state.dataset is not None
                       and app.screen.query_one("#columns").option_count > 0)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(200, 60), run_before=ready)
