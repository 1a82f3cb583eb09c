"""The screening run's state, shared by its parts: a model's racing state and a unit of work."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from thrifty_tui.core.learn.zoo import ModelSpec
    from thrifty_tui.core.records import FoldResult


class RunCancelled(Exception):
    """The user stopped the run."""


@dataclass(eq=False)
class Candidate:
    """The racing state of one model."""

    spec: ModelSpec
    order: int
    rung: int = 0
    status: str = "queued"
    reason: str = ""
    folds: dict[int, dict[int, FoldResult]] = field(default_factory=dict)
    started: bool = False
    diagnosis: str = ""  # "" | pending | running | done | failed

    @property
    def final(self) -> bool:
        return self.status not in ("queued", "racing")

    def rung_scores(self, rung: int) -> list[float]:
        results = self.folds.get(rung, {})
        return [results[k].score for k in sorted(results)]

    def per_fold_points(self) -> list[tuple[int, float]]:
        """(training rows, seconds per fit) measured so far, for the cost model."""
        return [(r.rows, r.fit_seconds) for rung in self.folds.values() for r in rung.values()
                if r.status == "done"]


@dataclass(frozen=True)
class Task:
    """One unit of child work: a fold fit, or the diagnostics of a finished model."""

    kind: str  # "fold" | "diagnose" | "refit" (the best model on all rows)
    candidate: Candidate
    rung: int = 0
    fold: int = 0
