"""The one background worker: it owns every fit and every write, and reports by events.

It keeps the queue, the quick lane (label keys served while a long job runs), cancel and a
dispatch table; each job is carried out by its own module under engine/jobs, which gets a
``JobContext`` and nothing else. The app and the CLI are the only importers of this module.
"""

from __future__ import annotations

import errno
import logging
import queue
import sqlite3
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import BrokenExecutor
from pathlib import Path
from typing import Any

from thrifty_tui.core.errors import DataError, describe_error
from thrifty_tui.core.events import Event, JobFailed
from thrifty_tui.core.store.workspace import Workspace, workspace_problem
from thrifty_tui.engine.context import POLL_SECONDS, Cancelled, JobContext
from thrifty_tui.engine.executors.local import LocalExecutor
from thrifty_tui.engine.jobs import connect, export, labeling, open_data, restore, screen
from thrifty_tui.engine.jobs.requests import (
    ConnectCluster,
    Export,
    Job,
    LabelingJob,
    OpenDataset,
    Predict,
    Restore,
    Screen,
    Shutdown,
)

log = logging.getLogger(__name__)
Emit = Callable[[Event], None]
__all__ = ["Cancelled", "Worker"]

# Which module carries out each kind of job (labeling's jobs share one handler per worker).
HANDLERS: dict[type[Job], Callable[[JobContext, Job], None]] = {
    OpenDataset: open_data.open_dataset,
    Screen: screen.run_screen,
    Export: export.run_export,
    Predict: export.run_predict,
    Restore: restore.run_restore,
}


class _Wake(Job):
    """Internal: a quick job is waiting and the worker may be idle (see ``Worker.submit``)."""


