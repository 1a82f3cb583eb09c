"""The diagnostics screen draws what the model learned, how sure it is, what it is worth and
why it predicted a held-out row, at 80x24 (Pilot; recorded diagnostics, no fitting); the
Budget dashboard's `v` sets the cost matrix that the cost curve and the value line use."""

from __future__ import annotations

import dataclasses

from textual.widgets import Static
from tui_helpers import SIZE, fixed_diagnostics, fixed_workspace, wait_for

from thrifty_tui.config import make_settings
from thrifty_tui.core.events import ModelDiagnosed
from thrifty_tui.tui.app import create_app
from thrifty_tui.tui.bridge import EngineEvent
from thrifty_tui.tui.screens.diagnostics import DiagnosticsScreen
from thrifty_tui.tui.screens.diagnostics_side import value_gained

BEST = "hist gradient boosting"
BASELINE = "baseline (dummy)"


def _baseline():
    """The dummy's diagnostics: every row called 'female' (the counts at any threshold)."""
    return dataclasses.replace(fixed_diagnostics(BASELINE), model=BASELINE,
                               threshold_counts=tuple((t, 0, 0, 1500, 1500)
                                                      for t in (0.1, 0.5, 0.9)),
                               dependence=(), explained=())


async def _open(pilot, app, kind: str) -> DiagnosticsScreen:
    await wait_for(pilot, lambda: app.state.finished is not None)
    for model, diag in ((BEST, fixed_diagnostics(BEST)), (BASELINE, _baseline())):
        app.post_message(EngineEvent(ModelDiagnosed(run_id=1, model=model, diagnostics=diag)))
    await wait_for(pilot, lambda: BASELINE in app.state.diagnostics)
    await pilot.press("b", "down", "down", "down", "enter")
    screen = app.screen
    assert isinstance(screen, DiagnosticsScreen)
    while screen.kinds[screen.kind_index] != kind:
        await pilot.press("right")
    await pilot.pause(0.1)
    return screen


def _plot_lines(screen) -> list[str]:
    plot = screen.query_one("#diag-plot")
    return [line.text for line in plot.render_lines(plot.region.reset_offset)]


def _side(screen) -> str:
    return str(screen.query_one("#diag-metrics", Static).render())


def _app(tmp_path):
    return create_app(make_settings(str(fixed_workspace(tmp_path / "ws")), max_procs=1,
                                    animations=False))


async def test_dependence_why_this_row_and_reliability_at_80x24(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, app, "dependence")
        assert "age: partial dependence" in _plot_lines(screen)[0]
        assert "P(male) as age varies" in _side(screen)
        await pilot.press("down")
        assert screen.item_index == 1
        assert "occupation: partial dependence" in _plot_lines(screen)[0]
        assert any("clerical" in line for line in _plot_lines(screen))  # bars per level
        await pilot.press("right", "right", "right")  # reliability, cost, explain
        assert screen.kinds[screen.kind_index] == "explain" and screen.item_index == 0
        assert "predicted male" in _plot_lines(screen)[0]
        assert "occupation" in _side(screen) and "+1.200" in _side(screen)
        await pilot.press("down")
        assert "predicted female" in _plot_lines(screen)[0]
        assert "education" in _side(screen) and "-0.900" in _side(screen)
        # How sure: the reliability diagram says whether calibration is exported.
        await pilot.press("left", "left")
        assert "reliability" in _plot_lines(screen)[0]
        side = _side(screen)
        assert "CV log loss 0.5200 → 0.4700" in side and "the export applies it" in side


async def test_the_cost_curve_and_the_board_follow_the_dashboards_cost_matrix(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, app, "cost")
        assert "expected cost per 1,000" in _plot_lines(screen)[0]
        side = _side(screen)
        assert "each error costs 1" in side and "best threshold 0.60" in side
        assert "at 0.50: 271.7" in side and "baseline: 500.0" in side
        await pilot.press("escape", "d", "v")  # the Budget dashboard, its value line
        await pilot.press(*"false_positive=1 false_negative=10", "enter")
        assert dict(app.state.cost) == {"false_positive": 1.0, "false_negative": 10.0}
        # The dashboard's thrift line (beside the compute spent, once a run reports it).
        assert value_gained(app.state) == " · [b]value[/b] saves 4,338 per 1,000 vs baseline"
        await pilot.press("b", "enter")
        screen = app.screen
        while screen.kinds[screen.kind_index] != "cost":
            await pilot.press("right")
        side = _side(screen)
        assert "best threshold 0.10" in side  # missed men cost ten times: call more
        assert "baseline: 5,000.0" in side and "saves" in side
        await pilot.press("escape", "up", "down")  # the board, the best row highlighted
        detail = str(app.screen.query_one("#row-detail", Static).render())
        assert "cost/1k 662, baseline 5,000" in detail


async def test_the_export_offers_calibration_when_it_lowered_the_cv_log_loss(tmp_path):
    from textual.widgets import Checkbox, Input

    from thrifty_tui.engine.jobs import Export
    from thrifty_tui.tui.screens.export import ExportDialog

    app = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app, "confusion")
        jobs: list = []
        app.submit = jobs.append  # the job is recorded, not run (no model file here)
        dialog = ExportDialog(str(tmp_path / "model"))
        app.push_screen(dialog)
        await pilot.pause()
        box = dialog.query_one("#export-calibrate", Checkbox)
        assert box.value and "Calibrate (isotonic): CV log loss 0.520 → 0.470" in str(box.label)
        await pilot.click("#export-calibrate")
        assert not box.value
        dialog.query_one("#export-path", Input).focus()
        await pilot.press("enter")
        assert [j for j in jobs if isinstance(j, Export)] == [
            Export(path=str(tmp_path / "model"), calibrate=False)]
