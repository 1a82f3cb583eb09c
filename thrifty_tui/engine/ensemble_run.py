"""The mean of the leaders, after screening and tuning: its leaderboard row and final fit.

When two or more models cannot be told apart from the best, their mean often beats each of
them (cars: extra trees, RBF SVM and random forest, 0.9435 alone, 0.948 together). Its
cross-validated score needs no new fit: a child averages the members' saved out-of-fold
predictions on the same full-size folds (core/learn/ensemble.py). It is chosen only when its mean
score beats the best single model's, and only when every member's fit on all rows is predicted
to finish in what is left of the time budget; otherwise the best single model is kept, and
its row and the run's stop reason say why. Those rules are ``core/policy/mean.py``'s: this
module builds their snapshot (out-of-fold files, fits on all rows still to come, the clock),
carries their decisions out and writes the rows.

Only the standard library is used here: this code runs in the app's process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from thrifty_tui.core.errors import describe_error
from thrifty_tui.core.events import ModelDiagnosed, ModelScored, Notice
from thrifty_tui.core.policy import mean as policy
from thrifty_tui.core.policy.mean import (  # noqa: F401 - ensemble_name, PREFIX: its words
    PREFIX,
    MeanSnapshot,
    NoMean,
    SkipMean,
    ensemble_name,
)
from thrifty_tui.core.records import ModelResult
from thrifty_tui.core.store.bundle_report import diagnostics_path
from thrifty_tui.engine.context import Cancelled, JobContext

if TYPE_CHECKING:
    from thrifty_tui.core.learn.zoo import ModelSpec
    from thrifty_tui.engine.budget_guard import BudgetGuard
    from thrifty_tui.engine.screen_run import ScreenRun

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

    def snapshot(self, results: Sequence[ModelResult]) -> MeanSnapshot:
        """What the mean's rules (``core/policy/mean.py``) read: the rows, which models have
        all their out-of-fold files, their fits on all rows still to come, the clock."""
        full = {r.model for r in results if r.rows == self.n_rows
                and not r.model.startswith(PREFIX)}
        return MeanSnapshot(
            results=tuple(results), n_rows=self.n_rows, n_folds=self.run.n_folds,
            test_fraction=self.run.test_fraction,
            with_oof=frozenset(m for m in full if self.oof_files(m) is not None),
            refit_left=tuple((r.model, self._refit_left(r.model)) for r in results
                             if not r.model.startswith(PREFIX)),
            workers=self.ctx.executor.max_workers, wall_s=self.guard.budget.wall_s,
            elapsed_s=self.guard.elapsed())

    def _refit_left(self, model: str) -> float:
        """Predicted seconds of ``model``'s fit on all rows still to come: 0 when screening
        fitted it already, NaN when it was never measured."""
        return 0.0 if self.run.refit_path(model) else self.guard.refit_seconds(model)

    def reserve(self) -> float:
        """Seconds to keep, while tuning, for the mean of the current leaders
        (``policy.mean_reserve``)."""
        key = (len(self.run.results), self.run.refit_state)
        if self._reserve is None or self._reserve[0] != key:  # asked at every tuning poll
            self._reserve = (key, policy.mean_reserve(self.snapshot(self.run.results)))
        return self._reserve[1]

    # -- the row ----------------------------------------------------------------------------
    def consider(self, results: list[ModelResult]) -> list[ModelResult]:
        """Score the mean of the leaders from their out-of-fold predictions and add its row
        (skipped, with its score, when its members' final fits cannot finish in time)."""
        from thrifty_tui.core.tasks import ensemble as ensemble_tasks

        snap = self.snapshot(results)
        decision = policy.score_or_not(snap)
        if isinstance(decision, NoMean):
            return results  # fewer than two leaders, or no time for the mean
        members = decision.members
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
        judged = policy.judge_mean(replace(snap, elapsed_s=self.guard.elapsed()), members,
                                   sum(scores) / len(scores))
        if isinstance(judged, SkipMean):
            status, note = "skipped", judged.reason
            self.why_not = judged.why_not(name)
        else:
            status, note = "done", judged.note
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
        until = policy.fit_members_until(self.guard.deadline(),
                                         self.guard.budget.wall_s).until_s
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
        return policy.single_fallback(results, self.result)

    def amend(self, reason: str) -> str:
        """The run's stop reason, plus why a better-scoring mean was not used (if so)."""
        return f"{reason}; {self.why_not}" if self.why_not else reason
