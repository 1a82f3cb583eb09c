"""Test-wide settings: one BLAS/OpenMP thread, as in the app's child processes; quick zoo.

Set before scikit-learn is imported: with two OpenMP threads per process on a 2-core machine
that also runs the children, fits spin against each other and tests crawl.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

# Tracebacks the CLI logs go to a file of the test run, not the user's log folder.
os.environ.setdefault("THRIFTY_LOG", os.path.join(tempfile.gettempdir(),
                                                  f"thrifty-tests-{os.getpid()}.log"))

# The suite screens the quick zoo (one model per family) unless a test names another: the full
# zoo is tested on its own, and a quick zoo keeps every other test to seconds.
os.environ["THRIFTY_ZOO"] = "quick"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "alone: a test that measures wall time; under pytest-xdist no other test "
                   "runs while it does (the other workers wait)")


# --- tests that must not overlap (pytest-xdist) -----------------------------------------------

@contextmanager
def _flock(path: Path, mode: int):
    with open(path, "a+b") as fh:
        fcntl.flock(fh, mode)
        yield  # closing the file releases the lock


@contextmanager
def _alone_or_shared(item: pytest.Item):
    """Under xdist, a test marked ``alone`` holds an exclusive lock shared by the workers of
    this run, every other test a shared one. A turnstile lets a waiting ``alone`` test in
    before the next shared test starts, so it is not starved by a busy worker."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not run:
        yield
        return
    base = Path(tempfile.gettempdir()) / f"thrifty-xdist-{run}"
    gate, room = Path(f"{base}.gate"), Path(f"{base}.room")
    if item.get_closest_marker("alone"):
        with _flock(gate, fcntl.LOCK_EX):
            room_fh = open(room, "a+b")
            fcntl.flock(room_fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            room_fh.close()
    else:
        with _flock(gate, fcntl.LOCK_EX):
            pass
        with _flock(room, fcntl.LOCK_SH):
            yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    with _alone_or_shared(item):
        yield
