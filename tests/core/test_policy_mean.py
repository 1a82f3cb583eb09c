"""The mean of the leaders' rules (core/policy/mean.py) on hand-made rows: no fits, no clock.

Each rule has a test here that fails when the rule is removed (benchmarks/policy_mutations.py
removes them one at a time)."""

from __future__ import annotations

import math
from dataclasses import replace

from thrifty_tui.core.policy.mean import (
    ASSEMBLE_S,
    SCORE_MEAN_S,
    FitMembers,
    MeanSnapshot,
    NoMean,
    ScoreMean,
    SkipMean,
    UseMean,
    ensemble_name,
    fit_members_until,
    judge_mean,
    mean_reserve,
    pick_members,
    refit_seconds,
    score_or_not,
    single_fallback,
)
from thrifty_tui.core.records import ModelResult

N_ROWS = 1000
# Five folds each; A, B, D and E cannot be told apart (their gaps change sign fold by fold),
# C is clearly worse on every fold.
A = (0.90, 0.91, 0.92, 0.93, 0.94)
B = (0.905, 0.905, 0.915, 0.935, 0.935)
D = (0.895, 0.915, 0.915, 0.925, 0.935)
E = (0.90, 0.905, 0.925, 0.925, 0.93)
C = (0.70, 0.71, 0.72, 0.73, 0.74)


def row(model: str, scores: tuple[float, ...], rows: int = N_ROWS, **kw) -> ModelResult:
    return ModelResult(model=model, status="done", fold_scores=scores, fit_seconds=1.0,
                       rows=rows, **kw)


def snap(*results: ModelResult, oof: tuple[str, ...] | None = None,
         left: dict[str, float] | None = None, **kw) -> MeanSnapshot:
    """Every model has its out-of-fold files and a 1 s fit on all rows still to come, unless
    told otherwise."""
    names = tuple(r.model for r in results)
    left = {n: 1.0 for n in names} | (left or {})
    return MeanSnapshot(results=results, n_rows=N_ROWS, n_folds=5, test_fraction=0.2,
                        with_oof=frozenset(names if oof is None else oof),
                        refit_left=tuple(left.items()), **kw)


def names(members) -> list[str]:
    return [m.model for m in members]


def test_only_the_models_tied_with_the_best_join_best_first():
    picked = pick_members(snap(row("b", B), row("c", C), row("a", A)))
    assert names(picked) == ["a", "b"]  # c is clearly worse: it would pull the mean down
    assert ensemble_name(names(picked)) == "mean of a + b"


def test_members_are_cross_validated_on_all_rows_and_every_fold():
    results = (row("a", A), row("b", B), row("half", E, rows=500),
               row("mean of a + b", (0.95,) * 5), row("three folds", D[:3]))
    assert names(pick_members(snap(*results))) == ["a", "b"]


def test_a_tuned_model_stands_in_for_its_untuned_row():
    results = (row("a", A), row("a (tuned)", E), row("b", B))
    assert names(pick_members(snap(*results))) == ["b", "a (tuned)"]


def test_only_models_whose_out_of_fold_files_exist_join():
    results = (row("a", A), row("b", B), row("d", D))
    assert names(pick_members(snap(*results, oof=("a", "d")))) == ["a", "d"]


def test_at_most_three_members():
    results = (row("a", A), row("b", B), row("d", D), row("e", E))
    assert len(pick_members(snap(*results))) == 3
    assert names(pick_members(snap(*results))) == ["a", "b", "d"]  # best first


def test_no_mean_of_one():
    one = snap(row("a", A), row("b", B), oof=("a",))
    assert pick_members(one) == ()
    assert isinstance(score_or_not(one), NoMean)
    assert mean_reserve(one) == 0.0


def test_tuning_keeps_time_for_scoring_the_mean_and_fitting_its_members():
    two = snap(row("a", A), row("b", B), left={"a": 2.0, "b": 3.0}, workers=2)
    assert refit_seconds(two, pick_members(two)) == 3.0 + ASSEMBLE_S  # side by side
    assert mean_reserve(two) == SCORE_MEAN_S + 3.0 + ASSEMBLE_S
    assert mean_reserve(replace(two, workers=1)) == SCORE_MEAN_S + 5.0 + ASSEMBLE_S
    # A member never measured: nothing is kept (its cost is unknown).
    assert mean_reserve(snap(row("a", A), row("b", B), left={"b": math.nan})) == 0.0


def test_the_mean_is_scored_only_when_the_best_models_own_fit_still_ends_in_time():
    results = (row("a", A), row("b", B))
    late = snap(*results, left={"a": 2.0}, wall_s=10.0, elapsed_s=8.0)
    assert isinstance(score_or_not(late), NoMean)  # 8 + 0.5 + 2 > 10
    assert score_or_not(replace(late, elapsed_s=7.0)) == ScoreMean(pick_members(late))
    assert isinstance(score_or_not(replace(late, wall_s=None)), ScoreMean)
    # The best model fitted on all rows already (or never measured): its fit takes nothing.
    done = snap(*results, left={"a": 0.0}, wall_s=10.0, elapsed_s=8.0)
    assert isinstance(score_or_not(done), ScoreMean)


def test_a_better_mean_whose_members_cannot_be_fitted_in_time_is_skipped():
    s = snap(row("a", A), row("b", B), left={"a": 4.0, "b": 4.0}, workers=2, wall_s=10.0,
             elapsed_s=6.0)
    members = pick_members(s)
    judged = judge_mean(s, members, 0.95)  # better than a's 0.92; 4.5 s of 4 s left
    assert isinstance(judged, SkipMean)
    assert judged.reason == ("its members' fits on all rows, predicted 4.5 s, do not fit in "
                             "the 4.0 s left of the budget")
    assert judged.why_not("mean of a + b").startswith("the mean of a + b scored best but")
    assert isinstance(judge_mean(replace(s, elapsed_s=5.5), members, 0.95), UseMean)
    assert isinstance(judge_mean(replace(s, wall_s=None), members, 0.95), UseMean)
    # Past the budget, the time left is shown as 0.
    assert "the 0.0 s left" in judge_mean(replace(s, elapsed_s=11.0), members, 0.95).reason


def test_a_mean_that_does_not_beat_the_best_model_is_not_skipped_for_its_time():
    s = snap(row("a", A), row("b", B), left={"a": 4.0, "b": 4.0}, wall_s=10.0, elapsed_s=9.0)
    assert judge_mean(s, pick_members(s), 0.90) == UseMean()  # never the run's model anyway


def test_the_members_fits_may_run_two_percent_of_the_budget_past_the_deadline():
    assert fit_members_until(100.0, 30.0) == FitMembers(100.0 + 0.6)
    assert fit_members_until(None, None) == FitMembers(None)


def test_the_best_single_model_stands_in_for_a_mean_that_could_not_be_fitted():
    mean = row("mean of a + b", (0.95,) * 5)
    results = [row("a", A), row("b", B), mean]
    assert single_fallback(results, mean) == results[0]
    assert single_fallback(results, None) == mean


def test_the_same_snapshot_gives_the_same_decisions():
    s = snap(row("a", A), row("b", B), row("c", C), wall_s=30.0, elapsed_s=3.0)
    assert score_or_not(s) == score_or_not(replace(s)) == ScoreMean(pick_members(s))
    assert mean_reserve(s) == mean_reserve(s)
