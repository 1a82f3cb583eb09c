"""The screening scheduler as one pure function: a snapshot of a run in, the next decisions out.

``next_decisions(snapshot)`` composes the rules of ``schedule``, ``budget`` and ``final`` in the
order a screening run needs them: fits past their cap are stopped, a met done rule stops the
race (and kills the fits in flight when waiting for them costs more than new children), the
deadline kills what cannot finish, then each free worker gets the most urgent task: a fold
(after the drop, skip and budget checks of its rung), else the best model's fit on all rows,
else a finished model's diagnostics. The engine (``engine/screen_run.py``) builds the snapshot
from its live state and carries the decisions out in order; nothing here reads a clock, starts
a process or touches a file, so the same snapshot always gives the same decisions, and a run
can be replayed from recorded fits with a simulated clock (``tests/core/replay.py``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import replace

from thrifty_tui.core.policy.budget import may_start_fit, met_rule
from thrifty_tui.core.policy.costs import load_costs, predict
from thrifty_tui.core.policy.final import lead_on_shared_rows
from thrifty_tui.core.policy.racing import predict_seconds
from thrifty_tui.core.policy.schedule import (
    ModelView,
    baseline_may_overrun,
    diagnostics_fit,
    dropped_by,
    first_rung_leader,
    fold_priority,
    past_deadline,
    predicted_fit_seconds,
    refit_early,
    refit_reserve,
    rung_skip,
    task_cap,
    worth_killing,
)
from thrifty_tui.core.policy.snapshot import (
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
)
from thrifty_tui.core.records import best_result

__all__ = ["Decision", "Diagnose", "Drop", "Fit", "Flight", "Kill", "ModelState",
           "NoDiagnostics", "QueueRefit", "Refit", "Skip", "Snapshot", "Stop", "Timeout",
           "next_decisions", "reserve_for"]

# -- helpers -----------------------------------------------------------------------------------


def reserve_for(snap: Snapshot, models: Sequence[ModelState], rung: int) -> float:
    """``schedule.refit_reserve`` for the best finished model, or before any finished, for the
    racing leader on shared rows (``final.lead_on_shared_rows``): a cheap model that raced on
    to more rows does not lead a dear one that beat it where both were scored, so the reserve
    stays that one's refit."""
    views = {m.view.name: m.view for m in models}
    best = best_result(snap.results)
    view = views.get(best.model) if best is not None and best.status == "done" else None
    if view is None or not view.points:
        view = lead_on_shared_rows(
            [m.view for m in models],
            lambda v: {snap.rungs[r]: statistics.fmean(s) for r, s in v.complete.items()
                       if r < len(snap.rungs) and s})
    points = view.points if view is not None else ()
    growth = view.growth if view is not None else 1.0
    return refit_reserve(points, growth, snap.n_rows, snap.budget.wall_s, rung > 0,
                         shares=(snap.settings.max_reserve_share,
                                 snap.settings.looked_reserve_share))


def _met_rule(snap: Snapshot) -> str:
    """The done rule met now (not the time budget: that one is kept by refusing fits that
    cannot finish and, past the deadline, by killing them)."""
    return snap.stop_rule or met_rule(snap.budget, snap.history)


def _racing_flights(snap: Snapshot, flights: Sequence[Flight], views: dict[str, ModelView]
                    ) -> list[tuple[float, float]]:
    """(seconds run, predicted seconds) of the fold fits in flight."""
    return [(f.age_s, predict_seconds(views[f.model].points, snap.rungs[f.rung]))
            for f in flights if f.kind == "fold"]


def _dropped(snap: Snapshot, models: Sequence[ModelState], view: ModelView, rung: int
             ) -> Drop | None:
    """``schedule.dropped_by`` on the rung below ``rung`` (its folds' test share)."""
    leader = dropped_by(view, [x.view for x in models], rung - 1, 1.0 / snap.folds_at[rung - 1],
                        len(snap.rungs) - 1, snap.settings.drop_margin)
    return Drop(view.name, leader.name, snap.rungs[rung - 1]) if leader is not None else None


def _finalized(models: list[ModelState], name: str) -> None:
    for i, m in enumerate(models):
        if m.view.name == name:
            models[i] = replace(m, view=replace(m.view, final=True))


