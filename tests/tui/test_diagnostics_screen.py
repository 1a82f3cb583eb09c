"""The leaderboard's diagnostics: Enter on a finished row draws its plots (Pilot, real run)."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Static
from tui_helpers import SIZE, fixed_workspace, wait_for, with_cheap_zoo

from thrifty_tui.config import SAMPLE_DIR, make_settings
from thrifty_tui.tui.app import create_app
from thrifty_tui.tui.screens.diagnostics import DiagnosticsScreen
from thrifty_tui.tui.widgets.plot_panel import DiagnosticsPlot


@pytest.mark.parametrize("sample,target,first_kind,metric", [
    ("gss_wages.csv", "gender", "confusion", "balanced_accuracy"),
    ("car_prices.csv", "Price", "predicted-vs-actual", "r2"),
])
async def test_enter_on_the_best_row_draws_its_diagnostics(make_app, tmp_path, sample, target,
                                                           first_kind, metric):
    # A real run of the two cheap models: the screen's plots of a real model are the point.
    app = make_app(path=with_cheap_zoo(SAMPLE_DIR / sample, tmp_path / "data"), target=target)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.dataset is not None)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.state.finished is not None, timeout=180)
        best = app.state.finished.best_model
        await wait_for(pilot, lambda: best in app.state.diagnostics, timeout=60)
        table = app.screen.query_one("#board", DataTable)
        table.move_cursor(row=table.get_row_index(best))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DiagnosticsScreen))
        screen = app.screen
        title = str(screen.query_one("#diag-title", Static).render())
        assert best in title and first_kind in title
        side = str(screen.query_one("#diag-metrics", Static).render())
        assert metric in side
        plot = screen.query_one("#diag-plot", DiagnosticsPlot)
        await pilot.pause(0.2)
        drawn = plot.plt.build()
        assert len(drawn.strip()) > 100  # a real plot, not an empty canvas
        kinds = screen.kinds
        await pilot.press("right")
        assert screen.kind_index == 1
        assert kinds[1] in str(screen.query_one("#diag-title", Static).render())
        await pilot.press("escape")
        assert not isinstance(app.screen, DiagnosticsScreen)


async def test_sort_and_hide_weak_rows_keep_the_board_consistent(tmp_path):
    """A finished run read back from the workspace (the board's keys are the point, not the
    fitting): sorted by score, a failed row last; `w` hides it and brings it back."""
    app = create_app(make_settings(str(fixed_workspace(tmp_path / "ws")), max_procs=1,
                                   animations=False))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.finished is not None)
        await pilot.press("b")
        table = app.screen.query_one("#board", DataTable)
        await wait_for(pilot, lambda: table.row_count == len(app.state.results) == 4)
        await pilot.press("o")  # sort by score
        rows = [table.get_row_at(i)[1].plain for i in range(table.row_count)]
        assert rows == ["hist gradient boosting", "linear", "baseline (dummy)", "decision tree"]
        means = [app.state.results[m].mean for m in rows[:3]]
        assert means == sorted(means, reverse=True)
        weak = [m for m, r in app.state.results.items() if r.status != "done"]
        assert weak == ["decision tree"]
        await pilot.press("w")
        assert table.row_count == len(app.state.results) - len(weak)
        assert [table.get_row_at(i)[1].plain for i in range(table.row_count)] == rows[:3]
        await pilot.press("w")
        assert table.row_count == len(app.state.results)
