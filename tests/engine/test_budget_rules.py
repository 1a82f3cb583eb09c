"""Done rules on real data (car prices, 804 rows): each rule stops a run with its own reason,
the first rule met wins, the fit count is never exceeded, and a resumed run does not fit the
trials it had finished again.

One worker serves the module (its children stay warm); each test waits for its own run.
"""

from __future__ import annotations

import itertools
import math
import time
from pathlib import Path

import pytest
from budget_helpers import counting_spec, logged_fits
from engine_helpers import BASELINE, CAR_PRICES, LINEAR

from thrifty_tui.core.policy.budget import MET, NOT_YET, OFF, Budget
from thrifty_tui.core.events import (
    BudgetUpdate,
    JobFailed,
    ModelScored,
    RunFinished,
    RunStarted,
    TrialFinished,
    TuningStarted,
)
from thrifty_tui.core.store.workspace import Workspace
from thrifty_tui.core.learn.zoo import load_zoo
from thrifty_tui.engine.jobs import Screen
from thrifty_tui.engine.worker import Worker

QUICK = load_zoo("quick")
FOLD_ROWS = 700  # car prices' folds train on 643 rows; the final refit on all 804


class TimedRecorder:
    """The worker's emit: every event with the monotonic time it arrived."""

    def __init__(self) -> None:
        self.events: list[tuple[float, object]] = []

    def __call__(self, event) -> None:
        self.events.append((time.monotonic(), event))


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    recorder = TimedRecorder()
    worker = Worker(tmp_path_factory.mktemp("budget") / "ws", recorder, max_procs=2).start()
    # Its children up first (a run of the baseline alone, on other data than the tests', so
    # nothing of it is reused): a test's time budget is then not spent on two children
    # importing scikit-learn on a loaded machine.
    warm = tmp_path_factory.mktemp("warm") / "cars-head.csv"
    warm.write_text("".join(Path(CAR_PRICES).read_text().splitlines(keepends=True)[:301]))
    worker.submit(Screen(path=str(warm), target="Price", zoo=(BASELINE,), tune=False))
    deadline = time.monotonic() + 180
    while not any(isinstance(e, RunFinished | JobFailed) for _, e in recorder.events):
        assert time.monotonic() < deadline, "the warm-up run did not end"
        time.sleep(0.05)
    yield worker, recorder
    worker.shutdown(timeout=30)


def run(engine, job: Screen, timeout: float = 90.0) -> list:
    """Submit ``job`` and return its events (with times) up to RunFinished."""
    worker, recorder = engine
    since = len(recorder.events)
    worker.submit(job)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = recorder.events[since:]
        if any(isinstance(e, RunFinished | JobFailed) for _, e in events):
            return events
        time.sleep(0.05)
    raise AssertionError(f"no RunFinished after {timeout} s")


def finished(events) -> RunFinished:
    last = events[-1][1]
    assert isinstance(last, RunFinished), last
    return last


def final_update(events) -> BudgetUpdate:
    updates = [e for _, e in events if isinstance(e, BudgetUpdate)]
    assert updates[-1].final and events[-2][1] is updates[-1]  # just before RunFinished
    return updates[-1]


def rule_states(update: BudgetUpdate) -> dict[str, str]:
    return {r.rule: r.state for r in update.rules}


def test_target_score_stops_the_run_and_says_so(engine):
    events = run(engine, Screen(path=CAR_PRICES, target="Price", zoo=QUICK,
                                budget=Budget(target_score=0.5)))
    done, final = finished(events), final_update(events)
    assert done.status == "done"
    assert done.stop_reason.startswith("target 0.500 reached — ")
    assert done.best_score >= 0.5 and final.best_score == done.best_score
    assert rule_states(final) == {"target": MET, "min_improvement": OFF, "max_fits": OFF,
                                  "wall": OFF, "patience": OFF, "noise_floor": OFF}
    rows = {e.result.model: e.result for _, e in events if isinstance(e, ModelScored)}
    # The first model over 0.5 stops the run: the dearer ones never finish their folds.
    assert sum(r.status == "done" and not r.baseline for r in rows.values()) == 1
    stopped = [r for r in rows.values() if r.status == "skipped"]
    assert stopped and all(r.error.startswith("stopped: target 0.500 reached") for r in stopped)
    assert not any(isinstance(e, TuningStarted) for _, e in events)  # done: nothing to tune
    assert Path(done.model_path).is_file()


