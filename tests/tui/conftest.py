"""Helpers for driving the real app with Pilot: real worker, real child processes, real files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from thrifty_tui.config import SAMPLE_DIR, make_settings
from thrifty_tui.tui.app import ThriftyApp, create_app

@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., ThriftyApp]:
    def factory(path: str | None = None, target: str | None = None,
                workspace: Path | None = None) -> ThriftyApp:
        return create_app(make_settings(str(workspace or tmp_path / "ws"), path=path,
                                        target=target, max_procs=2, animations=False))
    return factory


@pytest.fixture
def movies() -> str:
    return str(SAMPLE_DIR / "movies.csv")


@pytest.fixture
def gss() -> str:
    return str(SAMPLE_DIR / "gss_wages.csv")

