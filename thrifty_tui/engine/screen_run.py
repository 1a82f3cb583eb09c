"""One screening run, driven from the worker thread: racing, caps, and the leaderboard rows.

Each unit of work is one fit and score (one model, one racing rung, one fold) in a child
process, so a fit over the time cap can be killed, and the two cores stay busy. Cheap tiers
go first and race through every rung; a dearer model is compared, rung by rung, with the
leader of that rung on the same folds and dropped when it is clearly worse. The last rung is
all rows with the fixed folds that every surviving model shares.

The run's parts: ``screen_state`` (a model's racing state, a unit of work),
``screen_decisions`` (the policy's snapshot and its decisions carried out) and
``screen_results`` (what the children returned, the leaderboard rows); ``ScreenRun`` takes
the methods of the last two.

Only the standard library is used here: this code runs in the app's process.
"""

from __future__ import annotations

import math
import statistics
import time
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thrifty_tui.core.events import RunProgress
from thrifty_tui.core.policy.racing import predict_seconds
from thrifty_tui.core.records import ModelResult, ProblemSummary
from thrifty_tui.core.store.bundle_report import diagnostics_path
from thrifty_tui.engine.calibration import Calibration
from thrifty_tui.engine.context import JobContext
from thrifty_tui.engine.screen_decisions import Decisions
from thrifty_tui.engine.screen_results import Results
from thrifty_tui.engine.screen_state import Candidate, RunCancelled, Task

__all__ = ["POLL_SECONDS", "Candidate", "RunCancelled", "ScreenRun", "Task"]

if TYPE_CHECKING:
    from thrifty_tui.core.learn.zoo import ModelSpec
    from thrifty_tui.engine.jobs import Screen

POLL_SECONDS = 0.05
PROGRESS_EVERY_S = 0.25


class ScreenRun(Decisions, Results):
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
