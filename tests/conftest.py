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
