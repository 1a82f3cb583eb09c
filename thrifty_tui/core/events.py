"""Frozen events the engine emits; the UI and the CLI only ever read these (stdlib only)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

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
    if isinstance(value, ColumnInfo):
        return asdict(value)
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


@dataclass(frozen=True)
class Notice(Event):
    """Something the user should know that is not an error."""

    message: str
    extra: tuple[str, ...] = field(default_factory=tuple)


EVENT_NAMES: dict[type, str] = {
    DatasetOpened: "dataset", RunStarted: "run_started", ModelStarted: "model_started",
    ModelScored: "model", RunFinished: "run_finished", BoardRestored: "restored",
    ExportStarted: "export_started", ExportFinished: "exported", Predicted: "predicted",
    JobFailed: "error", Notice: "notice",
}
