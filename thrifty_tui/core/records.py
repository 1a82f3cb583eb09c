"""Plain, frozen data shared by the core, the engine and the UI (stdlib only: cheap to import)."""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

# Role lives in roles.py (the Load screen needs it, not the rest of this module).
from thrifty_tui.core.roles import USABLE_ROLES, Role  # noqa: F401 - re-exported


@dataclass(frozen=True)
class ColumnInfo:
    """What we know about one column: its dtype, role, missing share and cardinality."""

    name: str
    dtype: str
    role: Role
    missing_fraction: float
    n_unique: int
    # Values of one short word (names, codes), not sentences: as text, trees get the column's
    # frequent values as a capped category instead of word TF-IDF components.
    short_text: bool = False
    # Long documents (reviews, articles: over schema.LONG_TEXT_CHARS a value on average):
    # linear models get their word n-grams only; character n-grams of long documents cost
    # 6x the words' time (3 s of a 3.2 s fold on 600 documents of 5,000 characters).
    long_text: bool = False


@dataclass(frozen=True)
class ModelResult:
    """One model's cross-validation: per-fold scores, time, and the error if it failed."""

    model: str
    status: str  # "done" | "failed" | "cancelled"
    fold_scores: tuple[float, ...]
    fit_seconds: float
    error: str = ""
    params: tuple[tuple[str, str], ...] = ()
    baseline: bool = False
    tier: int = 0
    rows: int = 0
    cpu_seconds: float = 0.0
    peak_mb: float = 0.0
    learning_curve: tuple[tuple[int, float], ...] = ()

    @property
    def mean(self) -> float:
        return statistics.fmean(self.fold_scores) if self.fold_scores else math.nan

    @property
    def std(self) -> float:
        return statistics.pstdev(self.fold_scores) if len(self.fold_scores) > 1 else 0.0


def best_result(results: "list[ModelResult] | tuple[ModelResult, ...]") -> ModelResult | None:
    """The finished result with the highest mean score (all metrics here: higher is better)."""
    done = [r for r in results if r.status == "done" and r.fold_scores]
    return max(done, key=lambda r: r.mean) if done else None


FINAL_STATUSES = ("done", "dropped", "timeout", "failed", "oom", "skipped", "cancelled")


@dataclass(frozen=True)
class FoldResult:
    """One fit and score of one model on one fold of one racing rung (plain floats only)."""

    model: str
    rung: int
    rows: int
    fold: int
    status: str  # "done" | "failed" | "oom"
    score: float
    fit_seconds: float
    cpu_seconds: float
    peak_mb: float
    error: str = ""


@dataclass(frozen=True)
class ProblemSummary:
    """What the engine knows of a prepared problem (the child that prepared it keeps the
    data): its task and metric, its size, folds and racing rungs, its columns, and how it was
    sampled. Written to the run's problem.json (``public``) and read back for the bundle."""

    task: str
    metric: str
    n_rows: int
    n_folds: int
    rungs: tuple[int, ...]
    classes: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()
    fingerprint: str = ""
    source: str = ""
    columns: tuple[dict[str, Any], ...] = ()  # name, dtype, role (and median) of each column
    schema: tuple[ColumnInfo, ...] = ()
    # method ("all rows" | "stratified" | "random"), rows, seed, source_rows (and engine)
    sample: dict[str, Any] = field(default_factory=dict)
    rung_folds: dict[int, int] = field(default_factory=dict)  # folds per rung when fewer
    fold_sizes: tuple[tuple[int, int], ...] = ()  # (train, test) rows of each full-size fold
    class_counts: dict[str, int] = field(default_factory=dict)
    labels: dict[str, Any] | None = None  # a label set's count, schema and time, if any

    def public(self) -> dict[str, Any]:
        """Everything but the schema's objects, as plain JSON values (for problem.json)."""
        out = asdict(self)
        del out["schema"]
        return out


@dataclass(frozen=True)
class RunSummary:
    """One run of a workspace as the Runs view and `thrifty-tui runs` list it."""

    run_id: int
    path: str
    fingerprint: str  # the data's content hash ("" when the run did not record it)
    target: str
    task: str
    metric: str
    n_rows: int
    budget_s: float | None  # the time budget (None: none)
    rules: str  # the done rules set, as `r` on the dashboard takes them ("" : none)
    status: str  # done | cancelled | failed | interrupted | running
    best_model: str
    cv_mean: float  # the best model's mean CV score (NaN: none)
    cv_std: float
    stop_reason: str
    elapsed_s: float
    cpu_s: float  # the cost meter's CPU-seconds (0: not metered)
    money: float | None
    model_path: str  # the refit best model ("" : none to export)
    started_at: float  # seconds since the epoch

    @property
    def exportable(self) -> bool:
        return self.status == "done" and bool(self.model_path)


def in_run_order(results: tuple[ModelResult, ...], models: tuple[str, ...]
                 ) -> tuple[ModelResult, ...]:
    """Results in the order the run started the models (the live board's arrival order);
    rows the run added later (tuned models, the mean of the leaders) after them."""
    position = {m: i for i, m in enumerate(models)}
    return tuple(sorted(results, key=lambda r: position.get(r.model, len(models))))
