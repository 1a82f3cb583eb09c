"""The screening run's link to the policy: the snapshot it reads, and its decisions carried out.

``ScreenRun`` (``engine/screen_run.py``) takes these methods; ``policy.decide.next_decisions``
reads the snapshot built here and answers with frozen decisions, which ``_carry_out`` does
(submit a fold fit, the final refit or diagnostics to a child; finalize a row; stop; kill).
Only the standard library is used here: this code runs in the app's process.
"""

from __future__ import annotations

import time

from thrifty_tui.core.events import ModelStarted
from thrifty_tui.core.policy.budget import Budget
from thrifty_tui.core.policy.decide import (
    Decision,
    Diagnose,
    Drop,
    Fit,
    Flight,
    Kill,
    ModelState,
    NoDiagnostics,
    QueueRefit,
    Refit,
    Skip,
    Snapshot,
    Stop,
    Timeout,
    next_decisions,
)
from thrifty_tui.core.policy.schedule import ModelView
from thrifty_tui.engine.screen_state import Candidate, Task


class Decisions:
    """``ScreenRun``'s methods that ask the policy and carry its decisions out (they read and
    write the run's attributes, set in ``ScreenRun.__init__``)."""

    def _fill(self) -> None:
        if self.retry_alone:  # after a crash: one task at a time finds the culprit
            if not self.running:
                self._submit(self.retry_alone.pop(0))
            return
        decisions = next_decisions(self.snapshot())
        late = [d for d in decisions if isinstance(d, Timeout)]
        if late:  # (the policy decides nothing else in the same breath)
            self._timed_out(late)
            return
        for decision in decisions:
            self._carry_out(decision)

    def snapshot(self) -> Snapshot:
        """What the policy reads of this run now (``policy.decide.Snapshot``)."""
        now = time.monotonic()
        guard = self.guard
        free = self.executor.max_workers - len(self.running) - len(self.warming)
        if guard is not None:
            guard.observe(self, ready=free > 0)
        dearest = tuple(max((f.fit_seconds for c in self.candidates
                             for f in c.folds.get(r, {}).values()), default=0.0)
                        for r in range(len(self.rungs)))
        refit = self.refit_candidate
        return Snapshot(
            models=tuple(ModelState(self.view(c), c.order, frozenset(c.folds.get(c.rung, {})),
                                    c.diagnosis) for c in self.candidates),
            rungs=tuple(self.rungs), folds_at=tuple(self.n_folds_at(r)
                                                    for r in range(len(self.rungs))),
            n_rows=int(self.summary.n_rows), n_folds=self.n_folds,
            workers=self.executor.max_workers, free_slots=free, elapsed_s=self.elapsed(),
            budget=guard.budget if guard is not None else Budget(),
            history=guard.history() if guard is not None else None,
            stop_rule=guard.stop_rule if guard is not None else "",
            flights=tuple(Flight(t.kind, t.candidate.spec.name, t.rung, t.fold, now - since)
                          for t, since in self.running.values()),
            results=tuple(self.results), cap_s=self.cap, cap_mb=self.job.max_memory_mb,
            restart_s=guard.restart_s if guard is not None else 1.5, dearest_s=dearest,
            refit_state=self.refit_state, refit_model=refit.spec.name if refit else "",
            leader_ahead=self.job.budget_s is not None, **self.calibration.fields())

    def _carry_out(self, decision: Decision) -> None:
        """Do what the policy decided (``policy.decide``)."""
        by_name = {c.spec.name: c for c in self.candidates}
        guard = self.guard
        match decision:
            case Fit(model=model, rung=rung, fold=fold):
                self._submit(Task("fold", by_name[model], rung, fold))
            case Skip(model=model, why=why, rule=rule):
                if rule:
                    self.stop_reason = f"budget of {self.job.budget_s:g} s spent"
                if rule == "wall" and guard is not None:
                    guard.wall_refused = True
                self._finalize(by_name[model], "skipped", why or self.stop_reason,
                               keep_partial=True)
            case Drop(model=model, leader=leader, rows=rows):
                self._finalize(by_name[model], "dropped",
                               f"clearly worse than {leader} on {rows:,} rows", keep_partial=True)
            case Stop(rule=rule):
                if guard is not None:
                    guard.stop_rule = guard.stop_rule or rule
                    guard.stop_screening(self)
            case Kill(stopped=stopped):
                if guard is not None:
                    guard.kill_screening(self, "stopped: " + guard.reason() if stopped else "")
            case QueueRefit(model=model):
                if model:
                    self.refit_candidate, self.refit_state = by_name[model], "pending"
                    self.model_path = ""
                else:
                    self.refit_state = "failed"
            case Refit(model=model):
                self._submit(Task("refit", by_name[model]))
            case Diagnose(model=model):
                self._submit(Task("diagnose", by_name[model]))
            case NoDiagnostics(model=model):
                by_name[model].diagnosis = ""  # no time for them: the row stays, without plots

    def view(self, cand: Candidate) -> ModelView:
        """What the policy reads of ``cand`` now (frozen): its complete rungs' scores and its
        measured fits."""
        spec = cand.spec
        return ModelView(
            name=spec.name, tier=spec.tier, baseline=spec.baseline, growth=spec.growth,
            memory=spec.memory, final=cand.final, features=spec.features,
            complete={r: tuple(cand.rung_scores(r)) for r in sorted(cand.folds)
                      if len(cand.folds[r]) == self.n_folds_at(r)},
            points=tuple(cand.per_fold_points()), rung=cand.rung,
            partial={r: tuple(cand.rung_scores(r)) for r in sorted(cand.folds)})

    def _submit(self, task: Task) -> None:
        from thrifty_tui.core.tasks import fits as tasks

        cand = task.candidate
        if task.kind == "fold":
            is_last = task.rung == len(self.rungs) - 1
            future = self.executor.submit(
                tasks.evaluate_fold_task, self.problem_file, cand.spec,
                self._real_rung(task.rung), task.fold,
                self.oof_file(cand, task.fold) if is_last else None)
            if not cand.started:
                cand.started, cand.status = True, "racing"
                self.ctx.emit(ModelStarted(run_id=self.run_id, model=cand.spec.name))
        elif task.kind == "refit":
            self.refit_state = "running"
            future = self.executor.submit(tasks.refit_and_check, self.problem_file, cand.spec,
                                      str(self.run_dir / "model.joblib"))
        else:
            cand.diagnosis = "running"
            future = self.executor.submit(
                tasks.diagnose_task, self.problem_file, cand.spec,
                [self.oof_file(cand, k) for k in range(self.n_folds)],
                self.learning_curve(cand), self.diagnostics_file(cand))
        self.running[future] = (task, time.monotonic())
