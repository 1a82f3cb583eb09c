"""One SVG snapshot per screen at 80x24 (deterministic: no blink, fixed data, fixed results)."""

from __future__ import annotations

from pathlib import Path

from tui_helpers import wait_for

from thrifty_tui.config import make_settings
from thrifty_tui.core.events import RunFinished
from thrifty_tui.core.records import ModelResult
from thrifty_tui.core.store.workspace import Workspace
from thrifty_tui.tui.app import create_app

REPO = Path(__file__).resolve().parents[2]


def _app(workspace: Path, path: str | None = None, target: str | None = None):
    return create_app(make_settings(str(workspace), path=path, target=target, max_procs=1,
                                    animations=False))


def _fixed_workspace(root: Path) -> Path:
    """A workspace holding one finished run with known results (no fitting, no timings)."""
    ws = Workspace(root)
    run_id = ws.start_run("sample_data/gss_wages.csv", "gender", "classification",
                          "balanced_accuracy", 3000, 5,
                          ("baseline (dummy)", "linear", "decision tree", "hist gradient boosting"),
                          0)
    rows = [
        ModelResult("baseline (dummy)", "done", (0.5,) * 5, 0.2, baseline=True),
        ModelResult("linear", "done", (0.74, 0.75, 0.73, 0.76, 0.745), 0.4),
        ModelResult("decision tree", "failed", (), 0.1, error="ValueError: example failure"),
        ModelResult("hist gradient boosting", "done", (0.77, 0.78, 0.775, 0.77, 0.78), 1.3),
    ]
    for row in rows:
        ws.add_result(run_id, row)
    ws.finish_run(RunFinished(run_id=run_id, status="done", best_model="hist gradient boosting",
                              best_score=0.775, metric="balanced_accuracy", elapsed_s=3.2,
                              stop_reason="all models screened", model_path=""))
    ws.close()
    return root


def test_load_screen(snap_compare, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    app = _app(tmp_path / "ws", "sample_data/movies.csv", "Comedy")

    async def ready(pilot):
        # The columns list is filled when the screen has rendered the opened file.
        await wait_for(pilot, lambda: app.state.dataset is not None
                       and app.screen.query_one("#columns").option_count > 0)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=ready)


def test_leaderboard_screen(snap_compare, tmp_path):
    app = _app(_fixed_workspace(tmp_path / "ws"))

    async def ready(pilot):
        await wait_for(pilot, lambda: app.state.finished is not None)
        await pilot.press("b")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=ready)
