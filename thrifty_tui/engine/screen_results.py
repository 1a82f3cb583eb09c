"""The screening run's results: finished fits, failures, dead children, timeouts, final rows.

``ScreenRun`` (``engine/screen_run.py``) takes these methods; each records what a child
returned (or why it did not) and gives a model its one leaderboard row.
Only the standard library is used here: this code runs in the app's process.
"""

from __future__ import annotations

import math
import statistics
from concurrent.futures import BrokenExecutor, Future
from typing import Any

from thrifty_tui.core.errors import describe_error
from thrifty_tui.core.events import LeaderTies, ModelDiagnosed, ModelScored, ModelUpdate, Notice
from thrifty_tui.core.policy.decide import Timeout
from thrifty_tui.core.policy.stats import indistinguishable
from thrifty_tui.core.records import FoldResult, ModelResult
from thrifty_tui.engine.screen_state import Candidate, Task


class Results:
    """``ScreenRun``'s methods that take in what the children returned (they read and write
    the run's attributes, set in ``ScreenRun.__init__``)."""

    def _handle_done(self, done: set[Future]) -> None:
        broken: list[Task] = []
        for future in done:
            task, _ = self.running.pop(future)
            try:
                value = future.result()
            except BrokenExecutor:
                broken.append(task)
                continue
            except Exception as err:  # noqa: BLE001 - a failing task fails its model only
                self._task_failed(task, describe_error(err))
                continue
            if task.kind == "diagnose":
                self._diagnosed(task.candidate, value)
            elif task.kind == "refit":
                self._refitted(task.candidate, *value)
            else:
                self._fold_done(task, value)
        if broken:
            self._pool_died(broken)

    def _task_failed(self, task: Task, error: str) -> None:
        cand = task.candidate
        if task.kind == "refit":  # the worker fits it again and reports the error
            self.refit_state = "failed"
        elif task.kind == "diagnose":
            cand.diagnosis = "failed"
            self.ctx.emit(Notice(message=f"diagnostics of {cand.spec.name} failed: {error}"))
        elif not cand.final:
            self._finalize(cand, "failed", error)

    def _pool_died(self, broken: list[Task]) -> None:
        """A child died: every task on the pool is lost. Retry them one at a time."""
        broken += [t for t, _ in self.running.values()]
        self.running.clear()
        self.executor.kill()
        if len(broken) == 1:
            task = broken[0]
            reason = "its process died (out of memory or a crash in native code)"
            if task.kind in ("diagnose", "refit"):
                self._task_failed(task, reason)
            elif not task.candidate.final:
                self._finalize(task.candidate, "failed", reason)
        else:
            self.retry_alone += broken

    def _refitted(self, cand: Candidate, model_path: str, own_score: float) -> None:
        """The best model fitted on all rows; a Notice if it scores far below its CV."""
        if cand is not self.refit_candidate:
            return  # a speculative refit of a model that did not end up best
        self.refit_state, self.model_path = "done", model_path
        self.refit_own_score = own_score
        self._check_collapse(cand)

    def _check_collapse(self, cand: Candidate) -> None:
        """Once the refit model and its cross-validated row both exist."""
        from thrifty_tui.core.tasks.fits import refit_collapsed

        own_score = self.refit_own_score
        result = next((r for r in self.results if r.model == cand.spec.name), None)
        if result is None or math.isnan(own_score):
            return
        baselines = [r.mean for r in self.results
                     if r.baseline and r.status == "done" and r.fold_scores]
        baseline = max(baselines) if baselines else None
        if result is not None and refit_collapsed(result.mean, own_score, baseline):
            against = f", baseline {baseline:.4f}" if baseline is not None else ""
            self.ctx.emit(Notice(message=(
                f"check {cand.spec.name}: fitted on all {self.rungs[-1]:,} rows it scores "
                f"{own_score:.4f} on its own rows, far below its cross-validated "
                f"{result.mean:.4f}{against}; the fit on all rows may have collapsed (no "
                "convergence, a constant prediction): compare with the runner-up before "
                "using it")))

    def _diagnosed(self, cand: Candidate, diag: Any) -> None:
        cand.diagnosis = "done"
        self.ctx.emit(ModelDiagnosed(run_id=self.run_id, model=cand.spec.name,
                                        diagnostics=diag))

    def _fold_done(self, task: Task, result: FoldResult) -> None:
        cand = task.candidate
        self.fits_done += 1
        if cand.final:
            return
        if result.status != "done":
            self._finalize(cand, "oom" if result.status == "oom" else "failed", result.error)
            return
        cand.folds.setdefault(task.rung, {})[task.fold] = result
        if len(cand.folds[task.rung]) < self.n_folds_at(task.rung):
            return
        scores = cand.rung_scores(task.rung)
        last = task.rung == len(self.rungs) - 1
        if last:
            self._finalize(cand, "done", "")
            return
        self.ctx.emit(ModelUpdate(
            run_id=self.run_id, model=cand.spec.name, status="racing", rung=task.rung,
            n_rungs=len(self.rungs), rows=self.rungs[task.rung], mean=statistics.fmean(scores),
            std=statistics.pstdev(scores)))
        cand.rung += 1  # (the policy drops it first if it is clearly worse: policy.decide)

    def _timed_out(self, late: list[Timeout]) -> None:
        """Tasks ran past their cap (``policy.schedule.task_cap``). A thread cannot be stopped,
        a process can: kill the children, re-run the innocent."""
        keys = {(d.kind, d.model, d.rung, d.fold) for d in late}
        found = {f: t for f, (t, _) in self.running.items()
                 if (t.kind, t.candidate.spec.name, t.rung, t.fold) in keys}
        innocent = [t for f, (t, _) in self.running.items() if f not in found]
        self.running.clear()
        self.executor.kill()
        for task in found.values():
            if task.kind == "diagnose":
                self._task_failed(task, f"diagnostics took longer than {3 * self.cap:g} s")
            elif not task.candidate.final:
                self._finalize(task.candidate, "timeout",
                               f"a fit on {self.rungs[task.rung]:,} rows ran past the "
                               f"{self.cap:g} s cap and was stopped", keep_partial=True)
        for task in innocent:  # their folds simply run again: nothing of theirs was recorded
            if task.kind == "diagnose" and task.candidate.diagnosis == "running":
                task.candidate.diagnosis = "pending"
            if task.kind == "refit" and self.refit_state == "running":
                self.refit_state = "pending"

    def _finalize(self, cand: Candidate, status: str, reason: str,
                  keep_partial: bool = False) -> None:
        """Give ``cand`` its one final leaderboard row."""
        cand.status = status
        cand.reason = reason
        complete = [r for r in sorted(cand.folds)
                    if len(cand.folds[r]) == self.n_folds_at(r)]
        rung = complete[-1] if complete else None
        scores = tuple(cand.rung_scores(rung)) if rung is not None and (
            status == "done" or keep_partial) else ()
        fits = [f for rung_folds in cand.folds.values() for f in rung_folds.values()]
        result = ModelResult(
            model=cand.spec.name, status=status, fold_scores=scores,
            fit_seconds=round(sum(f.fit_seconds for f in fits), 3), error=reason,
            params=tuple((k, str(v)) for k, v in getattr(cand.spec.build, "keywords", {}).get(
                "params", ())), baseline=cand.spec.baseline, tier=cand.spec.tier,
            rows=self.rungs[rung] if rung is not None else 0,
            cpu_seconds=round(sum(f.cpu_seconds for f in fits), 3),
            peak_mb=round(max((f.peak_mb for f in fits), default=0.0), 1),
            learning_curve=self.learning_curve(cand))
        self.results.append(result)
        self.ctx.ws.add_result(self.run_id, result)
        self.ctx.emit(ModelScored(run_id=self.run_id, result=result,
                                     done=len(self.results), total=len(self.candidates)))
        if status == "done":
            cand.diagnosis = "pending"
            self._emit_ties()
            if cand is self.refit_candidate and self.refit_state == "done":
                self._check_collapse(cand)  # its speculative refit finished first

    def _emit_ties(self) -> None:
        done = [r for r in self.results if r.status == "done" and r.fold_scores]
        if not done:
            return
        leader = max(done, key=lambda r: r.mean)
        ties = tuple(r.model for r in done if r is not leader and len(r.fold_scores) == len(
            leader.fold_scores) and indistinguishable(leader.fold_scores, r.fold_scores,
                                                      self.test_fraction))
        self.ctx.emit(LeaderTies(run_id=self.run_id, leader=leader.model, ties=ties))
