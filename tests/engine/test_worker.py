"""The worker in a plain thread: event order, failure isolation, budget, cancel, export, restore.

One worker (two loky children) serves the whole module, the way the app keeps one for its
life; each test waits for the events of its own jobs.
"""

from __future__ import annotations

import math
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from engine_helpers import (
    BASELINE,
    CAR_PRICES,
    EXPLODING,
    LINEAR,
    SLEEPY,
    SLOW_ON_ALL_ROWS,
    Recorder,
    of_type,
)

from thrifty_tui.core.store.bundle import load_bundle
from thrifty_tui.core.store.predict import predict_frame
from thrifty_tui.core.data.tables import load_table
from thrifty_tui.core.events import (
    ModelDiagnosed,
    BoardRestored,
    DatasetOpened,
    ExportFinished,
    ExportProgress,
    ExportStarted,
    JobFailed,
    ModelScored,
    ModelStarted,
    Notice,
    Predicted,
    RunFinished,
    RunStarted,
)
from thrifty_tui.core.store.workspace import Workspace
from thrifty_tui.core.learn.zoo import models_for
from thrifty_tui.engine.jobs import Export, OpenDataset, Predict, Restore, Screen
from thrifty_tui.engine.worker import Worker

TERMINAL = (RunFinished, JobFailed)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("engine") / "ws"


@pytest.fixture(scope="module")
def engine(workspace):
    recorder = Recorder()
    worker = Worker(workspace, recorder, max_procs=2).start()
    yield worker, recorder
    worker.shutdown(timeout=30)
    assert not worker.alive


def _run(engine, job, timeout: float = 60.0) -> list:
    worker, recorder = engine
    since = recorder.mark()
    worker.submit(job)
    return recorder.wait_for_end(since, timeout)


@pytest.fixture(scope="module")
def default_run(engine):
    """The default zoo screened on car_prices: the events of the whole run."""
    return _run(engine, Screen(path=CAR_PRICES, target="Price", seed=0))


def test_open_dataset_reports_shape_roles_and_a_preview(engine):
    worker, recorder = engine
    since = recorder.mark()
    worker.submit(OpenDataset(path=CAR_PRICES))
    events = recorder.wait_for(lambda es: of_type(es, DatasetOpened | JobFailed), since)
    # Only progress may come before it (LoadProgress while a big file is read).
    assert {type(e).__name__ for e in events[:-1]} <= {"LoadProgress"}
    event = events[-1]
    assert isinstance(event, DatasetOpened)
    assert event.n_rows == 804 and len(event.columns) == 18
    assert event.suggested_target == "wagon"  # the last column
    # The preview is a seeded sample of the file's rows (not its head): real rows, no repeats.
    prices = {line.split(",")[0] for line in Path(CAR_PRICES).read_text().splitlines()[1:]}
    assert len(event.preview) == 40 and {row[0] for row in event.preview} <= prices
    assert len({tuple(row) for row in event.preview}) == 40
    assert {c.name: c.role.value for c in event.columns}["Mileage"] == "numeric"


def test_screen_events_arrive_in_order(default_run):
    events = default_run
    assert isinstance(events[0], RunStarted)
    assert isinstance(events[-1], RunFinished)
    started = events[0]
    expected = tuple(s.name for s in models_for("regression"))
    assert started.models == expected and len(expected) == 4
    assert (started.task, started.metric, started.n_rows, started.n_folds) == (
        "regression", "r2", 804, 5)
    scored, mean = of_type(events, ModelScored)[:4], of_type(events, ModelScored)[4:]
    assert [e.done for e in scored] == [1, 2, 3, 4]
    assert {e.total for e in scored} == {4}
    assert sorted(e.result.model for e in scored) == sorted(expected)
    # Last, the mean of the models that cannot be told apart from the best (no fit announced).
    assert [e.result.model.startswith("mean of ") for e in mean] == [True]
    # Every row is announced before it is scored, and never twice.
    for event in scored:
        announced = [i for i, e in enumerate(events)
                     if isinstance(e, ModelStarted) and e.model == event.result.model]
        assert len(announced) == 1 and announced[0] < events.index(event)
    assert all(e.run_id == started.run_id for e in events if hasattr(e, "run_id"))


