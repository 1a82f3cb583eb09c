"""The app driven by key presses: load -> screen -> rows arrive live -> export -> predict."""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
from textual.widgets import DataTable, OptionList

from thrifty_tui.core.store.bundle import load_bundle
from thrifty_tui.core.store.predict import predict_frame
from thrifty_tui.core.events import ModelScored
from thrifty_tui.core.tasks.loading import PREVIEW_ROWS
from thrifty_tui.tui.bridge import EngineEvent

from tui_helpers import SIZE, wait_for


async def test_opens_sample_with_preview_and_target(make_app, movies):
    app = make_app(path=movies, target="Comedy")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.dataset is not None)
        preview = app.screen.query_one("#preview", DataTable)
        await wait_for(pilot, lambda: preview.row_count > 0, timeout=5)
        assert app.current_mode == "load"
        assert app.state.dataset.n_rows == 3000
        assert app.state.target == "Comedy"
        assert preview.row_count == PREVIEW_ROWS == 40
        assert len(preview.columns) == 14
        roles = {c.name: c.role.value for c in app.state.dataset.columns}
        assert roles["title"] == "text" and roles["year"] == "numeric"


async def test_choose_target_with_keys(make_app, gss):
    app = make_app(path=gss)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.dataset is not None)
        columns = app.screen.query_one("#columns", OptionList)
        assert columns.has_focus
        names = [c.name for c in app.state.dataset.columns]
        # Move the highlight from the suggested target (last column) up to "gender".
        for _ in range(len(names) - 1 - names.index("gender")):
            await pilot.press("up")
        await pilot.press("enter")
        assert app.state.target == "gender"
        await pilot.press("t")
        assert app.state.task == "classification"


async def test_screen_rows_arrive_live_keys_work_and_export(make_app, gss, tmp_path):
    arrivals: list[tuple[str, int]] = []
    app = make_app(path=gss, target="gender", max_procs=2)  # as on a 2-core machine

    def hook(message):
        if isinstance(message, EngineEvent) and isinstance(message.event, ModelScored):
            arrivals.append((message.event.result.model, message.event.done))

    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await wait_for(pilot, lambda: app.state.dataset is not None)
        await pilot.press("s")
        assert app.current_mode == "board"
        await wait_for(pilot, lambda: app.state.run is not None)
        # Keys keep working while models train: switch screens and move the cursor.
        await pilot.press("l")
        assert app.current_mode == "load"
        await pilot.press("b")
        assert app.current_mode == "board"
        await pilot.press("down")
        await wait_for(pilot, lambda: app.state.finished is not None, timeout=120)
        finished = app.state.finished
        assert finished.status == "done"
        # Rows arrived one at a time, counted 1..n in order of completion.
        assert [done for _, done in arrivals] == list(range(1, len(arrivals) + 1))
        # Four models, and the mean of those that tie with the best if two or more do (on
        # gss, whether the linear model reaches all rows or is dropped depends on timing).
        assert len([m for m, _ in arrivals if not m.startswith("mean of ")]) == 4
        assert len(arrivals) <= 5
        table = app.screen.query_one("#board", DataTable)
        assert table.row_count == len(arrivals)
        best = max(app.state.results.values(), key=lambda r: r.mean)
        assert finished.best_model == best.model
        assert table.get_cell(best.model, "best").plain == "★"
        baseline = next(r for r in app.state.results.values() if r.baseline)
        assert best.mean > baseline.mean + 0.1

        bundle = tmp_path / "gender-model.thrifty.zip"
        await pilot.press("e")
        await pilot.pause(0.2)
        dialog_input = app.screen.query_one("#export-path")
        dialog_input.value = str(bundle)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.state.last_export is not None, timeout=60)
        assert app.state.last_export.path == str(bundle)

    model, manifest = load_bundle(bundle)
    assert manifest["model"] == finished.best_model
    assert manifest["target"] == "gender"
    frame = pd.read_csv(gss)
    from_bundle = predict_frame(model, frame, manifest)
    app_model = joblib.load(finished.model_path)
    X = frame[[c["name"] for c in manifest["columns"]]]
    assert (from_bundle["prediction"].to_numpy() == app_model.predict(X)).all()
    assert np.allclose(from_bundle.filter(like="proba_").to_numpy(), app_model.predict_proba(X))


async def test_bad_path_is_a_notification_and_app_survives(make_app, movies, tmp_path):
    app = make_app(path=movies, target="Comedy")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.dataset is not None)
        await pilot.press("o")
        path_input = app.screen.query_one("#path")
        path_input.value = ""
        await pilot.press(*str(tmp_path / "nope.csv"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("no such file" in n.message
                                          for n in app._notifications))
        # The old data set is still loaded and the app answers keys.
        assert app.state.dataset.n_rows == 3000
        await pilot.press("b")
        assert app.current_mode == "board"


async def test_cancel_stops_the_run(make_app, movies):
    app = make_app(path=movies, target="Comedy")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.dataset is not None)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.state.run is not None)
        await pilot.press("x")
        await wait_for(pilot, lambda: app.state.finished is not None, timeout=30)
        assert app.state.finished.status in ("cancelled", "done")
        assert app.state.run_active is False
