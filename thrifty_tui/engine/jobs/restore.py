"""The Restore job: what the screens showed, read back from the workspace on reopen.

The last run's board (BoardRestored, first) with its ≈ marks, its diagnostics, its budget (the
rules it was started with, the last gauges, each rule's state, the verdict) and every run of
the workspace (RunsListed), each run's best exportable. Reads only.
"""

from __future__ import annotations

import json
import math
from typing import Any

from thrifty_tui.core.events import (
    BoardRestored, BudgetUpdate, LeaderTies, ModelDiagnosed, Notice,
)
from thrifty_tui.core.restore_events import BudgetRestored, RunsListed
from thrifty_tui.core.policy.budget import ModelCost, RuleState, RunCost
from thrifty_tui.core.store.bundle_report import diagnostics_path
from thrifty_tui.core.store.runs import restored_ties, run_summaries
from thrifty_tui.core.store.workspace import Workspace
from thrifty_tui.engine.context import JobContext
from thrifty_tui.engine.jobs.requests import Restore


def run_restore(ctx: JobContext, job: Restore) -> None:
    """The last run as the screens showed it, and every run of the workspace."""
    restore_workspace(ctx.ws, ctx.emit)


def restore_workspace(ws: Workspace, emit: Any) -> None:
    """Emit the last run of ``ws`` as the screens showed it (BoardRestored first), and every
    run of the workspace (RunsListed)."""
    run_id = ws.last_run_id()
    if run_id is None:
        emit(Notice(message="new workspace: no runs yet"))
        emit(RunsListed(runs=()))
        return
    started = ws.run_started(run_id)
    results = ws.results(run_id)  # in the order they finished (the UI shows the run's order)
    emit(BoardRestored(run=started, results=results, finished=ws.run_finished(run_id)))
    emit(RunsListed(runs=tuple(run_summaries(ws))))
    leader, ties = restored_ties(results, started.n_folds)
    if leader:
        emit(LeaderTies(run_id=run_id, leader=leader, ties=ties))
    extra = ws.run_extra(run_id)
    if extra.get("budget"):
        emit(BudgetRestored(run_id=run_id, budget=dict(extra["budget"])))
    update = stored_budget_update(run_id, extra, results)
    if update is not None:
        emit(update)
    _restore_diagnostics(ws, run_id, results, emit)


def _restore_diagnostics(ws: Workspace, run_id: int, results: Any, emit: Any) -> None:
    from thrifty_tui.core.learn.diagnostics import diagnostics_from_dict  # core: allowed lazily

    run_dir = ws.run_dir(run_id)
    for result in results:
        path = diagnostics_path(run_dir, result.model)
        if path.is_file():
            try:
                diag = diagnostics_from_dict(json.loads(path.read_text()))
            except (ValueError, TypeError, KeyError):
                continue  # an unreadable file costs the plot, not the board
            emit(ModelDiagnosed(run_id=run_id, model=result.model, diagnostics=diag))


def stored_budget_update(run_id: int, extra: dict[str, Any], results: Any
                         ) -> BudgetUpdate | None:
    """The last BudgetUpdate of a finished run, rebuilt from what the budget guard stored with
    it (None when the run had no budget record)."""
    stop, budget = extra.get("stop"), extra.get("budget") or {}
    if not stop:
        return None
    cost = dict(extra.get("cost") or {})
    by_model = tuple(ModelCost(**m) for m in cost.pop("by_model", []) or [])
    try:
        run_cost = RunCost(**cost, by_model=by_model)
    except TypeError:
        run_cost = RunCost(cpu_s=0.0, fits_cpu_s=0.0, wall_s=float(stop.get("elapsed_s", 0.0)),
                           peak_mb=0.0, money=None, price_per_cpu_hour=None)
    trace = tuple((float(p[0]), float(p[-1])) for p in stop.get("trace", []))
    baseline = next((r.mean for r in results if r.baseline), math.nan)
    best = max((r for r in results if r.status == "done" and r.fold_scores and not r.baseline),
               key=lambda r: r.mean, default=None)
    fits = int(stop.get("fits", 0))
    return BudgetUpdate(
        run_id=run_id, phase="done", elapsed_s=float(stop.get("elapsed_s", 0.0)),
        wall_s=budget.get("wall_s"), fits=fits, fits_started=fits,
        max_fits=budget.get("max_fits"), best_model=best.model if best else "",
        best_score=best.mean if best else math.nan, baseline_score=baseline, trace=trace,
        rules=tuple(RuleState(str(r[0]), str(r[1]), str(r[2])) for r in stop.get("rules", [])),
        stop_reason=str(stop.get("reason", "")), cost=run_cost, final=True)
