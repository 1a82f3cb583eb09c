"""What the budget dashboard knows: the run's budget events folded on the UI thread."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields

from thrifty_tui.core.policy.budget import Budget
from thrifty_tui.core.policy.budget_file import budget_from_mapping
from thrifty_tui.core.errors import DataError
from thrifty_tui.core.events import (
    BoardRestored,
    BudgetUpdate,
    Event,
    ProjectionReady,
    RunFinished,
    RunStarted,
    TrialFinished,
    TuningStarted,
)

BUDGET_EVENTS = (RunStarted, BudgetUpdate, TuningStarted, TrialFinished, ProjectionReady,
                 RunFinished, BoardRestored)

# The rules line of the dashboard (and of thrifty.toml): short names people type.
RULE_KEYS = ("seconds", "max_fits", "target_score", "min_improvement", "patience",
             "noise_floor", "price_per_cpu_hour")
_FIELD_OF = {"seconds": "wall_s", "max_fits": "max_fits", "target_score": "target_score",
             "min_improvement": "min_improvement", "patience": "patience",
             "noise_floor": "noise_floor", "price_per_cpu_hour": "price_per_cpu_hour"}


def rules_text(budget: Budget) -> str:
    """The budget as the dashboard's editable line: ``seconds=60 target_score=0.7``."""
    parts = []
    for key in RULE_KEYS:
        value = getattr(budget, _FIELD_OF[key])
        if value is None:
            continue
        if isinstance(value, bool):
            parts.append(f"{key}={'true' if value else 'false'}")
        else:
            parts.append(f"{key}={value:g}")
    return " ".join(parts)


def parse_rules(line: str) -> Budget:
    """A Budget from ``key=value`` pairs (spaces or commas between); DataError when wrong.

    The keys and their meaning are thrifty.toml's ``[budget]`` keys; an empty line means no
    rules at all (screening only, no time limit)."""
    table: dict[str, object] = {}
    for pair in filter(None, re.split(r"[\s,;]+", line.strip())):
        key, sep, raw = pair.partition("=")
        if not sep or not raw:
            raise DataError(f"'{pair}' is not key=value (keys: {', '.join(RULE_KEYS)})")
        value = {"on": "true", "off": "false", "yes": "true", "no": "false", "true": "true",
                 "false": "false"}.get(raw.lower(), raw)
        try:
            table[key.strip()] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            raise DataError(f"{key}: '{raw}' is not a number or true/false") from None
    return budget_from_mapping(table, "rules")


# The verdict's first words name the rule that stopped the run (core.policy.budget.stop_reason).
_STOPPED_BY = (("target ", "target"), ("maximum of ", "max_fits"), ("budget of ", "wall"),
               ("no gain of ", "patience"), ("gains below the fold", "noise_floor"))


def rule_that_stopped(reason: str) -> str | None:
    """The rule a stop reason names (None: stopped by the user, cancelled, or screening ended).

    The engine may stop just before a rule is met (no fit could finish in the time left), so
    the last rule states can say "not yet" for the rule the verdict names."""
    if "better than the baseline reached" in reason:
        return "min_improvement"
    return next((rule for start, rule in _STOPPED_BY if reason.startswith(start)), None)


@dataclass
class BudgetView:
    """The latest budget snapshot of the current run, plus its trials and projection."""

    run_id: int | None = None
    metric: str = ""
    update: BudgetUpdate | None = None
    tuning: TuningStarted | None = None
    trials: list[TrialFinished] = field(default_factory=list)
    projection: ProjectionReady | None = None
    finished: RunFinished | None = None
    rules: Budget | None = None  # the rules the run was started with
    pending_rules: Budget | None = None  # the rules of a run asked for, until it starts

    def apply(self, event: Event) -> bool:
        """Fold one event; True when the dashboard should redraw."""
        if isinstance(event, RunStarted):
            pending = self.pending_rules
            for f in fields(self):
                setattr(self, f.name, f.default_factory() if callable(f.default_factory)
                        else f.default)
            self.run_id, self.metric = event.run_id, event.metric
            self.rules = pending
            return True
        if isinstance(event, BoardRestored):
            if self.run_id is None:  # a live run wins over one read back
                self.run_id, self.metric = event.run.run_id, event.run.metric
                self.finished = event.finished
            return True
        if isinstance(event, BudgetUpdate):
            if event.run_id != self.run_id:
                return False
            self.update = event
            return True
        if isinstance(event, TuningStarted):
            self.tuning = event
            return True
        if isinstance(event, TrialFinished):
            self.trials.append(event)
            return True
        if isinstance(event, ProjectionReady):
            self.projection = event
            return True
        if isinstance(event, RunFinished):
            self.finished = event
            return True
        return False

    @property
    def running(self) -> bool:
        return self.run_id is not None and self.finished is None
