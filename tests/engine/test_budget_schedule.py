"""Short time budgets: the leader goes ahead, the best model cut short is picked fairly, and
its final fit keeps to the time left (fewer rows) instead of running past the budget."""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline

from thrifty_tui.core.learn.features import linear_features
from thrifty_tui.core.records import FoldResult, ModelResult
from thrifty_tui.core.learn.screening import make_problem, refit
from thrifty_tui.core.learn.zoo import ModelSpec
from thrifty_tui.core.policy.final import partial_winner
from thrifty_tui.engine.jobs.after_screening import drop_beaten_rows
from thrifty_tui.engine.screen_run import Candidate, ScreenRun


def _spec(name: str, tier: int, baseline: bool = False) -> ModelSpec:
    return ModelSpec(name, tier, build=lambda *a, **k: None, baseline=baseline)


def _done(cand: Candidate, rung: int, score: float, folds: int = 5) -> None:
    cand.folds[rung] = {k: FoldResult(model=cand.spec.name, rung=rung, rows=100, fold=k,
                                      status="done", score=score, fit_seconds=0.1,
                                      cpu_seconds=0.1, peak_mb=1.0) for k in range(folds)}


def _result(name: str, curve: tuple[tuple[int, float], ...]) -> ModelResult:
    rows, mean = curve[-1]
    return ModelResult(model=name, status="skipped", fold_scores=(mean,) * 5, fit_seconds=1.0,
                       rows=rows, learning_curve=curve)


def test_the_model_cut_short_is_compared_on_the_rows_both_saw():
    linear = _result("linear", ((1_000, 0.73), (3_000, 0.75), (9_000, 0.757)))
    boosting = _result("boosting", ((1_000, 0.76), (3_000, 0.79)))
    tree = _result("tree", ((1_000, 0.70),))
    # The linear model has the most rows, but boosting beat it on the 3,000 both saw.
    assert partial_winner([linear, boosting, tree]).model == "boosting"
    assert partial_winner([linear, tree]).model == "linear"
    weaker = _result("weaker boosting", ((1_000, 0.76), (3_000, 0.74)))
    assert partial_winner([linear, weaker]).model == "linear"


def _knn(task, schema, seed):
    return Pipeline([("features", linear_features(schema)),
                     ("model", KNeighborsClassifier())])


def test_a_final_fit_on_fewer_rows_takes_a_stratified_subsample():
    rng = np.random.default_rng(0)
    y = np.where(rng.random(3_000) < 0.1, "rare", "common")
    frame = pd.DataFrame({"x": rng.normal(size=3_000) + (y == "rare"), "y": y})
    problem = make_problem(frame, "y", "classification", seed=0)
    spec = ModelSpec("knn", 2, functools.partial(_knn))
    assert refit(spec, problem)[-1].n_samples_fit_ == 3_000
    from dataclasses import replace

    small = refit(replace(spec, fit_rows=1_000), problem)[-1]
    assert small.n_samples_fit_ == 1_000
    share = float(np.mean(small._y == list(small.classes_).index("rare")))
    assert share == pytest.approx(np.mean(y == "rare"), abs=0.01)


def _run_with(cands, rungs=(100, 300)) -> ScreenRun:
    run = ScreenRun.__new__(ScreenRun)
    run.candidates, run.rungs, run.n_folds = cands, rungs, 5
    run._folds_at = dict.fromkeys(range(len(rungs)), 5)
    run.results, run.running, run.retry_alone = [], {}, []
    run.refit_state, run.refit_candidate, run.model_path = "", None, ""
    return run


def test_larger_rungs_keep_the_leaders_whole_refit_but_first_looks_only_a_fifth():
    """gss at 10 s: boosting led after its first look and racing on left too little for its
    fit on all rows. A first look may still dip into the reserve (down to a fifth of the
    budget); a fit on a larger rung, and the whole of its rung, must leave the leader's
    predicted fit on all rows (up to half of the budget)."""
    from thrifty_tui.core.policy.budget import Budget
    from thrifty_tui.engine.budget_guard import BudgetGuard

    hgb = Candidate(ModelSpec("hgb", 2, build=lambda *a, **k: None, cost_exponent=0.5), 0)
    guard = BudgetGuard.__new__(BudgetGuard)
    guard.budget, guard.n_rows = Budget(wall_s=10.0), 49_357
    guard.points, guard.best_model = {"hgb": [(1_828, 0.6)]}, "hgb"
    guard.screen = _run_with([hgb], rungs=(1_828, 5_484, 16_452, 49_357))
    whole = 0.6 * (49_357 / 1_828) ** 0.5 + 0.5  # the predicted refit, plus its overhead
    assert guard.refit_reserve(0) == pytest.approx(2.0)  # a fifth of 10 s
    assert guard.refit_reserve(1) == pytest.approx(whole)  # 3.6 s, under half of 10 s
    guard.points = {"hgb": [(1_828, 2.0)]}
    assert guard.refit_reserve(1) == pytest.approx(5.0)  # at most half of the budget


