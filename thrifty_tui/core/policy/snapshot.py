"""The scheduler's words: the snapshot of a screening run it reads (``Snapshot``) and the
decisions it answers with (``Fit``, ``Skip``, ``Drop``, ``Stop``, ``Kill``, ``Timeout``,
``QueueRefit``, ``Refit``, ``Diagnose``, ``NoDiagnostics``), all frozen. See
``policy.decide`` for the scheduler itself. Tuning (``policy.tune``) and the final fit
(``policy.final_fit``) answer with some of the same words and with ``Promote``,
``NewBracket``, ``NoBracket``, ``FinalFit``, ``Keep``, ``GiveUp`` and ``Done``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from thrifty_tui.core.policy.budget import Budget, History
from thrifty_tui.core.policy.costs import Shape
from thrifty_tui.core.policy.schedule import ModelView
from thrifty_tui.core.policy.settings import PolicySettings, shipped
from thrifty_tui.core.records import ModelResult

# -- the snapshot ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelState:
    """One model of the zoo, as the scheduler sees it."""

    view: ModelView  # its scores by rung, measured fits, current rung, final or not
    order: int  # its place in the zoo (cheap tiers first)
    done_folds: frozenset[int] = frozenset()  # folds finished on its current rung
    diagnosis: str = ""  # "" | pending | running | done | failed


@dataclass(frozen=True)
class Flight:
    """A task in flight on a worker: a fold fit, a model's diagnostics or the final refit."""

    kind: str  # "fold" | "diagnose" | "refit"
    model: str
    rung: int = 0
    fold: int = 0
    age_s: float = 0.0  # seconds since it was submitted


@dataclass(frozen=True)
class Snapshot:
    """Everything the scheduler reads of one screening run at one moment (the clock is
    ``elapsed_s``, a number)."""

    models: tuple[ModelState, ...]
    rungs: tuple[int, ...]  # rows of each racing rung; the last is all rows
    folds_at: tuple[int, ...]  # folds on each rung
    n_rows: int  # rows of the problem: the final fit's
    n_folds: int  # folds of the last rung (a rung's whole cost is counted in these)
    workers: int
    free_slots: int  # workers not busy (a warm-up holds one too)
    elapsed_s: float
    budget: Budget = field(default_factory=Budget)
    history: History | None = None  # what the done rules read (None: no rules)
    stop_rule: str = ""  # a rule already met (or "user": the dashboard's stop)
    flights: tuple[Flight, ...] = ()
    results: tuple[ModelResult, ...] = ()  # the final rows so far
    cap_s: float | None = None  # per-fit time cap
    cap_mb: float | None = None  # memory cap
    restart_s: float = 1.5  # measured: new children, ready to fit
    dearest_s: tuple[float, ...] = ()  # the dearest fit measured on each rung so far
    refit_state: str = ""  # "" | pending | running | done | failed
    refit_model: str = ""  # the model whose fit on all rows is pending, running or done
    leader_ahead: bool = False  # a time budget: the first-rung leader goes to all rows first
    settings: PolicySettings = field(default_factory=shipped)  # the policy's knobs (as data)
    machine_factor: float = 1.0  # the calibration fit's seconds over the reference machine's
    shape: Shape | None = None  # the problem's shape for policy.costs (None: cost model off)

    @property
    def timed(self) -> bool:
        return self.budget.wall_s is not None


# -- the decisions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    """Fit and score ``model`` on fold ``fold`` of rung ``rung`` (``predicted_s``: its guess)."""

    model: str
    rung: int
    fold: int
    predicted_s: float = field(default=math.nan, compare=False)  # its guess, not its identity


@dataclass(frozen=True)
class Skip:
    """Give ``model`` its final row, skipped, with ``why``. ``rule``: "wall" when the time budget
    refused a fit, "spent" when its whole rung cannot finish in the time left (either way the
    run's stop reason says the budget was spent; only a refused fit also rules out tuning
    after screening), else "" (a cap)."""

    model: str
    why: str
    rule: str = ""


@dataclass(frozen=True)
class Drop:
    """``model`` is clearly worse than ``leader`` on ``rows`` rows: its row says so."""

    model: str
    leader: str
    rows: int


@dataclass(frozen=True)
class Stop:
    """A done rule is met (``rule``): every model still racing gets its row, skipped."""

    rule: str


@dataclass(frozen=True)
class Kill:
    """Kill the fits in flight: at the deadline (``stopped`` False: the rest of the zoo is
    skipped as out of time) or after a done rule stopped the race."""

    stopped: bool = False


@dataclass(frozen=True)
class Timeout:
    """A task ran past its cap (``policy.schedule.task_cap``): kill it (the others in flight are
    innocent and run again)."""

    kind: str
    model: str
    rung: int
    fold: int


@dataclass(frozen=True)
class QueueRefit:
    """Queue ``model``'s fit on all rows (it leads; "" when no model can be refit)."""

    model: str


@dataclass(frozen=True)
class Refit:
    """Start the queued fit on all rows of ``model`` now."""

    model: str


@dataclass(frozen=True)
class Diagnose:
    """Compute a finished model's diagnostics (curves, importances) now."""

    model: str


@dataclass(frozen=True)
class NoDiagnostics:
    """No time for ``model``'s diagnostics: its row stays, without plots."""

    model: str


@dataclass(frozen=True)
class Promote:
    """Tuning: bracket ``bracket`` of ``leader`` completed its rung; the trials numbered ``keep``
    go on to the next rung (none past the last), the others are out."""

    leader: str
    bracket: int
    keep: tuple[int, ...]


@dataclass(frozen=True)
class NewBracket:
    """Tuning: open a new bracket of ``leader``'s configurations (the next ones sampled)."""

    leader: str


@dataclass(frozen=True)
class NoBracket:
    """Tuning: no new bracket of ``leader``: the time left cannot fit one of its first fits (the
    time budget refused a fit, as a ``Skip`` with rule "wall" does)."""

    leader: str


@dataclass(frozen=True)
class FinalFit:
    """The final fit: fit the model on ``rows`` (None: all rows). ``role``: "sure" (predicted in
    time: the model's file), "all" (all rows beside it, kept if it ends in time) or "step" (a
    larger racing size on the core the sure fit freed, kept if it ends in time)."""

    rows: int | None
    role: str


@dataclass(frozen=True)
class Keep:
    """The final fit: the fit ``role`` on ``rows`` ended, and its file is the model now."""

    role: str
    rows: int


@dataclass(frozen=True)
class GiveUp:
    """The final fit: the budget is spent; the fits still running are killed, the kept stands."""


@dataclass(frozen=True)
class Done:
    """Nothing left to start or to wait for: tuning, or the final fit, ends."""


Decision = (Fit | Skip | Drop | Stop | Kill | Timeout | QueueRefit | Refit | Diagnose
            | NoDiagnostics | Promote | NewBracket | NoBracket | FinalFit | Keep | GiveUp | Done)