def test_screen_picks_the_best_and_beats_the_baseline(default_run):
    results = [e.result for e in of_type(default_run, ModelScored)]
    finished = default_run[-1]
    assert all(r.status == "done" and len(r.fold_scores) == 5 for r in results)
    best = max(results, key=lambda r: r.mean)
    baseline = next(r for r in results if r.baseline)
    assert (finished.status, finished.best_model) == ("done", best.model)
    assert finished.best_score == best.mean
    assert finished.best_score > baseline.mean + 0.5
    assert finished.stop_reason == "all models screened"
    model_path = Path(finished.model_path)
    name = "mean-of-leaders.joblib" if best.model.startswith("mean of ") else "model.joblib"
    assert model_path.name == name and model_path.is_file()
    assert model_path.parent.name == str(finished.run_id)
    assert not list((model_path.parents[2] / "problems").iterdir())  # temporary files gone


def test_results_are_persisted_as_they_arrive(default_run, workspace):
    run_id = default_run[0].run_id
    ws = Workspace(workspace)
    try:
        assert ws.results(run_id) == tuple(e.result for e in of_type(default_run, ModelScored))
        assert ws.run_finished(run_id) == default_run[-1]
        assert ws.run_started(run_id) == default_run[0]
    finally:
        ws.close()


def test_a_failing_model_is_a_failed_row_and_the_rest_go_on(engine):
    events = _run(engine, Screen(path=CAR_PRICES, target="Price",
                                 zoo=(BASELINE, EXPLODING, LINEAR)))
    rows = {e.result.model: e.result for e in of_type(events, ModelScored)}
    assert set(rows) == {"baseline (dummy)", "exploding", "linear"}
    failed = rows["exploding"]
    assert failed.status == "failed" and failed.fold_scores == ()
    assert failed.error == "RuntimeError: exploding fit: this model always fails"
    assert rows["linear"].status == rows["baseline (dummy)"].status == "done"
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    assert (finished.status, finished.best_model) == ("done", "linear")
    assert Path(finished.model_path).is_file()


def test_a_spent_budget_skips_the_models_left_and_still_returns_the_baseline(engine):
    """No time left: every model is skipped but the baseline, which is scored and refit (a run
    never ends empty-handed: policy.schedule.baseline_may_overrun)."""
    events = _run(engine, Screen(path=CAR_PRICES, target="Price", budget_s=0.0,
                                 zoo=(BASELINE, LINEAR)))
    rows = [e.result for e in of_type(events, ModelScored)]
    assert [(r.model, r.status, r.error) for r in rows] == [
        ("linear", "skipped", "budget of 0 s spent"),
        ("baseline (dummy)", "done", "")]
    assert [e.model for e in of_type(events, ModelStarted)] == ["baseline (dummy)"]
    finished = events[-1]
    assert (finished.status, finished.best_model) == ("done", "baseline (dummy)")
    assert finished.model_path and Path(finished.model_path).is_file()
    assert finished.stop_reason.startswith("budget of 0 s spent")


def test_a_bad_target_is_a_job_failed_with_one_line(engine):
    events = _run(engine, Screen(path=CAR_PRICES, target="price"))
    assert len(events) == 1 and isinstance(events[0], JobFailed)
    assert events[0].job == "Screen" and events[0].user_error
    assert events[0].message.startswith("no column named 'price'; columns are: Price, Mileage")