def test_min_improvement_over_the_baseline_stops_the_run(engine):
    events = run(engine, Screen(path=CAR_PRICES, target="Price", zoo=QUICK,
                                budget=Budget(min_improvement=0.5)))
    done, final = finished(events), final_update(events)
    assert done.stop_reason.startswith("50% better than the baseline reached — ")
    baseline = final.baseline_score
    assert baseline < 0.05  # the mean predictor's R^2 on held-out folds
    # R^2's loss is 1 - R^2: the best's MSE is at least half below the baseline's.
    assert 1 - (1 - done.best_score) / (1 - baseline) >= 0.5
    assert rule_states(final)["min_improvement"] == MET
    assert rule_states(final)["target"] == OFF


def test_max_fits_stops_the_run_and_is_never_exceeded(engine, tmp_path):
    log = tmp_path / "fits.log"
    events = run(engine, Screen(path=CAR_PRICES, target="Price", tune=True,
                                zoo=(BASELINE, counting_spec(log)), budget=Budget(max_fits=23)))
    done, final = finished(events), final_update(events)
    assert done.stop_reason.startswith("maximum of 23 fits reached — ")
    fold_fits = [f for f in logged_fits(log) if f[0] < FOLD_ROWS]
    refits = [f for f in logged_fits(log) if f[0] >= FOLD_ROWS]
    # Five baseline fits, then the counting model's own: screening (5) and tuning trials.
    assert 5 + len(fold_fits) == final.fits == final.fits_started == 23
    assert len(refits) == 1  # the final refit on all rows is not a search fit
    assert rule_states(final)["max_fits"] == MET
    trials = [e for _, e in events if isinstance(e, TrialFinished)]
    assert len(trials) == 2 and all(len(t.fold_scores) == 5 for t in trials)  # 10 + 2 x 5 + 3


def test_the_wall_budget_stops_tuning_and_says_so(engine, tmp_path):
    # That the run ends within 1.05 x its budget is a speed target: the replays of recorded
    # fits check it on a fake clock (tests/core/test_policy_decide.py), the benchmarks on the
    # wall; here, that the wall rule stops a real run that tunes, and says so.
    log = tmp_path / "fits.log"
    events = run(engine, Screen(path=CAR_PRICES, target="Price", budget_s=6.0,
                                zoo=(BASELINE, counting_spec(log))))
    done, final = finished(events), final_update(events)
    assert done.stop_reason.startswith(("budget of 6 s spent — ",
                                        "budget of 6 s: no fit left that could finish"))
    assert final.wall_s == 6.0 and rule_states(final)["wall"] in (MET, NOT_YET)
    # A budget turns tuning on.
    assert any(isinstance(e, TuningStarted) for _, e in events), done.stop_reason
    # Screening is 5 + 5 fits, so tuning's trials ran; every fit counted is one the log saw
    # (the log sees a fit start: one still running when the time is up is not counted).
    assert 10 < final.fits <= 5 + sum(1 for f in logged_fits(log) if f[0] < FOLD_ROWS)


def test_patience_stops_after_n_fits_without_a_gain_of_delta(engine, tmp_path):
    # Ridge's alpha moves R^2 by less than 0.05 on car prices: tuning it cannot gain that much.
    events = run(engine, Screen(path=CAR_PRICES, target="Price", tune=True,
                                zoo=(BASELINE, counting_spec(tmp_path / "f.log")),
                                budget=Budget(patience=10, patience_delta=0.05)))
    done, final = finished(events), final_update(events)
    assert done.stop_reason.startswith("no gain of 0.05 in 10 fits — ")
    assert rule_states(final)["patience"] == MET
    # The baseline, then ridge (R^2 ~0.9): its trials gain < 0.05 on it, so 10 fits later
    # the run stops; the stored trace holds (seconds, fits, score) of each new best.
    trace = stored_extra(engine, done.run_id)["stop"]["trace"]
    gains = [fits for (_, fits, score), (_, _, before) in zip(trace[1:], trace, strict=False)
             if score >= before + 0.05]
    assert gains and final.fits - gains[-1] >= 10
    assert all(b[2] - a[2] < 0.05 for a, b in itertools.pairwise(trace)
               if b[1] > gains[-1])


