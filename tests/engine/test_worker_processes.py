"""The worker's child processes: a child that dies, and a shutdown in the middle of a fit."""

from __future__ import annotations

import time
from pathlib import Path

from engine_helpers import (
    A_LITTLE_SLOW,
    BASELINE,
    CAR_PRICES,
    CRASHING,
    SLEEPY,
    Recorder,
    of_type,
)

from thrifty_tui.core.events import ModelScored, ModelStarted, RunFinished
from thrifty_tui.core.store.workspace import Workspace
from thrifty_tui.engine.jobs import Screen
from thrifty_tui.engine.worker import Worker


def test_a_dead_child_fails_only_its_own_model(tmp_path):
    """A crash (or the OOM killer) takes down the whole pool; only the culprit is a failed row."""
    recorder = Recorder()
    worker = Worker(tmp_path / "ws", recorder, max_procs=2).start()
    try:
        # baseline and "a little slow" start together; the crashing model takes the baseline's
        # slot and kills its process while "a little slow" is still fitting beside it.
        worker.submit(Screen(path=CAR_PRICES, target="Price",
                             zoo=(BASELINE, A_LITTLE_SLOW, CRASHING)))
        events = recorder.wait_for_end(timeout=90)
    finally:
        worker.shutdown(timeout=30)
    rows = {e.result.model: e.result for e in of_type(events, ModelScored)}
    assert set(rows) == {"baseline (dummy)", "a little slow", "crashing"}
    assert rows["crashing"].status == "failed"
    assert rows["crashing"].error == "its process died (out of memory or a crash in native code)"
    assert rows["a little slow"].status == "done"  # retried alone after the crash
    assert len(rows["a little slow"].fold_scores) == 5
    assert rows["baseline (dummy)"].status == "done"
    assert len(of_type(events, ModelScored)) == 3  # one row each, no duplicates
    assert [e.model for e in of_type(events, ModelStarted)].count("a little slow") == 1
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    assert (finished.status, finished.best_model) == ("done", "a little slow")
    assert Path(finished.model_path).is_file()  # the final fit ran in a fresh pool


def test_shutdown_during_a_fit_cancels_the_run_and_ends_the_thread(tmp_path):
    recorder = Recorder()
    worker = Worker(tmp_path / "ws", recorder, max_procs=2).start()
    worker.submit(Screen(path=CAR_PRICES, target="Price", zoo=(BASELINE, SLEEPY)))
    recorder.wait_for(lambda es: any(isinstance(e, ModelStarted) and e.model == "sleepy"
                                     for e in es))
    time.sleep(0.3)
    asked = time.monotonic()
    worker.shutdown(timeout=20)
    assert not worker.alive
    assert time.monotonic() - asked < 5
    finished = recorder.events[-1]
    assert isinstance(finished, RunFinished) and finished.status == "cancelled"
    ws = Workspace(tmp_path / "ws")
    try:  # the run is closed in the database, not left "running"
        assert ws.run_finished(finished.run_id).status == "cancelled"
    finally:
        ws.close()
