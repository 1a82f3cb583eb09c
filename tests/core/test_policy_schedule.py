"""The screening scheduler's rules (core/policy/schedule.py), driven with hand-made snapshots:
no clock, no process, no file. Each test fails when its rule is removed or changed."""

from __future__ import annotations

import math

import pytest

from thrifty_tui.core.policy.schedule import (
    baseline_may_overrun,
    MAX_RESERVE_SHARE,
    REFIT_OVERHEAD_S,
    ModelView,
    diagnostics_fit,
    dropped_by,
    first_rung_leader,
    fold_priority,
    past_deadline,
    predicted_fit_seconds,
    refit_reserve,
    rung_skip,
    worth_killing,
)

BASE = ModelView("base", 0, baseline=True)
LINEAR = ModelView("linear", 1)
HGB = ModelView("hgb", 2)
FOREST = ModelView("forest", 3)


def _ordered(folds, leader):
    order = {"base": 0, "linear": 1, "hgb": 2, "forest": 3}
    return [(m.name, rung) for m, rung in
            sorted(folds, key=lambda mr: fold_priority(mr[1], mr[0], order[mr[0].name], 0, leader))]


def test_under_a_budget_the_leader_runs_ahead_of_dear_models_and_larger_rungs():
    folds = [(FOREST, 0), (LINEAR, 1), (HGB, 1), (BASE, 1)]
    # Without a leader (no budget): rung by rung, cheap tiers first.
    assert _ordered(folds, None) == [("forest", 0), ("base", 1), ("linear", 1), ("hgb", 1)]
    # With hgb leading the first rung: the baseline and the leader first, then the rest.
    assert _ordered(folds, HGB) == [("base", 1), ("hgb", 1), ("forest", 0), ("linear", 1)]
    # A cheap leader waits until models up to the trees tier had their first look.
    assert _ordered([*folds, (HGB, 0)], LINEAR)[:3] == [("hgb", 0), ("base", 1), ("linear", 1)]


def test_the_first_rung_leader_is_the_best_racing_model_not_the_baseline():
    a, b = ModelView("a", 1), ModelView("b", 2)
    assert first_rung_leader([BASE, a, b]) is None  # nobody has finished the first rung
    base = ModelView("base", 0, baseline=True, complete={0: (0.9,) * 5})
    a = ModelView("a", 1, complete={0: (0.6,) * 5})
    b = ModelView("b", 2, complete={0: (0.7,) * 5})
    assert first_rung_leader([base, a, b]) is b
    dropped = ModelView("b", 2, final=True, complete={0: (0.7,) * 5})
    assert first_rung_leader([base, a, dropped]) is a  # final models do not lead


def test_a_clearly_worse_model_is_dropped_but_a_close_one_and_the_baseline_race_on():
    leader = ModelView("leader", 1, complete={0: (0.80, 0.82, 0.81, 0.79, 0.80)})
    worse = ModelView("worse", 2, complete={0: (0.60, 0.61, 0.59, 0.62, 0.60)})
    close = ModelView("close", 2, complete={0: (0.80, 0.81, 0.80, 0.79, 0.81)})
    base = ModelView("base", 0, baseline=True, complete={0: (0.5,) * 5})
    models = [leader, worse, close, base]
    assert dropped_by(worse, models, 0, 0.2) is leader
    assert dropped_by(close, models, 0, 0.2) is None
    assert dropped_by(base, models, 0, 0.2) is None
    assert dropped_by(leader, models, 0, 0.2) is None
    assert dropped_by(worse, models, 1, 0.2) is None  # nobody finished that rung


def test_a_rung_is_skipped_past_the_cap_the_time_left_or_the_memory_cap():
    measured = ModelView("svm", 3, growth=2.0, memory="quadratic", points=((1_000, 1.0),))
    # 3,000 rows at growth 2 from 1 s on 1,000: 9 s a fit.
    assert rung_skip(measured, 1, 3_000, 5, 2, None, None, None) is None
    capped = rung_skip(measured, 1, 3_000, 5, 2, 5.0, None, None)
    assert capped is not None and "cap 5 s" in capped.why and not capped.spent
    # The whole rung, 5 fits of 9 s on 2 workers = 22.5 s, must fit in the time left.
    assert rung_skip(measured, 1, 3_000, 5, 2, None, 23.0, None) is None
    late = rung_skip(measured, 1, 3_000, 5, 2, None, 20.0, None)
    assert late is not None and late.spent and "20 s left" in late.why
    spent = rung_skip(measured, 1, 3_000, 5, 2, None, 0.0, None)
    assert spent is not None and spent.spent and spent.why == ""
    # A kernel model's 3,000 x 3,000 float64 matrix: 69 MB.
    memory = rung_skip(measured, 1, 3_000, 5, 2, None, None, 50.0)
    assert memory is not None and "memory cap 50 MB" in memory.why
    assert rung_skip(measured, 1, 3_000, 5, 2, None, None, 100.0) is None
    unmeasured = ModelView("new", 3)
    assert rung_skip(unmeasured, 1, 3_000, 5, 2, 5.0, 1.0, None) is None  # unknown cost: try it


def test_the_baseline_is_scored_on_the_first_rung_even_when_the_time_is_out():
    base = ModelView("base", 0, baseline=True, points=((1_000, 0.01),))
    assert baseline_may_overrun(base, 0) and not baseline_may_overrun(base, 1)
    assert not baseline_may_overrun(LINEAR, 0)
    assert rung_skip(base, 0, 1_000, 5, 2, None, 0.0, None) is None
    later = rung_skip(base, 1, 3_000, 5, 2, None, 0.0, None)
    assert later is not None and later.spent
    assert rung_skip(LINEAR, 0, 1_000, 5, 2, None, 0.0, None) is not None


