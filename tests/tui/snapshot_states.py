"""Deterministic screen states for the snapshot tests: a run read back from a fixed workspace,
and recorded engine events posted to the app the way the bridge posts them (no fitting, no
clock: what is drawn is the same on every machine)."""

from __future__ import annotations

import math
import time

from tui_helpers import fixed_diagnostics, wait_for

from thrifty_tui.core.policy.budget import NOT_YET, OFF, RuleState, RunCost
from thrifty_tui.core.events import (
    BudgetUpdate, LeaderTies, ModelDiagnosed, ModelScored, ModelStarted, ModelUpdate,
    RunFinished, RunProgress, RunStarted,
)
from thrifty_tui.core.records import ModelResult
from thrifty_tui.tui.bridge import EngineEvent

BEST = "hist gradient boosting"
LIVE_MODELS = ("baseline (dummy)", "linear", "decision tree", "hist gradient boosting",
               "random forest")


class FrozenClock:
    """A ``time`` stand-in that does not move (the board's elapsed seconds, a run's date)."""

    strftime = staticmethod(time.strftime)

    @staticmethod
    def monotonic() -> float:
        return 1000.0

    @staticmethod
    def localtime(seconds: float | None = None) -> time.struct_time:
        return time.gmtime(1_765_000_000)


def post(app, *events) -> None:
    for event in events:
        app.post_message(EngineEvent(event))


def cost(wall: float) -> RunCost:
    return RunCost(cpu_s=2 * wall, fits_cpu_s=1.8 * wall, wall_s=wall, peak_mb=310.0,
                   money=None, price_per_cpu_hour=None)


def budget_update(run_id: int, elapsed: float, final: bool = False) -> BudgetUpdate:
    rules = (RuleState("target", NOT_YET if not final else "met", "best 0.6210 of 0.62"),
             RuleState("min_improvement", OFF, ""), RuleState("max_fits", OFF, "24 fits"),
             RuleState("wall", NOT_YET, f"{elapsed:.0f} of 90 s"),
             RuleState("patience", NOT_YET, "4 of 60 fits without a gain"),
             RuleState("noise_floor", OFF, ""))
    trace = ((3.0, 0.5), (6.5, 0.58), (11.0, 0.605), (17.0, 0.621))
    return BudgetUpdate(run_id=run_id, phase="done" if final else "screening",
                        elapsed_s=elapsed, wall_s=90.0, fits=24, fits_started=26, max_fits=None,
                        best_model=BEST, best_score=0.621, baseline_score=0.5,
                        trace=trace if final else trace[:3], rules=rules,
                        stop_reason="target 0.620 reached — 0.621 after 24 fits in 21 s"
                        if final else "", cost=cost(elapsed), final=final)


async def live_run(pilot, app) -> None:
    """Run 2 in the middle of screening: rows scored, one racing, the progress bar."""
    from thrifty_tui.tui.budget_state import parse_rules

    await wait_for(pilot, lambda: app.state.finished is not None)
    app.state.budget.pending_rules = parse_rules("seconds=90 target_score=0.62 patience=60")
    start = RunStarted(run_id=2, path="sample_data/gss_wages.csv", target="gender",
                       task="classification", metric="balanced_accuracy", n_rows=3000,
                       n_folds=5, models=LIVE_MODELS, rungs=(500, 1500, 3000))
    post(app, start, budget_update(2, 12.0))
    rows = (ModelResult("baseline (dummy)", "done", (0.5,) * 5, 0.2, baseline=True, rows=3000),
            ModelResult("linear", "done", (0.74, 0.75, 0.73, 0.76, 0.745), 0.4, rows=3000),
            ModelResult("decision tree", "dropped", (0.61, 0.6, 0.62, 0.6, 0.61), 0.1,
                        rows=500, error="clearly worse than the leader at 500 rows"))
    for i, row in enumerate(rows):
        post(app, ModelStarted(run_id=2, model=row.model),
             ModelScored(run_id=2, result=row, done=i + 1, total=len(LIVE_MODELS)))
    post(app, ModelStarted(run_id=2, model=BEST),
         ModelUpdate(run_id=2, model=BEST, status="racing", rung=1, n_rungs=3, rows=1500,
                     mean=0.768, std=0.01),
         ModelStarted(run_id=2, model="random forest"),
         RunProgress(run_id=2, fits_done=26, fits_total=60, eta_s=14.0, elapsed_s=12.0),
         LeaderTies(run_id=2, leader="linear", ties=()))
    await wait_for(pilot, lambda: len(app.state.results) == 3)


async def finished_run(pilot, app) -> None:
    """The fixed workspace's run, finished, with a bundle to export and its best diagnosed."""
    await wait_for(pilot, lambda: app.state.finished is not None)
    post(app, ModelDiagnosed(run_id=1, model=BEST, diagnostics=fixed_diagnostics(BEST)))
    await wait_for(pilot, lambda: BEST in app.state.diagnostics)


async def budget_done(pilot, app) -> None:
    """A run under a 90 s budget stopped by its target score."""
    await live_run(pilot, app)
    post(app, ModelScored(run_id=2, result=ModelResult(BEST, "done", (0.62, 0.63, 0.61, 0.625,
                                                                     0.62), 1.3, rows=3000),
                          done=4, total=5),
         budget_update(2, 21.0, final=True),
         RunFinished(run_id=2, status="done", best_model=BEST, best_score=0.621,
                     metric="balanced_accuracy", elapsed_s=21.0,
                     stop_reason="target 0.620 reached — 0.621 after 24 fits in 21 s",
                     model_path="model.joblib"))
    await wait_for(pilot, lambda: app.state.budget.finished is not None)


def nan() -> float:
    return math.nan
