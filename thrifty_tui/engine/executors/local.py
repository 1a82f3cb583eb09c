"""The local executor: child processes on this machine for fits and big writes, so the GIL of
the app's process stays free.

A thread cannot be killed, a process can: a run that is cancelled (or a fit over its cap)
ends by killing the pool's children, and the next job gets fresh ones.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Future
from typing import Any


# One thread per child, set before the child imports anything: threadpoolctl only limits
# libraries already loaded, and two OpenMP threads per child on two cores spin against each
# other (measured: HistGradientBoosting on 800 rows took 80 s instead of 0.7 s).
CHILD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
             "VECLIB_MAXIMUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1"}


def default_memory_cap_mb(workers: int) -> float:
    """Per child: 70 % of the machine's memory shared by the children (4 GiB if unknown)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    except (ValueError, OSError):
        return 4096.0
    return round(0.7 * total / max(1, workers))


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


def _init_child(*args: Any) -> None:
    """``tasks.init_child`` imported in the child: the app's process never imports core.tasks
    (pandas, scikit-learn) just to name it, which took seconds with the GIL held."""
    from thrifty_tui.core.tasks.fits import init_child

    init_child(*args)


class LocalExecutor:
    """A lazily started loky process pool that can be killed and restarted (the ``Executor``
    of engine/executors/base.py on this machine's cores)."""

    def __init__(self, max_workers: int | None = None, memory_cap_mb: float | None = None,
                 log_path: str | None = None):
        self.max_workers = max_workers or default_workers()
        self.log_path = log_path
        self.memory_cap_mb = memory_cap_mb if memory_cap_mb is not None else default_memory_cap_mb(
            self.max_workers)
        self._executor: Any = None
        # Held while the executor is made, so a warm-up thread and the worker never import
        # loky at the same time (concurrent imports of it can raise _DeadlockError).
        self._lock = threading.RLock()

    def set_memory_cap(self, memory_cap_mb: float | None) -> None:
        """Use another per-child memory cap from the next task on (restarts the children)."""
        wanted = memory_cap_mb or default_memory_cap_mb(self.max_workers)
        if wanted != self.memory_cap_mb:
            self.kill()
            self.memory_cap_mb = wanted

    def _get(self) -> Any:
        with self._lock:
            return self._make()

    def _make(self) -> Any:
        if self._executor is None:
            # Imported here: the app's process should not pay for loky before it needs it.
            from joblib.externals.loky.process_executor import ProcessPoolExecutor

            start_resource_tracker()
            self._executor = ProcessPoolExecutor(max_workers=self.max_workers,
                                                 initializer=_init_child,
                                                 initargs=(self.memory_cap_mb, self.log_path),
                                                 env=CHILD_ENV)
        return self._executor

    def warm_up(self) -> None:
        """Make the executor in a background thread (importing joblib/loky and starting the
        resource tracker take ~0.5 s); the next submit waits only for what is left of it."""
        if self._executor is None:
            threading.Thread(target=self._warm, name="thrifty-pool-warm-up", daemon=True).start()

    def _warm(self) -> None:
        try:
            self._get()
        except Exception:  # noqa: BLE001 - the next submit tries again and reports the error
            pass

    @property
    def generation(self) -> object:
        """The current loky executor (None when no children run): new after every kill."""
        return self._executor

    @property
    def started(self) -> bool:
        """Whether children exist now (False after a kill, until the next submit)."""
        return self._executor is not None

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
        with self._lock:
            self._kill()

    def _kill(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, kill_workers=True)
            self._executor = None

    def close(self) -> None:
        """Let the children finish what they have, then stop them."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
