"""The budget of a Screen job: admits every fit, checks the done rules, meters the cost.

``BudgetGuard`` watches the whole job: it admits (or refuses) every fit, checks the done rules
(core/policy/budget.py) after each result, keeps the cost meter and emits ``BudgetUpdate`` a few times
a second. ``ScreenRun`` asks it before each task and calls ``tick`` at each poll; after
screening, engine/jobs/after_screening.py hands the leaders to ``TuneRun`` when tuning is wanted.

Only the standard library is used here: this code runs in the app's process.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from thrifty_tui.core.policy.budget import (
    Budget,
    History,
    ModelCost,
    RunCost,
    met_rule,
    money,
    show_score,
    stop_reason,
    verdict,
)
from thrifty_tui.core.policy.budget_file import resolve_budget
from thrifty_tui.core.events import BudgetUpdate
from thrifty_tui.core.policy.final import (
    REFIT_OVERHEAD_S,
    FinalRows,
    lead_on_shared_rows,
    partial_fit_rows,
)
from thrifty_tui.core.policy.final_fit import FinalFitSnapshot
from thrifty_tui.core.policy.racing import predict_seconds
from thrifty_tui.core.policy.schedule import refit_reserve
from thrifty_tui.core.records import ProblemSummary, FoldResult
from thrifty_tui.engine.context import JobContext

if TYPE_CHECKING:
    from thrifty_tui.engine.tune_run import TuneRun
    from thrifty_tui.core.learn.zoo import ModelSpec
    from thrifty_tui.engine.ensemble_run import MeanOfLeaders
    from thrifty_tui.engine.jobs import Screen
    from thrifty_tui.engine.screen_run import ScreenRun


UPDATE_EVERY_S = 0.4  # BudgetUpdate at least this often while a job runs (the UI throttles)
USER_STOP = "user"  # the stop rule when the dashboard's "stop now" was pressed
RESTART_S = 1.5  # new child processes after a kill: start, imports, loading the problem


class BudgetGuard:
    """One Screen job's budget: admits fits, checks the rules, meters the cost, reports."""

    tune: TuneRun | None = None
    ensemble: MeanOfLeaders | None = None  # set by the worker: the mean's reserve (tuning)

    def __init__(self, ctx: JobContext, job: Screen, started: float):
        self.ctx = ctx
        self.budget: Budget = resolve_budget(job.path, job.budget, job.budget_s)
        # ScreenRun reads budget_s: a time budget from thrifty.toml reaches it the same way.
        self.job = job if job.budget_s == self.budget.wall_s else replace(
            job, budget_s=self.budget.wall_s)
        self.started = started
        self.cpu_started = time.process_time()
        self.run_id = 0
        self.metric = ""
        self.n_rows = 0
        self.phase = "preparing"
        self.screen: ScreenRun | None = None
        self.tune: TuneRun | None = None
        self.trace: list[tuple[float, int, float]] = []
        self.best_model = ""
        self.best_folds: tuple[float, ...] = ()
        self.baseline_score: float | None = None
        self.stop_rule = ""
        self.wall_refused = False
        self.points: dict[str, list[tuple[int, float]]] = {}
        self.costs: dict[str, list[float]] = {}  # model -> [fits, cpu_s, fit_s, peak_mb]
        self._seen_results = 0
        self._last_update = 0.0
        self._begun_at: float | None = None
        self.restart_s = RESTART_S  # measured: how long new children take to be ready
        # Whether the final fit of the model cut short may also try all rows beside it (set
        # with its rows in after_screening; see policy.final_fit.tries_all_rows)
        self.try_all_rows = False
        self.cut_model = ""  # ... and that model's name in screening (its fits' times)
        self._lock = threading.Lock()
        # While the worker thread waits on one long step (children starting, the final refit)
        # it cannot tick: this thread sends the update then. It stops with the job.
        self._stop_ticking = threading.Event()
        self._ticker = threading.Thread(target=self._tick_loop, name="thrifty-budget-ticker",
                                        daemon=True)

    # -- what has been measured -----------------------------------------------------------
    def begin(self, run_id: int, summary: ProblemSummary) -> None:
        """The run exists: its id, metric and size."""
        self.run_id, self.metric = run_id, str(summary.metric)
        self.n_rows = int(summary.n_rows)
        self.phase = "screening"
        self._begun_at = time.monotonic()
        self.ctx.ws.update_run_extra(run_id, budget=self.budget.to_dict())
        self._ticker.start()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def deadline(self) -> float | None:
        """When the time budget ends (``time.monotonic()``), or None without one."""
        return None if self.budget.wall_s is None else self.started + self.budget.wall_s

    @property
    def fits(self) -> int:
        """Fits finished (screening and tuning); the final refit is not one."""
        return (self.screen.fits_done if self.screen else 0) + (self.tune.fits_done
                                                                if self.tune else 0)

    def fits_started(self) -> int:
        running = 0
        if self.screen is not None:
            running += sum(1 for t, _ in self.screen.running.values() if t.kind == "fold")
        if self.tune is not None:
            running += len(self.tune.running)
        return self.fits + running

    @property
    def best_score(self) -> float:
        return self.trace[-1][2] if self.trace else math.nan

    def note_score(self, model: str, fold_scores: tuple[float, ...], baseline: bool = False
                   ) -> None:
        """A full-data CV score arrived: the best-so-far trace grows when it is a new best."""
        if not fold_scores:
            return
        mean = statistics.fmean(fold_scores)
        if baseline and self.baseline_score is None:
            self.baseline_score = mean
        if not self.trace or mean > self.trace[-1][2]:
            self.trace.append((round(self.elapsed(), 2), self.fits, mean))
            self.best_model, self.best_folds = model, fold_scores

    def add_cost(self, model: str, fits: list[FoldResult]) -> None:
        cost = self.costs.setdefault(model, [0, 0.0, 0.0, 0.0])
        for f in fits:
            cost[0] += 1
            cost[1] += f.cpu_seconds
            cost[2] += f.fit_seconds
            cost[3] = max(cost[3], f.peak_mb)
        self.points.setdefault(model, []).extend((f.rows, f.fit_seconds) for f in fits
                                                 if f.status == "done")

    def history(self) -> History:
        return History(metric=self.metric, elapsed_s=self.elapsed(), fits=self.fits,
                       fits_started=self.fits_started(), trace=tuple(self.trace),
                       baseline_score=self.baseline_score, leader_fold_scores=self.best_folds)

    def cost(self) -> RunCost:
        price = self.budget.price_per_cpu_hour
        by_model = tuple(ModelCost(model=m, fits=int(c[0]), cpu_s=round(c[1], 3),
                                   fit_s=round(c[2], 3), peak_mb=round(c[3], 1),
                                   money=money(c[1], price)) for m, c in self.costs.items())
        fits_cpu = sum(c[1] for c in self.costs.values())
        # Fits not yet in a final row (racing candidates) count too, from what ScreenRun holds.
        if self.screen is not None:
            for cand in self.screen.candidates:
                if not cand.final:
                    fits_cpu += sum(f.cpu_seconds for rung in cand.folds.values()
                                    for f in rung.values())
        cpu = fits_cpu + (time.process_time() - self.cpu_started)
        return RunCost(cpu_s=round(cpu, 3), fits_cpu_s=round(fits_cpu, 3),
                       wall_s=round(self.elapsed(), 3),
                       peak_mb=round(max((c[3] for c in self.costs.values()), default=0.0), 1),
                       money=money(cpu, price), price_per_cpu_hour=price, by_model=by_model)

    def refit_reserve(self, rung: int = 0) -> float:
        """``policy.schedule.refit_reserve`` for the best model so far (before any model has
        all rows, the racing leader on shared rows: its fits extrapolated to all rows)."""
        points = self.points.get(self.best_model, []) if self.best_model else []
        growth = self._growth(self.best_model)
        if not points and self.screen is not None:
            leader = self._racing_leader(self.screen)
            points = leader.per_fold_points() if leader is not None else []
            growth = leader.spec.growth if leader is not None else 1.0
        # While tuning, the leaders are known: their mean may turn out best (ensemble_run).
        ensemble_s = (self.ensemble.reserve() if self.tune is not None
                      and self.ensemble is not None and self.budget.wall_s is not None else 0.0)
        return refit_reserve(points, growth, self.n_rows, self.budget.wall_s, rung > 0,
                             ensemble_s)

    def refit_seconds(self, model: str) -> float:
        """Predicted seconds of ``model``'s fit on all rows, from its measured fits (NaN
        without any), with the overhead of dispatching it and saving the model."""
        points = self.points.get(model, [])
        if not points:
            return math.nan
        return predict_seconds(points, self.n_rows, self._growth(model)) + REFIT_OVERHEAD_S

    def _growth(self, model: str) -> float:
        """The single-size cost exponent of ``model`` (at most 1: see refit_reserve)."""
        if self.screen is not None:
            for cand in self.screen.candidates:
                if model in (cand.spec.name, f"{cand.spec.name} (tuned)"):
                    return min(1.0, cand.spec.growth)
        return 1.0

    @staticmethod
    def _racing_leader(run: ScreenRun) -> Any:
        """The candidate that leads on shared rows (``lead_on_shared_rows``, over the learning
        curves so far): a cheap model that raced on to more rows does not lead a dear one that
        beat it where both were scored, so the reserve stays that one's refit."""
        return lead_on_shared_rows(run.candidates, lambda c: dict(run.learning_curve(c)))

    # -- the rules ------------------------------------------------------------------------
    def check(self) -> str:
        """Check the rules; the first met one stops the job (returns its rule, or '').

        Not the time budget: that one is kept by refusing fits that cannot finish in time
        (and, past the deadline, by killing them), so fits that can still finish may run.
        """
        if not self.stop_rule:
            self.stop_rule = met_rule(self.budget, self.history())
        return self.stop_rule

    def reason(self) -> str:
        if self.stop_rule == USER_STOP:
            history = self.history()
            return (f"stopped by the user — best {show_score(history.best, self.metric)} after "
                    f"{history.fits} fits in {history.elapsed_s:.0f} s")
        return stop_reason(self.stop_rule, self.budget, self.history()) if self.stop_rule else ""

    def apply_requests(self) -> None:
        """The dashboard's requests (Worker.adjust_budget, through the job's context): more seconds or fits, or stop now."""
        requests = getattr(self.ctx, "budget_requests", None)
        for extra_s, extra_fits, stop in (requests() if requests else ()):
            if extra_s and self.budget.wall_s is not None:
                self.budget = replace(self.budget, wall_s=self.budget.wall_s + extra_s)
            if extra_fits and self.budget.max_fits is not None:
                self.budget = replace(self.budget, max_fits=self.budget.max_fits + extra_fits)
            if (extra_s or extra_fits) and self.stop_rule in ("wall", "max_fits"):
                self.stop_rule = ""
                self.wall_refused = False
            if stop and not self.stop_rule:
                self.stop_rule = USER_STOP

    def final_reason(self, status: str, fallback: str) -> str:
        """The run's stop reason: the rule that stopped it, else what ScreenRun/TuneRun said."""
        if status != "done":
            return fallback
        if not self.stop_rule and (self.wall_refused or fallback.startswith("budget of")):
            self.stop_rule = "wall"
        return self.reason() or fallback

    # -- reporting ------------------------------------------------------------------------
    def update(self, force: bool = False, final: bool = False, reason: str = "") -> None:
        """Emit a BudgetUpdate (at most every UPDATE_EVERY_S unless forced)."""
        with self._lock:
            now = time.monotonic()
            if not force and now - self._last_update < UPDATE_EVERY_S:
                return
            try:
                history = self.history()
                cost = self.cost()
            except RuntimeError:  # the worker changed a dict under the ticker: next time
                return
            self._last_update = now
            states, _ = verdict(self.budget, history)
            self.ctx.emit(BudgetUpdate(
                run_id=self.run_id, phase="done" if final else self.phase,
                elapsed_s=round(history.elapsed_s, 2), wall_s=self.budget.wall_s,
                fits=history.fits, fits_started=history.started, max_fits=self.budget.max_fits,
                best_model=self.best_model, best_score=self.best_score,
                baseline_score=(self.baseline_score if self.baseline_score is not None
                                else math.nan),
                trace=tuple((s, v) for s, _, v in self.trace), rules=states,
                stop_reason=reason or self.reason(), cost=cost, final=final))

    def _tick_loop(self) -> None:
        while not self._stop_ticking.wait(UPDATE_EVERY_S / 4):
            if not self.ctx.busy():
                return  # the job ended without finish() (an error): stop reporting
            self.update()

    @contextmanager
    def ticking(self, phase: str) -> Iterator[None]:
        """Mark a phase (the ticker thread keeps the updates coming while the worker waits)."""
        before, self.phase = self.phase, phase
        try:
            yield
        finally:
            self.phase = before

    def finish(self, run_id: int, status: str, reason: str) -> None:
        """The last BudgetUpdate (before RunFinished) and the budget stored with the run."""
        self._stop_ticking.set()
        if self._ticker.is_alive():
            self._ticker.join()
        self.update(force=True, final=True, reason=reason)
        states, _ = verdict(self.budget, self.history())
        self.ctx.ws.update_run_extra(run_id, budget=self.budget.to_dict(), stop={
            "status": status, "rule": self.stop_rule, "reason": reason,
            "elapsed_s": round(self.elapsed(), 3), "fits": self.fits,
            "rules": [[s.rule, s.state, s.detail] for s in states],
            "trace": [list(p) for p in self.trace]}, cost=self.cost().to_dict())

    # -- hooks called by ScreenRun --------------------------------------------------------
    def _observe_screen(self, run: ScreenRun) -> None:
        for result in run.results[self._seen_results:]:
            cand = next((c for c in run.candidates if c.spec.name == result.model), None)
            if cand is not None:
                self.add_cost(result.model, [f for rung in cand.folds.values()
                                             for f in rung.values()])
            if result.status == "done":
                self.note_score(result.model, result.fold_scores, result.baseline)
        self._seen_results = len(run.results)

    def observe(self, run: ScreenRun, ready: bool = False) -> None:
        """Before each of the policy's decisions: the results so far into the trace and cost
        meter; ``ready``, a worker is free (the first time: the children's warm-up is over,
        which measures how long new children take)."""
        self.screen = run
        if ready and self._begun_at is not None:
            self.restart_s = max(RESTART_S, time.monotonic() - self._begun_at)
            self._begun_at = None
        self._observe_screen(run)

    def tick(self, run: ScreenRun) -> None:
        """At each poll of ScreenRun: the dashboard's requests, and a BudgetUpdate now and then
        (the rules and the deadline are the policy's: ``policy.decide``)."""
        self.screen = run
        self.apply_requests()
        if self.budget.wall_s != run.job.budget_s:  # extended from the dashboard
            run.job = replace(run.job, budget_s=self.budget.wall_s)
        self._observe_screen(run)
        self.update()

    def stop_screening(self, run: ScreenRun) -> None:
        """A done rule stopped the race: every model still racing gets its row, skipped."""
        reason = self.reason()
        run.stop_reason = reason
        for cand in run.candidates:
            if not cand.final:
                run._finalize(cand, "skipped", f"stopped: {reason}",
                              keep_partial=True)

    def kill_screening(self, run: ScreenRun, why: str = "") -> None:
        """Stop the fits in flight: the time left belongs to the final refit. At the deadline
        (no ``why``) diagnostics go too; after a done rule stopped the race (``why``) the
        finished models' diagnostics still run (killed ones again), while time allows."""
        self.wall_refused = self.wall_refused or not why
        lost = list(run.running.values())
        run.running.clear()
        run.executor.kill()
        for task, _ in lost:
            cand = task.candidate
            if task.kind == "refit":  # a speculative refit (never killed otherwise): again later
                run.refit_state = ""
            elif task.kind == "diagnose":
                cand.diagnosis = "pending" if why else "failed"
            elif not cand.final:
                run._finalize(cand, "skipped",
                              why or "stopped at the end of the time budget", keep_partial=True)
        for cand in run.candidates:
            if cand.diagnosis == "pending" and not why:
                cand.diagnosis = ""  # no time left for diagnostics either
            if not cand.final and not why:
                # The deadline: no other model gets a fit either (and new children would be
                # started for nothing).
                run._finalize(cand, "skipped", f"budget of {self.budget.wall_s:g} s spent",
                              keep_partial=True)
        run.stop_reason = run.stop_reason if why else f"budget of {self.budget.wall_s:g} s spent"

    # -- the final fit of a model cut short ----------------------------------------------
    def final_fit_snapshot(self, spec: ModelSpec) -> FinalFitSnapshot:
        """``policy.final_fit``'s view of ``spec``'s final fit now (the fits: ``jobs/final_fit``)."""
        return FinalFitSnapshot(
            sure_rows=spec.fit_rows, n_rows=self.n_rows, wall_s=self.budget.wall_s,
            elapsed_s=self.elapsed(), workers=self.ctx.executor.max_workers,
            beside=self.try_all_rows, sizes=tuple(self.screen.rungs) if self.screen else (),
            points=tuple(self.points.get(self.cut_model, ())),
            growth=self._growth(self.cut_model))

    def seconds_left(self) -> float | None:
        """Seconds left of the time budget now (None without one)."""
        return None if self.budget.wall_s is None else self.budget.wall_s - self.elapsed()

    def partial_fit_rows(self, model: str, cv_rows: int, sizes: tuple[int, ...]) -> FinalRows:
        """``policy.final.partial_fit_rows`` for ``model``, now (see there)."""
        return partial_fit_rows(self.points.get(model, []), self._growth(model), cv_rows, sizes,
                                self.n_rows, self.seconds_left())
