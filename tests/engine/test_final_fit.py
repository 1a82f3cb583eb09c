"""The best model's fit on all rows: done inside the screening run, beside the diagnostics,
reused by the worker, and checked against its cross-validated score."""

from __future__ import annotations

import json

import joblib
import pytest
from engine_helpers import BASELINE, CAR_PRICES, LINEAR, Recorder, of_type
from final_fit_helpers import COLLAPSING

from thrifty_tui.core.events import ModelDiagnosed, Notice, RunFinished
from thrifty_tui.engine.jobs import Screen
from thrifty_tui.engine.worker import Worker


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    recorder = Recorder()
    worker = Worker(tmp_path_factory.mktemp("final") / "ws", recorder, max_procs=2).start()
    yield worker, recorder
    worker.shutdown(timeout=30)


def _run(engine, job):
    worker, recorder = engine
    since = recorder.mark()
    worker.submit(job)
    return recorder.wait_for_end(since, timeout=90)


def test_the_final_fit_runs_in_the_screening_and_is_reused(engine):
    events = _run(engine, Screen(path=CAR_PRICES, target="Price", zoo=(BASELINE, LINEAR)))
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.status == "done"
    assert finished.best_model == "linear" and finished.model_path
    stamp = json.loads(open(finished.model_path + ".stamp").read())
    assert stamp[1] == "linear"  # fitted by the run's own refit task, not a second time
    assert len(of_type(events, ModelDiagnosed)) == 2
    model = joblib.load(finished.model_path)
    assert hasattr(model, "predict")
    assert not [n for n in of_type(events, Notice) if "collapsed" in n.message]


def test_a_model_that_collapses_on_all_rows_gets_a_notice(engine):
    events = _run(engine, Screen(path=CAR_PRICES, target="Price", zoo=(BASELINE, COLLAPSING)))
    finished = events[-1]
    assert finished.status == "done" and finished.best_model == "collapsing"
    notes = [n.message for n in of_type(events, Notice) if "collapsed" in n.message]
    assert len(notes) == 1
    assert notes[0].startswith("check collapsing: fitted on all 804 rows it scores")
    # The notice comes before the run's end, so the CLI and the app show it with the result.
    assert events.index(next(n for n in of_type(events, Notice) if "collapsed" in n.message)) \
        < events.index(finished)
