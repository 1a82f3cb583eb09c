"""The leaderboard's keys on a run read back from the workspace (no fitting): issue 21."""

from __future__ import annotations

from textual.widgets import DataTable
from tui_helpers import SIZE, fixed_workspace, wait_for

from thrifty_tui.config import make_settings
from thrifty_tui.tui.app import create_app


def _app(workspace):
    return create_app(make_settings(str(workspace), max_procs=1, animations=False))


async def test_sorting_keeps_the_highlighted_model(tmp_path):
    app = _app(fixed_workspace(tmp_path / "ws"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.finished is not None)
        await pilot.press("b")
        await pilot.pause(0.1)
        table = app.screen.query_one("#board", DataTable)
        await pilot.press("down")  # "linear", second in arrival order
        assert app.screen.selected_model() == "linear"
        for sort_by in ("score", "fit time", "arrival"):
            await pilot.press("o")
            assert app.screen.sort_by == sort_by
            assert app.screen.selected_model() == "linear", sort_by
        await pilot.press("o")  # by score: hist gradient boosting, linear, baseline, tree
        assert table.cursor_row == 1


async def test_why_no_mean_row_and_a_budget_overrun_in_words(tmp_path):
    """≈ rows without a "mean of …" row say why; a run past its budget says by how much."""
    from thrifty_tui.core.events import LeaderTies
    from thrifty_tui.tui.bridge import EngineEvent

    app = _app(fixed_workspace(tmp_path / "ws"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.finished is not None)
        await pilot.press("b")
        app.post_message(EngineEvent(LeaderTies(run_id=1, leader="hist gradient boosting",
                                                ties=("linear",))))
        await pilot.pause(0.1)
        app.screen._render_progress()
        text = str(app.screen.query_one("#run-status").render())
        assert "no mean of the ≈ rows" in text, text
        assert "cross-validated on all" in text, text


async def test_enter_on_a_model_without_diagnostics_says_why(tmp_path):
    """Under a time budget the best model may have none: the budget is named, not "only
    finished models get them" (it is finished)."""
    from snapshot_states import budget_done

    app = _app(fixed_workspace(tmp_path / "ws"))
    async with app.run_test(size=SIZE) as pilot:
        await budget_done(pilot, app)
        await pilot.press("b")
        table = app.screen.query_one("#board", DataTable)
        table.move_cursor(row=table.get_row_index("hist gradient boosting"))
        await pilot.press("enter")
        messages = [n.message for n in app._notifications]
        assert any("90 s budget left no time" in m for m in messages), messages
        assert not any("only finished models" in m for m in messages)
