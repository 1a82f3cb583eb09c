"""How the CLI meets faults: SIGTERM and SIGHUP stop a command like Ctrl+C does, with the
shell's exit codes for them (143, 129); an internal error is one line on stderr, its traceback
kept in a log file (and printed too with ``--debug``); a memory cap too low to start a child
is refused as bad input."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType

SIGNAL_EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}
LOG_ENV = "THRIFTY_LOG"


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread where Ctrl+C raises KeyboardInterrupt, so
    both take the same path: cancel, children stopped, the run marked, exit code."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.exit_code = SIGNAL_EXIT_CODES.get(signal.Signals(signum), 130)


def exit_code(err: KeyboardInterrupt) -> int:
    """130 for Ctrl+C, 143 for SIGTERM, 129 for SIGHUP."""
    return getattr(err, "exit_code", 130)


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def catch_signals() -> Callable[[], None]:
    """Turn SIGTERM and SIGHUP into :class:`Interrupted` until the returned function is
    called (which puts the previous handlers back). Only the main thread may set handlers:
    elsewhere (a test driving ``main`` from a thread) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        previous[sig] = signal.signal(sig, _raise_interrupted)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def log_file() -> Path:
    """Where tracebacks go: $THRIFTY_LOG, or thrifty-tui.log in the user's log folder."""
    if os.environ.get(LOG_ENV):
        return Path(os.environ[LOG_ENV])
    from platformdirs import user_log_path

    return user_log_path("thrifty-tui") / "thrifty-tui.log"


def setup_logging(debug: bool) -> Callable[[], None]:
    """Log records (the worker's tracebacks among them) go to the log file, and to stderr
    with ``debug`` only: without a handler Python printed them on stderr, which broke the
    CLI's one-line contract. Returns what undoes the stderr part (the file stays)."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "_thrifty", False)]
    added: list[logging.Handler] = []
    if not ours:
        try:
            path = log_file()
            path.parent.mkdir(parents=True, exist_ok=True)
            added.append(logging.FileHandler(path, encoding="utf-8", delay=True))
        except OSError:  # no writable log folder: the tracebacks are lost, not the command
            added.append(logging.NullHandler())
    stream: logging.Handler | None = logging.StreamHandler() if debug else None
    for handler in (*added, *([stream] if stream else [])):
        handler._thrifty = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)

    def undo() -> None:
        if stream is not None:
            root.removeHandler(stream)

    return undo


def record_internal_error(err: BaseException, debug: bool) -> str:
    """Keep ``err``'s traceback (the log file; stderr too with ``debug``) and return where
    the user can find it, for the one line on stderr."""
    text = "".join(traceback.format_exception(err))
    logging.getLogger("thrifty_tui.cli").error("internal error:\n%s", text)
    if debug:
        return ""
    return f" (traceback in {log_file()}; --debug prints it)"


def memory_cap(text: str) -> float:
    """``--max-memory-mb``: a number of MB a child process can start under."""
    from thrifty_tui.engine.executors.local import MIN_CHILD_MEMORY_MB

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= MIN_CHILD_MEMORY_MB:
        raise argparse.ArgumentTypeError(
            f"{text} MB is too low: a child process needs {MIN_CHILD_MEMORY_MB} MB or more "
            "to start Python, pandas and scikit-learn")
    return value


def memory_failure(stop_reason: str, cap_mb: float | None) -> str | None:
    """The one line for a run that failed for lack of memory under a cap, else None."""
    if cap_mb is None or not any(w in stop_reason for w in ("MemoryError", "Out of Memory",
                                                            "out of memory")):
        return None
    return (f"the run needs more memory than the cap of {cap_mb:g} MB per child process "
            f"(--max-memory-mb): {stop_reason}")


def mark_run_interrupted(workspace: str | None, run_id: int, why: KeyboardInterrupt) -> None:
    """The run a signal stopped is `interrupted` (not `cancelled`, the user's `x`)."""
    from thrifty_tui.core.store.workspace import Workspace, resolve_workspace

    try:
        ws = Workspace(resolve_workspace(workspace))
    except Exception:  # noqa: BLE001 - a workspace that failed: the next open marks the run
        return
    try:
        ws.interrupt_run(run_id, f"stopped by {why.args[0] if why.args else 'SIGINT'}")
    except Exception:  # noqa: BLE001
        pass
    finally:
        ws.close()