def stored_extra(engine, run_id: int) -> dict:
    ws = Workspace(engine[0].workspace_root)
    try:
        return ws.run_extra(run_id)
    finally:
        ws.close()


def test_noise_floor_stops_when_gains_are_below_the_fold_noise(engine, tmp_path):
    events = run(engine, Screen(path=CAR_PRICES, target="Price", tune=True,
                                zoo=(BASELINE, counting_spec(tmp_path / "f.log")),
                                budget=Budget(noise_floor=True, noise_window=10)))
    done, final = finished(events), final_update(events)
    assert done.stop_reason.startswith("gains below the fold-to-fold noise (±")
    assert rule_states(final)["noise_floor"] == MET
    assert final.fits >= 10 + 10  # the window counts only after the first score


def test_combined_rules_stop_at_the_first_met(engine):
    events = run(engine, Screen(path=CAR_PRICES, target="Price", zoo=QUICK, tune=False,
                                budget=Budget(target_score=0.99, max_fits=17, patience=1000)))
    done, final = finished(events), final_update(events)
    assert done.stop_reason.startswith("maximum of 17 fits reached — ")
    assert rule_states(final) == {"target": NOT_YET, "min_improvement": OFF, "max_fits": MET,
                                  "wall": OFF, "patience": NOT_YET, "noise_floor": OFF}
    events = run(engine, Screen(path=CAR_PRICES, target="Price", zoo=QUICK, tune=False,
                                budget=Budget(target_score=0.5, max_fits=17, patience=1000)))
    done = finished(events)
    assert done.stop_reason.startswith("target 0.500 reached — ")
    assert final_update(events).fits < 17


def test_budget_updates_come_while_the_run_goes_with_a_growing_trace(engine, tmp_path):
    # "At least twice a second" is the guard's setting (UPDATE_EVERY_S, sent by its ticker
    # thread while the worker waits); gaps between updates are not timed here.
    from thrifty_tui.engine.budget_guard import UPDATE_EVERY_S

    assert UPDATE_EVERY_S <= 0.5
    # A fit count, not a time budget, ends it: on a loaded machine 5 s did not reach tuning.
    events = run(engine, Screen(path=CAR_PRICES, target="Price", tune=True,
                                budget=Budget(max_fits=30),
                                zoo=(BASELINE, LINEAR, counting_spec(tmp_path / "f.log"))))
    started = next(i for i, (_, e) in enumerate(events) if isinstance(e, RunStarted))
    live = [e for _, e in events[started:] if isinstance(e, BudgetUpdate) and not e.final]
    assert len(live) >= 3
    updates = [e for _, e in events if isinstance(e, BudgetUpdate)]
    assert all(len(a.trace) <= len(b.trace) for a, b in itertools.pairwise(updates))
    assert [p[1] for p in updates[-1].trace] == sorted(p[1] for p in updates[-1].trace)
    assert {u.phase for u in updates} >= {"screening", "tuning", "done"}
    cost = updates[-1].cost
    assert cost.cpu_s >= cost.fits_cpu_s > 0 and cost.wall_s > 0 and cost.peak_mb > 0
    models = {m.model for m in cost.by_model}
    assert {"baseline (dummy)", "linear"} <= models
    assert any(m.startswith("counting ridge") for m in models)


