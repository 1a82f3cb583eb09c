"""Events of the Restore job (issue 21): every run of the workspace, and a restored run's
rules. Registered in core.events' EVENT_NAMES like the others."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from thrifty_tui.core.events import EVENT_NAMES, Event
from thrifty_tui.core.records import RunSummary

@dataclass(frozen=True)
class RunsListed(Event):
    """Every run of the workspace, newest first (the Runs view)."""

    runs: tuple[RunSummary, ...]


@dataclass(frozen=True)
class BudgetRestored(Event):
    """The done rules a restored run was started with (``Budget.to_dict()``)."""

    run_id: int
    budget: dict[str, Any]


EVENT_NAMES.update({RunsListed: "runs", BudgetRestored: "budget_restored"})
