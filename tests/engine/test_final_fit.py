"""The best model's fit on all rows: done inside the screening run, beside the diagnostics,
reused by the worker, and checked against its cross-validated score."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import joblib
import pytest
from engine_helpers import BASELINE, CAR_PRICES, LINEAR, Recorder, of_type
from final_fit_helpers import COLLAPSING, COUNTING, FAILS_ON_ALL, SLOW_ON_ALL

from thrifty_tui.core.events import ModelDiagnosed, Notice, RunFinished
from thrifty_tui.core.policy.final_fit import FinalFitSnapshot
from thrifty_tui.engine.jobs import Screen
from thrifty_tui.engine.jobs.final_fit import final_fit
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


class _Deadline:
    """What ``jobs.final_fit.final_fit`` asks of the run's budget guard: the policy's view of the
    final fit (``BudgetGuard.final_fit_snapshot``) and when the budget ends."""

    def __init__(self, seconds: float, try_all_rows: bool = True,
                 sizes: tuple[int, ...] = ()) -> None:
        self.started, self.wall = time.monotonic(), seconds
        self.try_all_rows = try_all_rows  # the surer fit is predicted to finish in time
        self.sizes = sizes  # the racing sizes: measured fast, each is predicted in time

    def deadline(self) -> float:
        return self.started + self.wall

    def final_fit_snapshot(self, spec) -> FinalFitSnapshot:  # as BudgetGuard's, two children
        return FinalFitSnapshot(
            sure_rows=spec.fit_rows, n_rows=804, wall_s=self.wall,
            elapsed_s=time.monotonic() - self.started, workers=2, beside=self.try_all_rows,
            sizes=self.sizes, points=((1_000, 0.01),), growth=1.0)


def _problem(tmp_path) -> str:
    from thrifty_tui.core.tasks.fits import prepare_problem

    problem_file = str(tmp_path / "problem.joblib")
    prepare_problem(CAR_PRICES, "Price", None, None, 0, problem_file)
    return problem_file


def test_a_model_cut_short_is_fitted_on_all_rows_when_that_finishes_in_time(engine, tmp_path):
    worker, recorder = engine
    since = recorder.mark()
    spec = replace(COUNTING, fit_rows=200)  # the budget guard's "surely in time" size
    path, rows = final_fit(worker.context, _Deadline(60.0), _problem(tmp_path), spec, tmp_path, 804)
    assert (path, rows) == (str(tmp_path / "model.joblib"), 804)
    assert joblib.load(path)[-1].n_rows_ == 804  # the fit on all rows was kept
    assert not (tmp_path / "model-all-rows.joblib").exists()
    assert not [n for n in of_type(recorder.events[since:], Notice) if "did not finish" in
                n.message]


def test_a_fit_on_all_rows_past_the_budget_is_stopped_and_the_surer_fit_kept(engine, tmp_path):
    worker, recorder = engine
    since = recorder.mark()
    spec = replace(SLOW_ON_ALL, fit_rows=200)
    started = time.monotonic()
    path, rows = final_fit(worker.context, _Deadline(4.0), _problem(tmp_path), spec, tmp_path, 804)
    assert time.monotonic() - started < 30  # stopped at the deadline, not after its 60 s
    assert rows == 200 and joblib.load(path)[-1].n_rows_ == 200
    assert not (tmp_path / "model-all-rows.joblib").exists()
    notes = [n.message for n in of_type(recorder.events[since:], Notice)]
    assert notes == [("slow on all rows: the fit on all 804 rows did not finish within the "
                      "budget; the model is fitted on 200 rows")]
    # The children running the stopped fit were replaced: the next job still runs.
    events = _run(engine, Screen(path=CAR_PRICES, target="Price", zoo=(BASELINE, LINEAR)))
    assert events[-1].status == "done"


def test_a_failing_fit_on_all_rows_leaves_the_surer_fit_with_a_notice(engine, tmp_path):
    worker, recorder = engine
    since = recorder.mark()
    spec = replace(FAILS_ON_ALL, fit_rows=200)
    path, rows = final_fit(worker.context, _Deadline(60.0), _problem(tmp_path), spec, tmp_path, 804)
    assert rows == 200 and joblib.load(path)[-1].n_rows_ == 200
    notes = [n.message for n in of_type(recorder.events[since:], Notice)]
    assert len(notes) == 1 and notes[0].startswith(
        "fails on all rows: the fit on all 804 rows failed (")
    assert "no convergence on all rows" in notes[0]
    assert notes[0].endswith("the model is fitted on 200 rows")


def test_no_fit_on_all_rows_is_tried_when_even_the_surer_fit_is_late(engine, tmp_path):
    worker, recorder = engine
    since = recorder.mark()
    spec = replace(COUNTING, fit_rows=200)
    guard = _Deadline(60.0, try_all_rows=False)
    path, rows = final_fit(worker.context, guard, _problem(tmp_path), spec, tmp_path, 804)
    assert rows == 200 and joblib.load(path)[-1].n_rows_ == 200
    assert not [n for n in of_type(recorder.events[since:], Notice) if "all 804" in n.message]


def test_while_all_rows_run_past_the_budget_the_freed_core_fits_larger_sizes(engine, tmp_path):
    worker, recorder = engine
    since = recorder.mark()
    spec = replace(SLOW_ON_ALL, fit_rows=200)  # all 804 rows take 60 s: past the 6 s budget
    problem = _problem(tmp_path)
    guard = _Deadline(6.0, sizes=(400, 600))  # (the budget's clock starts now)
    started = time.monotonic()
    path, rows = final_fit(worker.context, guard, problem, spec, tmp_path, 804)
    assert time.monotonic() - started < 30
    # 200 rows first, then 400, then 600 on the core the surer fit freed (the order is the
    # policy's: tests/core/test_policy_final_fit.py): the largest is kept.
    assert rows == 600 and joblib.load(path)[-1].n_rows_ == 600
    assert not (tmp_path / "model-step.joblib").exists()
    assert not (tmp_path / "model-all-rows.joblib").exists()
    notes = [n.message for n in of_type(recorder.events[since:], Notice)]
    assert notes == [("slow on all rows: the fit on all 804 rows did not finish within the "
                      "budget; the model is fitted on 600 rows")]


def test_a_larger_size_still_running_at_the_deadline_leaves_the_last_one_that_ended(
        engine, tmp_path):
    worker, recorder = engine
    since = recorder.mark()
    spec = replace(SLOW_ON_ALL, fit_rows=200)
    problem = _problem(tmp_path)
    guard = _Deadline(5.0, sizes=(700,))  # 700 rows are "all rows" for this model: 60 s
    path, rows = final_fit(worker.context, guard, problem, spec, tmp_path, 804)
    assert rows == 200 and joblib.load(path)[-1].n_rows_ == 200
    assert not (tmp_path / "model-step.joblib").exists()
    notes = [n.message for n in of_type(recorder.events[since:], Notice)]
    assert notes[-1].endswith("the model is fitted on 200 rows")


def test_a_fit_on_all_rows_that_ends_first_wins_over_the_larger_sizes(engine, tmp_path):
    worker, _ = engine
    spec = replace(COUNTING, fit_rows=200)
    guard = _Deadline(60.0, sizes=(400,))
    path, rows = final_fit(worker.context, guard, _problem(tmp_path), spec, tmp_path, 804)
    assert rows == 804 and joblib.load(path)[-1].n_rows_ == 804
    assert not (tmp_path / "model-step.joblib").exists()
