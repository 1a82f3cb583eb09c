"""Frozen events the engine emits; the UI and the CLI only ever read these (stdlib only).

Every event's base and the name registry are in ``core.event_base``; the budget's and
tuning's events in ``core.budget_events``. Both are re-exported here: import events from
this module."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from thrifty_tui.core.budget_events import (  # noqa: F401 - re-exported: their public path
    BudgetUpdate,
    TrialFinished,
    TuningStarted,
)
from thrifty_tui.core.data.profile_records import Profile
from thrifty_tui.core.event_base import EVENT_NAMES, Event
from thrifty_tui.core.learn.diagnostics import Diagnostics
from thrifty_tui.core.records import ColumnInfo, ModelResult


@dataclass(frozen=True)
class DatasetOpened(Event):
    """A file was read: its shape, a preview, column roles and suggested target/task."""

    path: str
    fingerprint: str
    n_rows: int
    columns: tuple[ColumnInfo, ...]
    preview: tuple[tuple[str, ...], ...]
    suggested_target: str
    suggested_task: str
    notices: tuple[str, ...] = ()
    # The Load screen's profile (for ``target``: the suggested one or the one asked for).
    profile: Profile | None = None
    target: str = ""
    bytes_per_row: float = 0.0  # in memory as a pandas frame, measured on the profiled rows
    rows_exact: bool = True  # n_rows counted over the whole file (else estimated)


@dataclass(frozen=True)
class RunStarted(Event):
    """Screening began: the problem as it was fixed and the models that will be tried."""

    run_id: int
    path: str
    target: str
    task: str
    metric: str
    n_rows: int
    n_folds: int
    models: tuple[str, ...]
    notices: tuple[str, ...] = ()
    rungs: tuple[int, ...] = ()
    excluded: tuple[str, ...] = ()  # "model: why it is not tried"
    max_fit_seconds: float | None = None


@dataclass(frozen=True)
class ModelStarted(Event):
    """A model's cross-validation was handed to a child process."""

    run_id: int
    model: str


@dataclass(frozen=True)
class ModelScored(Event):
    """A model finished (or failed): one leaderboard row."""

    run_id: int
    result: ModelResult
    done: int
    total: int


@dataclass(frozen=True)
class RunFinished(Event):
    """Screening ended; the best model was refit on all rows (``model_path``) unless it failed."""

    run_id: int
    status: str  # done | cancelled | failed
    best_model: str
    best_score: float
    metric: str
    elapsed_s: float
    stop_reason: str
    model_path: str = ""


@dataclass(frozen=True)
class BoardRestored(Event):
    """The last run of the workspace, read back on start-up."""

    run: RunStarted
    results: tuple[ModelResult, ...]
    finished: RunFinished | None


@dataclass(frozen=True)
class ExportStarted(Event):
    """A bundle is being written."""

    path: str


@dataclass(frozen=True)
class ExportProgress(Event):
    """The bundle being written reached ``stage`` (``step`` of ``total``)."""

    path: str
    stage: str
    step: int
    total: int


@dataclass(frozen=True)
class ExportFinished(Event):
    """A bundle was written and verified."""

    path: str
    n_files: int
    n_bytes: int


@dataclass(frozen=True)
class Predicted(Event):
    """Predictions from the current run's refit model (the app's own predictions)."""

    path: str
    out_path: str
    n_rows: int


@dataclass(frozen=True)
class JobFailed(Event):
    """A job could not be done; ``message`` is one line for the user."""

    job: str
    message: str
    user_error: bool = True
    cancelled: bool = False  # the user stopped the job (not an error)


@dataclass(frozen=True)
class Notice(Event):
    """Something the user should know that is not an error."""

    message: str
    extra: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ModelUpdate(Event):
    """A model finished a racing rung (or changed status) but is not final yet."""

    run_id: int
    model: str
    status: str  # queued | racing
    rung: int
    n_rungs: int
    rows: int
    mean: float
    std: float


@dataclass(frozen=True)
class RunProgress(Event):
    """Fits done so far, fits still expected, and the predicted seconds left."""

    run_id: int
    fits_done: int
    fits_total: int
    eta_s: float
    elapsed_s: float


