"""The user-facing error type and cheap input checks (stdlib only, so the UI can import them)."""

from __future__ import annotations

import errno
import os
from pathlib import Path


class DataError(Exception):
    """Input the user can fix; ``str(err)`` is one clear line meant for them."""


def check_path(path: str | os.PathLike[str]) -> Path:
    """The path if it is a readable, non-empty file; DataError saying what is wrong if not."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(_missing(p))
    if p.is_dir():
        raise DataError(f"{p} is a directory, not a data file")
    if not os.access(p, os.R_OK):
        raise DataError(f"cannot read {p}: permission denied")
    if p.stat().st_size == 0:
        raise DataError(f"{p} is empty")
    return p


def _missing(p: Path) -> str:
    """Why ``p`` cannot be found: a symbolic link loop, a link to nothing, or no such file
    (``Path.exists`` says False for all three)."""
    try:
        os.stat(p)
    except OSError as err:
        if err.errno == errno.ELOOP:
            return f"{p} is a symbolic link loop (it leads back to itself)"
    if p.is_symlink():
        return f"{p} is a symbolic link that points to {os.readlink(p)}, which does not exist"
    return f"no such file: {p}"


def describe_error(err: BaseException, limit: int = 300) -> str:
    """``Type: message`` on one line (the first non-empty one), for a row or a notification.

    Some errors (loky's TerminatedWorkerError) carry paragraphs; a leaderboard cell and the
    CLI's one-line error contract need only the first line.
    """
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    text = f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