# -- the scheduler -----------------------------------------------------------------------------


def next_decisions(snap: Snapshot) -> tuple[Decision, ...]:
    """The decisions to carry out now, in order (see the module's docstring)."""
    out: list[Decision] = []
    models = list(snap.models)
    views = {m.view.name: m.view for m in models}
    flights = list(snap.flights)
    # 1. Per-task caps: a fit past the per-fit cap would only be killed later.
    late = [f for f in flights if (cap := task_cap(f.kind, snap.cap_s)) is not None
            and f.age_s > cap]
    if late:
        return tuple(Timeout(f.kind, f.model, f.rung, f.fold) for f in late)
    refitting = any(f.kind == "refit" for f in flights)
    # 2. A done rule: the race stops; fits in flight die when they would outlast new children.
    racing = [m for m in models if not m.view.final]
    rule = _met_rule(snap)
    if rule and (racing or not snap.stop_rule):
        out.append(Stop(rule))
        for m in racing:
            _finalized(models, m.view.name)
        flying = _racing_flights(snap, flights, views)
        if (not snap.stop_rule and flying and not refitting
                and worth_killing(flying, snap.restart_s)):
            out.append(Kill(stopped=True))
            return tuple(out)
    # 3. The deadline: the time left is the final refit's reserve.
    flying = _racing_flights(snap, flights, views)
    if flying and not refitting and past_deadline(
            flying, snap.elapsed_s, snap.budget.wall_s, reserve_for(snap, models, 0),
            snap.restart_s):
        out.append(Kill())
        return tuple(out)  # new children warm up before anything else starts
    # 4. A model whose rung just completed is dropped when clearly worse than that rung's
    #    leader (also checked again before its next rung starts: the leader may have changed).
    for m in list(models):
        if m.view.final or m.view.rung == 0 or m.view.rung in m.view.partial or any(
                f.model == m.view.name and f.rung == m.view.rung for f in flights):
            continue
        drop = _dropped(snap, models, m.view, m.view.rung)
        if drop is not None:
            out.append(drop)
            _finalized(models, m.view.name)
    # 5. Fill the free workers.
    out += _fill(snap, models, flights)
    return tuple(out)


def _queue_refit(snap: Snapshot, models: Sequence[ModelState], flights: Sequence[Flight],
                 refit: tuple[str, str]) -> QueueRefit | None:
    """Once every model is final, the best one's fit on all rows (first in line); earlier, the
    lone racing model's (``schedule.refit_early``)."""
    state, model = refit
    if not all(m.view.final for m in models):
        if state:
            return None
        racing = [m for m in models if not m.view.final and not m.view.baseline]
        done = [r.mean for r in snap.results if r.status == "done" and r.fold_scores
                and not r.baseline]
        lone_all_started = len(racing) == 1 and not _ready_folds(snap, racing[0], flights)
        early = refit_early([m.view for m in racing], len(snap.rungs) - 1, lone_all_started,
                            max(done) if done else None)
        return QueueRefit(early.name) if early is not None else None
    best = best_result(snap.results)
    if best is None:
        return QueueRefit("") if state not in ("running", "failed") else None
    if state and best.model == model:
        return None  # the speculative refit was of the right model
    if state in ("running", "pending"):
        return None  # a wrong guess under way: the worker refits the best after the run
    return QueueRefit(best.model)


def _ready_folds(snap: Snapshot, m: ModelState, flights: Sequence[Flight]) -> list[int]:
    if m.view.final:
        return []
    rung = m.view.rung
    busy = {f.fold for f in flights if f.kind == "fold" and f.model == m.view.name
            and f.rung == rung}
    return [k for k in range(snap.folds_at[rung]) if k not in m.done_folds and k not in busy]


