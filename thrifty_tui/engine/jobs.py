"""Jobs the screens and the CLI hand to the worker (frozen, stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Job:
    """Base class of everything the worker accepts."""


@dataclass(frozen=True)
class OpenDataset(Job):
    """Read a file and report a preview, shape and column roles."""

    path: str


@dataclass(frozen=True)
class Screen(Job):
    """Cross-validate the zoo on a file's target, then refit the best on all rows."""

    path: str
    target: str
    task: str | None = None
    metric: str | None = None
    seed: int = 0
    budget_s: float | None = None
    # Model specs to try instead of the default zoo (tests inject failing ones here).
    zoo: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class Export(Job):
    """Write a bundle of the given run (the latest when None) to ``path``."""

    path: str
    run_id: int | None = None


@dataclass(frozen=True)
class Predict(Job):
    """Predict a file with the latest run's refit model and write a CSV."""

    path: str
    out_path: str
    run_id: int | None = None


@dataclass(frozen=True)
class Restore(Job):
    """Report the workspace's last run (start-up)."""


@dataclass(frozen=True)
class Shutdown(Job):
    """Stop the worker after the jobs before it."""