def test_a_fit_on_all_rows_is_tried_beside_the_final_fit_only_if_that_one_is_in_time():
    """births at 30 s: the surer fit, already predicted past the budget, ran beside a fit on
    all rows and, slowed by it, ended at 1.06 x B."""
    import time

    from thrifty_tui.core.policy.budget import Budget
    from thrifty_tui.engine.budget_guard import BudgetGuard

    hgb = Candidate(ModelSpec("hgb", 2, build=lambda *a, **k: None, cost_exponent=0.5), 0)
    guard = BudgetGuard.__new__(BudgetGuard)
    guard.budget, guard.n_rows = Budget(wall_s=30.0), 298_291
    guard.points = {"hgb": [(11_047, 0.6), (33_143, 1.8)]}  # linear: 16 s on all rows
    guard.screen = _run_with([hgb], rungs=(11_047, 33_143, 99_430, 298_291))
    sizes = (11_047, 33_143, 99_430)
    guard.started = time.monotonic() - 20.0  # 10 s left: 99,430 rows fit, all rows may not
    assert guard.partial_fit_rows("hgb", 33_143, sizes) == (99_430, True)
    guard.started = time.monotonic() - 29.5  # 0.5 s left: nothing fits; the floor, alone
    assert guard.partial_fit_rows("hgb", 33_143, sizes) == (33_143, False)
    # 25 s left: all rows are predicted in time (16 s), but 298 k rows is 9x the largest fit
    # measured: 99,430 rows (3x) is the sure fit, and all rows are tried beside it.
    guard.started = time.monotonic() - 5.0
    assert guard.partial_fit_rows("hgb", 33_143, sizes) == (99_430, True)
    # Measured on 99 k rows (5.4 s): all rows, predicted 16.2 s, need 24.3 s with the margin.
    guard.points = {"hgb": [(33_143, 1.8), (99_430, 5.4)]}
    guard.started = time.monotonic() - 2.0  # 27.5 s left: all rows, alone
    assert guard.partial_fit_rows("hgb", 99_430, sizes) == (None, False)
    guard.started = time.monotonic() - 10.0  # 19.5 s left: 99 k sure, all rows beside
    assert guard.partial_fit_rows("hgb", 99_430, sizes) == (99_430, True)


def _curve(cand: Candidate, scores: dict[int, float]) -> None:
    for rung, score in scores.items():
        _done(cand, rung, score)


def test_a_model_cut_short_that_beat_the_others_on_shared_rows_keeps_the_refit_reserve():
    """gss at 10 s: HGB, refused its second rung, beat the linear SVM on the 1,828 rows both
    saw; the SVM raced on to more rows. HGB still leads, so its fit on all rows stays
    reserved (the SVM's cheap refit let the others race on until HGB had no time left)."""
    from thrifty_tui.engine.budget_guard import BudgetGuard

    base = Candidate(_spec("base", 0, True), 0)
    svm, hgb, tree = (Candidate(_spec("svm", 1), 1), Candidate(_spec("hgb", 2), 2),
                      Candidate(_spec("tree", 2), 3))
    run = _run_with([base, svm, hgb, tree], rungs=(1_828, 5_484, 16_452, 49_357))
    _curve(base, {0: 0.5, 1: 0.5})
    _curve(svm, {0: 0.7405, 1: 0.7532})
    _curve(hgb, {0: 0.7593})
    _curve(tree, {0: 0.7800})  # better than HGB on the first rung: it leads
    assert BudgetGuard._racing_leader(run) is tree
    tree.folds.clear()
    _curve(tree, {0: 0.7124})
    assert BudgetGuard._racing_leader(run) is hgb  # not the SVM, on more rows


