"""The mean of the leaders, after screening and tuning: its leaderboard row and final fit.

When two or more models cannot be told apart from the best, their mean often beats each of
them (cars: extra trees, RBF SVM and random forest, 0.9435 alone, 0.948 together). Its
cross-validated score needs no new fit: a child averages the members' saved out-of-fold
predictions on the same full-size folds (core/learn/ensemble.py). It is chosen only when its mean
score beats the best single model's, and only when every member's fit on all rows is predicted
to finish in what is left of the time budget; otherwise the best single model is kept, and
its row and the run's stop reason say why.

Only the standard library is used here: this code runs in the app's process.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from thrifty_tui.core.errors import describe_error
from thrifty_tui.core.events import ModelDiagnosed, ModelScored, Notice
from thrifty_tui.core.records import ModelResult, best_result
from thrifty_tui.core.learn.tuning import tied_with_best
from thrifty_tui.core.policy.final import (
    ASSEMBLE_S,
    SCORE_MEAN_S,
    may_score_mean,
    mean_fits_in_time,
    refit_makespan,
)
from thrifty_tui.core.store.bundle_report import diagnostics_path
from thrifty_tui.engine.context import Cancelled, JobContext

if TYPE_CHECKING:
    from thrifty_tui.core.learn.zoo import ModelSpec
    from thrifty_tui.engine.budget_guard import BudgetGuard
    from thrifty_tui.engine.screen_run import ScreenRun

MAX_MEMBERS = 3
PREFIX = "mean of "


def ensemble_name(members: Sequence[str]) -> str:
    """The leaderboard name of the mean of ``members``."""
    return PREFIX + " + ".join(members)


class MeanOfLeaders:
    """The ensemble candidate of one Screen job: members, leaderboard row, final fit."""

    def __init__(self, ctx: JobContext, guard: BudgetGuard, run: ScreenRun, problem_file: str):
        self.ctx, self.guard, self.run = ctx, guard, run
        self.problem_file = problem_file
        self.n_rows = int(run.rungs[-1])
        self.result: ModelResult | None = None
        self.members: tuple[ModelResult, ...] = ()
        self.why_not = ""  # why a better-scoring mean was not used (for the stop reason)
        self._reserve: tuple[tuple[int, str], float] | None = None

    # -- who --------------------------------------------------------------------------------
    def oof_files(self, model: str) -> list[str] | None:
        """The model's out-of-fold files on the full-size folds, if this run wrote them all."""
        run = self.run
        cand = next((c for c in run.candidates if c.spec.name == model), None)
        if cand is not None:
            files = [run.oof_file(cand, k) for k in range(run.n_folds)]
            return files if all(Path(f).is_file() for f in files) else None
        tune = self.guard.tune
        if tune is not None and tune.best_trial is not None and model.endswith(" (tuned)"):
            return tune.oof_files(tune.best_trial)
        return None

    def pick(self, results: Sequence[ModelResult]) -> tuple[ModelResult, ...]:
        """The best model cross-validated on all rows and those that cannot be told apart from
        it (at most MAX_MEMBERS, best first); () unless there are two. A tuned model stands in
        for its own untuned row (the two are nearly the same model)."""
        full = [r for r in results if r.rows == self.n_rows and not r.model.startswith(PREFIX)
                and len(r.fold_scores) == self.run.n_folds]
        tuned = {r.model.removesuffix(" (tuned)") for r in full if r.model.endswith(" (tuned)")}
        full = [r for r in full if r.model not in tuned]
        picked = [r for r in tied_with_best(full, self.run.test_fraction)
                  if self.oof_files(r.model) is not None][:MAX_MEMBERS]
        return tuple(picked) if len(picked) >= 2 else ()

    def refit_seconds(self, members: Sequence[ModelResult]) -> float:
        """Predicted wall seconds of the members' fits on all rows on the children (a member
        the run already fitted on all rows costs nothing), plus putting them together."""
        each = [self._refit_left(m.model) for m in members]
        return refit_makespan(each, self.ctx.executor.max_workers) + ASSEMBLE_S

    def _refit_left(self, model: str) -> float:
        """Predicted seconds of ``model``'s fit on all rows still to come: 0 when screening
        fitted it already, NaN when it was never measured."""
        return 0.0 if self.run.refit_path(model) else self.guard.refit_seconds(model)

    def _single_refit_left(self, best: ModelResult | None) -> float:
        """The best single model's fit on all rows still to come (0 when done or unmeasured)."""
        seconds = 0.0 if best is None else self._refit_left(best.model)
        return 0.0 if math.isnan(seconds) else seconds

    def reserve(self) -> float:
        """Seconds to keep, while tuning, for scoring the mean of the current leaders and
        fitting them all on all rows (0 when they are fewer than two)."""
        key = (len(self.run.results), self.run.refit_state)
        if self._reserve is None or self._reserve[0] != key:  # asked at every tuning poll
            members = self.pick(self.run.results)
            seconds = self.refit_seconds(members) if members else math.nan
            self._reserve = (key, 0.0 if math.isnan(seconds) else SCORE_MEAN_S + seconds)
        return self._reserve[1]

    # -- the row ----------------------------------------------------------------------------
    def consider(self, results: list[ModelResult]) -> list[ModelResult]:
        """Score the mean of the leaders from their out-of-fold predictions and add its row
        (skipped, with its score, when its members' final fits cannot finish in time)."""
        from thrifty_tui.core.tasks import ensemble as ensemble_tasks

        members = self.pick(results)
        wall = self.guard.budget.wall_s
        if not members or not may_score_mean(
                self.guard.elapsed(), self._single_refit_left(best_result(results)), wall):
            return results  # scoring it would push the best model's own fit past the budget
        names = [m.model for m in members]
        name = ensemble_name(names)
        out = [str(self.run.run_dir / "oof" / f"mean-of-leaders-fold{k}.npz")
               for k in range(self.run.n_folds)]
        with self.guard.ticking("ensemble"):
            value = self.ctx.wait(self.run.executor.submit(
                ensemble_tasks.score_mean, self.problem_file,
                [self.oof_files(n) for n in names], out, name,
                str(diagnostics_path(self.run.run_dir, name))))
        if value is None:
            self.ctx.emit(Notice(message=(
                f"no mean of {' + '.join(names)}: every member needs class probabilities")))
            return results
        scores, diagnostics = value
        status, note = "done", "the mean of its members' predictions; no fit of its own"
        seconds = self.refit_seconds(members)
        left = math.inf if wall is None else wall - self.guard.elapsed()
        single = best_result(results)
        better = single is None or sum(scores) / len(scores) > single.mean
        if better and not mean_fits_in_time(seconds, None if wall is None else left):
            status = "skipped"
            note = (f"its members' fits on all rows, predicted {seconds:.1f} s, do not fit in "
                    f"the {max(left, 0.0):.1f} s left of the budget")
            self.why_not = f"the {name} scored best but was not fitted: {note}"
        result = ModelResult(
            model=name, status=status, fold_scores=tuple(scores),
            fit_seconds=round(sum(m.fit_seconds for m in members), 3), error=note,
            params=(("members", ", ".join(names)),
                    ("combine", "mean of class probabilities"
                     if self.run.summary.task == "classification" else "mean prediction")),
            tier=max(m.tier for m in members), rows=self.n_rows,
            cpu_seconds=round(sum(m.cpu_seconds for m in members), 3),
            peak_mb=max(m.peak_mb for m in members))
        self.result, self.members = result, members
        results = [*results, result]
        self.ctx.ws.add_result(self.run.run_id, result)
        self.ctx.emit(ModelScored(run_id=self.run.run_id, result=result, done=len(results),
                                     total=len(results)))
        self.ctx.emit(ModelDiagnosed(run_id=self.run.run_id, model=name,
                                        diagnostics=diagnostics))
        if status == "done":
            self.guard.note_score(name, result.fold_scores)
        else:
            self.ctx.emit(Notice(message=self.why_not + "; the best single model is used"))
        return results

    def chosen(self, best: ModelResult | None) -> bool:
        """Whether ``best`` is this run's mean of the leaders."""
        return best is not None and self.result is not None and best is self.result

    # -- the final fit ----------------------------------------------------------------------
    def final_fit(self, specs: Sequence[ModelSpec], results: Sequence[ModelResult]
                  ) -> tuple[str, ModelResult] | None:
        """Fit every member on all rows (side by side on the children) and save their mean:
        (model file, the mean's row). When a member fails or the fits run past the budget (a
        Notice says so), the best single model instead: (its file, its row) if screening
        fitted it on all rows already, else None and the worker fits it."""
        from thrifty_tui.core.tasks import fits as tasks
        from thrifty_tui.core.store.bundle_report import model_slug
        from thrifty_tui.core.tasks import ensemble as ensemble_tasks

        run, pool = self.run, self.ctx.executor
        by_name = {s.name: s for s in specs}
        files = [run.refit_path(m.model)
                 or str(run.run_dir / f"member-{model_slug(m.model)}.joblib")
                 for m in self.members]
        deadline = self.guard.deadline()
        # Past the budget, a little of the 5 % allowance; the best single model's fit then
        # still has the rest (or was done already, during screening).
        until = None if deadline is None else deadline + 0.02 * (self.guard.budget.wall_s or 0)
        try:
            futures = [pool.submit(tasks.refit_model, self.problem_file, by_name[m.model], f)
                       for m, f in zip(self.members, files, strict=True)]
            for future in futures:
                self.ctx.wait(future, until=until)
            target = str(run.run_dir / "mean-of-leaders.joblib")
            path = self.ctx.wait(pool.submit(
                ensemble_tasks.assemble, files,
                [m.model for m in self.members], run.summary.task, target), until=until)
            assert self.result is not None
            return path, self.result
        except TimeoutError:
            pool.kill()
            why = "its members' fits on all rows ran past the budget"
        except Cancelled:
            raise
        except Exception as err:  # noqa: BLE001 - the best single model stands in
            pool.kill()
            why = f"a member's fit on all rows failed ({describe_error(err)})"
        self.why_not = f"the {self.result.model if self.result else 'mean'} was not used: {why}"
        self.ctx.emit(Notice(message=self.why_not + "; the best single model is used"))
        single = self.fallback(results)
        # Its file from the screening needs no child (new ones take seconds to start).
        fitted = run.refit_path(single.model) if single is not None else ""
        return (fitted, single) if fitted and single is not None else None

    def fallback(self, results: Sequence[ModelResult]) -> ModelResult | None:
        """The best single model, when the mean was best but could not be fitted."""
        return best_result([r for r in results if r is not self.result])

    def amend(self, reason: str) -> str:
        """The run's stop reason, plus why a better-scoring mean was not used (if so)."""
        return f"{reason}; {self.why_not}" if self.why_not else reason
