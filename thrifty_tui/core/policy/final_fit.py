"""The final fit's ladder as one pure function: a snapshot of the fits in, the next decisions out.

A model that finished on all rows is fitted once on all rows. A model the time budget cut short
(its sure fit on as many rows as ``final.partial_fit_rows`` predicts in time) is also fitted on
all rows at once, on the other core: predictions from fits on a few thousand rows are rough, so
the fit on all rows is kept if it ends by the end of the budget (gss at 10 s: all 49 k rows in
2.6 s, predicted 4.2 s). The core the sure fit frees climbs the racing sizes while each is
predicted to end in time (births at 10 s: 33 k rows, then 99 k, while all 298 k ran past the
deadline), and the largest fit that ends in time is kept. The engine
(``engine/jobs/final_fit.py``) builds the snapshot, carries the decisions out and moves files;
nothing here reads a clock, starts a process or touches a file.
"""

from __future__ import annotations

from dataclasses import dataclass

from thrifty_tui.core.policy.final import next_final_size
from thrifty_tui.core.policy.snapshot import Decision, Done, FinalFit, GiveUp, Keep


@dataclass(frozen=True)
class FinalFitSnapshot:
    """The final fit of the run's best model at one moment (the clock is ``elapsed_s``)."""

    sure_rows: int | None  # the sure fit's rows (None: all rows, the model finished)
    n_rows: int
    wall_s: float | None
    elapsed_s: float
    workers: int
    beside: bool  # after screening predicted the sure fit in time (``partial_fit_rows``)
    sizes: tuple[int, ...] = ()  # the racing sizes
    points: tuple[tuple[int, float], ...] = ()  # the model's measured (rows, fit seconds)
    growth: float = 1.0
    started: bool = False  # the sure fit (and the one on all rows beside it) were started
    all_rows: str = ""  # the fit on all rows beside: "" (none) | running | done | failed
    step_rows: int = 0  # the larger size on the freed core
    step: str = ""  # "" (none since the last kept fit) | running | done | failed
    step_s: float = 0.0  # wall seconds the step took (when done)
    kept_rows: int = 0  # rows of the fit that is the model now (the sure fit's, then steps')
    kept_s: float = 0.0  # wall seconds that fit took


def tries_all_rows(snap: FinalFitSnapshot) -> bool:
    """Whether a fit on all rows runs beside the sure fit: only for a model cut short, under a
    time budget, with a second core, and when the sure fit itself is predicted to end in time
    (else the two would share the memory bandwidth and the sure one ran past the budget:
    births at 30 s, 1.06 x B)."""
    return (snap.sure_rows is not None and snap.wall_s is not None and snap.workers > 1
            and snap.beside)


def gives_up(snap: FinalFitSnapshot, step: str) -> bool:
    """Whether the fits still running are given up now: the budget is spent (the fit kept so
    far is the model; waiting longer would break the budget the user set)."""
    return snap.wall_s is not None and snap.elapsed_s >= snap.wall_s and (
        step == "running" or snap.all_rows == "running")


def next_final_fit_decisions(snap: FinalFitSnapshot) -> tuple[Decision, ...]:
    """The decisions to carry out now, in order (see the module's docstring).

    At the start: the sure fit (after the fit on all rows, when one runs beside it). Once the
    sure fit ended, at each poll: a fit on all rows that ended is kept over any smaller one
    (the ones still running are given up); a larger size that ended is kept; past the end of
    the budget, the fits still running are given up (the last kept stands); otherwise the
    freed core takes the next racing size predicted to end in time
    (``final.next_final_size``), once per kept fit: a size that fails ends the ladder.
    """
    if not snap.started:
        if tries_all_rows(snap):
            return FinalFit(None, "all"), FinalFit(snap.sure_rows, "sure")
        return (FinalFit(snap.sure_rows, "sure"),)
    if snap.all_rows == "done":
        return (Keep("all", snap.n_rows),)
    out: list[Decision] = []
    kept_rows, kept_s, step = snap.kept_rows, snap.kept_s, snap.step
    if step == "done":
        out.append(Keep("step", snap.step_rows))
        kept_rows, kept_s, step = snap.step_rows, snap.step_s, ""
    if gives_up(snap, step):
        return (*out, GiveUp())
    if step == "":
        left = None if snap.wall_s is None else snap.wall_s - snap.elapsed_s
        size = next_final_size(snap.points, snap.growth, kept_rows, kept_s, snap.sizes,
                               snap.n_rows, left)
        if size is not None:
            out.append(FinalFit(size, "step"))
            step = "running"
    if step != "running" and snap.all_rows != "running":
        out.append(Done())
    return tuple(out)