class Worker:
    """Takes jobs from a queue in one thread, drives child processes, emits frozen events."""

    def __init__(self, workspace: str | Path, emit: Emit, *, max_procs: int | None = None):
        self.workspace_root = Path(workspace)
        self.emit = emit
        # Fits run here unless a ConnectCluster job hands them to a Dask cluster; the
        # rest (preparing, the final fit, bundles) always runs in these children.
        self._local = LocalExecutor(max_procs, log_path=str(self.workspace_root / "children.log"))
        self.executor: Any = self._local
        self._jobs: queue.Queue[Job] = queue.Queue()
        # Label keys (and their model refits) must not wait behind a screening run: they go
        # to this lane, which the worker thread also serves between the polls of a long job.
        self._quick: queue.Queue[Job] = queue.Queue()
        self._serving_quick = False
        # The dashboard's "extend" and "stop now" for the running job's budget guard.
        self._budget_requests: queue.Queue[tuple[float, int, bool]] = queue.Queue()
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="thrifty-worker", daemon=True)
        self._ready = threading.Event()
        self.busy = False
        self._context: JobContext | None = None

    # -- called from any thread -------------------------------------------------------------
    def start(self) -> Worker:
        self._thread.start()
        return self

    def submit(self, job: Job) -> None:
        """Queue a job; it runs after the ones before it. Quick jobs (a label key, a labeling
        refit's result) run in order among themselves, but also while a long job is running."""
        if isinstance(job, labeling.QUICK_JOBS):
            self._quick.put(job)
            self._jobs.put(_Wake())
        else:
            self._jobs.put(job)

    def checkpoint(self) -> bool:
        """Called on the worker thread by a long job at each poll: serve the quick jobs that
        are waiting, then say whether the user asked the long job to stop."""
        self.serve_quick()
        return self._cancel.is_set()

    def serve_quick(self) -> None:
        """Run the waiting quick jobs now, on this (the worker) thread."""
        if self._serving_quick:
            return
        self._serving_quick = True
        try:
            while True:
                try:
                    job = self._quick.get_nowait()
                except queue.Empty:
                    return
                self._run_guarded(job, quick=True)
        finally:
            self._serving_quick = False

    def adjust_budget(self, extra_s: float = 0.0, extra_fits: int = 0,
                      stop: bool = False) -> None:
        """From any thread: give the running job more seconds or fits, or stop it now (it
        keeps and refits the best so far, unlike cancel)."""
        self._budget_requests.put((float(extra_s), int(extra_fits), bool(stop)))

    def budget_requests(self) -> list[tuple[float, int, bool]]:
        """The adjustments asked for since the last call (the budget guard applies them)."""
        out = []
        while True:
            try:
                out.append(self._budget_requests.get_nowait())
            except queue.Empty:
                return out

    def cancel(self) -> None:
        """Ask the running job to stop at its next check (fits in progress are killed)."""
        self._cancel.set()

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop after the current job: running fits are killed, then the thread ends."""
        self._cancel.set()
        self._jobs.put(Shutdown())
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- the worker thread ------------------------------------------------------------------
    def _loop(self) -> None:
        self.ws: Workspace | None = None
        self._open_workspace()
        self._ready.set()
        try:
            while True:
                try:
                    job = self._jobs.get(timeout=POLL_SECONDS * 4)
                except queue.Empty:
                    continue
                if isinstance(job, Shutdown):
                    break
                # Opened again for each job until it works: a lock since released, space since
                # freed or a database since restored must not keep refusing until a restart.
                if self.ws is None and not self._open_workspace():
                    if isinstance(job, _Wake):
                        try:
                            job = self._quick.get_nowait()
                        except queue.Empty:
                            continue
                    self.emit(JobFailed(job=type(job).__name__,
                                        message=self._workspace_error))
                    continue
                if isinstance(job, _Wake):
                    self.serve_quick()
                    continue
                self.serve_quick()  # keys typed before this job keep their order before it
                self._cancel.clear()
                self.busy = True
                try:
                    self._run_guarded(job)
                finally:
                    self.busy = False
        finally:
            self.executor.kill()
            if self.executor is not self._local:
                self.executor.close()  # leave the cluster (a LocalCluster stops with it)
            if self.ws is not None:
                self.ws.close()

    def _open_workspace(self) -> bool:
        """Open the workspace, mark the runs of dead owners interrupted and make the jobs'
        context; False (with ``_workspace_error`` set) when it cannot be used now."""
        try:
            self.ws = Workspace(self.workspace_root)
            self.ws.mark_interrupted()
        except (OSError, sqlite3.Error) as err:
            # Without this the thread dies before its loop and whoever waits for events hangs.
            if self.ws is not None:
                self.ws.close()
            self.ws, self._context = None, None
            self._workspace_error = workspace_problem(self.workspace_root, err)
            return False
        self._context = JobContext(
            emit=self.emit, executor=self.executor, ws=self.ws, checkpoint=self.checkpoint,
            cancel_requested=self._cancel.is_set, budget_requests=self.budget_requests,
            submit=self.submit, busy=lambda: self.busy)
        return True

    def _run_guarded(self, job: Job, quick: bool = False) -> None:
        """Run one job; every failure becomes an event, none ends the thread, and none leaves
        its run `running` (a quick job runs beside a long one: it ends nothing of it)."""
        try:
            self._handle(job)
        except Cancelled:
            # Screen reports its own cancel as RunFinished; a job cancelled before it had
            # anything to report still needs an answer, or its caller waits forever.
            if not quick:
                self._end_open_runs("cancelled by the user", status="cancelled")
            self.emit(JobFailed(job=type(job).__name__,
                                message=f"{type(job).__name__} cancelled"))
        except DataError as err:
            if not quick:
                self._end_open_runs(str(err))
            self.emit(JobFailed(job=type(job).__name__, message=str(err)))
        except sqlite3.Error as err:
            # Locked, full or corrupt: the user's to fix, and the workspace is opened afresh
            # for the next job (a connection that saw SQLITE_FULL or CORRUPT is not trusted).
            log.error("job %s failed on the workspace:\n%s", job, traceback.format_exc())
            message = workspace_problem(self.workspace_root, err)
            if not quick:
                if "locked" not in str(err):  # (a write would only wait for the lock again)
                    self._end_open_runs(message)
                if self.ws is not None:
                    self.ws.close()
                self.ws, self._context = None, None
            self.emit(JobFailed(job=type(job).__name__, message=message))
        except Exception as err:  # noqa: BLE001 - errors never kill the worker
            log.error("job %s failed:\n%s", job, traceback.format_exc())
            # A dead child broke the pool: the next job gets a new one (but a quick job must
            # not kill the children of the long job it runs beside).
            if isinstance(err, BrokenExecutor) and not quick:
                self.executor.kill()
            full = isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT)
            message = (f"the disk is full ({describe_error(err)}); free some space"
                       if full else describe_error(err))
            if not quick:
                self._end_open_runs(message)
            self.emit(JobFailed(job=type(job).__name__, message=message, user_error=full))

    def _end_open_runs(self, reason: str, status: str = "failed") -> None:
        """End the runs of this process that a failed job left open, as ``status`` with
        ``reason`` (best effort: the workspace may be what failed; then the next instance
        marks them interrupted once this process is gone)."""
        if self.ws is None:
            return
        try:
            self.ws.end_own_runs(status, reason)
        except sqlite3.Error:
            pass

    def _use_executor(self, executor: Any) -> None:
        """Run the next jobs' fits on ``executor`` (the cluster it replaces is left)."""
        old, self.executor = self.executor, executor
        if old is not executor and old is not self._local:
            old.leave()
        if self._context is not None:
            self._context.executor = executor

    @property
    def context(self) -> JobContext:
        """What every job module gets (made once the workspace is open)."""
        self._ready.wait()
        if self._context is None:
            raise RuntimeError(f"the worker has no workspace ({self.workspace_root})")
        return self._context

    def _handle(self, job: Job) -> None:
        if isinstance(job, ConnectCluster):
            self._use_executor(connect.connect(self.context, job, self._local))
            return
        if isinstance(job, LabelingJob):
            labeling.handle(self.context, job)
            return
        handler = HANDLERS.get(type(job))
        if handler is None:
            raise TypeError(f"unknown job {job!r}")
        handler(self.context, job)

