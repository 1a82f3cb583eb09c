"""Budgeted tuning and the done rules (issue 5): the dashboard reads only these. BudgetUpdate
at least every ~0.5 s while a Screen job runs (and once more, with final=True, just before its
RunFinished), TuningStarted when the leaders start being tuned, one TrialFinished per
configuration cross-validated at a rung. Re-exported by ``core.events``, their public path."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from thrifty_tui.core.event_base import EVENT_NAMES, Event
from thrifty_tui.core.policy.budget import RuleState, RunCost


@dataclass(frozen=True)
class TuningStarted(Event):
    """Screening is over and the leaders' hyperparameters are being searched."""

    run_id: int
    leaders: tuple[str, ...]
    rungs: tuple[int, ...]  # rows at each successive-halving rung (the last: all rows)
    bracket_size: int  # configurations entering each bracket, per leader
    seconds_left: float | None  # of the wall budget (None: no time limit)
    fits_left: int | None  # of the maximum fits (None: no limit)


@dataclass(frozen=True)
class TrialFinished(Event):
    """One configuration of a leader cross-validated at one rung (stored as it finished)."""

    run_id: int
    model: str  # the leader (zoo entry) being tuned
    trial: int  # its number within this run's tuning of ``model`` (0, 1, ...)
    params: tuple[tuple[str, str], ...]  # the searched parameters only, as text
    rung: int  # index into TuningStarted.rungs' screening rungs
    rows: int
    fold_scores: tuple[float, ...]
    mean: float
    std: float
    status: str  # done | failed
    fit_seconds: float  # wall seconds of its fits, summed
    cpu_seconds: float
    peak_mb: float
    money: float | None  # at the user's price per CPU-hour (None: no price set)
    resumed: bool  # loaded from the workspace: a restarted run did not fit it again
    full_data: bool  # at the last rung: comparable with the leaderboard's scores
    best_so_far: float  # the run's best full-data CV score after this trial
    error: str = ""


@dataclass(frozen=True)
class BudgetUpdate(Event):
    """The budget and the done rules now: gauges, best-so-far trace, rule states, cost."""

    run_id: int
    phase: str  # screening | tuning | refit | done
    elapsed_s: float
    wall_s: float | None  # the time budget (None: none set)
    fits: int  # fits finished (one fit = one model on one CV fold; the final refit excluded)
    fits_started: int  # finished + in flight (what max_fits limits)
    max_fits: int | None
    best_model: str
    best_score: float  # best full-data CV score so far (NaN before the first)
    baseline_score: float  # the dummy baseline's (NaN if none)
    trace: tuple[tuple[float, float], ...]  # (seconds, best score) each time the best rose
    rules: tuple[RuleState, ...]  # one per rule in core.budget.RULE_ORDER: met|not yet|off
    stop_reason: str  # '' while running; the verdict in words once stopped
    cost: RunCost
    final: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["rules"] = [{**asdict(r), "label": r.label} for r in self.rules]
        out["cost"] = self.cost.to_dict()
        return out


EVENT_NAMES.update({TuningStarted: "tuning_started", TrialFinished: "trial",
                    BudgetUpdate: "budget"})
