"""What the screens show survives a reopen: the board's order and ≈ marks, the budget and its
rules, and every run with its best exportable (issue 21). One real run, then a new app."""

from __future__ import annotations

from textual.widgets import DataTable
from tui_helpers import CHEAP_ZOO, SIZE, wait_for

from thrifty_tui.config import SAMPLE_DIR, make_settings
from thrifty_tui.core.events import RunFinished
from thrifty_tui.core.store.runs import restored_ties  # noqa: F401 - the same rule
from thrifty_tui.tui.app import create_app
from thrifty_tui.tui.screens.export import ExportDialog
from thrifty_tui.tui.screens.runs import RunsScreen

MOVIES = str(SAMPLE_DIR / "movies.csv")

# Three linear models a little apart, beside the baseline: they tie (≈ marks and a "mean of"
# row) at a fraction of the quick zoo's cost (its trees on movies' text are most of a run).
TYING_ZOO = CHEAP_ZOO + "".join(f"""
[[model]]
name = "linear C={c}"
tier = 1
tasks = ["classification"]
estimator = "@linear"
features = "linear"
params = {{ C = {c} }}
""" for c in (0.5, 2.0))


def _app(workspace, path=None, target=None):
    return create_app(make_settings(str(workspace), path=path, target=target, max_procs=2,
                                    animations=False))


def _board(app) -> list[tuple[str, str]]:
    """(model, ≈ mark) by row: the model from the row's key, its name as the board keeps it
    (the model cell may be cut with … at 80 columns)."""
    table = app.screen.query_one("#board", DataTable)
    return [(str(table.coordinate_to_cell_key((i, 1)).row_key.value),
             str(table.get_cell_at((i, 3)))) for i in range(table.row_count)]


async def test_the_board_budget_and_runs_come_back_after_a_reopen(tmp_path):
    ws = tmp_path / "ws"
    (tmp_path / "data").mkdir()
    movies = tmp_path / "data" / "movies.csv"
    movies.write_bytes(open(MOVIES, "rb").read())
    (tmp_path / "data" / "thrifty-zoo.toml").write_text(TYING_ZOO)
    app = _app(ws, str(movies), "Comedy")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.dataset is not None)
        await pilot.press("d", "r")
        app.screen.query_one("#rules-input").value = ""
        await pilot.press(*"max_fits=40 target_score=0.99", "enter")
        await pilot.press("s")
        await wait_for(pilot, lambda: app.state.finished is not None, 180)
        await pilot.pause(0.3)
        before = _board(app)
        scores_before = {m: (r.status, r.fold_scores) for m, r in app.state.results.items()}
        ties_before = app.state.ties
        verdict_before = app.state.budget.update.stop_reason
    assert before and ties_before
    again = _app(ws)
    async with again.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: again.state.finished is not None and again.state.runs)
        await pilot.press("b")
        await pilot.pause(0.3)
        # The same rows in the same order; ≈ on the models tied with the ★ of the final
        # results (the live board's last marks came before the "mean of" row joined).
        assert [m for m, _ in _board(again)] == [m for m, _ in before]
        # ...with the scores the run had (every fold of every row, the mean of the leaders too).
        assert {m: (r.status, r.fold_scores) for m, r in again.state.results.items()} \
            == scores_before
        assert isinstance(again.state.finished, RunFinished)
        star, ties = again.state.best.model, again.state.ties
        assert ties and star not in ties
        assert (star, ties) == restored_ties(tuple(again.state.results.values()), 5)
        assert {m for m, tie in _board(again) if tie == "≈"} == set(ties)
        # Budget: the last run, its rules and verdict, not "no run yet".
        await pilot.press("d")
        await pilot.pause(0.1)
        title = str(again.screen.query_one("#budget-title").render())
        assert "no run yet" not in title and "run 1" in title, title
        assert again.state.budget.update.stop_reason == verdict_before
        assert (again.state.rules.max_fits, again.state.rules.target_score) == (40, 0.99)
        # Runs: the run listed, its best exported from there.
        await pilot.press("u")
        assert isinstance(again.screen, RunsScreen)
        await wait_for(pilot, lambda: again.screen.query_one("#runs", DataTable).row_count == 1)
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert isinstance(again.screen, ExportDialog) and again.screen.run_id == 1
