"""Frozen events the engine emits; the UI and the CLI only ever read these (stdlib only)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from thrifty_tui.core.learn.diagnostics import Diagnostics
from thrifty_tui.core.data.profile_records import Profile
from thrifty_tui.core.records import ColumnInfo, ModelResult


@dataclass(frozen=True)
class Event:
    """Base class: every event can turn itself into a JSON-ready dict."""

    @property
    def name(self) -> str:
        return EVENT_NAMES[type(self)]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.name}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = _plain(value)
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, ModelResult):
        d = asdict(value)
        d["mean"], d["std"] = value.mean, value.std
        d["params"] = dict(value.params)
        return d
    if isinstance(value, ColumnInfo | Diagnostics):
        return asdict(value)
    if isinstance(value, Profile):
        return value.to_dict()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


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


EVENT_NAMES: dict[type, str] = {
    DatasetOpened: "dataset", RunStarted: "run_started", ModelStarted: "model_started",
    ModelScored: "model", RunFinished: "run_finished", BoardRestored: "restored",
    ExportStarted: "export_started", ExportProgress: "export_progress",
    ExportFinished: "exported", Predicted: "predicted",
    JobFailed: "error", Notice: "notice", ModelUpdate: "model_update", RunProgress: "progress",
    ModelDiagnosed: "diagnostics", LeaderTies: "ties",
}


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


# -- budgeted tuning and the done rules (issue 5) ---------------------------------------------
# The dashboard reads only these: BudgetUpdate at least every ~0.5 s while a Screen job runs
# (and once more, with final=True, just before its RunFinished), TuningStarted when the leaders
# start being tuned, one TrialFinished per configuration cross-validated at a rung.

from thrifty_tui.core.policy.budget import RuleState, RunCost  # noqa: E402


@dataclass(frozen=True)
class TuningStarted(Event):
    """Screening is over and the leaders' hyperparameters are being searched."""

    run_id: int
    leaders: tuple[str, ...]
    rungs: tuple[int, ...]  # rows at each successive-halving rung (the last: all rows)
    bracket_size: int  # configurations entering each bracket, per leader
    seconds_left: float | None  # of the wall budget (None: no time limit)
    fits_left: int | None  # of the maximum fits (None: no limit)


@dataclass(frozen=True)
class TrialFinished(Event):
    """One configuration of a leader cross-validated at one rung (stored as it finished)."""

    run_id: int
    model: str  # the leader (zoo entry) being tuned
    trial: int  # its number within this run's tuning of ``model`` (0, 1, ...)
    params: tuple[tuple[str, str], ...]  # the searched parameters only, as text
    rung: int  # index into TuningStarted.rungs' screening rungs
    rows: int
    fold_scores: tuple[float, ...]
    mean: float
    std: float
    status: str  # done | failed
    fit_seconds: float  # wall seconds of its fits, summed
    cpu_seconds: float
    peak_mb: float
    money: float | None  # at the user's price per CPU-hour (None: no price set)
    resumed: bool  # loaded from the workspace: a restarted run did not fit it again
    full_data: bool  # at the last rung: comparable with the leaderboard's scores
    best_so_far: float  # the run's best full-data CV score after this trial
    error: str = ""


@dataclass(frozen=True)
class BudgetUpdate(Event):
    """The budget and the done rules now: gauges, best-so-far trace, rule states, cost."""

    run_id: int
    phase: str  # screening | tuning | refit | done
    elapsed_s: float
    wall_s: float | None  # the time budget (None: none set)
    fits: int  # fits finished (one fit = one model on one CV fold; the final refit excluded)
    fits_started: int  # finished + in flight (what max_fits limits)
    max_fits: int | None
    best_model: str
    best_score: float  # best full-data CV score so far (NaN before the first)
    baseline_score: float  # the dummy baseline's (NaN if none)
    trace: tuple[tuple[float, float], ...]  # (seconds, best score) each time the best rose
    rules: tuple[RuleState, ...]  # one per rule in core.budget.RULE_ORDER: met|not yet|off
    stop_reason: str  # '' while running; the verdict in words once stopped
    cost: RunCost
    final: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["rules"] = [{**asdict(r), "label": r.label} for r in self.rules]
        out["cost"] = self.cost.to_dict()
        return out


EVENT_NAMES.update({TuningStarted: "tuning_started", TrialFinished: "trial",
                    BudgetUpdate: "budget"})


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
