"""The budget dashboard driven by keys: rules set on screen reach the run, the gauges and the
verdict update live, and the stop reason shows when the run ends."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable, Input, Static
from tui_helpers import SIZE, wait_for

from thrifty_tui.config import SAMPLE_DIR

CARS = str(SAMPLE_DIR / "car_prices.csv")


def text_of(app, selector: str) -> str:
    content = app.screen.query_one(selector, Static).content
    return content.plain if isinstance(content, Text) else str(content)


async def set_rules(pilot, app, line: str) -> None:
    await pilot.press("r")
    rules = app.screen.query_one("#rules-input", Input)
    assert rules.display and rules.has_focus
    rules.value = ""
    await pilot.press(*line)
    await pilot.press("enter")


async def test_rules_from_the_dashboard_stop_the_run_and_the_verdict_shows(make_app):
    app = make_app(path=CARS, target="Price")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.dataset is not None)
        await pilot.press("d")
        assert app.current_mode == "budget"
        assert "no run yet" in text_of(app, "#budget-title")
        await set_rules(pilot, app, "max_fits=12")
        assert app.state.rules.max_fits == 12 and app.state.rules.wall_s is None
        assert not app.screen.query_one("#rules-input", Input).display
        table = app.screen.query_one("#rules", DataTable)
        assert table.get_cell("max_fits", "set") == "12"
        assert table.get_cell("max_fits", "state").plain == "not yet"

        await pilot.press("s")  # screening starts (and shows the leaderboard)
        assert app.current_mode == "board"
        await pilot.press("d")
        assert app.current_mode == "budget"
        seen = set()
        await wait_for(pilot, lambda: (seen.add(text_of(app, "#fits-text"))
                                       or app.state.budget.finished is not None), timeout=120)
        # Live: the fits gauge was drawn at more than one count while the run went on.
        assert len(seen) >= 2, seen
        view = app.state.budget
        assert view.finished.status == "done"
        assert view.update.final and view.update.fits_started <= 12
        await wait_for(pilot, lambda: text_of(app, "#verdict").startswith("Done: "), 5)
        verdict = text_of(app, "#verdict")
        assert verdict.startswith("Done: maximum of 12 fits reached"), verdict
        assert text_of(app, "#fits-text").endswith("of 12")
        assert table.get_cell("max_fits", "state").plain == "met"
        assert "CPU-s" in text_of(app, "#cost")
        title = text_of(app, "#budget-title")
        assert f"run {view.run_id}" in title and view.update.best_model in title
        # "Enter accepts the model and exports it", straight away (no focus trick needed).
        from thrifty_tui.tui.screens.export import ExportDialog

        await pilot.press("enter")
        assert isinstance(app.screen, ExportDialog)


async def test_a_wrong_rules_line_is_refused_and_changes_nothing(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        await set_rules(pilot, app, "seconds=30 target_score=0.8")
        assert (app.state.rules.wall_s, app.state.rules.target_score) == (30.0, 0.8)
        await set_rules(pilot, app, "max_fits=lots")
        assert app.screen.query_one("#rules-input", Input).display  # still open to fix
        assert (app.state.rules.wall_s, app.state.rules.max_fits) == (30.0, None)
        messages = [n.message for n in app._notifications]
        assert any("max_fits" in m for m in messages), messages
        await pilot.press("escape")
        assert not app.screen.query_one("#rules-input", Input).display
        assert text_of(app, "#time-text").strip() == "0 s of 30 s"


async def test_extend_then_stop_now_keeps_the_best_so_far(make_app, gss):
    app = make_app(path=gss, target="gender")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.dataset is not None)
        await pilot.press("d")
        await set_rules(pilot, app, "seconds=40")
        await pilot.press("s", "d")
        view = app.state.budget
        await wait_for(pilot, lambda: view.update is not None and view.update.wall_s == 40)
        await pilot.press("plus")  # +50 %: the guard takes it at its next check
        await wait_for(pilot, lambda: view.update.wall_s == 60 or view.finished is not None)
        assert view.update.wall_s == 60, "the extension did not reach the run"
        await wait_for(pilot, lambda: text_of(app, "#time-text").endswith("of 60 s"), 5)
        # The rules table shows the run's limits as the gauge does (it said 40 s).
        table = app.screen.query_one("#rules", DataTable)
        await wait_for(pilot, lambda: table.get_cell("wall", "set") == "60 s", 5)
        # Stop as soon as a model has a full-data score: the best so far is kept and refitted.
        await wait_for(pilot, lambda: view.update.best_model or view.finished is not None)
        await pilot.press("exclamation_mark")
        await wait_for(pilot, lambda: view.finished is not None, timeout=120)
        assert view.finished.status == "done" and view.finished.model_path
        assert view.finished.stop_reason.startswith("stopped by the user"), \
            view.finished.stop_reason
        await wait_for(pilot, lambda: text_of(app, "#verdict").startswith("Done: "), 5)
        assert text_of(app, "#verdict").startswith("Done: stopped by the user")
        assert view.update.elapsed_s < 60
        # No rule reads "not yet" beside a verdict of a finished run.
        states = {table.get_cell(r, "state").plain for r in ("wall", "max_fits", "target")}
        assert "not yet" not in states and "not met" in states, states
