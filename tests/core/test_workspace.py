"""The workspace: runs and results survive closing and reopening; dead runs are marked so."""

from __future__ import annotations

import math
import sqlite3

import pytest

from thrifty_tui.core.events import RunFinished, RunStarted
from thrifty_tui.core.records import ModelResult
from thrifty_tui.core.store.workspace import Workspace, resolve_workspace

RESULTS = (
    ModelResult("baseline (dummy)", "done", (0.5, 0.5, 0.5), 0.25, params=(("strategy", "'prior'"),),
                baseline=True),
    ModelResult("linear", "done", (0.7453, 0.7312345678901234, 0.76), 1.5,
                params=(("C", "1.0"), ("max_iter", "1000"))),
    ModelResult("exploding", "failed", (), 0.01, error="RuntimeError: boom"),
    ModelResult("hist gradient boosting", "skipped", (), 0.0, error="budget of 5 s spent"),
)


def _start(ws: Workspace, path: str = "/data/gss.csv") -> int:
    return ws.start_run(path, "gender", "classification", "balanced_accuracy", 3000, 3,
                        tuple(r.model for r in RESULTS), seed=4,
                        notices=("dropped 2 rows with no 'gender'",))


def _finished(run_id: int, model_path: str = "/ws/artifacts/runs/1/model.joblib") -> RunFinished:
    return RunFinished(run_id=run_id, status="done", best_model="linear",
                       best_score=RESULTS[1].mean, metric="balanced_accuracy", elapsed_s=12.5,
                       stop_reason="all models screened", model_path=model_path)


def test_a_new_workspace_is_empty_and_uses_wal(tmp_path):
    ws = Workspace(tmp_path / "ws")
    try:
        assert ws.last_run_id() is None
        assert ws.latest_finished_run_id() is None
        assert ws.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert (tmp_path / "ws" / "artifacts").is_dir()
        assert (tmp_path / "ws" / "thrifty.sqlite").is_file()
    finally:
        ws.close()


def test_results_persist_and_reopen(tmp_path):
    ws = Workspace(tmp_path)
    run_id = _start(ws)
    for result in RESULTS:
        ws.add_result(run_id, result)
    finished = _finished(run_id)
    ws.finish_run(finished)
    ws.close()

    again = Workspace(tmp_path)
    try:
        assert again.last_run_id() == run_id
        assert again.latest_finished_run_id() == run_id
        assert again.results(run_id) == RESULTS  # every field, float scores bit for bit
        assert again.run_finished(run_id) == finished
        assert again.run_started(run_id) == RunStarted(
            run_id=run_id, path="/data/gss.csv", target="gender", task="classification",
            metric="balanced_accuracy", n_rows=3000, n_folds=3,
            models=tuple(r.model for r in RESULTS),
            notices=("dropped 2 rows with no 'gender'",))
    finally:
        again.close()


def test_runs_are_kept_apart(tmp_path):
    ws = Workspace(tmp_path)
    try:
        first, second = _start(ws), _start(ws, "/data/other.csv")
        ws.add_result(first, RESULTS[0])
        ws.add_result(second, RESULTS[1])
        ws.add_result(second, RESULTS[2])
        assert ws.results(first) == RESULTS[:1]
        assert ws.results(second) == RESULTS[1:3]
        assert ws.last_run_id() == second
        assert ws.run_finished(second) is None  # still running
        ws.finish_run(_finished(first))
        ws.finish_run(RunFinished(run_id=second, status="cancelled", best_model="", metric="x",
                                  best_score=math.nan, elapsed_s=1.0, stop_reason="cancelled"))
        # Only a run with a fitted model can be exported.
        assert ws.latest_finished_run_id() == first
        cancelled = ws.run_finished(second)
        assert cancelled.status == "cancelled" and math.isnan(cancelled.best_score)
    finally:
        ws.close()


def test_mark_interrupted_marks_only_unfinished_runs(tmp_path):
    ws = Workspace(tmp_path)
    done_id = _start(ws)
    ws.finish_run(_finished(done_id))
    killed_id = _start(ws)
    ws.add_result(killed_id, RESULTS[0])
    ws.close()  # the process "died" with run 2 still running

    again = Workspace(tmp_path)
    try:
        assert again.run_finished(killed_id) is None
        again.mark_interrupted()
        interrupted = again.run_finished(killed_id)
        assert interrupted is not None
        assert interrupted.status == "interrupted"
        assert interrupted.stop_reason == "the app stopped during the run"
        assert interrupted.model_path == "" and interrupted.best_model == ""
        assert again.results(killed_id) == RESULTS[:1]  # what finished before is kept
        assert again.run_finished(done_id) == _finished(done_id)
        assert again.last_run_id() == killed_id
        assert again.latest_finished_run_id() == done_id
    finally:
        again.close()


def test_unknown_run(tmp_path):
    ws = Workspace(tmp_path)
    try:
        with pytest.raises(KeyError):
            ws.run_started(42)
        assert ws.run_finished(42) is None
        assert ws.results(42) == ()
    finally:
        ws.close()


def test_results_need_an_existing_run(tmp_path):
    ws = Workspace(tmp_path)
    try:
        with pytest.raises(sqlite3.IntegrityError):
            ws.add_result(7, RESULTS[0])
    finally:
        ws.close()


def test_run_dir_is_under_artifacts(tmp_path):
    ws = Workspace(tmp_path)
    try:
        path = ws.run_dir(3)
        assert path == tmp_path / "artifacts" / "runs" / "3" and path.is_dir()
    finally:
        ws.close()


def test_resolve_workspace_flag_then_env_then_default(tmp_path, monkeypatch):
    monkeypatch.setenv("THRIFTY_WORKSPACE", str(tmp_path / "env"))
    assert resolve_workspace(str(tmp_path / "flag")) == tmp_path / "flag"
    assert resolve_workspace() == tmp_path / "env"
    monkeypatch.delenv("THRIFTY_WORKSPACE")
    assert str(resolve_workspace()) == "thrifty-workspace"
