"""Settings shared by the CLI, the app and the tests (one typed object, no hidden globals)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# Standard library only: the app's first frame waits for this module (see resolve_workspace).
DEFAULT_WORKSPACE = "thrifty-workspace"
SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"
DEFAULT_SAMPLE = ("movies.csv", "Comedy")


@dataclass(frozen=True)
class Settings:
    """What the app is opened on and how it behaves."""

    workspace: Path
    path: str | None = None
    target: str | None = None
    max_procs: int | None = None
    seed: int = 0
    budget_s: float | None = None
    # Tests and screenshots turn these off for deterministic output.
    animations: bool = True
    # `thrifty-tui label`: open on the label screen with these labels (may be empty: ask).
    labels: tuple[str, ...] | None = None
    text_column: str | None = None


def sample_file() -> tuple[Path, str]:
    """The bundled sample the app opens with no arguments, and its target column."""
    name, target = DEFAULT_SAMPLE
    return SAMPLE_DIR / name, target


def resolve_workspace(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--workspace, else $THRIFTY_WORKSPACE, else ./thrifty-workspace.

    It lives here, not beside the SQLite store in ``core.workspace``, so that settings can be
    made without importing the store and the engine's events (~50 ms before the first frame).
    """
    return Path(explicit or os.environ.get("THRIFTY_WORKSPACE") or DEFAULT_WORKSPACE).expanduser()


def make_settings(workspace: str | None = None, **kwargs) -> Settings:
    """Settings with the workspace resolved (flag, then $THRIFTY_WORKSPACE, then default)."""
    return Settings(workspace=resolve_workspace(workspace), **kwargs)
