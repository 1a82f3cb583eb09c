"""The mean of the leaders as pure rules: a snapshot of the finished rows in, frozen decisions out.

When two or more models cannot be told apart from the best, their mean often beats each of
them (cars: extra trees, RBF SVM and random forest, 0.9435 alone, 0.948 together). Its
cross-validated score needs no new fit: a child averages the members' saved out-of-fold
predictions on the same full-size folds. Who joins (``pick_members``), how long tuning keeps
for it (``mean_reserve``), whether it is scored at all (``score_or_not``), whether a mean that
scored best is skipped because its members' fits on all rows cannot end in time
(``judge_mean``), how long those fits may run (``fit_members_until``) and who stands in when
they fail (``single_fallback``) are decided here. The engine (``engine/ensemble_run.py``)
builds the snapshot (which models have out-of-fold files, their fits on all rows still to come,
the clock as a number), carries the decisions out and writes the rows; nothing here reads a
clock, starts a process or touches a file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from thrifty_tui.core.policy.stats import indistinguishable
from thrifty_tui.core.records import ModelResult, best_result

MAX_MEMBERS = 3  # more members add refit time and barely move the mean
MIN_MEMBERS = 2  # a mean of one is that model
PREFIX = "mean of "
TUNED = " (tuned)"
SCORE_MEAN_S = 0.5  # the child's averaging, scoring and diagnostics (cars: 0.1 s; births: ~0.5 s)
ASSEMBLE_S = 0.5  # loading the members' files and saving their mean
# Past the deadline, the members' fits may use this share of the budget (of the 5 % allowance
# for wall time): the best single model's fit then still has the rest.
MEMBER_FIT_ALLOWANCE = 0.02


def ensemble_name(members: Sequence[str]) -> str:
    """The leaderboard name of the mean of ``members``."""
    return PREFIX + " + ".join(members)


@dataclass(frozen=True)
class MeanSnapshot:
    """The finished rows of a run and what the mean's rules read of the engine."""

    results: tuple[ModelResult, ...]
    n_rows: int  # all rows: the members' folds must be the full-size ones
    n_folds: int
    test_fraction: float
    with_oof: frozenset[str] = frozenset()  # models whose out-of-fold files all exist
    # (model, predicted seconds of its fit on all rows still to come: 0 when done, NaN unknown)
    refit_left: tuple[tuple[str, float], ...] = ()
    workers: int = 1
    wall_s: float | None = None
    elapsed_s: float = 0.0


@dataclass(frozen=True)
class ScoreMean:
    """Score the mean of ``members`` (best first) from their out-of-fold predictions."""

    members: tuple[ModelResult, ...]


@dataclass(frozen=True)
class NoMean:
    """No mean is scored; ``reason`` says why."""

    reason: str


@dataclass(frozen=True)
class UseMean:
    """The mean's row is a finished one (it is the run's model if it scores best)."""

    note: str = "the mean of its members' predictions; no fit of its own"


@dataclass(frozen=True)
class SkipMean:
    """The mean scored best but is skipped: its members' fits on all rows do not end in time."""

    reason: str

    def why_not(self, name: str) -> str:
        """The sentence added to the run's stop reason."""
        return f"the {name} scored best but was not fitted: {self.reason}"


@dataclass(frozen=True)
class FitMembers:
    """Fit the members on all rows and save their mean, given up at ``until_s`` (None: never)."""

    until_s: float | None


def tied_with_best(results: Sequence[ModelResult], test_fraction: float) -> list[ModelResult]:
    """The best finished model (no baseline) and those that cannot be told apart from it on
    the same folds, best first: the leaderboard's leaders (a mean of clearly worse models would
    pull the best one down)."""
    done = [r for r in results if r.status == "done" and r.fold_scores and not r.baseline]
    if not done:
        return []
    done.sort(key=lambda r: r.mean, reverse=True)
    top = done[0]
    return [r for r in done if r is top or (
        len(r.fold_scores) == len(top.fold_scores)
        and indistinguishable(top.fold_scores, r.fold_scores, test_fraction))]


def full_size(snap: MeanSnapshot, result: ModelResult) -> bool:
    """Whether ``result`` was cross-validated on all rows and every fold (the mean averages
    predictions fold by fold, so its members must share the full-size folds); never a mean."""
    return (result.rows == snap.n_rows and not result.model.startswith(PREFIX)
            and len(result.fold_scores) == snap.n_folds)


def tuned_stands_in(results: Sequence[ModelResult]) -> list[ModelResult]:
    """A tuned model stands in for its own untuned row (the two are nearly the same model, and
    a mean of both would count it twice)."""
    tuned = {r.model.removesuffix(TUNED) for r in results if r.model.endswith(TUNED)}
    return [r for r in results if r.model not in tuned]


def has_oof(snap: MeanSnapshot, model: str) -> bool:
    """Whether ``model``'s out-of-fold predictions were all saved (the mean is scored from
    them, with no fit of its own)."""
    return model in snap.with_oof


