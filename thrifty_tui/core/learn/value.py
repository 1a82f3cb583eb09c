"""What a model is worth: a cost matrix, the cost curve over decision thresholds, the best
threshold and the expected cost per 1,000 predictions. Pure arithmetic on counts (standard
library only): the app draws and re-chooses with it without scikit-learn, from the counts the
diagnostics computed once on out-of-fold predictions.

Units: a cost is what one prediction costs the user (money, minutes, anything); a gain is a
negative cost. Expected cost per 1,000 predictions = 1000 x mean cost of one prediction, so a
lower number is better and a negative one is a profit.

- classification (binary): ``false_positive`` and ``false_negative`` are the cost of each
  kind of error, ``true_positive`` and ``true_negative`` the gain of each right call, for the
  positive class ``positive`` (default: the second class, as scikit-learn orders them).
  More than two classes: every wrong call costs ``false_negative`` + ``false_positive``
  halved, every right call gains the mean of the two gains (no threshold to tune then).
- regression: ``per_unit_error`` is the cost of one unit of absolute error (|y - ŷ|).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from thrifty_tui.core.errors import DataError

COST_TABLE = "cost"  # thrifty.toml's [cost] table
PER = 1000  # expected cost is given per 1,000 predictions
# (threshold, true positives, false positives, true negatives, false negatives)
Counts = tuple[float, int, int, int, int]


@dataclass(frozen=True)
class CostMatrix:
    """The cost of each kind of error and the gain of each right call (None: not set)."""

    false_positive: float | None = None
    false_negative: float | None = None
    true_positive: float | None = None  # a gain: subtracted from the cost
    true_negative: float | None = None  # a gain
    per_unit_error: float | None = None  # regression: cost of one unit of |error|
    positive: str | None = None  # the positive class (default: the second class)

    @property
    def is_set(self) -> bool:
        """Whether any cost or gain is given."""
        return any(getattr(self, f.name) is not None for f in fields(self)
                   if f.name != "positive")

    def merged(self, override: CostMatrix) -> CostMatrix:
        """This matrix with every field ``override`` sets taking its value."""
        return replace(self, **{f.name: getattr(override, f.name) for f in fields(override)
                                if getattr(override, f.name) is not None})

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) is not None}

    def words(self, task: str) -> str:
        """The matrix in one line, for the model card and the dashboard."""
        if task == "regression":
            return f"{_num(self.per_unit_error or 0)} per unit of absolute error"
        return (f"false positive {_num(self.false_positive or 0)}, false negative "
                f"{_num(self.false_negative or 0)}, gain of a true positive "
                f"{_num(self.true_positive or 0)}, of a true negative "
                f"{_num(self.true_negative or 0)}")


def _num(value: float) -> str:
    return f"{value:g}"


def cost_from_dict(data: Mapping[str, Any], where: str = "cost") -> CostMatrix:
    """A CostMatrix from a mapping (thrifty.toml's [cost], a manifest); DataError naming the
    key when a value is not a number."""
    known = {f.name for f in fields(CostMatrix)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise DataError(f"{where}: unknown key(s) {', '.join(unknown)}; use "
                        + ", ".join(sorted(known)))
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "positive":
            values[key] = None if value is None else str(value)
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
                value):
            raise DataError(f"{where}: {key} must be a number, not {value!r}")
        values[key] = float(value)
    return CostMatrix(**values)


def load_cost_file(path: str | Path | None) -> CostMatrix:
    """The ``[cost]`` table of a thrifty.toml (an empty CostMatrix when there is none)."""
    if path is None or not Path(path).is_file():
        return CostMatrix()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise DataError(f"{path}: not a readable TOML file ({err})") from None
    table = data.get(COST_TABLE) or {}
    if not isinstance(table, dict):
        raise DataError(f"{path}: [{COST_TABLE}] must be a table")
    return cost_from_dict(table, f"{path} [{COST_TABLE}]")


def oriented(cost: CostMatrix, diag: Any) -> CostMatrix:
    """``cost`` as seen from the class the counts are kept for (the second class): a matrix
    given for the first class (``positive``) has its kinds of error and gains swapped."""
    labels = tuple(getattr(diag, "labels", ()))
    if cost.positive is None or len(labels) != 2 or cost.positive == labels[1]:
        return cost
    if cost.positive != labels[0]:
        raise DataError(f"positive class {cost.positive!r} is not one of "
                        f"{', '.join(map(repr, labels))}")
    return CostMatrix(false_positive=cost.false_negative, false_negative=cost.false_positive,
                      true_positive=cost.true_negative, true_negative=cost.true_positive,
                      per_unit_error=cost.per_unit_error, positive=labels[1])


def cost_of(counts: Counts, cost: CostMatrix) -> float:
    """Expected cost per 1,000 predictions at one threshold's counts."""
    _, tp, fp, tn, fn = counts
    n = tp + fp + tn + fn
    if n == 0:
        return float("nan")
    total = (fp * (cost.false_positive or 0.0) + fn * (cost.false_negative or 0.0)
             - tp * (cost.true_positive or 0.0) - tn * (cost.true_negative or 0.0))
    return PER * total / n


def cost_curve(counts: Sequence[Counts], cost: CostMatrix) -> list[tuple[float, float]]:
    """(threshold, expected cost per 1,000) at every threshold of ``counts``."""
    return [(c[0], cost_of(c, cost)) for c in counts]


def best_threshold(counts: Sequence[Counts], cost: CostMatrix) -> tuple[float, float]:
    """The threshold of least expected cost and that cost; of equal costs, the one nearest
    0.5 (the default a user would otherwise get)."""
    curve = [(t, c) for t, c in cost_curve(counts, cost) if not math.isnan(c)]
    if not curve:
        return 0.5, float("nan")
    return min(curve, key=lambda tc: (round(tc[1], 9), abs(tc[0] - 0.5)))


def cost_at(counts: Sequence[Counts], cost: CostMatrix, threshold: float = 0.5) -> float:
    """Expected cost per 1,000 at the threshold of ``counts`` nearest ``threshold``."""
    if not counts:
        return float("nan")
    return cost_of(min(counts, key=lambda c: abs(c[0] - threshold)), cost)


def multiclass_cost(accuracy: float, cost: CostMatrix) -> float:
    """Expected cost per 1,000 for more than two classes, from the share of right calls."""
    wrong = ((cost.false_positive or 0.0) + (cost.false_negative or 0.0)) / 2
    gain = ((cost.true_positive or 0.0) + (cost.true_negative or 0.0)) / 2
    return PER * ((1 - accuracy) * wrong - accuracy * gain)


def regression_cost(mae: float, cost: CostMatrix) -> float:
    """Expected cost per 1,000 predictions from the mean absolute error."""
    return PER * abs(mae) * (cost.per_unit_error or 0.0)


def expected_cost(diag: Any, cost: CostMatrix, threshold: float = 0.5) -> float:
    """A model's expected cost per 1,000 predictions from its Diagnostics (NaN when they
    cannot say: no counts, no MAE)."""
    metrics = dict(getattr(diag, "metrics", ()))
    try:
        cost = oriented(cost, diag)
    except DataError:  # not one of the classes: priced as given (decision() refuses it)
        pass
    if getattr(diag, "task", "") == "regression":
        return regression_cost(metrics["mae"], cost) if "mae" in metrics else float("nan")
    counts = getattr(diag, "threshold_counts", ())
    if counts:
        return cost_at(counts, cost, threshold)
    if "accuracy" in metrics:
        return multiclass_cost(metrics["accuracy"], cost)
    return float("nan")


def decision(diag: Any, cost: CostMatrix, baseline: Any = None) -> dict[str, Any]:
    """What a bundle stores about value: the cost matrix, the threshold chosen on out-of-fold
    predictions (binary classifiers with counts), the expected cost per 1,000 at it and at
    0.5, and the baseline's."""
    out: dict[str, Any] = {"cost": cost.to_dict(), "per": PER}
    counts = getattr(diag, "threshold_counts", ())
    if diag.task == "classification" and counts:
        cost = oriented(cost, diag)
        threshold, at_best = best_threshold(counts, cost)
        out.update(threshold=threshold, positive=getattr(diag, "positive", "") or None,
                   expected_cost=at_best, expected_cost_at_half=cost_at(counts, cost, 0.5),
                   chosen_by="least expected cost on out-of-fold probabilities")
    else:
        out["expected_cost"] = expected_cost(diag, cost)
    if baseline is not None:
        out["baseline_expected_cost"] = expected_cost(baseline, cost)
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}
