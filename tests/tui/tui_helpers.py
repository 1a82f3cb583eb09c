"""Shared by the TUI tests: the terminal size and a wait that lets the worker report."""

from __future__ import annotations

import time
from collections.abc import Callable

SIZE = (80, 24)


async def wait_for(pilot, condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Let the app run until ``condition()`` holds (the worker reports asynchronously)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.05)
