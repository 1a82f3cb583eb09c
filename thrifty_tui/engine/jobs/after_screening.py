"""After screening: the finished models beaten by one the budget cut short are set aside,
the best of those cut short is refit when no model reached all rows, and the leaders are
tuned when asked and the budget allows (TuneRun). The rules are core/policy/final.py's; this
module applies them to the run's rows and events."""

from __future__ import annotations

from concurrent.futures import BrokenExecutor
from dataclasses import replace
from typing import TYPE_CHECKING

from thrifty_tui.core.events import ModelDiagnosed, ModelScored, Notice
from thrifty_tui.core.learn import tuning
from thrifty_tui.core.policy.budget import show_score
from thrifty_tui.core.policy.final_fit import tries_all_rows
from thrifty_tui.core.policy.final import (
    drop_beaten,
    partial_winner,
    score_at,
    tune_after_screening,
)
from thrifty_tui.core.records import ModelResult, best_result
from thrifty_tui.core.store.bundle_report import diagnostics_path
from thrifty_tui.core.tasks import fits as tasks
from thrifty_tui.engine.budget_guard import BudgetGuard
from thrifty_tui.engine.context import Cancelled
from thrifty_tui.engine.screen_run import ScreenRun
from thrifty_tui.engine.tune_run import TuneRun

if TYPE_CHECKING:
    from thrifty_tui.core.learn.zoo import ModelSpec


def after_screening(guard: BudgetGuard, run: ScreenRun, status: str, reason: str, problem_file: str,
                    specs: tuple[ModelSpec, ...], problem_key: str
                    ) -> tuple[str, str, list[ModelResult], tuple[ModelSpec, ...]]:
    """Tune the leaders when asked and the budget allows; returns (status, reason,
    results, extra specs) where an extra spec is the tuned best to refit."""
    guard.screen = run
    guard._observe_screen(run)
    results = list(run.results)
    if status == "done":
        results = drop_beaten_rows(guard, results)
    if status == "done" and best_result([r for r in results if not r.baseline]) is None:
        return _best_partial(guard, run, status, reason, results, specs)
    wanted = guard.job.tune if guard.job.tune is not None else guard.budget.wants_tuning
    if not tune_after_screening(status == "done", bool(guard.stop_rule), guard.wall_refused,
                                bool(wanted)):
        return status, reason, results, ()
    leaders = tuning.leaders(results, run.test_fraction, specs)
    if not leaders:
        guard.ctx.emit(Notice(message="nothing to tune: no leader has a search space"))
        return status, reason, results, ()

    guard.phase = "tuning"
    tune = TuneRun(guard, run, leaders, problem_file, problem_key)
    guard.tune = tune
    status, tune_reason = tune.execute()
    extra: tuple[ModelSpec, ...] = ()
    tuned = tune.best_tuned()
    if tuned is not None and status == "done":
        result, spec = tuned
        screened = best_result(results)
        if screened is None or result.mean > screened.mean:
            results.append(result)
            guard.ctx.ws.add_result(guard.run_id, result)
            guard.ctx.emit(ModelScored(run_id=guard.run_id, result=result,
                                         done=len(results), total=len(results)))
            extra = (spec,)
            _diagnose_tuned(guard, run, tune, spec, result)
    if status == "done" and not guard.stop_rule:
        reason = tune_reason
    return status, reason, results, extra


def _diagnose_tuned(guard: BudgetGuard, run: ScreenRun, tune: TuneRun, spec: ModelSpec,
                    result: ModelResult) -> None:
    """The tuned best's diagnostics from its trial's out-of-fold predictions, as for a
    screened model (the bundle's plots), when the time budget leaves room for them."""
    files = tune.oof_files(tune.best_trial) if tune.best_trial is not None else None
    if not files:
        return
    if guard.budget.wall_s is not None:
        guess = 2 * result.fit_seconds / max(1, len(result.fold_scores))
        if guard.elapsed() + guess + guard.refit_reserve() > guard.budget.wall_s:
            return  # no time: the row stays, without plots
    with guard.ticking("diagnostics"):
        try:
            diag = guard.ctx.wait(run.executor.submit(
                tasks.diagnose_task, run.problem_file, spec, files, result.learning_curve,
                str(diagnostics_path(run.run_dir, spec.name))))
        except Cancelled:
            return  # the cancel stays set: the final fit's wait reports it
        except Exception as err:  # noqa: BLE001 - plots are advice; the model stands
            if isinstance(err, BrokenExecutor):
                run.executor.kill()
            guard.ctx.emit(Notice(message=f"diagnostics of {spec.name} failed: {err}"))
            return
    guard.ctx.emit(ModelDiagnosed(run_id=guard.run_id, model=spec.name, diagnostics=diag))


