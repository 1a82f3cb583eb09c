"""The budget of a Screen job: admits every fit, checks the done rules, meters the cost.

``BudgetGuard`` watches the whole job: it admits (or refuses) every fit, checks the done rules
(core/policy/budget.py) after each result, keeps the cost meter and emits ``BudgetUpdate`` a few times
a second. ``ScreenRun`` asks it before each task and calls ``tick`` at each poll; after
screening it hands the leaders to ``TuneRun`` (engine/tune_run.py) when tuning is wanted.

Only the standard library is used here: this code runs in the app's process.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import BrokenExecutor
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from thrifty_tui.core.learn import tuning
from thrifty_tui.core.policy.budget import (
    Budget,
    History,
    ModelCost,
    RunCost,
    first_met,
    may_start_fit,
    money,
    resolve_budget,
    show_score,
    stop_reason,
    verdict,
)
from thrifty_tui.core.events import BudgetUpdate, ModelScored, Notice
from thrifty_tui.core.policy.racing import predict_seconds
from thrifty_tui.core.records import FoldResult, ModelResult, best_result

if TYPE_CHECKING:
    from thrifty_tui.core.learn.zoo import ModelSpec
    from thrifty_tui.engine.ensemble_run import MeanOfLeaders
    from thrifty_tui.engine.jobs import Screen
    from thrifty_tui.engine.screen_run import ScreenRun, Task
    from thrifty_tui.engine.tune_run import TuneRun
    from thrifty_tui.engine.worker import Worker

T = TypeVar("T")

UPDATE_EVERY_S = 0.4  # BudgetUpdate at least this often while a job runs (the UI throttles)
USER_STOP = "user"  # the stop rule when the dashboard's "stop now" was pressed
REFIT_OVERHEAD_S = 0.5  # dispatch, pickling and the model's dump, on top of the fit itself
MAX_RESERVE_SHARE = 0.2  # of the time budget, kept at most for the final refit from first looks
LOOKED_RESERVE_SHARE = 0.5  # ... and from fits on larger rungs
RESTART_S = 1.5  # new child processes after a kill: start, imports, loading the problem
# The sure final fit of a model cut short: not on more rows than this many times its largest
# measured fit (a guess, not a prediction), and past that fit, only when predicted in time
# with this margin. Fit times grow faster at the largest sizes than the measured slope says
# (births: HGB's 0.5 to 0.78); an all-rows fit from 99 k measured ran 35 s of 30.
MAX_EXTRAPOLATION = 4
EXTRAPOLATION_MARGIN = 1.5


class BudgetGuard:
    """One Screen job's budget: admits fits, checks the rules, meters the cost, reports."""

    tune: TuneRun | None = None
    ensemble: MeanOfLeaders | None = None  # set by the worker: the mean's reserve (tuning)

    def __init__(self, worker: Worker, job: Screen, started: float):
        self.worker = worker
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
        # with its rows in _best_partial; see tries_all_rows)
        self.try_all_rows = False
        self.cut_model = ""  # ... and that model's name in screening (its fits' times)
        self._lock = threading.Lock()
        # While the worker thread waits on one long step (children starting, the final refit)
        # it cannot tick: this thread sends the update then. It stops with the job.
        self._stop_ticking = threading.Event()
        self._ticker = threading.Thread(target=self._tick_loop, name="thrifty-budget-ticker",
                                        daemon=True)

    # -- what has been measured -----------------------------------------------------------
    def begin(self, run_id: int, summary: dict[str, Any]) -> None:
        """The run exists: its id, metric and size."""
        self.run_id, self.metric = run_id, str(summary["metric"])
        self.n_rows = int(summary["n_rows"])
        self.phase = "screening"
        self._begun_at = time.monotonic()
        self.worker.ws.update_run_extra(run_id, budget=self.budget.to_dict())
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
        """Seconds to keep for the final refit of the best model on all rows (before any
        model has all rows, the racing leader's: its fits on the largest rung it finished,
        extrapolated). Some model is always refit, so this is kept from the start."""
        if self.budget.wall_s is None:
            return 0.0
        points = self.points.get(self.best_model, []) if self.best_model else []
        growth = self._growth(self.best_model)
        if not points and self.screen is not None:
            leader = self._racing_leader(self.screen)
            points = leader.per_fold_points() if leader is not None else []
            growth = min(1.0, leader.spec.growth) if leader is not None else 1.0
        # At most linear in the rows from one measured size (fits on small rungs are mostly
        # fixed costs), and at most a fifth of the budget: one refit past the budget is the
        # allowance, and a pessimistic guess must not stop screening at its first rung.
        guess = predict_seconds(points, self.n_rows, growth) if points else math.nan
        guess = 0.0 if math.isnan(guess) else guess
        if self.tune is not None and self.ensemble is not None:
            # While tuning, the leaders are known: keep time to fit their mean too, which
            # may turn out best (engine/ensemble_run.py).
            guess = max(guess, self.ensemble.reserve())
        share = LOOKED_RESERVE_SHARE if rung > 0 else MAX_RESERVE_SHARE
        return min(guess + REFIT_OVERHEAD_S, share * self.budget.wall_s)

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
            states = verdict(self.budget, self.history())[0]
            rule = first_met([s for s in states if s.rule != "wall"])
            if rule is not None:
                self.stop_rule = rule.rule
        return self.stop_rule

    def reason(self) -> str:
        if self.stop_rule == USER_STOP:
            history = self.history()
            return (f"stopped by the user — best {show_score(history.best, self.metric)} after "
                    f"{history.fits} fits in {history.elapsed_s:.0f} s")
        return stop_reason(self.stop_rule, self.budget, self.history()) if self.stop_rule else ""

    def apply_requests(self) -> None:
        """The dashboard's requests (Worker.adjust_budget): more seconds or fits, or stop now."""
        requests = getattr(self.worker, "budget_requests", None)
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

    def may_start(self, predicted_s: float, rung: int = 0) -> str:
        """'' if a fit predicted at ``predicted_s`` may start; else "max_fits" or "wall"."""
        why = may_start_fit(self.budget, self.elapsed(), predicted_s, self.fits_started(),
                            self.refit_reserve(rung))
        if why == "max_fits":
            self.stop_rule = self.stop_rule or "max_fits"
        elif why == "wall":
            self.wall_refused = True
        return why

    def past_deadline(self, flying: list[tuple[float, float]]) -> bool:
        """Whether to kill the fits in flight ((started, predicted s) each) now: the final
        refit should start, and waiting for them would cost more than new child processes."""
        wall = self.budget.wall_s
        if wall is None or not flying or self.elapsed() <= wall - self.refit_reserve():
            return False
        return self.worth_killing(flying)

    def worth_killing(self, flying: list[tuple[float, float]]) -> bool:
        """Whether the fits in flight would take longer to finish than new children take to
        start (a fit past its predicted time is guessed to need as long again)."""
        now = time.monotonic()
        left = []
        for since, predicted in flying:
            ran = now - since
            left.append(ran if math.isnan(predicted) or ran >= predicted else predicted - ran)
        return max(left, default=0.0) > self.restart_s

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
            self.worker.emit(BudgetUpdate(
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
            if not getattr(self.worker, "busy", True):
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
        self.worker.ws.update_run_extra(run_id, budget=self.budget.to_dict(), stop={
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

    def admit(self, run: ScreenRun, task: Task) -> bool:
        """Whether a screening fit may start; refusing it skips its model (or stops all).

        Diagnostics start only while the time budget leaves room for them (about two of the
        model's fits) and for the final refit.
        """
        self.screen = run
        if self._begun_at is not None:  # the children's warm-up before the first fit
            self.restart_s = max(RESTART_S, time.monotonic() - self._begun_at)
            self._begun_at = None
        self._observe_screen(run)
        cand = task.candidate
        if task.kind not in ("fold", "diagnose"):
            return True  # the best model's fit on all rows: the deliverable, never refused
        if task.kind == "diagnose":
            if self.budget.wall_s is None:
                return True
            points = cand.per_fold_points()
            guess = 2 * max((s for _, s in points), default=0.0)
            if self.elapsed() + guess + self.refit_reserve() <= self.budget.wall_s:
                return True
            cand.diagnosis = ""  # no time for them: the row stays, without plots
            return False
        if not self.stop_rule:
            self.check()
        if self.stop_rule:
            self._stop_screening(run)
            return False
        predicted = predict_seconds(cand.per_fold_points(), run.rungs[task.rung],
                                    cand.spec.growth)
        if math.isnan(predicted) and self.budget.wall_s is not None:
            # Not measured yet: as dear as the dearest fit measured on these rows (cheap
            # tiers go first), plus new children, since it may have to be killed at the
            # deadline. Taken as free, a random forest's first fit on 11 k rows once started
            # 1 s before the deadline and, killed, held the run 3 s past it.
            predicted = self.restart_s + max(
                (f.fit_seconds for c in run.candidates
                 for f in c.folds.get(task.rung, {}).values()), default=0.0)
        why = self.may_start(predicted, task.rung)
        if why == "max_fits":
            self._stop_screening(run)
            return False
        if why == "wall":
            left = (self.budget.wall_s or 0.0) - self.elapsed() - self.refit_reserve(task.rung)
            run.stop_reason = f"budget of {self.budget.wall_s:g} s spent"
            run._finalize(cand, "skipped", (
                f"a fit predicted at {predicted:.1f} s does not fit in the {max(left, 0):.1f} s "
                "left of the budget"), keep_partial=True)
            return False
        return True

    def tick(self, run: ScreenRun) -> None:
        """At each poll of ScreenRun: rules, the deadline, and a BudgetUpdate now and then."""
        self.screen = run
        self.apply_requests()
        if self.budget.wall_s != run.job.budget_s:  # extended from the dashboard
            run.job = replace(run.job, budget_s=self.budget.wall_s)
        self._observe_screen(run)
        # The best model's fit on all rows is never killed: the worker would only redo it.
        refitting = any(t.kind not in ("fold", "diagnose") for t, _ in run.running.values())
        if not self.stop_rule and self.check():
            self._stop_screening(run)
            flying = [(since, predict_seconds(t.candidate.per_fold_points(), run.rungs[t.rung]))
                      for t, since in run.running.values() if t.kind == "fold"]
            if flying and not refitting and self.worth_killing(flying):
                self._kill_screening(run, "stopped: " + self.reason())
        flying = [(since, predict_seconds(t.candidate.per_fold_points(), run.rungs[t.rung]))
                  for t, since in run.running.values() if t.kind == "fold"]
        if flying and not refitting and self.past_deadline(flying):
            self._kill_screening(run)
        self.update()

    def _stop_screening(self, run: ScreenRun) -> None:
        reason = self.reason()
        run.stop_reason = reason
        for cand in run.candidates:
            if not cand.final:
                run._finalize(cand, "skipped", f"stopped: {reason}",
                              keep_partial=True)

    def _kill_screening(self, run: ScreenRun, why: str = "") -> None:
        """Stop the fits in flight: the time left belongs to the final refit."""
        self.wall_refused = self.wall_refused or not why
        lost = list(run.running.values())
        run.running.clear()
        run.pool.kill()
        for task, _ in lost:
            cand = task.candidate
            if task.kind == "refit":  # a speculative refit (never killed otherwise): again later
                run.refit_state = ""
            elif task.kind == "diagnose":
                cand.diagnosis = "failed"
            elif not cand.final:
                run._finalize(cand, "skipped",
                              why or "stopped at the end of the time budget", keep_partial=True)
        for cand in run.candidates:
            if cand.diagnosis == "pending":
                cand.diagnosis = ""  # no time left for diagnostics either
            if not cand.final and not why:
                # The deadline: no other model gets a fit either (and new children would be
                # started for nothing).
                run._finalize(cand, "skipped", f"budget of {self.budget.wall_s:g} s spent",
                              keep_partial=True)
        run.stop_reason = run.stop_reason if why else f"budget of {self.budget.wall_s:g} s spent"

    # -- after screening ------------------------------------------------------------------
    def after_screening(self, run: ScreenRun, status: str, reason: str, problem_file: str,
                        specs: tuple[ModelSpec, ...], problem_key: str
                        ) -> tuple[str, str, list[ModelResult], tuple[ModelSpec, ...]]:
        """Tune the leaders when asked and the budget allows; returns (status, reason,
        results, extra specs) where an extra spec is the tuned best to refit."""
        self.screen = run
        self._observe_screen(run)
        results = list(run.results)
        if status == "done":
            results = self._drop_beaten(results)
        if status == "done" and best_result([r for r in results if not r.baseline]) is None:
            return self._best_partial(run, status, reason, results, specs)
        if status != "done" or self.stop_rule or self.wall_refused or not (
                self.job.tune if self.job.tune is not None else self.budget.wants_tuning):
            return status, reason, results, ()
        leaders = tuning.leaders(results, run.test_fraction, specs)
        if not leaders:
            self.worker.emit(Notice(message="nothing to tune: no leader has a search space"))
            return status, reason, results, ()
        from thrifty_tui.engine.tune_run import TuneRun

        self.phase = "tuning"
        tune = TuneRun(self, run, leaders, problem_file, problem_key)
        self.tune = tune
        status, tune_reason = tune.execute()
        extra: tuple[ModelSpec, ...] = ()
        tuned = tune.best_tuned()
        if tuned is not None and status == "done":
            result, spec = tuned
            screened = best_result(results)
            if screened is None or result.mean > screened.mean:
                results.append(result)
                self.worker.ws.add_result(self.run_id, result)
                self.worker.emit(ModelScored(run_id=self.run_id, result=result,
                                             done=len(results), total=len(results)))
                extra = (spec,)
                self._diagnose_tuned(run, tune, spec, result)
        if status == "done" and not self.stop_rule:
            reason = tune_reason
        return status, reason, results, extra

    def _diagnose_tuned(self, run: ScreenRun, tune: TuneRun, spec: ModelSpec,
                        result: ModelResult) -> None:
        """The tuned best's diagnostics from its trial's out-of-fold predictions, as for a
        screened model (the bundle's plots), when the time budget leaves room for them."""
        from thrifty_tui.core.tasks import fits as tasks
        from thrifty_tui.core.events import ModelDiagnosed
        from thrifty_tui.engine.screen_run import diagnostics_path
        from thrifty_tui.engine.worker import Cancelled

        files = tune.oof_files(tune.best_trial) if tune.best_trial is not None else None
        if not files:
            return
        if self.budget.wall_s is not None:
            guess = 2 * result.fit_seconds / max(1, len(result.fold_scores))
            if self.elapsed() + guess + self.refit_reserve() > self.budget.wall_s:
                return  # no time: the row stays, without plots
        with self.ticking("diagnostics"):
            try:
                diag = self.worker._wait(run.pool.submit(
                    tasks.diagnose_task, run.problem_file, spec, files, result.learning_curve,
                    str(diagnostics_path(run.run_dir, spec.name))))
            except Cancelled:
                return  # the cancel stays set: the final fit's wait reports it
            except Exception as err:  # noqa: BLE001 - plots are advice; the model stands
                if isinstance(err, BrokenExecutor):
                    run.pool.kill()
                self.worker.emit(Notice(message=f"diagnostics of {spec.name} failed: {err}"))
                return
        self.worker.emit(ModelDiagnosed(run_id=self.run_id, model=spec.name, diagnostics=diag))

    def _best_partial(self, run: ScreenRun, status: str, reason: str, results: list[ModelResult],
                      specs: tuple[ModelSpec, ...]
                      ) -> tuple[str, str, list[ModelResult], tuple[ModelSpec, ...]]:
        """No model but the baseline reached all rows before a rule stopped the run: rather
        than the baseline (or nothing), the best of the models cut short (``partial_winner``)
        is refit (its row says so)."""
        partial = [r for r in results if r.fold_scores and r.rows and not r.baseline]
        if not partial:
            return status, reason, results, ()
        top = partial_winner(partial)
        rows = top.rows
        spec = next((s for s in specs if s.name == top.model), None)
        if spec is None:
            return status, reason, results, ()
        name = f"{top.model} (on {rows:,} rows)"
        fit_rows, self.try_all_rows = self.partial_fit_rows(top.model, rows, tuple(run.rungs))
        self.cut_model = top.model
        final = replace(spec, name=name, fit_rows=fit_rows)
        fitted = ("" if fit_rows is None else
                  f"; the final model is fitted on {fit_rows:,} rows, as many as the time "
                  "left allowed" + (", or on all rows if that fit finishes within the budget"
                                    if self.tries_all_rows(final) else ""))
        why = ("the budget ran out before it reached all rows, and it beat the models that "
               "did on the rows both were scored on" if any(
                   r.rows >= self.n_rows for r in partial if r is not top)
               else "the budget ran out before any model reached all rows")
        result = replace(top, model=name, status="done",
                         error=f"cross-validated on {rows:,} of {self.n_rows:,} rows only: "
                               f"{why}{fitted}")
        results.append(result)
        self.worker.ws.add_result(self.run_id, result)
        self.worker.emit(ModelScored(run_id=self.run_id, result=result, done=len(results),
                                     total=len(results)))
        self.note_score(name, result.fold_scores, result.baseline)
        return status, reason, results, (final,)

    def _drop_beaten(self, results: list[ModelResult]) -> list[ModelResult]:
        """Models that finished on all rows but lost to a model the budget cut short are
        dropped, so that one is refit (``_best_partial``), when it is the better bet.

        Scores on more rows are higher, so a cheap model that raced on to all rows while a
        dearer one was refused its next rung must not win on that alone (gss at 10 s: a linear
        SVM at 0.755 on 49 k rows; HGB at 0.759 on 1,828 rows against the SVM's 0.741 there;
        refit on all rows, HGB scores 0.82 on the holdout). The bet assumes equal gains from
        more rows: the model cut short, fitted on F rows (as many as the time left allows),
        wins if its lead where both were scored exceeds what the finished model gained from F
        rows to all rows (its learning curve). With F short of all rows that gain can be
        large (movies at 30 s: logistic regression cut short on 15,676 rows led SGD there by
        1.2 pt, and SGD gained 3.6 pt from those rows to all 47 k: SGD stays).
        """
        done = [r for r in results if r.status == "done" and r.fold_scores and not r.baseline]
        cut = [r for r in results if r.status == "skipped" and r.fold_scores and r.rows
               and not r.baseline]
        if not done or not cut or self.screen is None:
            return results
        top = partial_winner([*done, *cut])
        if top.status == "done":
            return results
        fit_rows, _ = self.partial_fit_rows(top.model, top.rows, tuple(self.screen.rungs))
        final_rows = self.n_rows if fit_rows is None else fit_rows
        beaten: dict[str, ModelResult] = {}
        for r in done:
            rows = shared_rows(top, r)
            if rows is None:
                return results
            lead = score_at(top, rows) - score_at(r, rows)
            curve = result_curve(r)  # its score at the most rows up to the final fit's
            at_final = curve[max((n for n in curve if n <= final_rows), default=min(curve))]
            if not lead > r.mean - at_final:
                return results  # the finished model stays the better bet
            why = (f"beaten by {top.model} on the {rows:,} rows both were scored on "
                   f"({show_score(score_at(top, rows), self.metric)} against "
                   f"{show_score(score_at(r, rows), self.metric)}), which the budget cut short")
            beaten[r.model] = replace(r, status="dropped", error=why)
        out = []
        for r in results:
            new = beaten.get(r.model) if r.status == "done" else None
            if new is not None:
                self.worker.ws.restate_result(self.run_id, r.model, new.status, new.error)
                self.worker.emit(ModelScored(run_id=self.run_id, result=new, done=len(results),
                                             total=len(results)))
            out.append(new or r)
        return out

    def tries_all_rows(self, spec: ModelSpec) -> bool:
        """Whether the final fit of ``spec`` (a model cut short) also fits it on all rows, on
        the other core, kept if it ends in time (``Worker._final_fit``; its row says so)."""
        return (spec.fit_rows is not None and self.deadline() is not None
                and self.worker.pool.max_workers > 1 and self.try_all_rows)

    def next_final_size(self, rows: int, seconds: float) -> int | None:
        """While the fit on all rows of the model cut short runs on one core, the next size to
        fit it on, on the core the surer fit (``rows`` rows, ``seconds`` wall) freed: the
        smallest racing size above ``rows`` and below all rows that is predicted, from the
        model's fits and this one, to end before the deadline (None if none is). The largest
        fit that ends in time is kept (``Worker._final_fit``), so one that does not costs only
        the core it would have left idle: the run waits for the fit on all rows until then.
        """
        deadline = self.deadline()
        if deadline is None or self.screen is None:
            return None
        larger = [size for size in self.screen.rungs if rows < size < self.n_rows]
        if not larger:
            return None
        size = min(larger)
        points = [*self.points.get(self.cut_model, []),
                  (rows, max(1e-3, seconds - REFIT_OVERHEAD_S))]
        predicted = predict_seconds(points, size, self._growth(self.cut_model))
        return size if time.monotonic() + predicted + REFIT_OVERHEAD_S <= deadline else None

    def partial_fit_rows(self, model: str, cv_rows: int, sizes: tuple[int, ...]
                         ) -> tuple[int | None, bool]:
        """Rows for the final fit of a model cross-validated on ``cv_rows`` only: all rows
        (None) when its predicted fit time fits in what is left of the time budget, else the
        largest racing size that does (at least ``cv_rows``): the budget holds, and the model
        still sees more rows than any of its folds did. A size over MAX_EXTRAPOLATION times the
        largest measured fit is not trusted, and one past it needs EXTRAPOLATION_MARGIN. And
        whether a fit on all rows may run beside it: only when that size is predicted in time
        (at the floor, ``cv_rows``, it is not, and a second fit would slow it down further)."""
        wall = self.budget.wall_s
        points = self.points.get(model, [])
        if wall is None or not points:
            return None, False
        left = wall - self.elapsed() - REFIT_OVERHEAD_S
        measured = max(rows for rows, _ in points)
        for size in sorted({*sizes, self.n_rows}, reverse=True):
            if size < cv_rows:
                break
            if size > MAX_EXTRAPOLATION * measured:
                continue  # too far past what was measured: all rows are tried beside instead
            margin = EXTRAPOLATION_MARGIN if size > measured else 1.0
            if margin * predict_seconds(points, size, self._growth(model)) <= left:
                return (None, False) if size >= self.n_rows else (size, True)
        return cv_rows, False


def result_curve(result: ModelResult) -> dict[int, float]:
    """``result``'s mean score by racing rung rows: its learning curve and its last rung."""
    curve = {result.rows: result.mean} if result.rows else {}
    curve.update(result.learning_curve)
    return curve


def score_at(result: ModelResult, rows: int) -> float:
    """``result``'s mean score on the racing rung of ``rows`` rows (NaN if not scored there)."""
    return result_curve(result).get(rows, math.nan)


def shared_rows(a: ModelResult, b: ModelResult) -> int | None:
    """The largest racing rung both ``a`` and ``b`` were scored on (None if none)."""
    shared = result_curve(a).keys() & result_curve(b).keys()
    return max(shared) if shared else None


def lead_on_shared_rows(items: Iterable[T], curve_of: Callable[[T], dict[int, float]]
                        ) -> T | None:
    """The item that leads when scores are compared only on rows both were scored on.

    Scores on different rows are not comparable (more rows, higher scores), so each
    challenger meets the champion on the largest rung both completed (``curve_of``: score
    by rows), starting from the item on the most rows: one that beat the others on the rows
    they shared leads even if it did not reach as many rows as they did. None without any
    scored item.
    """
    curves = [(item, curve) for item in items if (curve := curve_of(item))]
    if not curves:
        return None
    curves.sort(key=lambda ic: (max(ic[1]), ic[1][max(ic[1])]), reverse=True)
    best, best_curve = curves[0]
    for item, curve in curves[1:]:
        shared = curve.keys() & best_curve.keys()
        if shared and curve[max(shared)] > best_curve[max(shared)]:
            best, best_curve = item, curve
    return best


def partial_winner(partial: list[ModelResult]) -> ModelResult:
    """The best of models cross-validated on different racing rungs (``lead_on_shared_rows``
    over their learning curves): a model that beat the others on the rows they shared wins
    even if the time ran out before it reached as many rows as they did."""
    winner = lead_on_shared_rows(partial, result_curve)
    assert winner is not None, "partial_winner needs a scored model"
    return winner