def test_a_resumed_run_loads_its_finished_trials_instead_of_fitting_them(engine, tmp_path):
    log = tmp_path / "fits.log"
    zoo = (BASELINE, counting_spec(log))
    first = run(engine, Screen(path=CAR_PRICES, target="Price", tune=True, zoo=zoo,
                               budget=Budget(max_fits=23)))  # stops inside the 3rd trial
    done_first = {tuple(t.params) for _, t in first if isinstance(t, TrialFinished)}
    assert len(done_first) == 2
    fits_before = len(logged_fits(log))
    second = run(engine, Screen(path=CAR_PRICES, target="Price", tune=True, zoo=zoo,
                                budget=Budget(max_fits=60)))
    trials = [t for _, t in second if isinstance(t, TrialFinished)]
    resumed = {tuple(t.params) for t in trials if t.resumed}
    assert resumed == done_first
    new_alphas = {alpha for rows, alpha in logged_fits(log)[fits_before:] if rows < FOLD_ROWS}
    old_alphas = {float(dict(p)["alpha"]) for p in done_first}
    assert not new_alphas & old_alphas  # not one fold of a finished trial was fitted again
    assert len([t for t in trials if not t.resumed]) >= 2
    ws = Workspace(engine[0].workspace_root)
    try:
        stored = ws.trials(run_id=finished(first).run_id)
        assert {tuple((k, str(v)) for k, v in t.params) for t in stored} == done_first
        extra = ws.run_extra(finished(second).run_id)
        assert extra["stop"]["reason"] == finished(second).stop_reason
        assert extra["cost"]["cpu_s"] > 0 and extra["budget"]["max_fits"] == 60
    finally:
        ws.close()
    assert not math.isnan(finished(second).best_score)


def _tuned_wins(events) -> str:
    scored = [e.result for _, e in events if isinstance(e, ModelScored)]
    return next((r.model for r in scored if r.model.endswith("(tuned)")), "")


def test_the_tuned_best_gets_its_diagnostics_from_its_own_out_of_fold_predictions(engine,
                                                                                 tmp_path):
    from thrifty_tui.core.events import ModelDiagnosed

    log = tmp_path / "fits.log"
    events = run(engine, Screen(path=CAR_PRICES, target="Price", tune=True,
                                zoo=(BASELINE, counting_spec(log)), budget=Budget(max_fits=60)))
    tuned = _tuned_wins(events)
    assert tuned, "no tuned configuration beat the screened ridge on car prices"
    assert finished(events).best_model == tuned
    diagnosed = [e for _, e in events if isinstance(e, ModelDiagnosed) and e.model == tuned]
    assert len(diagnosed) == 1
    diag = diagnosed[0].diagnostics
    assert diag.task == "regression" and dict(diag.metrics)["r2"] == pytest.approx(
        finished(events).best_score, abs=0.05)  # out-of-fold r2 over all rows vs fold mean
    from thrifty_tui.core.store.bundle_report import diagnostics_path

    run_dir = Path(engine[0].workspace_root) / "artifacts" / "runs" / str(finished(events).run_id)
    assert diagnostics_path(run_dir, tuned).is_file()  # what the bundle's plots are made from


def test_the_dashboards_stop_and_extend_reach_the_running_job(engine, tmp_path):
    worker, recorder = engine
    log = tmp_path / "fits.log"
    zoo = (BASELINE, counting_spec(log))
    # Extend: a 3 s budget given 30 s more while it runs ends with a 33 s budget, and stops
    # on the user's stop, pressed once tuning has started.
    since = len(recorder.events)
    worker.submit(Screen(path=CAR_PRICES, target="Price", tune=True, zoo=zoo, budget_s=3.0,
                         budget=Budget(max_fits=10_000)))
    deadline = time.monotonic() + 60
    extended = stopped = False
    while time.monotonic() < deadline:
        events = recorder.events[since:]
        if not extended and any(isinstance(e, BudgetUpdate) for _, e in events):
            worker.adjust_budget(extra_s=30.0)
            extended = True
        if not stopped and any(isinstance(e, TrialFinished) for _, e in events):
            worker.adjust_budget(stop=True)
            stopped = True
        if any(isinstance(e, RunFinished | JobFailed) for _, e in events):
            break
        time.sleep(0.02)
    events = recorder.events[since:]
    done, final = finished(events), final_update(events)
    assert final.wall_s == 33.0
    assert done.stop_reason.startswith("stopped by the user — best ")
    assert rule_states(final)["wall"] == NOT_YET and done.elapsed_s < 33.0
    assert not math.isnan(done.best_score) and done.model_path  # the best so far is kept
