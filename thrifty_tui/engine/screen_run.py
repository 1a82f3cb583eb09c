"""One screening run, driven from the worker thread: racing, caps, and the leaderboard rows.

Each unit of work is one fit and score (one model, one racing rung, one fold) in a child
process, so a fit over the time cap can be killed, and the two cores stay busy. Cheap tiers
go first and race through every rung; a dearer model is compared, rung by rung, with the
leader of that rung on the same folds and dropped when it is clearly worse. The last rung is
all rows with the fixed folds that every surviving model shares.

Only the standard library is used here: this code runs in the app's process.
"""

from __future__ import annotations

import math
import statistics
import time
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thrifty_tui.core.errors import describe_error
from thrifty_tui.core.events import (
    LeaderTies, ModelDiagnosed, ModelScored, ModelStarted, ModelUpdate, Notice, RunProgress,
)
from thrifty_tui.core.policy.racing import predict_seconds
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
from thrifty_tui.core.records import ProblemSummary, FoldResult, ModelResult
from thrifty_tui.core.store.bundle_report import diagnostics_path
from thrifty_tui.engine.calibration import Calibration
from thrifty_tui.engine.context import JobContext
from thrifty_tui.core.policy.stats import indistinguishable

if TYPE_CHECKING:
    from thrifty_tui.core.learn.zoo import ModelSpec
    from thrifty_tui.engine.jobs import Screen

POLL_SECONDS = 0.05
PROGRESS_EVERY_S = 0.25


class RunCancelled(Exception):
    """The user stopped the run."""


@dataclass(eq=False)
class Candidate:
    """The racing state of one model."""

    spec: ModelSpec
    order: int
    rung: int = 0
    status: str = "queued"
    reason: str = ""
    folds: dict[int, dict[int, FoldResult]] = field(default_factory=dict)
    started: bool = False
    diagnosis: str = ""  # "" | pending | running | done | failed

    @property
    def final(self) -> bool:
        return self.status not in ("queued", "racing")

    def rung_scores(self, rung: int) -> list[float]:
        results = self.folds.get(rung, {})
        return [results[k].score for k in sorted(results)]

    def per_fold_points(self) -> list[tuple[int, float]]:
        """(training rows, seconds per fit) measured so far, for the cost model."""
        return [(r.rows, r.fit_seconds) for rung in self.folds.values() for r in rung.values()
                if r.status == "done"]


@dataclass(frozen=True)
class Task:
    """One unit of child work: a fold fit, or the diagnostics of a finished model."""

    kind: str  # "fold" | "diagnose" | "refit" (the best model on all rows)
    candidate: Candidate
    rung: int = 0
    fold: int = 0


