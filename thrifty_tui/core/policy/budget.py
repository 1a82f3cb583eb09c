"""The budget and the "done" rules of a run: pure arithmetic, no clocks hidden inside.

The engine measures (seconds elapsed, fits done, the best score so far) and passes them in;
these functions say which rule is met and put the verdict in words. Standard library only:
the worker thread in the app's process uses it.

Units, the same everywhere:

- a **fit** is one model fitted on one cross-validation fold (screening or tuning, any rung).
  The one final refit of the chosen model on all rows is not a search fit: it is never
  counted, and always done. ``max_fits`` counts fits *started*, so fits in flight count too.
- every score is higher-is-better (scikit-learn's scorer convention): RMSE is ``-RMSE``.
  A target for a ``neg_*`` metric may be given as the positive loss (``--target-score 4500``
  with ``--metric rmse`` means RMSE <= 4500).
- an improvement over the baseline is the fraction by which the *loss* fell, where the loss is
  ``1 - score`` for bounded scores (accuracy, balanced accuracy, F1, ROC AUC, R^2) and
  ``-score`` for ``neg_*`` metrics. For R^2 that is the reduction of the MSE: 0.2 = "RMSE^2 20 %
  below the mean predictor's"; for balanced accuracy, the error rate 20 % below the dummy's.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any
MET, NOT_YET, OFF = "met", "not yet", "off"
# When two rules become met at the same check, the first in this order is the stop reason.
RULE_ORDER = ("target", "min_improvement", "max_fits", "wall", "patience", "noise_floor")
RULE_LABELS = {"target": "target score", "min_improvement": "better than baseline",
               "max_fits": "maximum fits", "wall": "time budget", "patience": "patience",
               "noise_floor": "noise floor"}


@dataclass(frozen=True)
class Budget:
    """Limits and finish lines set up front; ``None`` (or False) switches a rule off."""

    wall_s: float | None = None  # wall seconds for the whole run, from the job's start
    max_fits: int | None = None
    target_score: float | None = None  # in the metric's units (see the module's docstring)
    min_improvement: float | None = None  # fraction of the baseline's loss, 0.2 = 20 %
    patience: int | None = None  # fits without a gain of at least patience_delta
    patience_delta: float | None = None  # δ, in score units (default 0: any gain counts)
    noise_floor: bool | None = None  # stop when gains over noise_window fits < the CV noise
    noise_window: int | None = None  # fits (default 20)
    price_per_cpu_hour: float | None = None  # money on the cost meter
    tune: bool | None = None  # tune the leaders after screening (None: when a rule is set)

    @property
    def any_rule(self) -> bool:
        """Whether any limit or finish line is set (then the leaders get tuned by default)."""
        return any(v is not None and v is not False for v in (
            self.wall_s, self.max_fits, self.target_score, self.min_improvement, self.patience,
            self.noise_floor or None))

    @property
    def wants_tuning(self) -> bool:
        return self.tune if self.tune is not None else self.any_rule

    @property
    def delta(self) -> float:
        return self.patience_delta or 0.0

    @property
    def window(self) -> int:
        return self.noise_window or 20

    def merged(self, override: Budget) -> Budget:
        """This budget with every field that ``override`` sets taking its value."""
        return replace(self, **{f.name: getattr(override, f.name) for f in fields(override)
                                if getattr(override, f.name) is not None})

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class History:
    """What the engine measured so far: the input of the rules."""

    metric: str
    elapsed_s: float
    fits: int  # fits finished
    fits_started: int = -1  # fits finished + in flight (-1: same as ``fits``)
    # (seconds, fits, score): one point each time the best full-data CV score rose.
    trace: tuple[tuple[float, int, float], ...] = ()
    baseline_score: float | None = None
    leader_fold_scores: tuple[float, ...] = ()

    @property
    def started(self) -> int:
        return self.fits if self.fits_started < 0 else max(self.fits, self.fits_started)

    @property
    def best(self) -> float | None:
        return self.trace[-1][2] if self.trace else None

    def best_at(self, fits: int) -> float | None:
        """The best score once ``fits`` fits were done (None before the first score)."""
        best = None
        for _, at, score in self.trace:
            if at <= fits:
                best = score
        return best


@dataclass(frozen=True)
class RuleState:
    """One rule for the dashboard: its name, met / not yet / off, and the numbers in words."""

    rule: str
    state: str
    detail: str

    @property
    def label(self) -> str:
        return RULE_LABELS.get(self.rule, self.rule)


@dataclass(frozen=True)
class ModelCost:
    """The compute one model (all its screening fits, or one trial) used."""

    model: str
    fits: int
    cpu_s: float  # CPU seconds of its fits in the child processes
    fit_s: float  # wall seconds of its fits, summed (fits run two at a time on two cores)
    peak_mb: float  # the largest resident memory of a child that fitted it
    money: float | None = None


@dataclass(frozen=True)
class RunCost:
    """The cost meter of a run: compute of the fits, the app's own CPU, wall time, money."""

    cpu_s: float  # fits' CPU + the app process's CPU since the job started
    fits_cpu_s: float
    wall_s: float
    peak_mb: float
    money: float | None  # None without a price per CPU-hour
    price_per_cpu_hour: float | None
    by_model: tuple[ModelCost, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["by_model"] = [{f.name: getattr(m, f.name) for f in fields(m)} for m in self.by_model]
        return out


# -- scores in the metric's units -------------------------------------------------------------

def is_loss_metric(metric: str) -> bool:
    """``neg_*`` scorers: the score is minus a loss (RMSE, MAE, log loss)."""
    return metric.startswith("neg_")


def loss_of(score: float, metric: str) -> float:
    """The loss behind a score: ``-score`` for neg_* metrics, else ``1 - score``."""
    return -score if is_loss_metric(metric) else 1.0 - score


def improvement_over(score: float, baseline: float, metric: str) -> float:
    """Fraction by which the loss fell below the baseline's (NaN when that loss is 0)."""
    base = loss_of(baseline, metric)
    if not base > 0 or math.isnan(score):
        return math.nan
    return 1.0 - loss_of(score, metric) / base


def target_as_score(target: float, metric: str) -> float:
    """A user's target in scorer units: a positive target for a loss metric is that loss."""
    return -target if is_loss_metric(metric) and target > 0 else target


def show_score(score: float | None, metric: str) -> str:
    """A score as the user reads it: losses as positive numbers."""
    if score is None or math.isnan(score):
        return "-"
    value = -score if is_loss_metric(metric) else score
    size = abs(value)
    return (f"{value:,.0f}" if size >= 1000 else f"{value:.1f}" if size >= 100
            else f"{value:.2f}" if size >= 1 else f"{value:.3f}")


def noise_of(fold_scores: Sequence[float]) -> float:
    """The fold-to-fold noise of a CV mean: std of the fold scores / sqrt(k)."""
    if len(fold_scores) < 2:
        return math.nan
    return statistics.pstdev(fold_scores) / math.sqrt(len(fold_scores))


# -- the rules --------------------------------------------------------------------------------

def _patience_anchor(history: History, delta: float) -> int:
    """Fits done when the best last rose by at least ``delta`` (0: never scored)."""
    anchor_score, anchor_fits = None, 0
    for _, at, score in history.trace:
        if anchor_score is None or score >= anchor_score + delta and score > anchor_score:
            anchor_score, anchor_fits = score, at
    return anchor_fits


def check_rules(budget: Budget, history: History) -> tuple[RuleState, ...]:
    """Each rule's state now, in RULE_ORDER."""
    metric, best = history.metric, history.best
    states: list[RuleState] = []
    if budget.target_score is None:
        states.append(RuleState("target", OFF, ""))
    else:
        target = target_as_score(budget.target_score, metric)
        met = best is not None and best >= target
        states.append(RuleState("target", MET if met else NOT_YET,
                                f"best {show_score(best, metric)} of {show_score(target, metric)}"))
    if budget.min_improvement is None:
        states.append(RuleState("min_improvement", OFF, ""))
    elif history.baseline_score is None or best is None:
        states.append(RuleState("min_improvement", NOT_YET,
                                f"{budget.min_improvement:.0%} wanted; no baseline score yet"))
    else:
        gain = improvement_over(best, history.baseline_score, metric)
        met = not math.isnan(gain) and gain >= budget.min_improvement
        states.append(RuleState("min_improvement", MET if met else NOT_YET,
                                f"{_pct(gain)} of {budget.min_improvement:.0%} better than the "
                                f"baseline ({show_score(history.baseline_score, metric)})"))
    if budget.max_fits is None:
        states.append(RuleState("max_fits", OFF, f"{history.started} fits"))
    else:
        states.append(RuleState("max_fits", MET if history.started >= budget.max_fits else NOT_YET,
                                f"{history.started} of {budget.max_fits} fits"))
    if budget.wall_s is None:
        states.append(RuleState("wall", OFF, f"{history.elapsed_s:.0f} s"))
    else:
        states.append(RuleState("wall", MET if history.elapsed_s >= budget.wall_s else NOT_YET,
                                f"{history.elapsed_s:.0f} of {budget.wall_s:g} s"))
    if budget.patience is None:
        states.append(RuleState("patience", OFF, ""))
    else:
        since = history.fits - _patience_anchor(history, budget.delta)
        met = history.trace != () and since >= budget.patience
        states.append(RuleState("patience", MET if met else NOT_YET,
                                f"{since} of {budget.patience} fits without a gain of "
                                f"{budget.delta:g}"))
    if not budget.noise_floor:
        states.append(RuleState("noise_floor", OFF, ""))
    else:
        noise = noise_of(history.leader_fold_scores)
        then = history.best_at(history.fits - budget.window)
        if best is None or then is None or math.isnan(noise):
            states.append(RuleState("noise_floor", NOT_YET,
                                    f"needs {budget.window} fits after the first score"))
        else:
            gain = best - then
            states.append(RuleState("noise_floor", MET if gain < noise else NOT_YET,
                                    f"gain {gain:.4f} in the last {budget.window} fits vs noise "
                                    f"±{noise:.4f}"))
    return tuple(states)


def first_met(states: Sequence[RuleState]) -> RuleState | None:
    """The rule that stops the run (RULE_ORDER breaks ties), or None."""
    met = [s for s in states if s.state == MET]
    return min(met, key=lambda s: RULE_ORDER.index(s.rule)) if met else None


def _pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0%}"


