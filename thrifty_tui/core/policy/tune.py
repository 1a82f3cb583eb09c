"""The tuning scheduler as one pure function: a snapshot of the search in, the next decisions out.

After screening, the leaders' hyperparameters are searched by successive halving on the
screening rungs (same subsamples, same folds): brackets of configurations, cheap ones first,
the best third of each bracket promoted to the next rung. ``next_tuning_decisions(snapshot)``
answers, at the top of each turn, which bracket is promoted (``Promote``; one at a time, since
a trial entering a rung may find its result stored by an earlier run), whether its leader gets
a new bracket (``NewBracket``, ``NoBracket``, ``Stop``), which trial folds start on the free
workers (``Fit``; ``Skip`` for a trial the time left cannot fit; ``Stop`` at the fit limit) and
whether the search is over (``Done``); after each wait (``polled``), whether a done rule stops
it and the fits in flight are killed (``Stop``, ``Kill``). The engine (``engine/tune_run.py``)
builds the snapshot, carries the decisions out in order and stores each trial; nothing here
reads a clock, starts a process or touches a file.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from thrifty_tui.core.policy.budget import Budget, History, may_start_fit, met_rule
from thrifty_tui.core.policy.racing import predict_seconds
from thrifty_tui.core.policy.schedule import past_deadline, worth_killing
from thrifty_tui.core.policy.snapshot import (
    Decision,
    Done,
    Fit,
    Kill,
    NewBracket,
    NoBracket,
    Promote,
    Skip,
    Stop,
)

ETA = 3  # successive halving keeps the best third at each rung
# Without a time or fit limit, tuning stops after this many brackets per leader.
UNBOUNDED_BRACKETS = 2
MAX_BRACKETS = 200  # per leader: a guard against a loop of brackets that all fail at once

Points = tuple[tuple[int, float], ...]


def promote(scores: Sequence[tuple[int, float]], n_entered: int, eta: int = ETA) -> list[int]:
    """Which trials go on to the next rung: the best ceil(n/eta) by mean (failed: excluded)."""
    keep = max(1, math.ceil(n_entered / eta))
    ranked = sorted((s for s in scores if not math.isnan(s[1])), key=lambda s: -s[1])
    return [i for i, _ in ranked[:keep]]


# -- the snapshot ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrialState:
    """One configuration of one leader, as the tuning scheduler sees it."""

    leader: str
    number: int
    cost: float  # ``learn.tuning.cost_proxy``: cheap configurations go first
    rung: int = -1  # the screening rung it is being evaluated at
    out: bool = False  # set out for the budget, or not promoted
    means: tuple[tuple[int, float], ...] = ()  # rung -> mean of its finished record (NaN: failed)
    submitted: frozenset[int] = frozenset()  # folds started on its rung
    points: Points = ()  # (rows, fit seconds) of its folds finished on its rung

    @property
    def name(self) -> str:
        return f"{self.leader} #{self.number}"

    def finished(self, rung: int) -> bool:
        return any(r == rung for r, _ in self.means)

    def mean(self, rung: int) -> float:
        return next(m for r, m in self.means if r == rung)


@dataclass(frozen=True)
class BracketState:
    """Successive halving of one batch of one leader's configurations."""

    leader: str
    index: int  # its place among its leader's brackets
    position: int  # index into TuneSnapshot.rungs (past the end: done)
    trials: tuple[TrialState, ...]  # cheap configurations first


@dataclass(frozen=True)
class TuneSnapshot:
    """Everything the tuning scheduler reads at one moment (the clock is ``elapsed_s``)."""

    brackets: tuple[BracketState, ...]
    rungs: tuple[int, ...]  # the tuning rungs: indices of screening rungs
    rows: tuple[int, ...]  # rows of each screening rung
    folds_at: tuple[int, ...]  # folds of each screening rung
    workers: int
    running: int  # trial folds in flight
    elapsed_s: float
    budget: Budget = field(default_factory=Budget)
    fits_started: int = 0  # screening's and tuning's, the fits in flight included
    reserve_s: float = 0.0  # kept for the final refit (``schedule.refit_reserve``)
    leader_points: tuple[tuple[str, Points], ...] = ()  # each leader's measured fits
    stop_rule: str = ""
    bounded: bool = True  # a time or fit limit (else UNBOUNDED_BRACKETS per leader)
    advance_upto: int | None = None  # brackets open when this turn began (new ones wait)
    polled: bool = False  # after a wait: only the stop and kill rules
    history: History | None = None  # what the done rules read (``polled``)
    flying: tuple[tuple[float, float], ...] = ()  # (seconds run, predicted s) of each fit
    restart_s: float = 1.5  # measured: new children, ready to fit

    def points_of(self, leader: str) -> Points:
        return next((p for name, p in self.leader_points if name == leader), ())


# -- the rules ---------------------------------------------------------------------------------


def _alive(b: BracketState, outs: Collection[str] = ()) -> list[TrialState]:
    return [t for t in b.trials if not t.out and t.name not in outs]


def _ready(snap: TuneSnapshot, b: BracketState, outs: Collection[str] = (),
           busy: Collection[tuple[str, int]] = ()) -> list[tuple[TrialState, int]]:
    """The folds of ``b``'s current rung not yet started, trial by trial."""
    if b.position >= len(snap.rungs):
        return []
    rung = snap.rungs[b.position]
    return [(t, k) for t in _alive(b, outs) if t.rung == rung and not t.finished(rung)
            for k in range(snap.folds_at[rung]) if k not in t.submitted and (t.name, k) not in busy]


def _can_advance(snap: TuneSnapshot, b: BracketState, outs: Collection[str] = ()) -> bool:
    """Every trial still in ``b`` has finished its rung."""
    return b.position < len(snap.rungs) and all(
        t.finished(snap.rungs[b.position]) for t in _alive(b, outs))