def test_export_writes_a_bundle_that_verifies(engine, default_run, workspace, tmp_path):
    finished = default_run[-1]
    events = _run_until(engine, Export(path=str(tmp_path / "price"), run_id=finished.run_id),
                        ExportFinished)
    kinds = [type(e) for e in events]
    assert kinds[0] is ExportStarted and kinds[-1] is ExportFinished
    assert set(kinds[1:-1]) <= {ExportProgress}  # the child's stages, relayed
    done = events[-1]
    path = Path(done.path)
    assert path == tmp_path / "price.thrifty.zip"
    assert done.n_bytes == path.stat().st_size
    assert sorted(p.name for p in tmp_path.iterdir()) == ["price.thrifty.zip"]  # no .partial-*
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        assert done.n_files == len(zf.namelist())
    model, manifest = load_bundle(path)
    assert (manifest["model"], manifest["cv_mean"], manifest["run_id"]) == (
        finished.best_model, finished.best_score, finished.run_id)
    assert [row["model"] for row in manifest["leaderboard"]] == [
        e.result.model for e in of_type(default_run, ModelScored)]
    frame = load_table(CAR_PRICES).frame
    app_model = joblib.load(finished.model_path)
    X = frame.drop(columns=["Price"])
    np.testing.assert_array_equal(model.predict(X), app_model.predict(X))

    # The app's own predictions (Predict job) equal the bundle's.
    out = tmp_path / "app-predictions.csv"
    events = _run_until(engine, Predict(path=CAR_PRICES, out_path=str(out),
                                        run_id=finished.run_id), Predicted)
    assert events[-1].n_rows == 804
    app = pd.read_csv(out)
    bundle = predict_frame(model, frame, manifest)
    np.testing.assert_allclose(app["prediction"], bundle["prediction"], rtol=1e-12)


def _run_until(engine, job, kind: type, timeout: float = 60.0) -> list:
    worker, recorder = engine
    since = recorder.mark()
    worker.submit(job)
    events = recorder.wait_for(lambda es: any(isinstance(e, kind | JobFailed) for e in es),
                               since, timeout)
    assert not of_type(events, JobFailed), events
    return events


def test_export_without_a_finished_run_is_refused(engine):
    events = _run(engine, Export(path="/tmp/never-written", run_id=10_000))
    assert isinstance(events[0], JobFailed)
    assert events[0].user_error and "run 10000" in events[0].message


def test_cancel_kills_a_running_fit_within_seconds(engine, workspace):
    worker, recorder = engine
    since = recorder.mark()
    worker.submit(Screen(path=CAR_PRICES, target="Price", zoo=(BASELINE, SLEEPY)))
    recorder.wait_for(lambda es: any(isinstance(e, ModelStarted) and e.model == "sleepy"
                                     for e in es), since)
    time.sleep(0.5)  # let the child get into its 30 s fit
    asked = time.monotonic()
    worker.cancel()
    events = recorder.wait_for_end(since, timeout=20)
    took = time.monotonic() - asked
    assert took < 5, took
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    assert (finished.status, finished.stop_reason, finished.model_path) == (
        "cancelled", "cancelled by the user", "")
    rows = {e.result.model: e.result.status for e in of_type(events, ModelScored)}
    assert rows["sleepy"] == "cancelled"  # every announced row gets its final status
    assert len(rows) == 2
    ws = Workspace(workspace)
    try:
        assert ws.run_finished(finished.run_id).status == "cancelled"
    finally:
        ws.close()

    # The worker goes on with fresh children.
    events = _run(engine, Screen(path=CAR_PRICES, target="Price", zoo=(BASELINE, LINEAR)))
    assert (events[-1].status, events[-1].best_model) == ("done", "linear")


def test_cancel_during_the_final_fit(engine):
    worker, recorder = engine
    since = recorder.mark()
    worker.submit(Screen(path=CAR_PRICES, target="Price", zoo=(BASELINE, SLOW_ON_ALL_ROWS)))
    # Both rows and both diagnostics are in: what runs now is the final fit on all rows.
    recorder.wait_for(lambda es: len(of_type(es, ModelDiagnosed)) == 2, since)
    time.sleep(0.3)
    asked = time.monotonic()
    worker.cancel()
    events = recorder.wait_for_end(since, timeout=20)
    assert time.monotonic() - asked < 5
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    assert finished.status == "cancelled"
    assert finished.stop_reason == "cancelled by the user during the final fit"
    assert finished.best_model == "slow on all rows" and finished.model_path == ""


