"""The calibration fit at a run's start-up (issue 20's cost model): timed in a real child beside
the warm-up, its seconds reach the policy's snapshot as the machine factor."""

from __future__ import annotations

import math
from concurrent.futures import wait

from engine_helpers import CAR_PRICES

from thrifty_tui.core.policy.costs import load_costs
from thrifty_tui.core.policy.snapshot import Snapshot
from thrifty_tui.core.tasks import fits
from thrifty_tui.engine.calibration import Calibration
from thrifty_tui.engine.executors.local import LocalExecutor


def _snapshot(cal: Calibration, summary) -> Snapshot:
    return Snapshot(models=(), rungs=tuple(summary.rungs), folds_at=(5,), n_rows=summary.n_rows,
                    n_folds=5, workers=2, free_slots=2, elapsed_s=0.0, **cal.fields())


def test_the_calibration_fit_reaches_the_snapshot(tmp_path):
    problem_file = str(tmp_path / "problem.joblib")
    summary = fits.prepare_problem(CAR_PRICES, "Price", None, None, 0, problem_file)
    executor = LocalExecutor(max_workers=2)
    try:
        timed, untimed = Calibration(True, summary), Calibration(False, summary)
        for cal in (timed, untimed):
            futures = cal.warm_ups(executor, problem_file)
            assert len(futures) == 2  # one warm-up per worker either way
            wait(futures)
            for future in futures:
                cal.took(future.result())
        # a run restarts its children: the warm-ups after that do not time it again
        assert not any(isinstance(f.result(), tuple)
                       for f in wait(timed.warm_ups(executor, problem_file)).done)
    finally:
        executor.close()
    assert timed.seconds > 0
    snap = _snapshot(timed, summary)
    assert snap.machine_factor == timed.seconds / load_costs().calibration_s
    assert snap.machine_factor != 1.0
    # without a time budget there is nothing to time: the factor stays 1.0
    assert math.isnan(untimed.seconds)
    assert _snapshot(untimed, summary).machine_factor == 1.0
    # the shape goes in only while the cost model is on (thrifty_tui/data/costs.toml: use)
    assert (snap.shape is not None) == load_costs().use
