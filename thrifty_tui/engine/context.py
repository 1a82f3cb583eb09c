"""What a job module gets from the worker: a way to report, an executor for child work, the
workspace, a checkpoint for cancel, and the one ``Cancelled`` they raise. No job module imports
the worker (an import-linter contract checks it)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thrifty_tui.core.events import Event
    from thrifty_tui.core.store.workspace import Workspace
    from thrifty_tui.engine.executors.base import Executor
    from thrifty_tui.engine.jobs import Job

POLL_SECONDS = 0.05


class Cancelled(Exception):
    """The user asked the current job to stop."""


@dataclass
class JobContext:
    """The worker's side of one job: every job module is handed this and nothing else.

    ``checkpoint`` serves the quick jobs waiting (label keys) and says whether cancel was asked;
    ``cancel_requested`` only says it. ``budget_requests`` drains the dashboard's "extend" and
    "stop now"; ``submit`` queues a follow-up job (a labeling refit's result); ``busy`` is
    False once the worker has finished the job (a ticker thread stops then).
    """

    emit: Callable[[Event], None]
    executor: Executor
    ws: Workspace
    checkpoint: Callable[[], bool]
    cancel_requested: Callable[[], bool]
    budget_requests: Callable[[], list[tuple[float, int, bool]]]
    submit: Callable[[Job], None]
    busy: Callable[[], bool]

    def wait(self, future: Future, until: float | None = None) -> Any:
        """The future's result, checking for cancel while waiting (then the children die and
        ``Cancelled`` is raised); TimeoutError once ``time.monotonic()`` passes ``until``."""
        while True:
            timeout = POLL_SECONDS if until is None else max(
                0.0, min(POLL_SECONDS, until - time.monotonic()))
            done, _ = wait([future], timeout=timeout)
            if done:
                return future.result()
            if until is not None and time.monotonic() >= until:
                raise TimeoutError
            if self.checkpoint():
                self.executor.kill()
                raise Cancelled
