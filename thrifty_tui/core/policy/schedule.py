"""The screening scheduler's rules: which fold runs first, which model is skipped or dropped,
how much time to keep for the final fit, and when the fits in flight are worth killing.

Pure functions of measured values (scores by rung, fit seconds by rows) and of the clock as a
number; the engine (``engine/screen_run.py``, ``engine/budget_guard.py``) builds their inputs
from its state, asks, and carries out the answer. Each rule says why it exists.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from thrifty_tui.core.policy.racing import predict_quadratic_bytes, predict_seconds
from thrifty_tui.core.policy.settings import shipped
from thrifty_tui.core.policy.stats import clearly_worse

# The shipped values (thrifty_tui/data/policy.toml, [schedule]); a snapshot carries its own.
LOOK_TIER = shipped().look_tier  # under a time budget, tiers up to this one get a first look
DROP_MARGIN = shipped().drop_margin  # a model must trail the leader by this much to be dropped
MAX_RESERVE_SHARE = shipped().max_reserve_share  # of the budget, kept at most for the refit
LOOKED_RESERVE_SHARE = shipped().looked_reserve_share  # ... from fits on larger rungs
REFIT_OVERHEAD_S = 0.5  # dispatch, pickling and the model's dump, on top of the fit itself
# The family's best is kept racing on rungs below this many from the top (0: every rung
# below the last; 1: not on the rung before all rows). A module constant (chosen by replay
# beside the settings block, not yet one of its keys).
FAMILY_GUARD_TOP = 0
# The margin on the first rung: 0.02 and 0.05 lowered no half's regret by replay (RESULTS.md).
FIRST_RUNG_MARGIN = DROP_MARGIN
# The zoo's feature sets by family: models whose learning curves tend to cross each other's.
FAMILIES = {"linear": "linear", "nonneg": "linear", "tree": "tree"}


@dataclass(frozen=True)
class ModelView:
    """What the rules read of one model in a screening run (a snapshot, not the live state)."""

    name: str
    tier: int
    baseline: bool = False
    growth: float = 1.2  # the cost exponent of its fits in the rows, when only one size is known
    memory: str = "linear"  # "quadratic": a kernel model's rows x rows matrix
    final: bool = False  # it has its leaderboard row (done, dropped, skipped, failed ...)
    # Mean-able fold scores of each rung whose folds are all done, by rung index.
    complete: Mapping[int, tuple[float, ...]] = field(default_factory=dict)
    points: tuple[tuple[int, float], ...] = ()  # (training rows, seconds) of its fits so far
    rung: int = 0  # the rung it races on now
    # Scores of the folds done so far on each rung it has started (complete or not).
    partial: Mapping[int, tuple[float, ...]] = field(default_factory=dict)
    features: str = ""  # its zoo feature set, which names its family (``family_of``)


@dataclass(frozen=True)
class Skip:
    """Skip a model before its next rung: its row says ``why``; ``spent`` when the reason is
    the time budget (the run's stop reason then says so)."""

    why: str
    spent: bool = False


def fold_priority(rung: int, model: ModelView, order: int, fold: int,
                  leader: ModelView | None, look_tier: int = LOOK_TIER
                  ) -> tuple[int, int, int, int, int]:
    """Sort key of a ready fold: rung-major, cheap tiers first.

    Under a time budget (``leader`` given) the first-rung leader is taken to all rows as soon
    as every model up to the trees and boosting tier (or the leader's, if dearer) has had its
    first-rung look, ahead of the dearest models' first fits and everyone's larger rungs: when
    the time runs out, the best model seen has been cross-validated on as many rows as
    possible (racing everyone rung by rung spent short budgets on small rungs and left the
    leader on a sample). The baseline always keeps up: it is cheap and the board needs it.
    """
    ahead = leader is not None and (
        model.name == leader.name or model.baseline
        or (rung == 0 and model.tier <= max(leader.tier, look_tier)))
    return (0 if ahead or leader is None else 1, rung, model.tier, order, fold)


def first_rung_leader(models: Sequence[ModelView]) -> ModelView | None:
    """The best model on the first rung among those still racing (not the baseline): the one
    a time budget takes to all rows first (``fold_priority``)."""
    racing = [m for m in models if not m.final and not m.baseline and 0 in m.complete]
    return max(racing, key=lambda m: statistics.fmean(m.complete[0]), default=None)


def rung_leader(models: Sequence[ModelView], rung: int) -> ModelView | None:
    """The best mean score among the models whose folds of ``rung`` are all done."""
    complete = [m for m in models if rung in m.complete]
    return max(complete, key=lambda m: statistics.fmean(m.complete[rung]), default=None)


def dropped_by(model: ModelView, models: Sequence[ModelView], rung: int,
               test_fraction: float, last_rung: int | None = None,
               margin: float = DROP_MARGIN) -> ModelView | None:
    """The leader of ``rung`` that ``model`` is clearly worse than (same folds: a corrected
    resampled t-test and at least DROP_MARGIN behind), or None: then it races on. Dropping
    the clearly worse early is what makes racing cheap; the baseline is never dropped (the
    board needs it), nor the best of its family below the last rung (``family_keeps``)."""
    leader = rung_leader(models, rung)
    if rung == 0 and FIRST_RUNG_MARGIN != DROP_MARGIN:  # benchmarks/drop_rules.py's variant (c)
        margin = FIRST_RUNG_MARGIN
    if (leader is None or leader.name == model.name or model.baseline
            or rung not in model.complete
            or not clearly_worse(leader.complete[rung], model.complete[rung], test_fraction,
                                 margin=margin)
            or family_keeps(model, models, rung, last_rung)):
        return None
    return leader


def family_of(features: str) -> str:
    """A zoo model's family from its feature set (``FAMILIES``; "" when it has none)."""
    return FAMILIES.get(features, "")


def family_keeps(model: ModelView, models: Sequence[ModelView], rung: int,
                 last_rung: int | None) -> bool:
    """Whether ``model`` races on although clearly worse on ``rung``: it is the best of its
    family (linear or tree; the baseline apart) still racing there, and a larger rung exists
    (``rung`` below ``last_rung`` by more than FAMILY_GUARD_TOP).

    Learning curves cross: on chem97 boosting trailed ridge on 861 rows and was dropped, yet
    scores 0.48 on all rows against ridge's 0.45; on happiness logistic regression, the
    linear SVM, boosting and neighbours all trailed the dummy on 1,428 rows. A small rung tells
    apart models of one family (same features, similar curves), not a linear model from trees;
    each family's best gets the larger rungs' verdict. Chosen by replay on both halves of the
    suite over a first rung without drops and a wider first-rung margin (RESULTS.md, "Drop
    rule by replay"): it lowered the mean regret on each.
    """
    family = family_of(model.features)
    if last_rung is None or not family or model.baseline or rung >= last_rung - FAMILY_GUARD_TOP:
        return False
    kin = [m for m in models if family_of(m.features) == family and not m.baseline
           and (not m.final or m.name == model.name) and rung in m.complete]
    best = max(kin, key=lambda m: statistics.fmean(m.complete[rung]), default=None)
    return best is not None and best.name == model.name


def rung_skip(model: ModelView, rung: int, rows: int, n_folds: int, workers: int,
              cap_s: float | None, seconds_left: float | None, cap_mb: float | None
              ) -> Skip | None:
    """Whether ``model`` may start ``rung``, of ``rows`` rows (``n_folds`` fits on ``workers``
    workers), or why it is skipped before its first fit there.

    - Over the per-fit cap: a fit predicted past ``cap_s`` would only be killed there.
    - Under a time budget (``seconds_left``: what is left once the final refit's reserve is
      kept): the whole rung must fit (each fit is also admitted alone, but a rung started
      near the reserve ate the refit's time).
    - A kernel model whose rows x rows matrix is predicted past the memory cap.

    The baseline's first rung is never skipped for time (``baseline_may_overrun``).
    """
    predicted = predict_seconds(model.points, rows, model.growth)
    if cap_s is not None and not math.isnan(predicted) and predicted > cap_s:
        return Skip(f"predicted {predicted:.0f} s per fit on {rows:,} rows > cap {cap_s:g} s")
    if seconds_left is not None and not baseline_may_overrun(model, rung):
        whole = predicted * n_folds / workers if not math.isnan(predicted) else 0.0
        if seconds_left <= 0 or whole > seconds_left:
            return Skip(f"cannot finish in the {seconds_left:.0f} s left of the budget"
                        if seconds_left > 0 else "", spent=True)
    if cap_mb and model.memory == "quadratic":
        need_mb = predict_quadratic_bytes(rows) / 2**20
        if need_mb > cap_mb:
            return Skip(f"predicted {need_mb:,.0f} MB > memory cap {cap_mb:,.0f} MB")
    return None


def baseline_may_overrun(model: ModelView, rung: int) -> bool:
    """Whether a fit of ``model`` on ``rung`` starts even when the time budget says no: the
    baseline's on the first rung do. A run always ends with a model: a budget too short for
    anything else still scores the baseline on the first rung (a dummy's fits take
    milliseconds) and refits it, and the stop reason says what to raise."""
    return model.baseline and rung == 0


def predicted_fit_seconds(model: ModelView, rows: int, timed: bool, restart_s: float,
                          dearest_on_rung: float, prior_s: float = math.nan,
                          prior_growth: float | None = None) -> float:
    """A fit's predicted seconds from the model's measured fits (NaN: unknown).

    Under a time budget (``timed``) an unmeasured model is taken as dear as the cost model's
    prediction from the problem's shape (``prior_s``, ``policy.costs``) or, without one, as the
    dearest fit measured on these rows (cheap tiers go first), plus new children, since it may
    have to be killed at the deadline. Taken as free, a random forest's first fit on 11 k rows
    once started 1 s before the deadline and, killed, held the run 3 s past it. One measured
    fit is carried to ``rows`` by the cost model's growth (``prior_growth``) when given.
    """
    growth = model.growth if prior_growth is None else prior_growth
    predicted = predict_seconds(model.points, rows, growth)
    if math.isnan(predicted) and timed:
        return restart_s + (dearest_on_rung if math.isnan(prior_s) else prior_s)
    return predicted


def diagnostics_fit(points: Sequence[tuple[int, float]], elapsed_s: float, reserve_s: float,
                    wall_s: float | None) -> bool:
    """Whether a finished model's diagnostics may start: about two of its fits must fit in the
    time budget beside the final refit's reserve (else its row stays, without plots)."""
    if wall_s is None:
        return True
    guess = 2 * max((s for _, s in points), default=0.0)
    return elapsed_s + guess + reserve_s <= wall_s


def refit_reserve(points: Sequence[tuple[int, float]], growth: float, n_rows: int,
                  wall_s: float | None, looked: bool, ensemble_s: float = 0.0,
                  shares: tuple[float, float] = (MAX_RESERVE_SHARE, LOOKED_RESERVE_SHARE)
                  ) -> float:
    """Seconds to keep for the final refit of the best model on all rows (``points``: its
    measured fits, or before any model has all rows, the racing leader's). Some model is
    always refit, so this is kept from the start.

    At most linear in the rows from one measured size (``growth`` at most 1: fits on small
    rungs are mostly fixed costs), and at most a fifth of the budget from first looks (half,
    ``looked``, from fits on larger rungs): one refit past the budget is the allowance, and a
    pessimistic guess must not stop screening at its first rung. ``ensemble_s``: while
    tuning, the time to fit the leaders' mean too, which may turn out best.
    """
    if wall_s is None:
        return 0.0
    guess = predict_seconds(points, n_rows, min(1.0, growth)) if points else math.nan
    guess = max(0.0 if math.isnan(guess) else guess, ensemble_s)
    share = shares[1] if looked else shares[0]
    return min(guess + REFIT_OVERHEAD_S, share * wall_s)


def worth_killing(flying: Sequence[tuple[float, float]], restart_s: float) -> bool:
    """Whether the fits in flight ((seconds run, predicted seconds) each) would take longer to
    finish than new children take to start (``restart_s``); a fit past its predicted time is
    guessed to need as long again. Killing them frees the cores for the final refit."""
    left = [ran if math.isnan(predicted) or ran >= predicted else predicted - ran
            for ran, predicted in flying]
    return max(left, default=0.0) > restart_s


def past_deadline(flying: Sequence[tuple[float, float]], elapsed_s: float, wall_s: float | None,
                  reserve_s: float, restart_s: float) -> bool:
    """Whether to kill the fits in flight now: the time left is the final refit's reserve, and
    waiting for them would cost more than new child processes (``worth_killing``)."""
    if wall_s is None or not flying or elapsed_s <= wall_s - reserve_s:
        return False
    return worth_killing(flying, restart_s)


def refit_early(racing: Sequence[ModelView], last_rung: int, last_folds_all_started: bool,
                best_done: float | None) -> ModelView | None:
    """The model whose fit on all rows may start before screening ends, or None.

    When one model alone is still racing, its last folds are all running and it leads what
    has finished (its scores so far on the last rung, else the rung below), its fit on all
    rows takes the core those folds leave idle (movies: logistic regression's 4 s refit no
    longer waits for its 5th fold). ``racing``: the models not final, baseline excluded;
    ``best_done``: the best mean among finished models (None: none yet). A wrong guess costs
    only the idle core: the best model is refit as usual once every model is final.
    """
    if len(racing) != 1:
        return None
    model = racing[0]
    if model.rung != last_rung or not last_folds_all_started:
        return None
    so_far = model.partial.get(last_rung) or (model.partial.get(last_rung - 1, ())
                                              if last_rung else ())
    if best_done is not None and (not so_far or statistics.fmean(so_far) <= best_done):
        return None
    return model


def task_cap(kind: str, cap_s: float | None) -> float | None:
    """Seconds a child task may run before it is killed: a fit, the per-fit cap; a model's
    diagnostics (permutation importances, curves), three times it; the best model's fit on
    all rows, never (it is the deliverable: killed, it would only be redone)."""
    if cap_s is None or kind == "refit":
        return None
    return cap_s if kind == "fold" else 3 * cap_s
