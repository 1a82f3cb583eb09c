"""Test-wide settings: one BLAS/OpenMP thread, as in the app's child processes; quick zoo.

Set before scikit-learn is imported: with two OpenMP threads per process on a 2-core machine
that also runs the children, fits spin against each other and tests crawl.
"""

from __future__ import annotations

import os
import tempfile

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

# Tracebacks the CLI logs go to a file of the test run, not the user's log folder.
os.environ.setdefault("THRIFTY_LOG", os.path.join(tempfile.gettempdir(),
                                                  f"thrifty-tests-{os.getpid()}.log"))

# The suite screens the quick zoo (one model per family) unless a test names another: the full
# zoo is tested on its own, and a quick zoo keeps every other test to seconds.
os.environ["THRIFTY_ZOO"] = "quick"


# The files whose tests take longest on a loaded 2-core machine (pytest --durations) run
# first: with two workers, a long test that starts last leaves the other worker idle at the
# end. Order only; a file's tests stay together, in their order. Not the Dask executor's
# tests: they time a cap and a budget on the wall (issue 22) and failed (4 of 7) when moved
# here beside the heaviest tests on a machine loaded by other work.
LONG_FIRST = (
    "tui/test_key_mash.py", "engine/test_worker_processes.py", "tui/test_reopen.py",
    "tui/test_label_kill.py", "tui/test_load_screen.py", "engine/test_screen_run.py",
    "tui/test_budget_screen.py", "engine/test_ensemble_budget.py", "tui/test_event_loop_costs.py",
    "tui/test_app.py", "tui/test_diagnostics_screen.py",
)


def pytest_collection_modifyitems(session, config, items) -> None:
    def rank(item) -> int:
        path = item.path.as_posix()
        return next((i for i, name in enumerate(LONG_FIRST) if path.endswith(name)),
                    len(LONG_FIRST))
    items.sort(key=rank)  # stable: the rest keep their order
