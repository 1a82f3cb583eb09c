"""The board's "~N s left" stays within the time budget (it said "~238 s left" under a 120 s
budget while the screenshots were made)."""

from __future__ import annotations

import re

import snapshot_states as states
from tui_helpers import SIZE, fixed_workspace

from thrifty_tui.config import make_settings
from thrifty_tui.core.events import RunProgress
from thrifty_tui.tui.app import create_app


async def test_the_time_left_is_no_more_than_the_budget_leaves(tmp_path):
    app = create_app(make_settings(str(fixed_workspace(tmp_path / "ws")), max_procs=1,
                                   animations=False))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")
        await states.live_run(pilot, app)  # a 90 s budget, 12 s spent
        states.post(app, RunProgress(run_id=2, fits_done=26, fits_total=200, eta_s=238.0,
                                     elapsed_s=12.0))
        await pilot.pause(0.3)
        text = str(app.screen.query_one("#run-status").render())
        left = int(re.search(r"~(\d+) s left", text).group(1))
        assert left <= 90, text
        states.post(app, RunProgress(run_id=2, fits_done=27, fits_total=60, eta_s=14.0,
                                     elapsed_s=13.0))
        await pilot.pause(0.3)
        assert "~14 s left" in str(app.screen.query_one("#run-status").render())
