"""The final fit's ladder (``core/policy/final_fit.next_final_fit_decisions``) on hand-made
snapshots: no processes, no clock. Each rule has a test here that fails without it
(``benchmarks/policy_mutations.py``)."""

from __future__ import annotations

from dataclasses import replace

from thrifty_tui.core.policy.final_fit import FinalFitSnapshot, next_final_fit_decisions
from thrifty_tui.core.policy.snapshot import Done, FinalFit, GiveUp, Keep

SIZES = (11_047, 33_143, 99_430, 298_291)  # births' racing sizes
N_ROWS = 298_291
HGB = ((11_047, 0.6),)  # HGB's measured fit; growth 0.5

CUT = FinalFitSnapshot(sure_rows=33_143, n_rows=N_ROWS, wall_s=10.0, elapsed_s=6.0, workers=2,
                       beside=True, sizes=SIZES, points=HGB, growth=0.5)
# The sure fit on 33 k rows ended in 1.3 s; all rows run on the other core.
RACING = replace(CUT, started=True, all_rows="running", kept_rows=33_143, kept_s=1.3)


def test_a_model_cut_short_is_also_fitted_on_all_rows_beside_its_sure_fit():
    assert next_final_fit_decisions(CUT) == (FinalFit(None, "all"), FinalFit(33_143, "sure"))
    # Not when the sure fit is itself not predicted in time, nor with one core, nor without a
    # time budget; a model that finished is fitted once on all rows.
    alone = (FinalFit(33_143, "sure"),)
    assert next_final_fit_decisions(replace(CUT, beside=False)) == alone
    assert next_final_fit_decisions(replace(CUT, workers=1)) == alone
    assert next_final_fit_decisions(replace(CUT, wall_s=None)) == alone
    assert next_final_fit_decisions(replace(CUT, sure_rows=None)) == (FinalFit(None, "sure"),)


def test_the_freed_core_climbs_the_racing_sizes_while_each_is_predicted_in_time():
    # 4 s left: 99 k rows predicted at 1.0 s and 0.5 s of overhead: started.
    assert next_final_fit_decisions(RACING) == (FinalFit(99_430, "step"),)
    # 1.4 s left: not; all rows are still awaited.
    assert next_final_fit_decisions(replace(RACING, elapsed_s=8.6)) == ()
    # The 99 k fit ended (3 s): it is the model now; only all rows are larger, not a step.
    ended = replace(RACING, elapsed_s=7.0, step="done", step_rows=99_430, step_s=3.0)
    assert next_final_fit_decisions(ended) == (Keep("step", 99_430),)
    # A size that failed ends the ladder (the last one kept stands).
    failed = replace(RACING, step="failed", step_rows=99_430)
    assert next_final_fit_decisions(failed) == ()
    assert next_final_fit_decisions(replace(failed, all_rows="failed")) == (Done(),)


def test_a_fit_on_all_rows_that_ended_is_kept_over_any_smaller_one():
    both = replace(RACING, all_rows="done", step="done", step_rows=99_430, step_s=2.0)
    assert next_final_fit_decisions(both) == (Keep("all", N_ROWS),)
    running = replace(RACING, all_rows="done", step="running", step_rows=99_430)
    assert next_final_fit_decisions(running) == (Keep("all", N_ROWS),)


def test_at_the_end_of_the_budget_the_fits_still_running_are_given_up():
    assert next_final_fit_decisions(replace(RACING, elapsed_s=10.0)) == (GiveUp(),)
    late_step = replace(RACING, elapsed_s=10.2, all_rows="failed", step="running",
                        step_rows=99_430)
    assert next_final_fit_decisions(late_step) == (GiveUp(),)
    # A size that ended just then is kept first.
    ended = replace(late_step, step="done", step_s=3.5)
    assert next_final_fit_decisions(ended) == (Keep("step", 99_430), Done())
    ended_all_running = replace(ended, all_rows="running")
    assert next_final_fit_decisions(ended_all_running) == (Keep("step", 99_430), GiveUp())
    # Before the end, the fits are awaited.
    assert next_final_fit_decisions(replace(late_step, elapsed_s=9.9)) == ()
