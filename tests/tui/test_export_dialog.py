"""The export dialog: Enter hands an Export job to the worker, then shows the write's progress."""

from __future__ import annotations

from textual.widgets import Input, ProgressBar, Static
from tui_helpers import SIZE, wait_for

from thrifty_tui.core.events import ExportFinished, ExportProgress, ExportStarted, JobFailed
from thrifty_tui.engine.jobs import Export, Restore
from thrifty_tui.tui.bridge import EngineEvent
from thrifty_tui.tui.screens.export import ExportDialog


async def _open_dialog(app, pilot, jobs: list):
    await wait_for(pilot, lambda: app.worker is not None)
    app.submit = jobs.append  # the dialog's job is recorded, not run: events come from the test
    dialog = ExportDialog("/tmp/x.thrifty.zip", run_id=3)
    app.push_screen(dialog)
    await pilot.pause()
    return dialog


def _status(dialog) -> str:
    return str(dialog.query_one("#export-status", Static).render())


async def test_progress_is_shown_while_the_worker_writes(make_app, tmp_path):
    app = make_app()
    jobs: list = []
    async with app.run_test(size=SIZE) as pilot:
        dialog = await _open_dialog(app, pilot, jobs)
        bar = dialog.query_one("#export-progress", ProgressBar)
        assert not bar.display
        path = str(tmp_path / "model")
        dialog.query_one("#export-path", Input).value = path
        await pilot.press("enter")
        assert [j for j in jobs if not isinstance(j, Restore)] == [Export(path=path, run_id=3)]
        assert bar.display and dialog.query_one("#export-path", Input).disabled
        await pilot.press("enter")  # a second Enter does not export twice
        assert len([j for j in jobs if isinstance(j, Export)]) == 1

        app.post_message(EngineEvent(ExportStarted(path=path)))
        app.post_message(EngineEvent(ExportProgress(path=path, stage="model (joblib copy)",
                                                    step=1, total=7)))
        await wait_for(pilot, lambda: bar.progress == 1)
        assert bar.total == 7 and "model (joblib copy)…" in _status(dialog)
        assert app.state.exporting == path  # the app knows: no second export meanwhile

        app.post_message(EngineEvent(ExportFinished(path=path + ".thrifty.zip", n_files=12,
                                                    n_bytes=50_000)))
        await wait_for(pilot, lambda: not isinstance(app.screen, ExportDialog))
        assert any(n.title == "Bundle written" for n in app._notifications)


async def test_a_failed_export_lets_the_user_fix_the_path(make_app):
    app = make_app()
    jobs: list = []
    async with app.run_test(size=SIZE) as pilot:
        dialog = await _open_dialog(app, pilot, jobs)
        await pilot.press("enter")
        app.post_message(EngineEvent(JobFailed(job="Export", message="cannot write /tmp/x")))
        path_input = dialog.query_one("#export-path", Input)
        await wait_for(pilot, lambda: not path_input.disabled)
        assert "cannot write /tmp/x" in _status(dialog)
        assert isinstance(app.screen, ExportDialog) and dialog.writing is None
        await pilot.press("enter")  # try again
        assert len([j for j in jobs if isinstance(j, Export)]) == 2


async def test_escape_while_writing_hides_the_dialog_and_says_so(make_app):
    app = make_app()
    jobs: list = []
    async with app.run_test(size=SIZE) as pilot:
        await _open_dialog(app, pilot, jobs)
        await pilot.press("enter")
        await pilot.press("escape")
        assert not isinstance(app.screen, ExportDialog)
        assert any("Still writing /tmp/x.thrifty.zip" in n.message for n in app._notifications)
