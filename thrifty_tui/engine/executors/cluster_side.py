"""What the Dask executor runs on a cluster's workers (each needs thrifty-tui installed).

A Python thread cannot be killed and Dask runs tasks in threads, so a fit never runs in the
Dask worker itself: each worker keeps a ``LocalExecutor`` of its own (child processes, one
per worker thread, with the same memory cap and one-thread limits as on this machine), and
the task thread only waits for its child. ``kill_fits`` (sent with ``Client.run``, which does
not wait for a task slot) kills those children, so the waiting tasks end at once and their
slots take the next fit. The job's problem reaches each worker once, as scattered bytes, and
is written to the worker's own temporary folder; output files come back as bytes.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
import threading
from concurrent.futures import wait
from pathlib import Path
from typing import Any

from thrifty_tui.engine.executors.local import LocalExecutor

POLL_SECONDS = 0.05

_LOCK = threading.RLock()
# This worker process's children, their memory cap, the number of kills so far (a task that
# sees it change was killed), and the key of the problem written to disk.
_STATE: dict[str, Any] = {"pool": None, "cap": None, "epoch": 0, "problem": None}


class FitKilled(Exception):
    """The client stopped this worker's fits (a fit past its cap, a deadline or cancel)."""


def worker_versions() -> dict[str, str]:
    """What this worker runs: checked by the client as it connects (read from the installed
    packages' metadata: the app's process must not import scikit-learn to know it)."""
    from importlib.metadata import PackageNotFoundError, version

    import thrifty_tui

    try:
        sklearn = version("scikit-learn")
    except PackageNotFoundError:
        sklearn = "missing"
    return {"thrifty-tui": thrifty_tui.__version__, "scikit-learn": sklearn}


def _folder() -> Path:
    folder = Path(tempfile.gettempdir()) / f"thrifty-dask-{os.getpid()}"
    folder.mkdir(exist_ok=True)
    return folder


def _pool(memory_cap_mb: float | None, slots: int, log_path: str | None) -> LocalExecutor:
    """This worker's children (made anew when the cap changes); hold ``_LOCK``."""
    pool = _STATE["pool"]
    if pool is None or _STATE["cap"] != memory_cap_mb or pool.max_workers != slots:
        if pool is not None:
            pool.kill()
        # Dask starts worker processes as daemons, and multiprocessing refuses children to a
        # daemon (so its children are not orphaned). Ours cannot be: each dies with its
        # parent (local.die_with_parent), so the flag is lifted in this worker process.
        multiprocessing.current_process()._config["daemon"] = False  # noqa: SLF001
        pool = LocalExecutor(slots, memory_cap_mb=memory_cap_mb, log_path=log_path)
        _STATE.update(pool=pool, cap=memory_cap_mb)
    return pool


def _problem_file(key: str, data: bytes) -> str:
    """The scattered problem as a file of this worker, written once per job (the last job's
    file and its feature cache are removed then)."""
    path = _folder() / f"{key}.joblib"
    with _LOCK:
        if _STATE["problem"] != key or not path.is_file():
            for old in _folder().glob("problem-*"):
                if old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    old.unlink(missing_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
            _STATE["problem"] = key
    return str(path)


def _slots() -> int:
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):  # not on a Dask worker (a test)
        return 1


def run_fit(fn: Any, data: bytes, key: str, args: tuple[Any, ...], out_index: int | None,
            memory_cap_mb: float | None,
            log_path: str | None = None) -> tuple[Any, dict[str, bytes]]:
    """``fn(problem_file, *args)`` in a child of this worker; returns its value and the files
    it wrote where ``args[out_index]`` pointed (name -> bytes), for the client to write.
    ``log_path``: where the children's stderr goes (None: the worker's)."""
    epoch = _STATE["epoch"]
    problem = _problem_file(key, data)
    call = list(args)
    out_dir: Path | None = None
    if out_index is not None and call[out_index]:
        out_dir = Path(tempfile.mkdtemp(dir=_folder(), prefix="out-"))
        call[out_index] = str(out_dir / Path(call[out_index]).name)
    try:
        with _LOCK:  # a kill between here and the submit would miss this fit
            if _STATE["epoch"] != epoch:
                raise FitKilled("stopped before it started")
            future = _pool(memory_cap_mb, _slots(), log_path).submit(fn, problem, *call)
        while not future.done():
            if _STATE["epoch"] != epoch:
                raise FitKilled("stopped by the client")
            wait([future], timeout=POLL_SECONDS)
        value = future.result()
        files = ({p.name: p.read_bytes() for p in out_dir.iterdir() if ".tmp" not in p.name}
                 if out_dir is not None else {})
        return value, files
    finally:
        if out_dir is not None:
            shutil.rmtree(out_dir, ignore_errors=True)


def start_children(log_path: str | None = None) -> int:
    """Start this worker's children now (they import scikit-learn as they start), so the
    first run's fits do not wait for them; returns this worker's process id."""
    with _LOCK:
        _pool(None, _slots(), log_path).submit(os.getpid)
    return os.getpid()


def kill_fits() -> int:
    """Kill this worker's fit children now; the tasks waiting on them raise ``FitKilled``.
    Returns the number of kills so far."""
    with _LOCK:
        _STATE["epoch"] += 1
        pool = _STATE["pool"]
        if pool is not None:
            pool.kill()
        return int(_STATE["epoch"])
