"""After screening: which model is refit for export, and on how many rows.

Pure functions of what was measured (scores by rows, fit times by rows) and of the time left
as a number: no clock, no process, no file. The engine asks them and carries out the answer
(``engine/budget_guard.py`` for the rows, ``engine/jobs/final_fit.py`` for the fits).

Scores measured on different rows are not comparable (more rows, higher scores), so models are
compared on the largest racing rung both were scored on (``lead_on_shared_rows``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

from thrifty_tui.core.policy.racing import predict_seconds
from thrifty_tui.core.records import ModelResult

T = TypeVar("T")

REFIT_OVERHEAD_S = 0.5  # dispatch, pickling and the model's dump, on top of the fit itself
# The sure final fit of a model cut short: not on more rows than this many times its largest
# measured fit (a guess, not a prediction), and past that fit, only when predicted in time
# with this margin. Fit times grow faster at the largest sizes than the measured slope says
# (births: HGB's 0.5 to 0.78); an all-rows fit from 99 k measured ran 35 s of 30.
MAX_EXTRAPOLATION = 4
EXTRAPOLATION_MARGIN = 1.5


class FinalRows(NamedTuple):
    """How a model cut short is fitted for export: on ``rows`` (None: all rows), and whether a
    fit on all rows may run beside it on the other core (kept if it ends in time)."""

    rows: int | None
    try_all_rows: bool


@dataclass(frozen=True)
class Drop:
    """A finished model set aside (its leaderboard row restated with ``why``)."""

    model: str
    why: str


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


def partial_winner(partial: Sequence[ModelResult]) -> ModelResult:
    """The best of models cross-validated on different racing rungs (``lead_on_shared_rows``
    over their learning curves): a model that beat the others on the rows they shared wins
    even if the time ran out before it reached as many rows as they did."""
    winner = lead_on_shared_rows(partial, result_curve)
    assert winner is not None, "partial_winner needs a scored model"
    return winner


def partial_fit_rows(points: Sequence[tuple[int, float]], growth: float, cv_rows: int,
                     sizes: Sequence[int], n_rows: int, seconds_left: float | None) -> FinalRows:
    """Rows for the final fit of a model cross-validated on ``cv_rows`` only.

    All rows when its predicted fit time (from ``points``, its measured (rows, seconds))
    fits in ``seconds_left``; else the largest racing size that does (at least ``cv_rows``):
    the budget holds, and the model still sees more rows than any of its folds did. A size
    over MAX_EXTRAPOLATION times the largest measured fit is not trusted, and one past it
    needs EXTRAPOLATION_MARGIN. A fit on all rows may run beside it only when that size is
    predicted in time (at the floor, ``cv_rows``, it is not, and a second fit would slow it
    down further). Without a time budget or measurements: all rows.
    """
    if seconds_left is None or not points:
        return FinalRows(None, False)
    left = seconds_left - REFIT_OVERHEAD_S
    measured = max(rows for rows, _ in points)
    for size in sorted({*sizes, n_rows}, reverse=True):
        if size < cv_rows:
            break
        if size > MAX_EXTRAPOLATION * measured:
            continue  # too far past what was measured: all rows are tried beside instead
        margin = EXTRAPOLATION_MARGIN if size > measured else 1.0
        if margin * predict_seconds(points, size, growth) <= left:
            return FinalRows(None, False) if size >= n_rows else FinalRows(size, True)
    return FinalRows(cv_rows, False)


def next_final_size(points: Sequence[tuple[int, float]], growth: float, rows: int,
                    seconds: float, sizes: Sequence[int], n_rows: int,
                    seconds_left: float | None) -> int | None:
    """While the fit on all rows of the model cut short runs on one core, the next size to fit
    it on, on the core the surer fit (``rows`` rows, ``seconds`` wall) freed: the smallest
    racing size above ``rows`` and below all rows that is predicted, from the model's fits
    and this one, to end within ``seconds_left`` (None if none is). The largest fit that ends
    in time is kept, so one that does not costs only the core it would have left idle.
    """
    if seconds_left is None:
        return None
    larger = [size for size in sizes if rows < size < n_rows]
    if not larger:
        return None
    size = min(larger)
    measured = [*points, (rows, max(1e-3, seconds - REFIT_OVERHEAD_S))]
    predicted = predict_seconds(measured, size, growth)
    return size if predicted + REFIT_OVERHEAD_S <= seconds_left else None


def drop_beaten(results: Sequence[ModelResult], final_rows_of: Callable[[ModelResult], int],
                describe: Callable[[ModelResult, ModelResult, int], str]) -> list[Drop]:
    """Models that finished on all rows but lost to a model the budget cut short are dropped,
    so that one is refit, when it is the better bet (else no drop at all).

    Scores on more rows are higher, so a cheap model that raced on to all rows while a
    dearer one was refused its next rung must not win on that alone (gss at 10 s: a linear
    SVM at 0.755 on 49 k rows; HGB at 0.759 on 1,828 rows against the SVM's 0.741 there;
    refit on all rows, HGB scores 0.82 on the holdout). The bet assumes equal gains from
    more rows: the model cut short, fitted on F rows (``final_rows_of``: as many as the time
    left allows), wins if its lead where both were scored exceeds what the finished model
    gained from F rows to all rows (its learning curve). With F short of all rows that gain
    can be large (movies at 30 s: logistic regression cut short on 15,676 rows led SGD there
    by 1.2 pt, and SGD gained 3.6 pt from those rows to all 47 k: SGD stays). ``describe``
    words the reason (top, beaten, shared rows).
    """
    done = [r for r in results if r.status == "done" and r.fold_scores and not r.baseline]
    cut = [r for r in results if r.status == "skipped" and r.fold_scores and r.rows
           and not r.baseline]
    if not done or not cut:
        return []
    top = partial_winner([*done, *cut])
    if top.status == "done":
        return []
    final_rows = final_rows_of(top)
    drops = []
    for r in done:
        rows = shared_rows(top, r)
        if rows is None:
            return []
        lead = score_at(top, rows) - score_at(r, rows)
        curve = result_curve(r)  # its score at the most rows up to the final fit's
        at_final = curve[max((n for n in curve if n <= final_rows), default=min(curve))]
        if not lead > r.mean - at_final:
            return []  # the finished model stays the better bet
        drops.append(Drop(r.model, describe(top, r, rows)))
    return drops


def tune_after_screening(screened: bool, stopped_by_rule: bool, time_refused: bool,
                         wanted: bool) -> bool:
    """Whether the leaders are tuned after screening: only when screening ended normally, no
    done rule stopped the run, the time budget refused no fit (it has nothing to spare), and
    tuning was asked for (``--tune``, or any done rule set: they bound it)."""
    return screened and not stopped_by_rule and not time_refused and wanted
