"""The Load screen's status line, roles and estimate (issue 21), on the bundled sample."""

from __future__ import annotations

from textual.widgets import DataTable, OptionList, Static
from tui_helpers import SIZE, wait_for

from thrifty_tui.config import SAMPLE_DIR
from thrifty_tui.core.events import RunStarted
from thrifty_tui.tui.bridge import EngineEvent

MOVIES = str(SAMPLE_DIR / "movies.csv")


def _text(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_status_roles_and_estimate_follow_what_is_on_screen(make_app):
    app = make_app(path=MOVIES, target="Comedy")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.dataset is not None
                       and app.screen.query_one("#columns", OptionList).option_count > 0)
        # The estimate changes with the sample size (it was "≈ 15 s" for every size).
        estimates = []
        for _ in range(3):  # all 3,000 rows, 2,000, 1,000
            estimates.append(_text(app, "#load-sample").rsplit("≈", 1)[1])
            await pilot.press("z")
        assert len(set(estimates)) == 3, estimates
        # A role cycled back to the inferred one is not "set"; one that differs is named.
        columns = app.screen.query_one("#columns", OptionList)
        columns.highlighted = 1  # year, numeric
        for _ in range(5):  # numeric → category → text → date → id-like → numeric
            await pilot.press("r")
        assert "→" not in _text(app, "#load-status") and not app.state.roles
        await pilot.press("r")
        status = _text(app, "#load-status")
        assert "year→category" in status, status
        assert "category*" in str(columns.get_option_at_index(1).prompt)
        # A run of another file (a label set, a restored run) leaves the status line alone.
        app.post_message(EngineEvent(RunStarted(
            run_id=9, path="/elsewhere/other.csv", target="y", task="classification",
            metric="accuracy", n_rows=10, n_folds=5, models=(), notices=("from elsewhere",))))
        await pilot.pause(0.1)
        assert "from elsewhere" not in _text(app, "#load-status")


async def test_the_preview_uses_the_room_of_a_big_terminal(make_app):
    app = make_app(path=MOVIES, target="Comedy")
    async with app.run_test(size=(200, 60)) as pilot:
        await wait_for(pilot, lambda: app.state.dataset is not None
                       and app.screen.query_one("#columns", OptionList).option_count > 0)
        await pilot.pause(0.1)
        preview = app.screen.query_one("#preview", DataTable)
        assert preview.size.height >= len(app.state.dataset.preview) + 1  # every sampled row
        label = str(app.screen.query_one("#columns", OptionList).get_option_at_index(10).prompt)
        assert "Documentary" in label, label  # whole names at 200 columns
        # 40 sampled rows: the preview, not empty lines, fills the room (about 26 lines were
        # left empty under the profile with 20 rows).
        assert preview.row_count == 40
        empty = app.screen.query_one("#profile-scroll").size.height \
            - app.screen.query_one("#profile").size.height
        assert empty <= 6, empty
