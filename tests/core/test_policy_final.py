"""The final-fit rules (core/policy/final.py), driven with hand-made results and the time left
as a number: which model is refit after a budget cut some short, and on how many rows."""

from __future__ import annotations

from thrifty_tui.core.policy.final import (
    EXTRAPOLATION_MARGIN,
    REFIT_OVERHEAD_S,
    drop_beaten,
    next_final_size,
    partial_fit_rows,
    partial_winner,
)
from thrifty_tui.core.records import ModelResult

SIZES = (3_683, 11_047, 33_143, 99_430)
N_ROWS = 298_290


def _result(name, curve, status="skipped"):
    rows, mean = curve[-1]
    return ModelResult(model=name, status=status, fold_scores=(mean,) * 5, fit_seconds=1.0,
                       rows=rows, learning_curve=curve)


def test_the_winner_of_models_cut_short_is_found_on_the_rows_both_saw():
    linear = _result("linear", ((1_000, 0.73), (3_000, 0.75), (9_000, 0.757)))
    boosting = _result("boosting", ((1_000, 0.76), (3_000, 0.79)))
    assert partial_winner([linear, boosting]).model == "boosting"
    assert partial_winner([linear, _result("tree", ((1_000, 0.70),))]).model == "linear"


def test_the_final_fit_of_a_model_cut_short_keeps_to_the_time_left():
    points = ((11_047, 0.6), (33_143, 1.8))  # linear in the rows: 16 s on all rows
    assert partial_fit_rows(points, 1.0, 33_143, SIZES, N_ROWS, None) == (None, False)
    # All rows are over 4x the largest measured fit: not trusted, even with 30 s left.
    assert partial_fit_rows(points, 1.0, 33_143, SIZES, N_ROWS, 30.0) == (99_430, True)
    near = ((33_143, 1.8), (99_430, 5.4))  # all rows: 16.2 s, 24.3 s with the margin
    assert partial_fit_rows(near, 1.0, 99_430, SIZES, N_ROWS, 30.0) == (None, False)
    assert partial_fit_rows(near, 1.0, 99_430, SIZES, N_ROWS, 20.0) == (99_430, True)
    # 99,430 rows: 5.4 s predicted, past the measured 33 k so with the 1.5 margin: 8.1 s.
    assert partial_fit_rows(points, 1.0, 33_143, SIZES, N_ROWS, 10.0) == (99_430, True)
    tight = 5.4 * EXTRAPOLATION_MARGIN + REFIT_OVERHEAD_S - 0.1
    assert partial_fit_rows(points, 1.0, 33_143, SIZES, N_ROWS, tight) == (33_143, True)
    # Not even the rows it was scored on fit: those, and nothing beside (it would slow it).
    assert partial_fit_rows(points, 1.0, 33_143, SIZES, N_ROWS, 1.0) == (33_143, False)
    # More than 4x past the largest measured fit is not trusted, however fast it looks.
    assert partial_fit_rows(((1_000, 0.01),), 1.0, 1_000, SIZES, N_ROWS, 60.0) == (3_683, True)


def test_the_next_step_on_the_freed_core_is_the_next_size_that_ends_in_time():
    points = ((11_047, 0.6),)
    assert next_final_size(points, 1.0, 33_143, 1.3, SIZES, N_ROWS, 10.0) == 99_430
    assert next_final_size(points, 1.0, 33_143, 1.3, SIZES, N_ROWS, 1.0) is None
    assert next_final_size(points, 1.0, 99_430, 3.0, SIZES, N_ROWS, 60.0) is None  # only all
    assert next_final_size(points, 1.0, 33_143, 1.3, SIZES, N_ROWS, None) is None


def test_a_finished_model_is_dropped_only_when_the_model_cut_short_is_the_better_bet():
    svm = _result("svm", ((1_828, 0.741), (49_000, 0.755)), status="done")
    hgb = _result("hgb", ((609, 0.74), (1_828, 0.759)))
    why = lambda top, beaten, rows: f"{beaten.model} beaten by {top.model} on {rows}"  # noqa: E731
    # HGB can be fitted on 1,828 rows only: the SVM gained 1.4 pt from there to all rows,
    # and HGB led it by 1.8 pt on those rows: HGB is the better bet.
    drops = drop_beaten([svm, hgb], lambda top: 1_828, why)
    assert [(d.model, d.why) for d in drops] == [("svm", "svm beaten by hgb on 1828")]
    # A lead smaller than the finished model's gain: it stays.
    close = _result("hgb", ((609, 0.74), (1_828, 0.745)))
    assert drop_beaten([svm, close], lambda top: 1_828, why) == []
    # Fitted on all rows, HGB needs no more than a lead: the SVM's gain to there is 0.
    assert len(drop_beaten([svm, close], lambda top: 49_000, why)) == 1
    assert drop_beaten([svm], lambda top: 49_000, why) == []  # nothing was cut short


def test_the_mean_of_the_leaders_is_scored_and_exported_only_when_time_allows():
    from thrifty_tui.core.policy.final import tune_after_screening
    from thrifty_tui.core.policy.mean import (
        SCORE_MEAN_S,
        may_score_mean,
        mean_fits_in_time,
        refit_makespan,
    )

    assert refit_makespan([3.0, 1.0, 1.0, 1.0], 2) == 3.0
    assert refit_makespan([2.0, 2.0, 1.0], 1) == 5.0
    assert refit_makespan([2.0, float("nan")], 2) != refit_makespan([2.0, float("nan")], 2)
    # Scoring it must leave the best single model's own fit its time.
    assert may_score_mean(8.0, 1.0, 10.0) and may_score_mean(8.0, 1.0, None)
    assert not may_score_mean(8.0, 2.0 - SCORE_MEAN_S + 0.1, 10.0)
    assert mean_fits_in_time(3.0, 3.0) and mean_fits_in_time(99.0, None)
    assert not mean_fits_in_time(3.1, 3.0)
    assert not mean_fits_in_time(float("nan"), 3.0)  # a member never measured
    assert tune_after_screening(True, False, False, True)
    assert not tune_after_screening(False, False, False, True)  # cancelled
    assert not tune_after_screening(True, True, False, True)  # a done rule stopped it
    assert not tune_after_screening(True, False, True, True)  # the budget refused fits
    assert not tune_after_screening(True, False, False, False)  # not asked for