def test_an_unmeasured_fit_is_as_dear_as_the_dearest_on_its_rung_under_a_budget():
    fresh = ModelView("forest", 3)
    assert predicted_fit_seconds(fresh, 11_000, True, 1.5, 2.0) == pytest.approx(3.5)
    assert math.isnan(predicted_fit_seconds(fresh, 11_000, False, 1.5, 2.0))
    measured = ModelView("forest", 3, growth=1.0, points=((1_000, 1.0),))
    assert predicted_fit_seconds(measured, 2_000, True, 1.5, 9.0) == pytest.approx(2.0)


def test_diagnostics_start_only_with_room_for_two_fits_and_the_reserve():
    points = ((1_000, 2.0),)
    assert diagnostics_fit(points, 5.0, 1.0, None)
    assert diagnostics_fit(points, 5.0, 1.0, 10.0)  # 5 + 2 x 2 + 1 = 10
    assert not diagnostics_fit(points, 5.5, 1.0, 10.0)


def test_the_refit_reserve_is_at_most_linear_and_capped_by_a_share_of_the_budget():
    points = ((1_000, 1.0),)
    # Growth 1.2 is taken as 1 (fixed costs dominate small fits): 10 s on 10,000 rows.
    assert refit_reserve(points, 1.2, 10_000, 100.0, False) == pytest.approx(10.0 + REFIT_OVERHEAD_S)
    # A fifth of a 30 s budget from first looks, half from larger rungs.
    assert refit_reserve(points, 1.2, 10_000, 30.0, False) == pytest.approx(MAX_RESERVE_SHARE * 30)
    assert refit_reserve(points, 1.2, 10_000, 30.0, True) == pytest.approx(10.0 + REFIT_OVERHEAD_S)
    assert refit_reserve(points, 1.2, 10_000, None, True) == 0.0
    assert refit_reserve((), 1.2, 10_000, 100.0, False) == pytest.approx(REFIT_OVERHEAD_S)
    assert refit_reserve((), 1.2, 10_000, 100.0, False, ensemble_s=4.0) == pytest.approx(4.5)


def test_fits_in_flight_are_killed_only_when_waiting_costs_more_than_new_children():
    # (seconds run, predicted seconds); new children take 1.5 s.
    assert not worth_killing([(1.0, 2.0)], 1.5)  # 1 s left
    assert worth_killing([(1.0, 4.0)], 1.5)  # 3 s left
    assert worth_killing([(3.0, 2.0)], 1.5)  # past its prediction: as long again
    assert worth_killing([(2.0, math.nan)], 1.5)  # unknown: as long again
    assert not worth_killing([], 1.5)
    # Only once the time left is the final refit's reserve.
    assert not past_deadline([(1.0, 4.0)], 7.0, 10.0, 2.0, 1.5)
    assert past_deadline([(1.0, 4.0)], 8.5, 10.0, 2.0, 1.5)
    assert not past_deadline([(1.0, 4.0)], 8.5, None, 2.0, 1.5)


def test_a_budget_too_short_for_the_whole_file_gets_a_sample_it_can_prepare():
    from thrifty_tui.core.policy.sizing import (
        MIN_SAMPLE_ROWS,
        FileShape,
        budget_for_whole_file,
        rows_for_budget,
    )

    million = FileShape(1_000_000, 8)
    # A quarter of 5 s at 1.5 M cells a second: 234 k rows of 8 columns.
    assert rows_for_budget(million, 5.0) == 234_000
    assert rows_for_budget(million, 30.0) is None  # all rows fit
    assert rows_for_budget(million, None) is None  # no time budget: all rows
    assert rows_for_budget(None, 5.0) is None  # shape unknown (not delimited text)
    assert rows_for_budget(million, 0.01) == MIN_SAMPLE_ROWS
    assert rows_for_budget(million, -3.0) == MIN_SAMPLE_ROWS  # already past the budget
    assert rows_for_budget(FileShape(1_500, 8), 0.1) is None  # small files are read whole
    assert budget_for_whole_file(million) == pytest.approx(21.33, abs=0.01)


def test_the_lone_racing_leader_is_refit_early_on_the_idle_core():
    from thrifty_tui.core.policy.schedule import refit_early

    lone = ModelView("lone", 1, rung=1, partial={0: (0.7,) * 5, 1: (0.8, 0.8)})
    assert refit_early([lone], 1, True, 0.75) is lone  # leads what has finished
    assert refit_early([lone], 1, True, None) is lone  # nothing has finished yet
    assert refit_early([lone], 1, False, 0.75) is None  # its last folds are not all running
    assert refit_early([lone], 1, True, 0.85) is None  # it trails a finished model
    assert refit_early([lone, ModelView("other", 2, rung=1)], 1, True, 0.75) is None
    behind = ModelView("lone", 1, rung=0, partial={0: (0.8,) * 2})
    assert refit_early([behind], 1, True, 0.75) is None  # not on the last rung yet
    fresh = ModelView("lone", 1, rung=1, partial={0: (0.9,) * 5})
    assert refit_early([fresh], 1, True, 0.75) is fresh  # the rung below speaks for it


def test_a_fit_is_killed_past_the_cap_diagnostics_past_three_caps_the_refit_never():
    from thrifty_tui.core.policy.schedule import task_cap

    assert task_cap("fold", 10.0) == 10.0
    assert task_cap("diagnose", 10.0) == 30.0
    assert task_cap("refit", 10.0) is None
    assert task_cap("fold", None) is None