def _after(history: History) -> str:
    return f"after {history.fits} fits in {history.elapsed_s:.0f} s"


def stop_reason(rule: str, budget: Budget, history: History) -> str:
    """The verdict in words for the rule that stopped the run, with the numbers."""
    metric, best = history.metric, history.best
    shown = show_score(best, metric)
    if rule == "target":
        target = target_as_score(budget.target_score or 0.0, metric)
        return f"target {show_score(target, metric)} reached — {shown} {_after(history)}"
    if rule == "min_improvement":
        gain = improvement_over(best if best is not None else math.nan,
                                history.baseline_score if history.baseline_score is not None
                                else math.nan, metric)
        return (f"{budget.min_improvement:.0%} better than the baseline reached — {_pct(gain)} "
                f"({shown} vs {show_score(history.baseline_score, metric)}) {_after(history)}")
    if rule == "max_fits":
        return f"maximum of {budget.max_fits} fits reached — best {shown} {_after(history)}"
    if rule == "wall":
        left = (budget.wall_s or 0.0) - history.elapsed_s
        if left > 0.1 * (budget.wall_s or 0.0):  # stopped early: no fit could finish in time
            return (f"budget of {budget.wall_s:g} s: no fit left that could finish in the "
                    f"{left:.0f} s remaining — best {shown} {_after(history)}")
        return f"budget of {budget.wall_s:g} s spent — best {shown} {_after(history)}"
    if rule == "patience":
        return (f"no gain of {budget.delta:g} in {budget.patience} fits — best {shown} "
                f"{_after(history)}")
    if rule == "noise_floor":
        noise = noise_of(history.leader_fold_scores)
        return (f"gains below the fold-to-fold noise (±{noise:.4f}) over {budget.window} fits — "
                f"best {shown} {_after(history)}")
    raise ValueError(rule)


