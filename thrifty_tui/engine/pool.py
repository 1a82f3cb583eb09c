"""Child processes for fits and big writes, so the GIL of the app's process stays free.

A thread cannot be killed, a process can: a run that is cancelled (or a fit over its cap)
ends by killing the pool's children, and the next job gets fresh ones.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Future
from typing import Any


def default_workers() -> int:
    """One child per core: fits are CPU-bound and each child is limited to one thread."""
    return max(1, os.cpu_count() or 1)


class _RealStderrSys:
    """``sys`` as loky's resource tracker sees it, but with the process's real stderr.

    The tracker is spawned with ``sys.stderr.fileno()``; inside a Textual app sys.stderr is a
    capture object whose fileno() is -1, which makes the spawn fail. Patching only the
    tracker module's ``sys`` name leaves the app's own stderr capture untouched.
    """

    def __getattr__(self, name: str) -> Any:
        if name == "stderr":
            return sys.__stderr__
        return getattr(sys, name)


def start_resource_tracker() -> None:
    """Start loky's and multiprocessing's resource trackers with a valid stderr (idempotent)."""
    import multiprocessing.resource_tracker as mp_tracker

    from joblib.externals.loky.backend import resource_tracker as loky_tracker

    modules = (loky_tracker, mp_tracker)
    originals = [m.sys for m in modules]
    try:
        for module in modules:
            module.sys = _RealStderrSys()  # type: ignore[assignment]
        loky_tracker.ensure_running()
        mp_tracker.ensure_running()
    finally:
        for module, original in zip(modules, originals, strict=True):
            module.sys = original


class ChildPool:
    """A lazily started loky process pool that can be killed and restarted."""

    def __init__(self, max_workers: int | None = None):
        self.max_workers = max_workers or default_workers()
        self._executor: Any = None

    def _get(self) -> Any:
        if self._executor is None:
            # Imported here: the app's process should not pay for loky before it needs it.
            from joblib.externals.loky.process_executor import ProcessPoolExecutor

            from thrifty_tui.core.tasks import init_child

            start_resource_tracker()
            self._executor = ProcessPoolExecutor(max_workers=self.max_workers,
                                                 initializer=init_child)
        return self._executor

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run ``fn(*args)`` in a child; the Future holds its result or its exception."""
        try:
            return self._get().submit(fn, *args)
        except BrokenExecutor:
            # A child died while the pool sat idle (the OOM killer does that): start afresh once.
            self.kill()
            return self._get().submit(fn, *args)

    def kill(self) -> None:
        """Stop every child now (their work is lost); the next submit starts new ones."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, kill_workers=True)
            self._executor = None

    def close(self) -> None:
        """Let the children finish what they have, then stop them."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