def another_bracket(snap: TuneSnapshot, leader: str) -> Decision:
    """A new bracket only while time could still fit one of its small-rung fits (predicted from
    the leader's fits; unknown: 0 s): a bracket whose first fits are all refused would only be
    sampled to be set out. At the fit limit, the search stops."""
    if snap.budget.wall_s is None:
        return NewBracket(leader)
    predicted = predict_seconds(snap.points_of(leader), snap.rows[snap.rungs[0]])
    why = may_start_fit(snap.budget, snap.elapsed_s, 0.0 if math.isnan(predicted) else predicted,
                        snap.fits_started, snap.reserve_s)
    return Stop("max_fits") if why == "max_fits" else NoBracket(leader) if why else NewBracket(
        leader)


def _promote(snap: TuneSnapshot) -> list[Decision]:
    """The first bracket (of those open when the turn began) whose rung is complete keeps its
    best third (``promote``; failed trials never), and when that was its last rung its leader
    gets another bracket while the budget allows (bounded: by time or fits; unbounded:
    UNBOUNDED_BRACKETS; always at most MAX_BRACKETS)."""
    upto = len(snap.brackets) if snap.advance_upto is None else snap.advance_upto
    for b in snap.brackets[:upto]:
        if not _can_advance(snap, b):
            continue
        rung = snap.rungs[b.position]
        alive = _alive(b)
        keep = set(promote([(i, t.mean(rung)) for i, t in enumerate(alive)], len(alive)))
        out: list[Decision] = [Promote(b.leader, b.index,
                                       tuple(t.number for i, t in enumerate(alive) if i in keep))]
        if b.position + 1 >= len(snap.rungs) and not snap.stop_rule:
            brackets_of = sum(1 for x in snap.brackets if x.leader == b.leader)
            if (snap.bounded or brackets_of < UNBOUNDED_BRACKETS) and brackets_of < MAX_BRACKETS:
                out.append(another_bracket(snap, b.leader))
        return out
    return []


def trial_priority(bracket: BracketState, trial: TrialState, fold: int
                   ) -> tuple[int, int, float, int, int]:
    """Which ready fold starts first: bracket by bracket across the leaders (each leader's first
    bracket before anyone's second: a cheap leader must not starve a dear one), a bracket's
    small rungs before its large ones, cheap configurations first within a rung."""
    return bracket.index, bracket.position, trial.cost, trial.number, fold


def _fill(snap: TuneSnapshot, outs: set[str], busy: set[tuple[str, int]]) -> list[Decision]:
    """Fill the free workers, the most urgent fold first (``trial_priority``). A trial
    predicted (from its own folds, else its leader's fits) not to finish in the time left is
    set out, and cheaper ones are still tried; at the fit limit the search stops."""
    out: list[Decision] = []
    started, slots = snap.fits_started, snap.workers - snap.running
    while slots > 0:
        ready = [(b, t, k) for b in snap.brackets for t, k in _ready(snap, b, outs, busy)]
        if not ready:
            break
        _, trial, fold = min(ready, key=lambda r: trial_priority(*r))
        points = trial.points or snap.points_of(trial.leader)
        predicted = predict_seconds(points, snap.rows[trial.rung]) if points else math.nan
        why = may_start_fit(snap.budget, snap.elapsed_s, predicted, started, snap.reserve_s)
        if why == "max_fits":
            out.append(Stop("max_fits"))
            break
        if why == "wall":
            out.append(Skip(trial.name, f"a fit predicted at {predicted:.1f} s does not fit in "
                                        "the time left of the budget", "wall"))
            outs.add(trial.name)
            continue
        out.append(Fit(trial.name, trial.rung, fold, predicted))
        busy.add((trial.name, fold))
        started, slots = started + 1, slots - 1
    return out


def _watch(snap: TuneSnapshot) -> list[Decision]:
    """After a wait: a done rule met stops the search (not the time budget: that one is kept by
    refusing fits), and the fits in flight are killed when they would outlast new children
    (``schedule.worth_killing``); past the deadline less the final refit's reserve, they are
    killed likewise (``schedule.past_deadline``)."""
    out: list[Decision] = []
    rule = "" if snap.stop_rule else met_rule(snap.budget, snap.history)
    if rule:
        out.append(Stop(rule))
        if snap.running and worth_killing(snap.flying, snap.restart_s):
            return [*out, Kill(stopped=True)]
    return out + _past_deadline(snap)


def _past_deadline(snap: TuneSnapshot) -> list[Decision]:
    if snap.running and past_deadline(snap.flying, snap.elapsed_s, snap.budget.wall_s,
                                      snap.reserve_s, snap.restart_s):
        return [Kill()]
    return []


def next_tuning_decisions(snap: TuneSnapshot) -> tuple[Decision, ...]:
    """The decisions to carry out now, in order (see the module's docstring). A ``Promote`` comes
    alone with its bracket's consequence: the engine carries it out and asks again."""
    if snap.polled:
        return tuple(_watch(snap))
    promoted = _promote(snap)
    if promoted:
        return tuple(promoted)
    outs: set[str] = set()
    busy: set[tuple[str, int]] = set()
    out = _fill(snap, outs, busy) if not snap.stop_rule else []
    running = snap.running + sum(1 for d in out if isinstance(d, Fit))
    stopped = bool(snap.stop_rule) or any(isinstance(d, Stop) for d in out)
    if not running and (stopped or not (
            any(_ready(snap, b, outs, busy) for b in snap.brackets)
            or any(_can_advance(snap, b, outs) for b in snap.brackets))):
        out.append(Done())
    return tuple(out)
