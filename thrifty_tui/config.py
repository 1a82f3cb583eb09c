"""Settings shared by the CLI, the app and the tests (one typed object, no hidden globals)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from thrifty_tui.core.workspace import resolve_workspace

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


def make_settings(workspace: str | None = None, **kwargs) -> Settings:
    """Settings with the workspace resolved (flag, then $THRIFTY_WORKSPACE, then default)."""
    return Settings(workspace=resolve_workspace(workspace), **kwargs)
