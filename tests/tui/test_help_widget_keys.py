"""`?` explains the keys a screen's widgets handle too (issue 21, acceptance 4): Enter on the
Load screen's column list chooses the target (its title says "Enter target"), Tab moves between
the panes, the arrows highlight a model or a run, Enter in the export box writes the bundle."""

from __future__ import annotations

from tui_helpers import SIZE, fixed_workspace, wait_for

from thrifty_tui.config import make_settings
from thrifty_tui.tui.app import create_app
from thrifty_tui.tui.screens.help import HelpScreen, key_rows


async def test_help_lists_the_keys_the_widgets_handle(tmp_path):
    app = create_app(make_settings(str(fixed_workspace(tmp_path / "ws", "model.joblib")),
                                   max_procs=1, animations=False))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.finished is not None)
        app.switch_mode("load")
        await pilot.pause()
        rows = {keys: (what, cli) for keys, what, cli, _ in key_rows(app.screen)}
        assert "choose the target" in rows["↑ ↓ ⏎"][0]
        assert rows["↑ ↓ ⏎"][1] == "run … --target COL"
        assert "tab" in rows
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.rows[0][0] == "↑ ↓ ⏎"  # the widgets' keys come first
        await pilot.press("escape")
        app.switch_mode("board")
        await pilot.pause()
        assert "highlight a model" in {k: w for k, w, _, _ in key_rows(app.screen)}["↑ ↓"]
        await pilot.press("e")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ExportDialog")
        rows = {keys: what for keys, what, _, _ in key_rows(app.screen)}
        assert "write the bundle" in rows["⏎"]
        assert "close the dialog" in rows["esc"]


async def test_a_focused_tables_own_enter_does_not_hide_the_boards_enter(tmp_path):
    app = create_app(make_settings(str(fixed_workspace(tmp_path / "ws")), max_procs=1,
                                   animations=False))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.finished is not None)
        await pilot.press("b")
        await pilot.pause()
        rows = {keys: what for keys, what, _, _ in key_rows(app.screen)}
        assert "diagnostics of the highlighted model" in rows["⏎"], rows
        await pilot.press("u")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "RunsScreen")
        rows = {keys: what for keys, what, _, _ in key_rows(app.screen)}
        assert "export the highlighted run" in rows["⏎"], rows
