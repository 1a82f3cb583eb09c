"""Replay a screening run from recorded fits: the real policy (``policy.decide``), a simulated
clock and the executor's concurrency, no processes.

A recording holds, for each model of a zoo, the measured fold fits (seconds and score, by rung
and fold) of one data set on one machine, and the seconds of its fit on all rows. ``replay``
drives ``next_decisions`` as the engine does: it starts what the policy decides on free
workers, advances the clock to the next fit that ends, feeds its result back, and reports
what the run would pick, when it would end, and every decision on the way. Tests use it to
check the scheduler's rules on recorded results with a fake clock; benchmarks use it to try a
rule on many data sets without fitting anything.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field, replace

from thrifty_tui.core.policy.budget import Budget, History
from thrifty_tui.core.policy.costs import Shape
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
from thrifty_tui.core.policy.final import (
    REFIT_OVERHEAD_S,
    FinalRows,
    drop_beaten,
    partial_fit_rows,
    partial_winner,
)
from thrifty_tui.core.policy.racing import predict_seconds
from thrifty_tui.core.policy.recording import RecordedModel, Recording
from thrifty_tui.core.policy.schedule import ModelView
from thrifty_tui.core.policy.settings import PolicySettings, shipped
from thrifty_tui.core.records import ModelResult, best_result

__all__ = ["Outcome", "RecordedModel", "Recording", "replay"]


@dataclass(frozen=True)
class Outcome:
    """What a replayed run did."""

    best: str  # the model it would export ("" : none)
    cv: float  # that model's cross-validated mean (NaN: none)
    rows: int  # the rows of that estimate
    wall_s: float  # simulated seconds from the start to the final model fitted
    results: tuple[ModelResult, ...]
    decisions: tuple[tuple[float, Decision], ...]  # (simulated second, decision)
    stop_rule: str = ""

    def status(self, model: str) -> str:
        return next((r.status for r in self.results if r.model == model), "")


@dataclass
class _Model:
    rec: RecordedModel
    order: int
    rung: int = 0
    status: str = "queued"
    folds: dict[int, dict[int, tuple[int, float, float]]] = field(default_factory=dict)
    diagnosis: str = ""

    @property
    def final(self) -> bool:
        return self.status not in ("queued", "racing")

    def view(self, folds_at: tuple[int, ...]) -> ModelView:
        complete = {r: tuple(f[k][2] for k in sorted(f)) for r, f in sorted(self.folds.items())
                    if len(f) == folds_at[r]}
        return ModelView(
            name=self.rec.name, tier=self.rec.tier, baseline=self.rec.baseline,
            growth=self.rec.growth, memory=self.rec.memory, final=self.final,
            complete=complete,
            points=tuple((rows, s) for f in self.folds.values() for rows, s, _ in f.values()),
            rung=self.rung,
            partial={r: tuple(f[k][2] for k in sorted(f)) for r, f in sorted(self.folds.items())},
            features=self.rec.features)


class _Replay:
    shape: Shape | None = None  # the cost model's (set by ``replay``)
    machine_factor: float = 1.0
    def __init__(self, rec: Recording, budget: Budget, workers: int, restart_s: float,
                 cap_s: float | None, settings: PolicySettings | None = None):
        self.rec, self.budget, self.workers = rec, budget, workers
        self.settings = settings or shipped()
        self.restart_s, self.cap_s = restart_s, cap_s
        self.models = [_Model(m, i) for i, m in enumerate(rec.models)]
        self.by_name = {m.rec.name: m for m in self.models}
        self.now = rec.prepare_s
        self.flights: list[tuple[Flight, float, float]] = []  # (flight, started, ends)
        self.results: list[ModelResult] = []
        self.log: list[tuple[float, Decision]] = []
        self.fits = 0
        self.trace: list[tuple[float, int, float]] = []
        self.baseline: float | None = None
        self.stop_rule = ""
        self.stop_reason = ""
        self.refit = ("", "")
        self.refit_done_at = math.nan
        self.ready_at = self.now + restart_s  # the children's warm-up

    def snapshot(self) -> Snapshot:
        folds_at = self.rec.folds_at
        history = History(metric="score", elapsed_s=self.now, fits=self.fits,
                          fits_started=self.fits + sum(f.kind == "fold" for f, *_ in self.flights),
                          trace=tuple(self.trace), baseline_score=self.baseline)
        dearest = tuple(max((f[k][1] for m in self.models for f in [m.folds.get(r, {})]
                             for k in f), default=0.0) for r in range(len(self.rec.rungs)))
        return Snapshot(
            models=tuple(ModelState(m.view(folds_at), m.order,
                                    frozenset(m.folds.get(m.rung, {})), m.diagnosis)
                         for m in self.models),
            rungs=self.rec.rungs, folds_at=folds_at, n_rows=self.rec.rungs[-1],
            n_folds=folds_at[-1], workers=self.workers,
            free_slots=self.workers - len(self.flights) if self.now >= self.ready_at else 0,
            elapsed_s=self.now, budget=self.budget, history=history, stop_rule=self.stop_rule,
            flights=tuple(replace_age(f, self.now - t0) for f, t0, _ in self.flights),
            results=tuple(self.results), cap_s=self.cap_s, restart_s=self.restart_s,
            dearest_s=dearest, refit_state=self.refit[0], refit_model=self.refit[1],
            leader_ahead=self.budget.wall_s is not None, settings=self.settings,
            machine_factor=self.machine_factor, shape=self.shape)

    # -- the results, as the engine records them ----------------------------------------
    def finalize(self, m: _Model, status: str, why: str, keep_partial: bool = False) -> None:
        m.status = status
        folds_at = self.rec.folds_at
        complete = [r for r in sorted(m.folds) if len(m.folds[r]) == folds_at[r]]
        rung = complete[-1] if complete else None
        scores = tuple(m.folds[rung][k][2] for k in sorted(m.folds[rung])) if (
            rung is not None and (status == "done" or keep_partial)) else ()
        curve = tuple((self.rec.rungs[r], statistics.fmean(m.folds[r][k][2] for k in m.folds[r]))
                      for r in complete)
        result = ModelResult(model=m.rec.name, status=status, fold_scores=scores,
                             fit_seconds=sum(s for f in m.folds.values() for _, s, _ in f.values()),
                             error=why, baseline=m.rec.baseline, tier=m.rec.tier,
                             rows=self.rec.rungs[rung] if rung is not None else 0,
                             learning_curve=curve)
        self.results.append(result)
        if status == "done":
            m.diagnosis = "pending"
            if m.rec.baseline and self.baseline is None:
                self.baseline = result.mean
            if not self.trace or result.mean > self.trace[-1][2]:
                self.trace.append((self.now, self.fits, result.mean))

    def kill(self, why: str) -> None:
        for flight, _, _ in self.flights:
            m = self.by_name[flight.model]
            if flight.kind == "refit":
                self.refit = ("", "")
            elif flight.kind == "diagnose":
                m.diagnosis = "pending" if why else "failed"
            elif not m.final:
                self.finalize(m, "skipped", why or "stopped at the end of the time budget", True)
        self.flights.clear()
        for m in self.models:
            if m.diagnosis == "pending" and not why:
                m.diagnosis = ""
            if not m.final and not why:
                self.finalize(m, "skipped", f"budget of {self.budget.wall_s:g} s spent", True)
        self.ready_at = self.now + self.restart_s

    # -- the policy's decisions -----------------------------------------------------------
    def carry_out(self, d: Decision) -> None:
        self.log.append((round(self.now, 3), d))
        if isinstance(d, Fit):
            m = self.by_name[d.model]
            m.status = "racing"
            fit = m.rec.fits.get((d.rung, d.fold))
            seconds = fit[1] if fit is not None else 0.0
            self.flights.append((Flight("fold", d.model, d.rung, d.fold), self.now,
                                 self.now + seconds))
        elif isinstance(d, Skip):
            if d.rule:
                self.stop_reason = f"budget of {self.budget.wall_s:g} s spent"
            self.finalize(self.by_name[d.model], "skipped", d.why or self.stop_reason, True)
        elif isinstance(d, Drop):
            self.finalize(self.by_name[d.model], "dropped",
                          f"clearly worse than {d.leader} on {d.rows:,} rows", True)
        elif isinstance(d, Stop):
            self.stop_rule = self.stop_rule or d.rule
            for m in self.models:
                if not m.final:
                    self.finalize(m, "skipped", f"stopped: {d.rule}", True)
        elif isinstance(d, Kill):
            self.kill("stopped" if d.stopped else "")
        elif isinstance(d, Timeout):
            self.timeout(d)
        elif isinstance(d, QueueRefit):
            self.refit = ("pending", d.model) if d.model else ("failed", "")
        elif isinstance(d, Refit):
            self.refit = ("running", d.model)
            self.flights.append((Flight("refit", d.model), self.now,
                                 self.now + self.refit_seconds(self.by_name[d.model])))
        elif isinstance(d, Diagnose):
            m = self.by_name[d.model]
            m.diagnosis = "running"
            guess = m.rec.diagnose_s
            if math.isnan(guess):
                guess = 2 * max((s for f in m.folds.values() for _, s, _ in f.values()),
                                default=0.0)
            self.flights.append((Flight("diagnose", d.model), self.now, self.now + guess))
        elif isinstance(d, NoDiagnostics):
            self.by_name[d.model].diagnosis = ""

    def refit_seconds(self, m: _Model) -> float:
        if not math.isnan(m.rec.refit_s):
            return m.rec.refit_s
        last = len(self.rec.rungs) - 1
        fits = [s for (r, _), (_, s, _) in m.rec.fits.items() if r == last]
        return statistics.fmean(fits) * 1.25 if fits else 0.0

    def timeout(self, d: Timeout) -> None:
        late = [x for x in self.flights if (x[0].kind, x[0].model, x[0].rung, x[0].fold)
                == (d.kind, d.model, d.rung, d.fold)]
        innocent = [x for x in self.flights if x not in late]
        self.flights.clear()
        for flight, _, _ in late:
            m = self.by_name[flight.model]
            if flight.kind == "diagnose":
                m.diagnosis = "failed"
            elif not m.final:
                self.finalize(m, "timeout", f"a fit ran past the {self.cap_s:g} s cap", True)
        for flight, _, _ in innocent:
            m = self.by_name[flight.model]
            if flight.kind == "diagnose" and m.diagnosis == "running":
                m.diagnosis = "pending"
            if flight.kind == "refit":
                self.refit = ("pending", flight.model)
        self.ready_at = self.now + self.restart_s

    # -- the clock ----------------------------------------------------------------------
    def finish_next(self) -> None:
        """Advance the clock to the next event: a fit that ends, a cap passed, the deadline,
        or the children ready."""
        ends = [end for _, _, end in self.flights]
        candidates = list(ends)
        if self.cap_s is not None:
            candidates += [t0 + self.cap_s + 1e-6 for f, t0, _ in self.flights if f.kind == "fold"]
        if self.now < self.ready_at:
            candidates.append(self.ready_at)
        wall = self.budget.wall_s
        if wall is not None and self.now < wall and self.flights:
            candidates.append(wall)
        self.now = max(self.now, min(candidates))
        for item in [x for x in self.flights if x[2] <= self.now]:
            self.flights.remove(item)
            self.complete(*item)

    def complete(self, flight: Flight, started: float, ends: float) -> None:
        m = self.by_name[flight.model]
        if flight.kind == "refit":
            if self.refit[1] == flight.model:
                self.refit = ("done", flight.model)
                self.refit_done_at = ends
            return
        if flight.kind == "diagnose":
            m.diagnosis = "done"
            return
        self.fits += 1
        if m.final:
            return
        fit = m.rec.fits.get((flight.rung, flight.fold))
        if fit is None:
            self.finalize(m, "failed", "no recorded fit")
            return
        m.folds.setdefault(flight.rung, {})[flight.fold] = fit
        if len(m.folds[flight.rung]) < self.rec.folds_at[flight.rung]:
            return
        if flight.rung == len(self.rec.rungs) - 1:
            self.finalize(m, "done", "")
        else:
            m.rung += 1

    def pending(self) -> bool:
        return (self.refit[0] == "pending" or any(m.diagnosis == "pending" for m in self.models)
                or any(not m.final for m in self.models))

    def run(self, max_steps: int = 100_000) -> Outcome:
        for _ in range(max_steps):
            for d in next_decisions(self.snapshot()):
                self.carry_out(d)
            if not self.flights and not self.pending():
                break
            if not self.flights and self.now >= self.ready_at:
                # Nothing runs and nothing could start: what is left has nowhere to go.
                decisions = next_decisions(self.snapshot())
                if not decisions:
                    break
                continue
            self.finish_next()
        wall = self.refit_done_at if not math.isnan(self.refit_done_at) else self.now
        best, wall = self.after_screening(wall)
        return Outcome(best=best.model if best else "", cv=best.mean if best else math.nan,
                       rows=best.rows if best else 0, wall_s=round(wall, 3),
                       results=tuple(self.results), decisions=tuple(self.log),
                       stop_rule=self.stop_rule)

    def after_screening(self, wall: float) -> tuple[ModelResult | None, float]:
        """The engine's pick after screening (``jobs/after_screening.py``): finished models
        beaten by a model cut short are dropped (``final.drop_beaten``), and with no model
        but the baseline finished, the best model cut short (``final.partial_winner``) is
        fitted on as many rows as the time left allows (``final.partial_fit_rows``)."""
        n_rows = self.rec.rungs[-1]
        left = None if self.budget.wall_s is None else self.budget.wall_s - wall

        def fit_rows(r: ModelResult) -> FinalRows:
            m = self.by_name[r.model]
            points = [(rows, s) for f in m.folds.values() for rows, s, _ in f.values()]
            return partial_fit_rows(points, m.rec.growth, r.rows, self.rec.rungs, n_rows, left)

        drops = {d.model for d in drop_beaten(
            self.results, lambda r: fit_rows(r).rows or n_rows, lambda *_: "beaten")}
        results = [replace(r, status="dropped") if r.model in drops else r for r in self.results]
        scored = [r for r in results if r.fold_scores and r.rows]
        if any(r.status == "done" and not r.baseline for r in scored):
            return best_result(results), wall
        partial = [r for r in scored if not r.baseline] or [r for r in scored
                                                            if r.status != "done"]
        if not partial:
            return best_result(results), wall
        top = partial_winner(partial)
        m = self.by_name[top.model]
        points = [(rows, s) for f in m.folds.values() for rows, s, _ in f.values()]
        rows = fit_rows(top).rows or n_rows
        return top, wall + predict_seconds(points, rows, m.rec.growth) + REFIT_OVERHEAD_S


def replace_age(flight: Flight, age_s: float) -> Flight:
    return Flight(flight.kind, flight.model, flight.rung, flight.fold, age_s)


def replay(rec: Recording, budget: Budget | None = None, workers: int = 2,
           restart_s: float = 1.5, cap_s: float | None = None,
           settings: PolicySettings | None = None, shape: Shape | None = None,
           machine_factor: float = 1.0) -> Outcome:
    """Replay ``rec`` under ``budget`` on ``workers`` simulated workers (see the module), the
    policy deciding with ``settings`` (None: the shipped ones, policy.toml). The rung sizes
    are the recording's: other rung settings need the sets recorded again. ``shape`` and
    ``machine_factor``: the cost model's (``policy.costs``; None: off)."""
    run = _Replay(rec, budget or Budget(), workers, restart_s, cap_s, settings)
    run.shape, run.machine_factor = shape, machine_factor
    return run.run()
