"""One SVG snapshot per screen at 80x24 (deterministic: no blink, fixed data, fixed results)."""

from __future__ import annotations

from pathlib import Path

from tui_helpers import fixed_workspace, wait_for

from thrifty_tui.config import make_settings
from thrifty_tui.tui.app import create_app

REPO = Path(__file__).resolve().parents[2]


def _app(workspace: Path, path: str | None = None, target: str | None = None):
    return create_app(make_settings(str(workspace), path=path, target=target, max_procs=1,
                                    animations=False))


def test_load_screen(snap_compare, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    app = _app(tmp_path / "ws", "sample_data/movies.csv", "Comedy")

    async def ready(pilot):
        # The columns list is filled when the screen has rendered the opened file.
        await wait_for(pilot, lambda: app.state.dataset is not None
                       and app.screen.query_one("#columns").option_count > 0)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=ready)


def test_leaderboard_screen(snap_compare, tmp_path):
    app = _app(fixed_workspace(tmp_path / "ws"))

    async def ready(pilot):
        await wait_for(pilot, lambda: app.state.finished is not None)
        await pilot.press("b")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=ready)