def pick_members(snap: MeanSnapshot) -> tuple[ModelResult, ...]:
    """The best model cross-validated on all rows and those that cannot be told apart from it
    (at most MAX_MEMBERS, best first); () unless there are MIN_MEMBERS."""
    full = tuned_stands_in([r for r in snap.results if full_size(snap, r)])
    picked = [r for r in tied_with_best(full, snap.test_fraction)
              if has_oof(snap, r.model)][:MAX_MEMBERS]
    return tuple(picked) if len(picked) >= MIN_MEMBERS else ()


def refit_makespan(seconds: Sequence[float], workers: int) -> float:
    """Wall seconds to fit jobs of ``seconds`` each on ``workers`` children, longest first,
    each on the child that frees up first (NaN if any is unknown): the members' fits on all
    rows run side by side."""
    if any(math.isnan(s) for s in seconds):
        return math.nan
    loads = [0.0] * max(1, workers)
    for s in sorted(seconds, reverse=True):
        loads[loads.index(min(loads))] += s
    return max(loads)


def _left(snap: MeanSnapshot, model: str) -> float:
    return dict(snap.refit_left).get(model, math.nan)


def refit_seconds(snap: MeanSnapshot, members: Sequence[ModelResult]) -> float:
    """Predicted wall seconds of the members' fits on all rows on the children (a member the
    run already fitted on all rows costs nothing), plus putting them together (NaN: a member
    never measured)."""
    return refit_makespan([_left(snap, m.model) for m in members], snap.workers) + ASSEMBLE_S


def single_refit_left(snap: MeanSnapshot) -> float:
    """The best single model's fit on all rows still to come (0 when done or unmeasured): it is
    the deliverable, so the mean never takes its time."""
    best = best_result(snap.results)
    seconds = 0.0 if best is None else _left(snap, best.model)
    return 0.0 if math.isnan(seconds) else seconds


def mean_reserve(snap: MeanSnapshot) -> float:
    """Seconds to keep, while tuning, for scoring the mean of the current leaders and fitting
    them all on all rows (0 when they are fewer than two or one was never measured): else
    tuning spends the time the mean would need, and a mean that scores best is skipped."""
    members = pick_members(snap)
    seconds = refit_seconds(snap, members) if members else math.nan
    return 0.0 if math.isnan(seconds) else SCORE_MEAN_S + seconds


def may_score_mean(elapsed_s: float, single_refit_left_s: float, wall_s: float | None) -> bool:
    """Whether the mean of the leaders may be scored: not when scoring it would push the best
    single model's own fit on all rows past the time budget (that fit is the deliverable)."""
    return wall_s is None or elapsed_s + SCORE_MEAN_S + single_refit_left_s <= wall_s


def score_or_not(snap: MeanSnapshot) -> ScoreMean | NoMean:
    """Score the mean of the leaders, or not (fewer than two, or no time for it)."""
    members = pick_members(snap)
    if not members:
        return NoMean("fewer than two leaders with out-of-fold predictions on all rows")
    if not may_score_mean(snap.elapsed_s, single_refit_left(snap), snap.wall_s):
        return NoMean("scoring it would push the best model's own fit past the budget")
    return ScoreMean(members)


def mean_fits_in_time(refit_s: float, seconds_left: float | None) -> bool:
    """Whether a mean of the leaders that scored best may be exported: its members' fits on
    all rows (``refit_s``, with ASSEMBLE_S; NaN: a member never measured) must end within
    the seconds left; else the best single model is, and the row says why."""
    return seconds_left is None or refit_s <= seconds_left


def scores_better(mean_score: float, single: ModelResult | None) -> bool:
    """Whether the mean beats the best single model (only then can it be the run's model, so
    only then does its time matter)."""
    return single is None or mean_score > single.mean


def judge_mean(snap: MeanSnapshot, members: Sequence[ModelResult], mean_score: float
               ) -> UseMean | SkipMean:
    """The scored mean's row: finished, or skipped (with its score) when it beats the best
    single model but its members' fits on all rows cannot end in what is left of the budget."""
    seconds = refit_seconds(snap, members)
    left = math.inf if snap.wall_s is None else snap.wall_s - snap.elapsed_s
    if scores_better(mean_score, best_result(snap.results)) and not mean_fits_in_time(
            seconds, None if snap.wall_s is None else left):
        return SkipMean(f"its members' fits on all rows, predicted {seconds:.1f} s, do not fit "
                        f"in the {max(left, 0.0):.1f} s left of the budget")
    return UseMean()


def fit_members_until(deadline_s: float | None, wall_s: float | None) -> FitMembers:
    """The members' fits on all rows may run a little past the deadline (MEMBER_FIT_ALLOWANCE
    of the budget); the best single model's fit then still has the rest of the allowance (or
    was done already, during screening)."""
    return FitMembers(None if deadline_s is None
                      else deadline_s + MEMBER_FIT_ALLOWANCE * (wall_s or 0))


def single_fallback(results: Sequence[ModelResult], mean: ModelResult | None
                    ) -> ModelResult | None:
    """The best single model, when the mean was best but could not be fitted (never the mean
    itself)."""
    return best_result([r for r in results if r is not mean])
