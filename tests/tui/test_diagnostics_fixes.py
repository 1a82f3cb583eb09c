"""The diagnostics screen at 80x24: every plot has its title; no empty importance box."""

from __future__ import annotations

from textual.widgets import Static
from tui_helpers import SIZE, fixed_diagnostics, fixed_workspace, wait_for

from thrifty_tui.config import make_settings
from thrifty_tui.core.events import ModelDiagnosed
from thrifty_tui.tui.app import create_app
from thrifty_tui.tui.bridge import EngineEvent
from thrifty_tui.tui.screens.diagnostics import DiagnosticsScreen

BEST = "hist gradient boosting"


async def _diagnostics(pilot, app, importances: bool = True) -> DiagnosticsScreen:
    await wait_for(pilot, lambda: app.state.finished is not None)
    app.post_message(EngineEvent(ModelDiagnosed(
        run_id=1, model=BEST, diagnostics=fixed_diagnostics(BEST, importances))))
    await wait_for(pilot, lambda: BEST in app.state.diagnostics)
    await pilot.press("b")
    await pilot.press("down", "down", "down")  # the best model, last in arrival order
    await pilot.press("enter")
    assert isinstance(app.screen, DiagnosticsScreen)
    await pilot.pause(0.1)
    return app.screen


async def test_every_plot_has_its_title_at_80x24(tmp_path):
    app = create_app(make_settings(str(fixed_workspace(tmp_path / "ws")), max_procs=1,
                                   animations=False))
    async with app.run_test(size=SIZE) as pilot:
        screen = await _diagnostics(pilot, app)
        for kind in screen.kinds:
            assert screen.kinds[screen.kind_index] == kind
            plot = screen.query_one("#diag-plot")
            lines = [line.text for line in plot.render_lines(plot.region.reset_offset)]
            first = "".join(lines[:2])
            assert any(word in first for word in ("share", "ROC", "precision", "drop",
                                                   "learning", "fit time", "dependence",
                                                   "reliability", "cost", "row 1")), (kind, first)
            await pilot.press("right")


async def test_importances_not_computed_say_why_instead_of_an_empty_box(tmp_path):
    app = create_app(make_settings(str(fixed_workspace(tmp_path / "ws")), max_procs=1,
                                   animations=False))
    async with app.run_test(size=SIZE) as pilot:
        screen = await _diagnostics(pilot, app, importances=False)
        while screen.kinds[screen.kind_index] != "importance":
            await pilot.press("right")
        await pilot.pause(0.05)
        assert not screen.query_one("#diag-plot").display
        message = screen.query_one("#diag-empty", Static)
        assert message.display and "over 1.0 s" in str(message.render())
