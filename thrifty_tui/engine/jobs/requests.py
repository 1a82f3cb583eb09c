"""Jobs the screens and the CLI hand to the worker (frozen, stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Job:
    """Base class of everything the worker accepts."""


@dataclass(frozen=True)
class OpenDataset(Job):
    """Read a file and report a preview, shape, column roles and a profile for ``target``
    (None: the suggested target)."""

    path: str
    target: str | None = None


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
    # Done rules and limits (a core.budget.Budget; its wall_s is ignored: budget_s is the time
    # budget). Merged over the [budget] table of a thrifty.toml beside the data.
    budget: Any = None
    tune: bool | None = None  # tune the leaders after screening (None: when a rule is set)
    # time.monotonic() when the user asked for the run: the time budget counts from there
    # (the CLI passes its process's start). None: when the worker takes the job.
    started_at: float | None = None
    zoo_path: str | None = None  # a user's TOML zoo; else thrifty-zoo.toml beside the data
    max_fit_seconds: float | None = None  # hard cap on one fit; the fit is killed past it
    max_memory_mb: float | None = None  # per child process; past it a fit is an OOM row
    racing: bool = True  # successive halving on growing subsamples (False: full data only)
    sample_rows: int | None = None  # screen a seeded sample of this many rows
    # Use this label set's labels (thrifty-tui label) as the target, named ``target``:
    # only the labeled rows of ``path`` are screened.
    label_set: int | None = None
    # The user's column roles from the Load screen, (column, role value) pairs: they override
    # the inferred roles when features are built.
    roles: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Export(Job):
    """Write a bundle of the given run (the latest when None) to ``path``; ``cost`` (a
    core.learn.value.CostMatrix's dict) over thrifty.toml's [cost] sets the threshold, and
    ``calibrate`` False keeps the model's own probabilities even when calibration helps."""

    path: str
    run_id: int | None = None
    cost: tuple[tuple[str, Any], ...] = ()
    calibrate: bool = True


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
class ConnectCluster(Job):
    """Run fits on a Dask cluster from now on: ``local:N`` (a LocalCluster of N worker
    processes, ``local`` for one per core) or ``tcp://HOST:PORT`` (a running scheduler);
    ``""`` goes back to this machine's children. With ``fallback_local`` a cluster that cannot
    be reached (or is lost later) leaves the fits on this machine, with a notice."""

    address: str
    fallback_local: bool = False


@dataclass(frozen=True)
class Shutdown(Job):
    """Stop the worker after the jobs before it."""


@dataclass(frozen=True)
class LabelingJob(Job):
    """Base of the labeling jobs (handled by engine/labeling.py on the worker thread)."""


@dataclass(frozen=True)
class OpenLabeling(LabelingJob):
    """Open (or resume) the label set of a file; ``labels`` are "name" or "name:description"."""

    path: str
    labels: tuple[str, ...] = ()
    text_column: str | None = None
    name: str = "label"
    seed: int = 0


@dataclass(frozen=True)
class Label(LabelingJob):
    """One keypress on the label screen: label | skip | unsure | flag | undo, made durable."""

    set_id: int
    action: str
    item: int = -1
    label: str = ""
    via: str = "queue"  # queue | search: how the user reached the item
    token: int = 0  # echoed in LabelSaved so the screen knows its key was saved


@dataclass(frozen=True)
class EditLabels(LabelingJob):
    """Change the schema (add | rename | merge, undoable) or the goal (``names[0]`` = count)."""

    set_id: int
    action: str
    names: tuple[str, ...] = ()
    into: str = ""
    token: int = 0