@dataclass(frozen=True)
class ModelDiagnosed(Event):
    """Diagnostics computed from a model's out-of-fold predictions."""

    run_id: int
    model: str
    diagnostics: Diagnostics


@dataclass(frozen=True)
class LeaderTies(Event):
    """Models that cannot be told apart from the leader (corrected resampled t-test)."""

    run_id: int
    leader: str
    ties: tuple[str, ...]


EVENT_NAMES.update({
    DatasetOpened: "dataset", RunStarted: "run_started", ModelStarted: "model_started",
    ModelScored: "model", RunFinished: "run_finished", BoardRestored: "restored",
    ExportStarted: "export_started", ExportProgress: "export_progress",
    ExportFinished: "exported", Predicted: "predicted",
    JobFailed: "error", Notice: "notice", ModelUpdate: "model_update", RunProgress: "progress",
    ModelDiagnosed: "diagnostics", LeaderTies: "ties",
})


@dataclass(frozen=True)
class LabelingOpened(Event):
    """A label set is open: the items (records of strings, one per pool row) to show."""

    set_id: int
    path: str
    set_name: str  # what the labels are called (the target's name when screening)
    text_column: str
    columns: tuple[str, ...]
    rows: tuple[int, ...]  # the source row of each record (all rows, or a seeded sample)
    records: tuple[tuple[str, ...], ...]
    n_rows: int
    notices: tuple[str, ...] = ()


@dataclass(frozen=True)
class LabelSaved(Event):
    """An action was committed to the label store (fsynced): the new queue head and counts.

    Also sent on opening (``action="open"``, ``seq`` = last event). ``changed`` holds
    (item, outcome, label) for every item this action changed (all of them on open).
    """

    set_id: int
    seq: int
    action: str
    item: int
    label: str
    token: int
    head: tuple[int, ...]
    head_how: tuple[str, ...]
    head_notes: tuple[str, ...]
    labels: tuple[str, ...]  # by key slot; "" where a label was merged away
    keys: tuple[str, ...]
    descriptions: tuple[str, ...]
    counts: tuple[int, ...]  # by key slot
    changed: tuple[tuple[int, str, str], ...]
    n_labeled: int
    n_unsure: int
    n_flagged: int
    n_skipped: int
    n_waiting: int
    goal: int
    undo_hint: str
    at: float


@dataclass(frozen=True)
class LearningUpdated(Event):
    """The labeling model was refit: score vs labels, projection, per class, vs random order."""

    set_id: int
    n_labels: int
    metric: str
    score: float
    score_std: float
    estimate: str
    curve: tuple[tuple[int, float], ...]
    per_class: tuple[tuple[str, float, int], ...]
    projected_n: int
    projected_score: float
    per_doubling: float
    control: tuple[float, ...]  # (random labels, score in queue order, score in random order)
    advice: str
    fit_seconds: float


@dataclass(frozen=True)
class LoadProgress(Event):
    """A file is being read: the phase, its share done when known, and seconds so far."""

    path: str
    phase: str
    fraction: float | None
    elapsed_s: float


EVENT_NAMES[LoadProgress] = "load_progress"
EVENT_NAMES.update({LabelingOpened: "labeling_opened", LabelSaved: "label_saved",
                    LearningUpdated: "learning"})


def json_safe(obj: Any) -> Any:
    """``obj`` with NaN and infinities as None, tuples as lists: valid strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj


# -- "would more help?" (issue 5) -------------------------------------------------------------
from thrifty_tui.core.learn.projection import Projection  # noqa: E402


@dataclass(frozen=True)
class ProjectionReady(Event):
    """After screening: the leader's score and one fit's time projected at more rows."""

    run_id: int
    metric: str
    screened_rows: int  # rows the run cross-validated on (a sample, or all)
    source_rows: int  # rows in the data before any sample
    projection: Projection

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["projection"] = self.projection.to_dict()
        return out


EVENT_NAMES[ProjectionReady] = "projection"