def _fill(snap: Snapshot, models: list[ModelState], flights: list[Flight]) -> list[Decision]:
    out: list[Decision] = []
    slots = snap.free_slots
    refit = (snap.refit_state, snap.refit_model)
    started = snap.history.started if snap.history is not None else 0
    while True:
        queued = _queue_refit(snap, models, flights, refit)
        if queued is not None:
            out.append(queued)
            refit = ("pending", queued.model) if queued.model else ("failed", "")
        if slots <= 0:
            break
        views = {m.order: m.view for m in models}
        ahead = snap.leader_ahead and snap.settings.leader_ahead(snap.budget.wall_s)
        leader = first_rung_leader(list(views.values())) if ahead else None
        folds = sorted(((m, m.view.rung, k) for m in models for k in _ready_folds(snap, m, flights)),
                       key=lambda t: fold_priority(t[1], t[0].view, t[0].order, t[2], leader,
                                                   snap.settings.look_tier))
        if folds:
            m, rung, fold = folds[0]
            decision = _admit_fold(snap, models, m, rung, fold, started)
            out.append(decision)
            if isinstance(decision, Fit):
                flights.append(Flight("fold", m.view.name, rung, fold))
                slots -= 1
                started += 1
            elif isinstance(decision, Stop):
                for r in [x for x in models if not x.view.final]:
                    _finalized(models, r.view.name)
            else:
                _finalized(models, m.view.name)
            continue
        if refit[0] == "pending" and refit[1]:
            out.append(Refit(refit[1]))
            refit = ("running", refit[1])
            flights.append(Flight("refit", refit[1]))
            slots -= 1
            continue
        pending = sorted((m for m in models if m.view.final and m.diagnosis == "pending"),
                         key=lambda m: (m.view.name != refit[1], m.order))
        if not pending:
            break
        m = pending[0]
        models[models.index(m)] = replace(m, diagnosis="running")
        if diagnostics_fit(m.view.points, snap.elapsed_s, reserve_for(snap, models, 0),
                           snap.budget.wall_s):
            out.append(Diagnose(m.view.name))
            flights.append(Flight("diagnose", m.view.name))
            slots -= 1
        else:
            out.append(NoDiagnostics(m.view.name))
    return out


def _admit_fold(snap: Snapshot, models: list[ModelState], m: ModelState, rung: int, fold: int,
                started: int) -> Decision:
    """The first fold of a rung passes the rung's checks (drop, skip); every fold the budget."""
    growth = shape_prior(snap, m.view.name, 1)[1]  # the cost model's, when it is on
    view = m.view if growth is None else replace(m.view, growth=growth)
    rows = snap.rungs[rung]
    if rung not in view.partial and fold == 0:
        drop = _dropped(snap, models, view, rung) if rung > 0 else None
        if drop is not None:
            return drop
        left = None
        if snap.timed:
            left = snap.budget.wall_s - snap.elapsed_s - reserve_for(snap, models, rung)
        skip = rung_skip(view, rung, rows, snap.n_folds, snap.workers, snap.cap_s, left,
                         snap.cap_mb)
        if skip is not None:
            return Skip(view.name, skip.why, "spent" if skip.spent else "")
    dearest = snap.dearest_s[rung] if rung < len(snap.dearest_s) else 0.0
    predicted = predicted_fit_seconds(view, rows, snap.timed, snap.restart_s, dearest,
                                      *shape_prior(snap, view.name, rows))
    reserve = reserve_for(snap, models, rung)
    why = may_start_fit(snap.budget, snap.elapsed_s, predicted, started, reserve)
    if why == "wall" and baseline_may_overrun(view, rung):
        why = ""
    if why == "max_fits":
        return Stop("max_fits")
    if why == "wall":
        left = (snap.budget.wall_s or 0.0) - snap.elapsed_s - reserve
        return Skip(view.name, f"a fit predicted at {predicted:.1f} s does not fit in the "
                               f"{max(left, 0):.1f} s left of the budget", "wall")
    return Fit(view.name, rung, fold, predicted)


def shape_prior(snap: Snapshot, model: str, rows: int) -> tuple[float, float | None]:
    """The cost model's (seconds of one fit on ``rows``, growth in the rows) for ``model``
    (``policy.costs``), or (NaN, None) when the snapshot has no shape or the model no formula."""
    costs = load_costs()
    formula = costs.formulas.get(model) if snap.shape is not None and costs.use else None
    if formula is None or snap.shape is None:
        return math.nan, None
    return costs.margin * predict(formula, snap.shape, rows, snap.machine_factor), formula.b
