"""The tuning scheduler (``core/policy/tune.next_tuning_decisions``) on hand-made snapshots: no
processes, no clock. Each rule has a test here that fails without it
(``benchmarks/policy_mutations.py``)."""

from __future__ import annotations

import math

from thrifty_tui.core.policy.budget import Budget, History
from thrifty_tui.core.policy.snapshot import (
    Done,
    Fit,
    Kill,
    NewBracket,
    NoBracket,
    Promote,
    Skip,
    Stop,
)
from thrifty_tui.core.policy.tune import (
    BracketState,
    TrialState,
    TuneSnapshot,
    next_tuning_decisions,
)

ROWS = (1_000, 3_000, 9_000)  # the screening rungs; tuning runs on all three


def _snap(*brackets: BracketState, **kw) -> TuneSnapshot:
    base = dict(rungs=(0, 1, 2), rows=ROWS, folds_at=(1, 1, 1), workers=2, running=0,
                elapsed_s=1.0, budget=Budget(wall_s=30.0), leader_points=(
                    ("hgb", ((1_000, 0.2),)), ("svm", ((1_000, 0.4),))))
    base.update(kw)
    return TuneSnapshot(brackets=tuple(brackets), **base)


def _finished(leader: str, scores: list[float], rung: int = 0, index: int = 0,
              position: int = 0) -> BracketState:
    """A bracket whose trials all finished ``rung`` with these mean scores (NaN: failed)."""
    trials = tuple(TrialState(leader, n, cost=float(n), rung=rung, means=((rung, s),),
                              submitted=frozenset({0})) for n, s in enumerate(scores))
    return BracketState(leader, index, position, trials)


def test_a_complete_rung_promotes_its_best_third_and_never_a_failed_trial():
    scores = [0.70, 0.81, math.nan, 0.75, 0.80, 0.60, 0.79, 0.72, 0.90]
    out = next_tuning_decisions(_snap(_finished("hgb", scores)))
    assert out == (Promote("hgb", 0, (1, 4, 8)),)  # 9 entered: the best 3, in bracket order
    # Only failures but one: the one that finished goes on alone.
    out = next_tuning_decisions(_snap(_finished("hgb", [math.nan, 0.5, math.nan])))
    assert out == (Promote("hgb", 0, (1,)),)
    # A trial still running its rung holds the bracket: its folds are waited for, not promoted.
    waiting = _finished("hgb", [0.7, 0.8])
    waiting = BracketState("hgb", 0, 0, (waiting.trials[0], TrialState(
        "hgb", 1, 1.0, rung=0, submitted=frozenset({0}))))
    assert next_tuning_decisions(_snap(waiting, running=1)) == ()


def test_a_finished_bracket_gets_a_successor_only_while_a_first_fit_could_start():
    last = _finished("hgb", [0.8], rung=2, position=2)
    # 28.5 s left: hgb's first-rung fit (0.2 s) fits: a new bracket.
    assert next_tuning_decisions(_snap(last)) == (Promote("hgb", 0, (0,)), NewBracket("hgb"))
    # 0.3 s left after the final refit's reserve: svm's 0.4 s first-rung fit does not fit.
    late = _finished("svm", [0.8], rung=2, position=2)
    out = next_tuning_decisions(_snap(late, elapsed_s=28.7, reserve_s=1.0))
    assert out == (Promote("svm", 0, (0,)), NoBracket("svm"))
    # The fit limit is reached: the search stops instead.
    out = next_tuning_decisions(_snap(last, budget=Budget(wall_s=30.0, max_fits=20),
                                      fits_started=20))
    assert out[:2] == (Promote("hgb", 0, (0,)), Stop("max_fits"))
    # A done rule already met: no new bracket.
    assert next_tuning_decisions(_snap(last, stop_rule="target"))[0] == Promote("hgb", 0, (0,))
    assert NewBracket("hgb") not in next_tuning_decisions(_snap(last, stop_rule="target"))


def test_without_a_limit_each_leader_gets_two_brackets():
    first = _finished("hgb", [0.8], rung=2, position=2)
    unbounded = dict(budget=Budget(), bounded=False)
    assert next_tuning_decisions(_snap(first, **unbounded))[1] == NewBracket("hgb")
    second = _finished("hgb", [0.8], rung=2, index=1, position=2)
    done = BracketState("hgb", 0, 3, first.trials)
    assert next_tuning_decisions(_snap(done, second, **unbounded)) == (
        Promote("hgb", 1, (0,)),)
    # With a limit they go on while it allows.
    assert next_tuning_decisions(_snap(done, second))[1] == NewBracket("hgb")