def _best_partial(guard: BudgetGuard, run: ScreenRun, status: str, reason: str, results: list[ModelResult],
                  specs: tuple[ModelSpec, ...]
                  ) -> tuple[str, str, list[ModelResult], tuple[ModelSpec, ...]]:
    """No model but the baseline reached all rows before a rule stopped the run: rather
    than the baseline (or nothing), the best of the models cut short (``partial_winner``)
    is refit (its row says so)."""
    scored = [r for r in results if r.fold_scores and r.rows]
    # The baseline cut short only when no other model was scored at all (a budget too
    # short for anything but the baseline's first rung: policy.schedule.baseline_may_overrun).
    partial = [r for r in scored if not r.baseline] or [
        r for r in scored if r.status != "done"]
    if not partial:
        return status, reason, results, ()
    top = partial_winner(partial)
    rows = top.rows
    spec = next((s for s in specs if s.name == top.model), None)
    if spec is None:
        return status, reason, results, ()
    name = f"{top.model} (on {rows:,} rows)"
    fit_rows, guard.try_all_rows = guard.partial_fit_rows(top.model, rows, tuple(run.rungs))
    guard.cut_model = top.model
    final = replace(spec, name=name, fit_rows=fit_rows)
    fitted = ("" if fit_rows is None else
              f"; the final model is fitted on {fit_rows:,} rows, as many as the time "
              "left allowed" + (", or on all rows if that fit finishes within the budget"
                                if tries_all_rows(guard.final_fit_snapshot(final)) else ""))
    why = ("the budget ran out before it reached all rows, and it beat the models that "
           "did on the rows both were scored on" if any(
               r.rows >= guard.n_rows for r in partial if r is not top)
           else "the budget ran out before any model reached all rows")
    result = replace(top, model=name, status="done",
                     error=f"cross-validated on {rows:,} of {guard.n_rows:,} rows only: "
                           f"{why}{fitted}")
    results.append(result)
    guard.ctx.ws.add_result(guard.run_id, result)
    guard.ctx.emit(ModelScored(run_id=guard.run_id, result=result, done=len(results),
                                 total=len(results)))
    guard.note_score(name, result.fold_scores, result.baseline)
    return status, reason, results, (final,)


def drop_beaten_rows(guard: BudgetGuard, results: list[ModelResult]) -> list[ModelResult]:
    """Apply ``policy.final.drop_beaten``: finished models beaten by the model the budget
    cut short, when that one is the better bet, are restated as dropped."""
    if guard.screen is None:
        return results
    rungs = tuple(guard.screen.rungs)

    def final_rows_of(top: ModelResult) -> int:
        fit_rows = guard.partial_fit_rows(top.model, top.rows, rungs).rows
        return guard.n_rows if fit_rows is None else fit_rows

    def describe(top: ModelResult, beaten: ModelResult, rows: int) -> str:
        return (f"beaten by {top.model} on the {rows:,} rows both were scored on "
                f"({show_score(score_at(top, rows), guard.metric)} against "
                f"{show_score(score_at(beaten, rows), guard.metric)}), which the budget "
                "cut short")

    beaten = {d.model: d.why for d in drop_beaten(results, final_rows_of, describe)}
    out = []
    for r in results:
        new = (replace(r, status="dropped", error=beaten[r.model])
               if r.status == "done" and r.model in beaten else None)
        if new is not None:
            guard.ctx.ws.restate_result(guard.run_id, r.model, new.status, new.error)
            guard.ctx.emit(ModelScored(run_id=guard.run_id, result=new, done=len(results),
                                      total=len(results)))
        out.append(new or r)
    return out
