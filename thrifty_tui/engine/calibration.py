"""The calibration fit at a run's start-up (issue 20's cost model that travels): under a time
budget, the first child's warm-up also times one small fixed fit
(``core.tasks.calibration``); its seconds over the reference machine's are the machine factor
that the policy's snapshot carries (``Snapshot.machine_factor``), beside the problem's shape
guessed from its schema (``policy.costs.shape_of``; None while thrifty_tui/data/costs.toml
says ``use = false``)."""

from __future__ import annotations

import math
from concurrent.futures import Future
from typing import Any

from thrifty_tui.core.policy.costs import Shape, load_costs, machine_factor, shape_of
from thrifty_tui.core.records import ProblemSummary


class Calibration:
    """One run's calibration: submitted with the warm-ups, read by each snapshot."""

    def __init__(self, timed: bool, summary: ProblemSummary):
        self.timed = timed  # no time budget: no calibration (nothing to predict against)
        self.seconds = math.nan  # the calibration fit's, once a child has timed it
        self.shape: Shape | None = (shape_of(summary.schema, len(summary.classes))
                                    if load_costs().use else None)

    def warm_ups(self, executor: Any, problem_file: str) -> list[Future]:
        """One warm-up per worker; the first also times the calibration fit (once a run)."""
        from thrifty_tui.core.tasks import calibration, fits

        timed = self.timed and math.isnan(self.seconds)
        first = [executor.submit(calibration.warm_up_timed, problem_file)] if timed else []
        return first + [executor.submit(fits.warm_up, problem_file)
                        for _ in range(executor.max_workers - len(first))]

    def took(self, result: Any) -> None:
        """A warm-up's result: (process id, seconds) when it timed the calibration fit."""
        if isinstance(result, tuple) and len(result) == 2 and result[1] > 0:
            self.seconds = float(result[1])

    def fields(self) -> dict[str, Any]:
        """The snapshot's cost-model fields (``Snapshot.machine_factor``, ``Snapshot.shape``)."""
        return {"machine_factor": machine_factor(self.seconds, load_costs()), "shape": self.shape}
