"""Tuning of the leaders once screening is done, within what is left of the budget.

``TuneRun`` searches the leaders' hyperparameters with successive halving on the screening
rungs (same subsamples, same folds), cheap configurations first, storing each trial as it
finishes so that a restarted run loads what it had done instead of fitting it again. The
scheduler ``core/policy/tune.next_tuning_decisions`` decides, from a snapshot, which trials
are promoted, which folds start, when a bracket is added and when to stop or kill; this module
only carries its decisions out.

Only the standard library is used here: this code runs in the app's process.
"""

from __future__ import annotations

import math
import statistics
import time
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thrifty_tui.core.learn import tuning
from thrifty_tui.core.policy.budget import money
from thrifty_tui.core.errors import describe_error
from thrifty_tui.core.events import TrialFinished, TuningStarted
from thrifty_tui.core.policy.snapshot import (
    Decision,
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
from thrifty_tui.core.records import FoldResult, ModelResult
from thrifty_tui.engine.screen_run import RunCancelled

if TYPE_CHECKING:
    from thrifty_tui.core.learn.zoo import ModelSpec
    from thrifty_tui.engine.budget_guard import BudgetGuard
    from thrifty_tui.engine.screen_run import ScreenRun

POLL_SECONDS = 0.05


@dataclass(eq=False)
class Trial:
    """One configuration of one leader, climbing the rungs while it stays in the top third."""

    leader: ModelSpec
    number: int
    params: dict[str, Any]
    spec: ModelSpec
    cost: float
    rung: int = -1  # screening rung index it is being evaluated at
    folds: dict[int, FoldResult] = field(default_factory=dict)
    submitted: set[int] = field(default_factory=set)
    records: dict[int, tuning.TrialRecord] = field(default_factory=dict)
    out: bool = False  # skipped for the budget, or not promoted


@dataclass(eq=False)
class Bracket:
    """Successive halving of one batch of configurations of one leader."""

    leader: ModelSpec
    index: int
    trials: list[Trial]
    position: int = 0  # index into TuneRun.rungs

    def alive(self) -> list[Trial]:
        return [t for t in self.trials if not t.out]


class TuneRun:
    """Searches the leaders' hyperparameters within what is left of the budget."""

    def __init__(self, guard: BudgetGuard, run: ScreenRun, leaders: tuple[ModelSpec, ...],
                 problem_file: str, problem_key: str):
        self.guard, self.run, self.leaders = guard, run, leaders
        self.ctx = guard.ctx
        self.problem_file, self.problem_key = problem_file, problem_key
        self.rungs = tuning.tuning_rungs(len(run.rungs))
        self.size = tuning.bracket_size(len(self.rungs))
        self.running: dict[Future, tuple[Trial, int, int]] = {}
        self.started_at: dict[Future, tuple[float, float]] = {}  # (when, predicted seconds)
        self.brackets: list[Bracket] = []
        self.trials: dict[str, Trial] = {}  # by name ("<leader> #<number>")
        self.fits_done = 0
        self.done_trials: list[tuple[Trial, tuning.TrialRecord]] = []
        self.bounded = guard.budget.wall_s is not None or guard.budget.max_fits is not None
        self.reason = "tuning finished"
        self.best_trial: Trial | None = None  # set by best_tuned
        for leader in leaders:
            cand = next((c for c in run.candidates if c.spec.name == leader.name), None)
            if cand is not None:
                guard.points.setdefault(leader.name, []).extend(cand.per_fold_points())

    # -- the loop -------------------------------------------------------------------------
    def execute(self) -> tuple[str, str]:
        g = self.guard
        left = None if g.budget.wall_s is None else round(g.budget.wall_s - g.elapsed(), 1)
        fits_left = None if g.budget.max_fits is None else g.budget.max_fits - g.fits_started()
        self.ctx.emit(TuningStarted(
            run_id=g.run_id, leaders=tuple(s.name for s in self.leaders),
            rungs=tuple(self.run.rungs[r] for r in self.rungs), bracket_size=self.size,
            seconds_left=left, fits_left=fits_left))
        for leader in self.leaders:
            self._new_bracket(leader)
        try:
            while True:
                self._check_cancel()
                upto = len(self.brackets)  # brackets opened in this turn wait for the next
                while True:
                    decisions = next_tuning_decisions(self.snapshot(upto))
                    for decision in decisions:
                        self._carry_out(decision)
                    if not any(isinstance(d, Promote) for d in decisions):
                        break
                if any(isinstance(d, Done) for d in decisions):
                    break
                if self.running:
                    done, _ = wait(list(self.running), timeout=POLL_SECONDS,
                                   return_when=FIRST_COMPLETED)
                    self._handle(done)
                g.apply_requests()
                for decision in next_tuning_decisions(self.snapshot(polled=True)):
                    self._carry_out(decision)
                g.update()
        except RunCancelled:
            self.run.executor.kill()
            self.running.clear()
            return "cancelled", "cancelled by the user during tuning"
        n = len(self.done_trials)
        if g.wall_refused and not g.stop_rule:
            g.stop_rule = "wall"
        return "done", g.reason() or (
            f"tuning finished: {n} trials of {len(self.leaders)} model(s) — best "
            f"{g.best_score:.4g} after {g.fits} fits in {g.elapsed():.0f} s")

    def _check_cancel(self) -> None:
        if self.ctx.cancel_requested():
            raise RunCancelled

    def _new_bracket(self, leader: ModelSpec) -> None:
        index = sum(1 for b in self.brackets if b.leader is leader)
        configs = tuning.sample_configs(leader, self.size, self.run.job.seed,
                                        skip=index * self.size)
        trials = []
        for i, params in enumerate(configs):
            number = index * self.size + i
            spec = tuning.with_params(leader, params, f"{leader.name} #{number}")
            trials.append(Trial(leader, number, params, spec, tuning.cost_proxy(params, leader)))
            self.trials[f"{leader.name} #{number}"] = trials[-1]
        trials.sort(key=lambda t: t.cost)  # cheap configurations first
        bracket = Bracket(leader, index, trials)
        self.brackets.append(bracket)
        for trial in trials:
            self._enter(trial, self.rungs[0])

    def _enter(self, trial: Trial, rung: int) -> None:
        """Put ``trial`` on ``rung``; a trial finished by an earlier run is loaded, not refit."""
        trial.rung, trial.folds, trial.submitted = rung, {}, set()
        key = self._key(trial, rung)
        stored = [r for r in self.ctx.ws.trials(key=key) if r.status in ("done", "failed")]
        if stored:
            self._record(trial, replace(stored[-1], run_id=self.guard.run_id), resumed=True)

    def _key(self, trial: Trial, rung: int) -> str:
        return tuning.trial_key(self.problem_key, trial.leader.name, trial.params,
                                self.run._real_rung(rung))

    # -- the policy's view and its decisions ----------------------------------------------
    def snapshot(self, upto: int | None = None, polled: bool = False) -> TuneSnapshot:
        """The search as ``policy.tune`` reads it, now (``upto``: brackets open when the turn
        began; ``polled``: after a wait, for the stop and kill rules)."""
        g, now = self.guard, time.monotonic()
        return TuneSnapshot(
            brackets=tuple(BracketState(b.leader.name, b.index, b.position,
                                        tuple(self._state(t) for t in b.trials))
                           for b in self.brackets),
            rungs=tuple(self.rungs), rows=tuple(self.run.rungs),
            folds_at=tuple(self.run.n_folds_at(r) for r in range(len(self.run.rungs))),
            workers=self.run.executor.max_workers, running=len(self.running),
            elapsed_s=g.elapsed(), budget=g.budget, fits_started=g.fits_started(),
            reserve_s=g.refit_reserve(),
            leader_points=tuple((s.name, tuple(g.points.get(s.name, ()))) for s in self.leaders),
            stop_rule=g.stop_rule, bounded=self.bounded, advance_upto=upto, polled=polled,
            history=g.history() if polled and not g.stop_rule else None,
            flying=tuple((now - since, p) for since, p in self.started_at.values()),
            restart_s=g.restart_s)

    @staticmethod
    def _state(trial: Trial) -> TrialState:
        return TrialState(
            trial.leader.name, trial.number, trial.cost, trial.rung, trial.out,
            tuple((r, rec.mean if rec.status == "done" else math.nan)
                  for r, rec in trial.records.items()),
            frozenset(trial.submitted),
            tuple((f.rows, f.fit_seconds) for f in trial.folds.values()))

    def _carry_out(self, d: Decision) -> None:
        g = self.guard
        if isinstance(d, Promote):
            self._promote(d)
        elif isinstance(d, NewBracket):
            self._new_bracket(next(s for s in self.leaders if s.name == d.leader))
        elif isinstance(d, (NoBracket, Skip)):
            g.wall_refused = True  # the time budget refused a fit
            if isinstance(d, Skip):
                self.trials[d.model].out = True  # it cannot finish in time; cheaper ones may
        elif isinstance(d, Fit):
            self._submit(self.trials[d.model], d.fold, d.predicted_s)
        elif isinstance(d, Stop):
            g.stop_rule = g.stop_rule or d.rule
        elif isinstance(d, Kill):
            self._kill("stopped: " + g.reason() if d.stopped
                       else "stopped at the end of the time budget")

    def _promote(self, d: Promote) -> None:
        """The kept trials enter the bracket's next rung (none past the last); the rest are out."""
        bracket = next(b for b in self.brackets if b.leader.name == d.leader
                       and b.index == d.bracket)
        bracket.position += 1
        for trial in bracket.alive():
            if trial.number not in d.keep or bracket.position >= len(self.rungs):
                trial.out = trial.out or trial.number not in d.keep
            else:
                self._enter(trial, self.rungs[bracket.position])

    def _submit(self, trial: Trial, fold: int, predicted: float) -> None:
        from thrifty_tui.core.tasks import fits as tasks

        # On all rows the out-of-fold predictions are kept: the tuned best's diagnostics.
        oof = (self.oof_file(trial, fold) if trial.rung == len(self.run.rungs) - 1 else None)
        future = self.run.executor.submit(tasks.evaluate_fold_task, self.problem_file, trial.spec,
                                      self.run._real_rung(trial.rung), fold, oof)
        trial.submitted.add(fold)
        self.running[future] = (trial, trial.rung, fold)
        self.started_at[future] = (time.monotonic(), predicted)

    def oof_file(self, trial: Trial, fold: int) -> str:
        from thrifty_tui.core.store.bundle_report import model_slug

        name = f"tuned-{model_slug(trial.leader.name)}-{trial.number:04d}-fold{fold}.npz"
        return str(self.run.run_dir / "oof" / name)

    def oof_files(self, trial: Trial) -> list[str] | None:
        """The trial's out-of-fold prediction files on all rows, if this run wrote them all
        (a trial resumed from an earlier run has none)."""
        files = [self.oof_file(trial, k) for k in range(self.run.n_folds)]
        return files if all(Path(f).is_file() for f in files) else None

    def _handle(self, done: set[Future]) -> None:
        broken = False
        for future in done:
            trial, rung, fold = self.running.pop(future)
            self.started_at.pop(future, None)
            try:
                result: FoldResult = future.result()
            except BrokenExecutor:
                broken = True
                result = FoldResult(trial.spec.name, rung, self.run.rungs[rung], fold, "failed",
                                    math.nan, 0.0, 0.0, 0.0, "its process died")
            except Exception as err:  # noqa: BLE001 - a failing trial is a failed row
                result = FoldResult(trial.spec.name, rung, self.run.rungs[rung], fold, "failed",
                                    math.nan, 0.0, 0.0, 0.0, describe_error(err))
            else:
                self.fits_done += 1
            if trial.rung != rung or rung in trial.records:
                continue
            trial.folds[fold] = result
            self.guard.add_cost(trial.leader.name, [result])
            if result.status != "done" or len(trial.folds) == self.run.n_folds_at(rung):
                self._finish_trial(trial, rung)
        if broken:
            self._kill("its process died")

    def _finish_trial(self, trial: Trial, rung: int) -> None:
        folds = [trial.folds[k] for k in sorted(trial.folds)]
        failed = next((f for f in folds if f.status != "done"), None)
        record = tuning.TrialRecord(
            key=self._key(trial, rung), run_id=self.guard.run_id, model=trial.leader.name,
            trial=trial.number, params=tuple(sorted(trial.params.items())),
            rung=self.run._real_rung(rung), rows=self.run.rungs[rung],
            fold_scores=() if failed else tuple(f.score for f in folds),
            status="failed" if failed else "done",
            fit_seconds=round(sum(f.fit_seconds for f in folds), 3),
            cpu_seconds=round(sum(f.cpu_seconds for f in folds), 3),
            peak_mb=round(max((f.peak_mb for f in folds), default=0.0), 1),
            error=failed.error if failed else "")
        self.ctx.ws.add_trial(record)
        # Other folds of a failed trial may still be running: their results are dropped.
        self._record(trial, record, resumed=False)

    def _record(self, trial: Trial, record: tuning.TrialRecord, resumed: bool) -> None:
        rung = trial.rung
        trial.records[rung] = record
        full = rung == len(self.run.rungs) - 1
        if record.status == "done":
            self.done_trials.append((trial, record))
            if full:
                self.guard.note_score(f"{trial.leader.name} #{trial.number}", record.fold_scores)
                self.guard.points.setdefault(f"{trial.leader.name} #{trial.number}", []).extend(
                    (f.rows, f.fit_seconds) for f in trial.folds.values())
        price = self.guard.budget.price_per_cpu_hour
        self.ctx.emit(TrialFinished(
            run_id=self.guard.run_id, model=trial.leader.name, trial=trial.number,
            params=tuple((k, str(v)) for k, v in sorted(trial.params.items())), rung=rung,
            rows=record.rows, fold_scores=record.fold_scores, mean=record.mean,
            std=statistics.pstdev(record.fold_scores) if len(record.fold_scores) > 1 else 0.0,
            status=record.status, fit_seconds=record.fit_seconds,
            cpu_seconds=record.cpu_seconds, peak_mb=record.peak_mb,
            money=money(record.cpu_seconds, price), resumed=resumed, full_data=full,
            best_so_far=self.guard.best_score, error=record.error))

    def _kill(self, why: str) -> None:
        """Stop every fit in flight (their trials are left unfinished, not stored)."""
        lost = list(self.running.values())
        self.running.clear()
        self.started_at.clear()
        self.run.executor.kill()
        for trial, rung, _ in lost:
            if rung not in trial.records:
                trial.out = True
        if why.startswith("stopped at the end"):
            self.guard.wall_refused = True

    # -- the result -----------------------------------------------------------------------
    def best_tuned(self) -> tuple[ModelResult, ModelSpec] | None:
        """The best configuration cross-validated on all rows, as a leaderboard row + spec."""
        last = len(self.run.rungs) - 1
        full = [(t, r) for t, r in self.done_trials if t.rung == last and r.rung ==
                self.run._real_rung(last) and r.fold_scores]
        if not full:
            return None
        trial, record = max(full, key=lambda tr: tr[1].mean)
        self.best_trial = trial
        name = f"{trial.leader.name} (tuned)"
        spec = tuning.with_params(trial.leader, trial.params, name)
        params = tuple((k, str(v)) for k, v in sorted(tuning.base_params(spec).items()))
        result = ModelResult(
            model=name, status="done", fold_scores=record.fold_scores,
            fit_seconds=record.fit_seconds, params=params, tier=trial.leader.tier,
            rows=record.rows, cpu_seconds=record.cpu_seconds, peak_mb=record.peak_mb,
            learning_curve=tuple((self.run.rungs[r], rec.mean) for r, rec in
                                 sorted(trial.records.items()) if rec.fold_scores))
        self.guard.points.setdefault(name, []).extend(
            self.guard.points.get(f"{trial.leader.name} #{trial.number}", []))
        return result, spec