def test_brackets_opened_in_this_turn_wait_for_the_next():
    a = _finished("hgb", [0.8, 0.7], index=0)
    b = _finished("svm", [0.6, 0.9], index=0)
    assert next_tuning_decisions(_snap(a, b, advance_upto=1)) == (Promote("hgb", 0, (0,)),)
    out = next_tuning_decisions(_snap(BracketState("hgb", 0, 3, ()), b, advance_upto=1))
    assert not any(isinstance(d, Promote) for d in out)


def test_folds_go_bracket_by_bracket_small_rungs_and_cheap_configurations_first():
    # hgb's second bracket, svm's first, and hgb's first on its second rung.
    hgb_first = BracketState("hgb", 0, 1, (TrialState("hgb", 5, 2.0, rung=1),))
    hgb_second = BracketState("hgb", 1, 0, (TrialState("hgb", 9, 0.1, rung=0),))
    svm_first = BracketState("svm", 0, 0, (TrialState("svm", 0, 3.0, rung=0),
                                           TrialState("svm", 1, 1.0, rung=0)))
    out = next_tuning_decisions(_snap(hgb_second, hgb_first, svm_first, workers=4))
    assert [(d.model, d.rung) for d in out] == [("svm #1", 0), ("svm #0", 0), ("hgb #5", 1),
                                                ("hgb #9", 0)]
    # Only the free workers are filled; the predicted seconds come with each fit.
    out = next_tuning_decisions(_snap(hgb_second, hgb_first, svm_first, running=1))
    assert out == (Fit("svm #1", 0, 0),)
    assert out[0].predicted_s == 0.4


def test_a_trial_that_cannot_finish_in_time_is_set_out_and_cheaper_ones_still_tried():
    # 5 s left after the reserve; hgb #0 measured 2 s on 1,000 rows (3,000 rows: 7.5 s),
    # hgb #1 not measured yet: hgb's 0.2 s from screening (3,000 rows: 0.75 s).
    slow = TrialState("hgb", 0, 1.0, rung=1, points=((1_000, 2.0),))
    fresh = TrialState("hgb", 1, 2.0, rung=1)
    out = next_tuning_decisions(_snap(BracketState("hgb", 0, 1, (slow, fresh)), elapsed_s=24.0,
                                      reserve_s=1.0))
    assert [type(d) for d in out] == [Skip, Fit]
    assert (out[0].model, out[0].rule) == ("hgb #0", "wall") and out[1].model == "hgb #1"
    # At the fit limit nothing starts and, with nothing in flight, the search is over.
    out = next_tuning_decisions(_snap(BracketState("hgb", 0, 1, (fresh,)), fits_started=10,
                                      budget=Budget(max_fits=10)))
    assert out == (Stop("max_fits"), Done())


def test_the_search_is_over_when_nothing_is_left_to_start_or_wait_for():
    over = BracketState("hgb", 0, 3, _finished("hgb", [0.8], rung=2).trials)
    assert next_tuning_decisions(_snap(over)) == (Done(),)
    assert next_tuning_decisions(_snap(over, running=1)) == ()  # its last fits are awaited
    ready = BracketState("hgb", 1, 0, (TrialState("hgb", 9, 0.1, rung=0),))
    assert next_tuning_decisions(_snap(over, ready, stop_rule="target")) == (Done(),)


def test_after_a_wait_a_done_rule_stops_the_search_and_kills_long_fits():
    history = History(metric="accuracy", elapsed_s=5.0, fits=12, trace=((4.0, 12, 0.93),))
    budget = Budget(wall_s=30.0, target_score=0.9)
    polled = dict(polled=True, budget=budget, history=history, elapsed_s=5.0)
    # A fit predicted to need 4 s more: longer than new children (1.5 s): killed.
    out = next_tuning_decisions(_snap(running=1, flying=((1.0, 5.0),), **polled))
    assert out == (Stop("target"), Kill(stopped=True))
    # One about to end is waited for.
    assert next_tuning_decisions(_snap(running=1, flying=((4.5, 5.0),), **polled)) == (
        Stop("target"),)
    # Not met: nothing.
    unmet = History(metric="accuracy", elapsed_s=5.0, fits=12, trace=((4.0, 12, 0.85),))
    assert next_tuning_decisions(_snap(running=1, flying=((1.0, 5.0),),
                                       **{**polled, "history": unmet})) == ()


def test_past_the_deadline_less_the_reserve_the_fits_in_flight_are_killed():
    polled = dict(polled=True, running=1, reserve_s=2.0, restart_s=1.5)
    assert next_tuning_decisions(_snap(elapsed_s=28.5, flying=((1.0, 5.0),), **polled)) == (
        Kill(),)
    assert next_tuning_decisions(_snap(elapsed_s=27.0, flying=((1.0, 5.0),), **polled)) == ()
    # One that ends before new children would be ready is left to end.
    assert next_tuning_decisions(_snap(elapsed_s=28.5, flying=((4.0, 5.0),), **polled)) == ()