def test_cancel_while_preparing_still_answers(engine):
    worker, recorder = engine
    worker.executor.kill()  # idle now: the next job waits for new children, a window to cancel in
    since = recorder.mark()
    # SLEEPY keeps the run going for 30 s, so however fast the machine prepares it, the
    # cancel lands before the run can end on its own.
    worker.submit(Screen(path=CAR_PRICES, target="Price", zoo=(BASELINE, SLEEPY)))
    deadline = time.monotonic() + 5
    while not worker.busy and time.monotonic() < deadline:
        time.sleep(0.005)
    assert worker.busy
    worker.cancel()
    events = recorder.wait_for(lambda es: any(isinstance(e, TERMINAL) for e in es), since, 20)
    if of_type(events, RunStarted):  # a very fast machine prepared it already
        assert isinstance(events[-1], RunFinished) and events[-1].status == "cancelled"
    else:  # no run to finish, but the caller is not left waiting for one
        assert len(events) == 1 and isinstance(events[0], JobFailed)
        assert (events[0].job, events[0].message) == ("Screen", "Screen cancelled")


def _same_finish(a: RunFinished, b: RunFinished) -> bool:
    if math.isnan(a.best_score) and math.isnan(b.best_score):
        a, b = replace(a, best_score=0.0), replace(b, best_score=0.0)
    return a == b


def test_restore_after_reopening_shows_the_same_board(engine, default_run, workspace):
    _, recorder = engine
    # The module's worker is idle; a second one opens the same workspace, as a restarted app.
    last_started = of_type(recorder.events, RunStarted)[-1]
    last_finished = of_type(recorder.events, RunFinished)[-1]
    assert last_finished.run_id == last_started.run_id
    restored = Recorder()
    other = Worker(workspace, restored, max_procs=1).start()
    try:
        other.submit(Restore())
        event = restored.wait_for(lambda es: es, timeout=20)[0]
    finally:
        other.shutdown(timeout=10)
    assert not other.alive
    assert isinstance(event, BoardRestored)
    assert event.run == last_started
    assert _same_finish(event.finished, last_finished)
    assert event.results == tuple(
        e.result for e in of_type(recorder.events, ModelScored)
        if e.run_id == last_started.run_id)
    assert other.executor.generation is None  # reading the board back started no child


def test_restore_on_a_new_workspace_says_so(tmp_path):
    recorder = Recorder()
    worker = Worker(tmp_path / "fresh", recorder, max_procs=1).start()
    try:
        worker.submit(Restore())
        event = recorder.wait_for(lambda es: es, timeout=20)[0]
    finally:
        worker.shutdown(timeout=10)
    assert isinstance(event, Notice) and event.message == "new workspace: no runs yet"


def test_shutdown_ends_an_idle_thread_promptly(tmp_path):
    worker = Worker(tmp_path / "ws", Recorder(), max_procs=1).start()
    assert worker.alive
    asked = time.monotonic()
    worker.shutdown(timeout=10)
    assert not worker.alive
    assert time.monotonic() - asked < 2


def test_an_unusable_workspace_fails_each_job_instead_of_hanging(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    recorder = Recorder()
    worker = Worker(not_a_folder, recorder, max_procs=1).start()
    try:
        worker.submit(Screen(path=CAR_PRICES, target="Price"))
        worker.submit(Restore())
        events = recorder.wait_for(lambda es: len(es) == 2, timeout=10)
    finally:
        worker.shutdown(timeout=10)
    assert not worker.alive
    assert [(e.job, e.user_error) for e in events] == [("Screen", True), ("Restore", True)]
    assert events[0].message.startswith(f"cannot use the workspace {not_a_folder}: ")
