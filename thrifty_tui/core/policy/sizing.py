"""How many rows a time budget can afford to read and prepare before screening starts.

A budget too short for the whole file screens a seeded sample (stratified by a class target,
streamed from the file) instead of ending with no model: the run still returns the best model
it could fit, and its stop reason names the sample and what to raise. Pure arithmetic on the
file's estimated shape and the seconds left; the engine measures and asks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Preparing a problem (read, type, the racing rungs' stratified folds, the problem's dump)
# costs about this many cells a second in one child: 1 M rows x 8 columns took 4.5 s (plus
# scikit-learn's import) on a 2-core machine under load (births x 3, 48 MB, make_problem's
# folds 2.0 s of it). Taken low on purpose: a sample too small costs a little score, a whole
# file too big for the budget costs the run.
PREPARE_CELLS_PER_SECOND = 1_500_000
PREPARE_SHARE = 0.25  # of the seconds left, at most, for reading and preparing the data
MIN_SAMPLE_ROWS = 2_000  # below this, folds of rare classes and the racing rungs degrade


@dataclass(frozen=True)
class FileShape:
    """A data file's estimated size, from its first bytes (not a full read)."""

    rows: int
    columns: int


def rows_for_budget(shape: FileShape | None, seconds_left: float | None) -> int | None:
    """The rows to screen so that reading and preparing them takes at most PREPARE_SHARE of
    ``seconds_left`` (None: the whole file, when it fits, without a budget, or when the
    file's shape is unknown). Never fewer than MIN_SAMPLE_ROWS."""
    if shape is None or seconds_left is None or shape.rows <= MIN_SAMPLE_ROWS:
        return None
    affordable = PREPARE_SHARE * max(0.0, seconds_left) * PREPARE_CELLS_PER_SECOND / max(
        1, shape.columns)
    if affordable >= shape.rows:
        return None
    return max(MIN_SAMPLE_ROWS, int(math.floor(affordable / 1000) * 1000))


def seconds_to_prepare(shape: FileShape) -> float:
    """The estimated seconds to prepare the whole file (for the stop reason's advice)."""
    return shape.rows * shape.columns / PREPARE_CELLS_PER_SECOND


def budget_for_whole_file(shape: FileShape) -> float:
    """A time budget whose share for preparing data covers the whole file."""
    return seconds_to_prepare(shape) / PREPARE_SHARE