def verdict(budget: Budget, history: History) -> tuple[tuple[RuleState, ...], str]:
    """(each rule's state, the first met rule's stop reason in words or '')."""
    states = check_rules(budget, history)
    rule = first_met(states)
    return states, stop_reason(rule.rule, budget, history) if rule else ""


def met_rule(budget: Budget, history: History | None) -> str:
    """The done rule met now, or "" (screening and tuning stop on it). Not the time budget:
    that one is kept by refusing fits that cannot finish and, past the deadline, by killing
    them, so that the fits already paid for still count."""
    if history is None:
        return ""
    met = first_met([s for s in verdict(budget, history)[0] if s.rule != "wall"])
    return met.rule if met is not None else ""


def may_start_fit(budget: Budget, elapsed_s: float, predicted_s: float, fits_started: int,
                  reserve_s: float = 0.0) -> str:
    """'' when one more fit may start now, else which rule forbids it ("max_fits" | "wall").

    A fit whose predicted seconds (NaN: unknown, taken as 0) do not fit in the wall budget
    left after ``reserve_s`` (the final refit) is not started.
    """
    if budget.max_fits is not None and fits_started >= budget.max_fits:
        return "max_fits"
    if budget.wall_s is not None:
        cost = 0.0 if math.isnan(predicted_s) else predicted_s
        if elapsed_s + cost + reserve_s > budget.wall_s:
            return "wall"
    return ""


def money(cpu_seconds: float, price_per_cpu_hour: float | None) -> float | None:
    """What ``cpu_seconds`` cost at the user's price (None without a price)."""
    return None if price_per_cpu_hour is None else cpu_seconds / 3600.0 * price_per_cpu_hour