class ScreenRun:
    """Races the zoo for one Screen job; ``execute`` returns (status, stop reason, rows)."""

    def __init__(self, ctx: JobContext, job: Screen, run_id: int, run_dir: Path,
                 problem_file: str, summary: ProblemSummary, specs: tuple[ModelSpec, ...],
                 started: float):
        self.ctx, self.job, self.run_id = ctx, job, run_id
        self.run_dir, self.problem_file, self.summary = run_dir, problem_file, summary
        self.started = started
        self.calibration = Calibration(job.budget_s is not None, summary)  # the cost model's
        self.rungs: tuple[int, ...] = tuple(summary.rungs) if job.racing else (
            summary.n_rows,)
        self.n_folds = int(summary.n_folds)
        self.cap = job.max_fit_seconds
        self.candidates = [Candidate(spec, i) for i, spec in enumerate(specs)]
        self.results: list[ModelResult] = []
        self.running: dict[Future, tuple[Task, float]] = {}
        self.retry_alone: list[Task] = []
        self.fits_done = 0
        self._warm_pool: Any = None
        self.warming: dict[Future, Any] = {}  # warm-up futures -> the executor they ran on
        self.guard: Any = None  # engine/budget_guard.BudgetGuard: admits fits, checks done rules
        self._last_progress = 0.0
        self.stop_reason = "all models screened"
        # The best model's fit on all rows runs here, once every model is final, beside the
        # other models' diagnostics on the second core (the worker used to wait for them).
        self.refit_state = ""  # "" | pending | running | done | failed
        self.refit_candidate: Candidate | None = None
        self.refit_own_score = math.nan  # the refit model's score on its own rows
        self.model_path = ""
        fold_sizes = summary.fold_sizes or ((1, 1),)
        n_test = statistics.fmean(te for _, te in fold_sizes)
        self.test_fraction = n_test / max(1.0, float(summary.n_rows))
        real = {int(k): int(v) for k, v in summary.rung_folds.items()}
        last = len(summary.rungs) - 1
        self._folds_at = ({r: real.get(r, self.n_folds) for r in range(len(self.rungs))}
                          if job.racing else {0: real.get(last, self.n_folds)})
        (run_dir / "oof").mkdir(exist_ok=True)
        (run_dir / "diagnostics").mkdir(exist_ok=True)

    # -- helpers ------------------------------------------------------------------------------
    @property
    def executor(self) -> Any:
        return self.ctx.executor

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _rung_rows(self, rung: int) -> int:
        return self.rungs[rung]

    def _real_rung(self, rung: int) -> int:
        """Index into the problem's rungs (racing off: only the last, all rows)."""
        return rung if self.job.racing else len(self.summary.rungs) - 1

    def oof_file(self, cand: Candidate, fold: int) -> str:
        return str(self.run_dir / "oof" / f"{cand.order:02d}-fold{fold}.npz")

    def diagnostics_file(self, cand: Candidate) -> str:
        return str(diagnostics_path(self.run_dir, cand.spec.name))

    def learning_curve(self, cand: Candidate) -> tuple[tuple[int, float], ...]:
        return tuple((self.rungs[r], statistics.fmean(cand.rung_scores(r)))
                     for r in sorted(cand.folds)
                     if len(cand.folds[r]) == self.n_folds_at(r)
                     and all(f.status == "done" for f in cand.folds[r].values()))

    def n_folds_at(self, rung: int) -> int:
        """Folds at a rung: like the last rung's, unless a small rung has too few per class."""
        return self._folds_at.get(rung, self.n_folds)

    # -- the loop -----------------------------------------------------------------------------
    def execute(self) -> tuple[str, str, list[ModelResult]]:
        try:
            while True:
                self._check_cancel()
                self._warm()
                self._fill()
                if not self.running and not self._has_work():
                    break
                done, _ = wait([*self.running, *self.warming], timeout=POLL_SECONDS,
                               return_when=FIRST_COMPLETED)
                self._check_cancel()
                done = self._warmed(done)
                self._handle_done(done)
                self._progress()
                if self.guard is not None:
                    self.guard.tick(self)
        except RunCancelled:
            self.executor.kill()
            reason = "cancelled by the user" + (" during the final fit"
                                                if self.refit_state == "running" else "")
            for cand in self.candidates:
                if not cand.final:
                    status = "cancelled" if cand.started else "skipped"
                    self._finalize(cand, status, reason)
            return "cancelled", reason, self.results
        self._progress(force=True)
        return "done", self.stop_reason, self.results

    def _warm(self) -> None:
        """After a (re)start of the children, load the problem in each before timing fits."""
        if self.running or self._warm_pool is self.executor.generation:
            return
        if not self._has_work():  # e.g. the budget guard killed the last fits: nothing to warm
            return

        # Not waited for here: a child that is warm takes fits at once while the other still
        # imports scikit-learn (~1.5 s of every run's start). Each warm-up holds a slot of
        # _fill, so no fit waits in the queue behind one (its time cap would be charged).
        futures = self.calibration.warm_ups(self.executor, self.problem_file)
        self._warm_pool = self.executor.generation
        self.warming = {f: self._warm_pool for f in futures}

    def _warmed(self, done: set[Future]) -> set[Future]:
        """Take finished warm-ups out of ``done`` (and out of ``warming``)."""
        current = self.executor.generation
        for future in [f for f, ex in self.warming.items() if ex is not current]:
            del self.warming[future]  # its children were killed: nothing to wait for
        finished = {f for f in done if f in self.warming}
        for future in finished:
            del self.warming[future]
            try:
                self.calibration.took(future.result())  # a child that cannot load: an error
            except BrokenExecutor:
                pass  # a child died: the fits in flight report it
        return {f for f in done if f not in finished and f in self.running}

    def _check_cancel(self) -> None:
        if self.ctx.checkpoint():  # (label keys typed meanwhile are served here too)
            raise RunCancelled

    def _has_work(self) -> bool:
        return (bool(self.retry_alone) or self.refit_state == "pending"
                or any(self._next_tasks(c) for c in self.candidates))

    def refit_path(self, model: str) -> str:
        """The all-rows model file of ``model`` if this run fitted it, else ""."""
        cand = self.refit_candidate
        return self.model_path if cand is not None and cand.spec.name == model else ""

    # -- scheduling ---------------------------------------------------------------------------
    def _next_tasks(self, cand: Candidate) -> list[Task]:
        """Tasks of ``cand`` that are ready and not running yet."""
        if cand.final:
            return [Task("diagnose", cand)] if cand.diagnosis == "pending" else []
        busy = {(t.rung, t.fold) for t, _ in self.running.values() if t.candidate is cand}
        busy |= {(t.rung, t.fold) for t in self.retry_alone if t.candidate is cand}
        finished = set(cand.folds.get(cand.rung, {}))
        return [Task("fold", cand, cand.rung, k) for k in range(self.n_folds_at(cand.rung))
                if k not in finished and (cand.rung, k) not in busy]

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
            memory=spec.memory, final=cand.final,
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

    # -- results ------------------------------------------------------------------------------
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

    # -- progress -----------------------------------------------------------------------------
    def _progress(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_progress < PROGRESS_EVERY_S:
            return
        self._last_progress = now
        remaining_fits = 0
        remaining_seconds = 0.0
        for cand in self.candidates:
            if cand.final:
                continue
            for rung in range(cand.rung, len(self.rungs)):
                left = self.n_folds_at(rung) - len(cand.folds.get(rung, {}))
                remaining_fits += left
                guess = predict_seconds(cand.per_fold_points(), self.rungs[rung])
                remaining_seconds += left * (guess if not math.isnan(guess) else 1.0)
        eta = remaining_seconds / max(1, self.executor.max_workers)
        self.ctx.emit(RunProgress(run_id=self.run_id, fits_done=self.fits_done,
                                     fits_total=self.fits_done + remaining_fits,
                                     eta_s=round(eta, 1), elapsed_s=round(self.elapsed(), 1)))
