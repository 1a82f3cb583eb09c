"""Helpers for driving the real app with Pilot: real worker, real child processes, real files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from thrifty_tui.config import SAMPLE_DIR, make_settings
from thrifty_tui.tui.app import ThriftyApp, create_app

@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., ThriftyApp]:
    # One child process: the worker's pool starts all its children at once and each imports
    # scikit-learn (~3 s of CPU), though most app tests only open a file. Fits side by side
    # are the engine tests' business (tests/engine, max_procs=2).
    def factory(path: str | None = None, target: str | None = None,
                workspace: Path | None = None, max_procs: int = 1) -> ThriftyApp:
        return create_app(make_settings(str(workspace or tmp_path / "ws"), path=path,
                                        target=target, max_procs=max_procs, animations=False))
    return factory


@pytest.fixture
def movies() -> str:
    return str(SAMPLE_DIR / "movies.csv")


@pytest.fixture
def gss() -> str:
    return str(SAMPLE_DIR / "gss_wages.csv")



# Pilot waits, after each key, until the process looks idle: until less than 1 ms of CPU was
# used in 20 ms, else up to 1 s, twice a key. While the worker thread drives a run (its CPU
# counts: one process) that wait ran to its 1 s cap on every key, minutes over the suite.
# Capped here: a key's effect is handled on the next turn of the event loop, and tests that
# need the worker's answer wait for it with wait_for (tui_helpers).
IDLE_CAP_S = 0.1


@pytest.fixture(autouse=True)
def _quick_idle(monkeypatch):
    import textual.app
    import textual.pilot
    from textual._wait import wait_for_idle

    async def capped(min_sleep: float = 1 / 50, max_sleep: float = 1) -> None:
        await wait_for_idle(min_sleep, min(max_sleep, IDLE_CAP_S))

    monkeypatch.setattr(textual.app, "wait_for_idle", capped)
    monkeypatch.setattr(textual.pilot, "wait_for_idle", capped)