def test_finished_models_beaten_on_shared_rows_by_a_model_cut_short_are_dropped(tmp_path):
    """The SVM finished on all rows (0.755) but scored 0.741 on the 1,828 rows where HGB,
    cut short there, scored 0.759: the SVM is dropped with why, so HGB is refit."""
    from types import SimpleNamespace

    from engine_helpers import Recorder

    import time

    from thrifty_tui.core.policy.budget import Budget
    from thrifty_tui.core.events import ModelScored
    from thrifty_tui.core.store.workspace import Workspace
    from thrifty_tui.engine.budget_guard import BudgetGuard

    ws = Workspace(tmp_path / "ws")
    run_id = ws.start_run("gss.csv", "gender", "classification", "balanced_accuracy", 49_357,
                          5, ("base", "svm", "hgb"), 0)
    base = replace(_result("base", ((49_357, 0.5),)), status="done", baseline=True)
    svm = replace(_result("svm", ((1_828, 0.7405), (5_484, 0.7532), (49_357, 0.7553))),
                  status="done")
    hgb = _result("hgb", ((1_828, 0.7593),))
    for r in (base, svm, hgb):
        ws.add_result(run_id, r)
    recorder = Recorder()
    guard = BudgetGuard.__new__(BudgetGuard)
    guard.ctx = SimpleNamespace(ws=ws, emit=recorder)
    guard.run_id, guard.metric = run_id, "balanced_accuracy"
    guard.budget, guard.n_rows = Budget(wall_s=10.0), 49_357
    guard.points = {"hgb": [(1_828, 0.6)]}
    guard.screen = _run_with([Candidate(_spec("hgb", 2), 2)],
                             rungs=(1_828, 5_484, 16_452, 49_357))
    # 4 s left: HGB's sure final fit is on 5,484 rows, where the SVM scored 0.753, only
    # 0.2 pt under its 0.755 on all rows: HGB's 1.9 pt lead on 1,828 rows outweighs that.
    guard.started = time.monotonic() - 6.0
    assert guard.partial_fit_rows("hgb", 1_828, guard.screen.rungs)[0] == 5_484
    out = drop_beaten_rows(guard, [base, svm, hgb])
    assert [(r.model, r.status) for r in out] == [("base", "done"), ("svm", "dropped"),
                                                 ("hgb", "skipped")]
    assert out[1].error == ("beaten by hgb on the 1,828 rows both were scored on (0.759 "
                            "against 0.741), which the budget cut short")
    assert out[1].fold_scores == svm.fold_scores  # its scores stay
    stored = {r.model: r for r in ws.results(run_id)}
    assert stored["svm"].status == "dropped" and stored["svm"].error == out[1].error
    assert [e.result.model for e in recorder.events if isinstance(e, ModelScored)] == ["svm"]
    # A finished model that was better where both were scored stays; nothing changes.
    strong = replace(svm, learning_curve=((1_828, 0.7700), (49_357, 0.78)))
    assert drop_beaten_rows(guard, [base, strong, hgb]) == [base, strong, hgb]
    # movies at 30 s: logistic regression, cut short on 15,676 rows with no time left (so
    # fitted on those rows only), led SGD there by 1.2 pt; SGD gained 3.6 pt from those rows
    # to all of them. SGD, finished on all rows, stays the better bet.
    guard.n_rows, guard.points = 47_030, {"logistic regression": [(15_676, 0.5)]}
    guard.screen = _run_with([Candidate(_spec("logistic regression", 1), 1)],
                             rungs=(1_741, 5_225, 15_676, 47_030))
    guard.started = time.monotonic() - 29.5
    sgd = replace(_result("SGD", ((5_225, 0.57), (15_676, 0.604), (47_030, 0.6398))),
                  status="done")
    logistic = _result("logistic regression", ((5_225, 0.58), (15_676, 0.616)))
    assert drop_beaten_rows(guard, [base, sgd, logistic]) == [base, sgd, logistic]
    # With time for its fit on all rows, the same lead wins.
    guard.started = time.monotonic() - 1.0
    out = drop_beaten_rows(guard, [base, sgd, logistic])
    assert [r.status for r in out] == ["done", "dropped", "skipped"]


def test_the_freed_core_takes_the_next_size_only_while_predicted_in_time():
    import time

    from thrifty_tui.core.policy.budget import Budget
    from thrifty_tui.core.policy.final_fit import next_final_fit_decisions
    from thrifty_tui.core.policy.snapshot import FinalFit
    from thrifty_tui.engine.budget_guard import BudgetGuard

    hgb = Candidate(ModelSpec("hgb", 2, build=lambda *a, **k: None, cost_exponent=0.5), 0)
    guard = BudgetGuard.__new__(BudgetGuard)
    guard.budget, guard.n_rows, guard.cut_model = Budget(wall_s=10.0), 298_291, "hgb"
    guard.points = {"hgb": [(11_047, 0.6)]}
    guard.screen = _run_with([hgb], rungs=(11_047, 33_143, 99_430, 298_291))
    from types import SimpleNamespace

    guard.ctx, guard.try_all_rows = SimpleNamespace(executor=SimpleNamespace(max_workers=2)), True
    spec = replace(hgb.spec, fit_rows=33_143)

    def next_size(rows: int, seconds: float) -> int | None:
        """What the policy starts on the freed core once a fit on ``rows`` took ``seconds``."""
        snap = replace(guard.final_fit_snapshot(spec), started=True, all_rows="running",
                       kept_rows=rows, kept_s=seconds)
        return next((d.rows for d in next_final_fit_decisions(snap)
                     if isinstance(d, FinalFit)), None)

    # The 33 k fit took 1.3 s (0.8 s of fitting): 99 k predicted at 0.8 * 3 ** 0.3 = 1.0 s
    # (the floor of the slope: 0.6 s to 0.8 s is flatter), and 0.5 s of overhead.
    guard.started = time.monotonic() - 6.0  # 4 s left
    assert next_size(33_143, 1.3) == 99_430
    guard.started = time.monotonic() - 8.6  # 1.4 s left: 1.5 s do not fit
    assert next_size(33_143, 1.3) is None
    guard.started = time.monotonic() - 1.0
    assert next_size(99_430, 3.0) is None  # only all rows are larger: not a step
