"""The cost model that travels (issue 20): a fit's predicted seconds from the problem's shape
and one machine factor, before the model has any fit of its own.

Per zoo model a small formula, log-linear in the shape::

    seconds = machine * exp(a + b ln(rows) + c ln(1 + width) + d ln(classes))

``width`` is what the model's feature steps make of the columns (``features = "linear"``:
numeric columns + one-hot width + text n-gram width; ``"tree"``: numeric columns + ordinal
categories + dense text components). The coefficients are data (thrifty_tui/data/costs.toml,
fitted by benchmarks/cost_model.py on traced fits); ``machine`` is the calibration fit's
seconds over the reference machine's (``engine`` times it at start-up). Pure: parsing takes
text, the one file read is ``load_costs``.
"""

from __future__ import annotations

import functools
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

from thrifty_tui.core.errors import DataError
from thrifty_tui.core.records import ColumnInfo, Role

FEATURE_KINDS = ("linear", "nonneg", "tree", "none")
# How the feature steps (core/learn/features.py) widen the columns, as ``shape_of`` guesses it
# from the schema alone (no fitting): date parts, one-hot's cap, TF-IDF's cap and SVD width.
DATE_PARTS, ONEHOT_CAP, TFIDF_CAP, TEXT_COMPONENTS = 5, 51, 20_000, 10


@dataclass(frozen=True)
class Shape:
    """What the feature steps make of a problem's columns (the rows vary by rung)."""

    numeric: int = 0  # numeric columns (and date parts)
    onehot: int = 0  # one-hot width of the categorical columns (linear features)
    text: int = 0  # TF-IDF n-gram width of the text columns (linear features)
    tree: int = 0  # columns the tree features make (numeric, ordinal, dense text)
    classes: int = 1  # classes (1: regression)

    def width(self, features: str) -> int:
        if features in ("linear", "nonneg"):
            return self.numeric + self.onehot + self.text
        return self.tree if features == "tree" else 0


def shape_of(schema: Sequence[ColumnInfo], n_classes: int) -> Shape:
    """A problem's shape guessed from its schema: one-hot width from the columns' distinct
    values (capped as the encoder does), text width from the distinct values (word and, for
    short documents, character n-grams, each capped at 20,000)."""
    def count(role: Role) -> int:
        return sum(c.role == role for c in schema)

    numeric = count(Role.NUMERIC) + DATE_PARTS * count(Role.DATETIME)
    onehot = sum(min(c.n_unique + 1, ONEHOT_CAP) for c in schema if c.role == Role.CATEGORICAL)
    texts = [c for c in schema if c.role == Role.TEXT]
    text = sum(min(TFIDF_CAP, 10 * c.n_unique) * (1 if c.long_text else 2) for c in texts)
    tree = (numeric + count(Role.CATEGORICAL) + sum(c.short_text for c in texts)
            + TEXT_COMPONENTS * sum(not c.short_text for c in texts))
    return Shape(numeric, onehot, text, tree, max(1, n_classes))


@dataclass(frozen=True)
class Formula:
    """One model's cost formula: seconds = exp(a + b ln rows + c ln(1 + width) + d ln classes)."""

    a: float
    b: float = 1.0
    c: float = 0.0
    d: float = 0.0
    features: str = "linear"


@dataclass(frozen=True)
class Costs:
    """The formulas by model name, and the reference calibration seconds they are stated in."""

    formulas: Mapping[str, Formula]
    calibration_s: float = 0.1  # the calibration fit's seconds on the reference machine
    use: bool = True  # False: the scheduler keeps "as dear as the dearest fit on the rung"
    margin: float = 1.0  # the scheduler takes a fit this many times dearer than predicted


def predict(formula: Formula, shape: Shape, rows: int, machine: float = 1.0) -> float:
    """Predicted seconds of one fit on ``rows`` rows of a problem of ``shape``."""
    if rows <= 0:
        return 0.0
    log_s = (formula.a + formula.b * math.log(rows)
             + formula.c * math.log1p(shape.width(formula.features))
             + formula.d * math.log(max(1, shape.classes)))
    return machine * math.exp(log_s)


def anchored(formula: Formula, shape: Shape, rows: int, point: tuple[int, float]) -> float:
    """One measured fit (rows, seconds) carried to ``rows`` by the formula's growth (its
    exponent in the rows): the measured point sets the level, the formula the slope."""
    r0, s0 = point
    if r0 <= 0 or s0 <= 0:
        return math.nan
    return s0 * (rows / r0) ** formula.b


def machine_factor(calibration_s: float, costs: Costs) -> float:
    """How much slower this machine is than the reference (1.0 when not measured)."""
    if not calibration_s > 0 or not costs.calibration_s > 0:
        return 1.0
    return calibration_s / costs.calibration_s


def _number(entry: Mapping[str, object], key: str, source: str, name: str,
            default: float | None = None) -> float:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DataError(f"{source}: model {name!r} needs a finite number {key}, not {value!r}")
    return float(value)


def parse_costs(text: str, source: str = "costs.toml") -> Costs:
    """The cost formulas of a costs TOML text; a clear ``DataError`` when it is malformed."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise DataError(f"{source}: not valid TOML ({err})") from None
    models = raw.get("model")
    if not isinstance(models, dict) or not models:
        raise DataError(f"{source}: no [model.NAME] tables of cost coefficients")
    formulas = {}
    for name, entry in models.items():
        if not isinstance(entry, dict):
            raise DataError(f"{source}: model {name!r} is not a table")
        features = entry.get("features", "linear")
        if features not in FEATURE_KINDS:
            raise DataError(f"{source}: model {name!r} has features {features!r}; "
                            f"one of {', '.join(FEATURE_KINDS)}")
        formulas[name] = Formula(
            a=_number(entry, "a", source, name), b=_number(entry, "b", source, name, 1.0),
            c=_number(entry, "c", source, name, 0.0), d=_number(entry, "d", source, name, 0.0),
            features=features)
    calibration = raw.get("calibration_s", 0.1)
    if isinstance(calibration, bool) or not isinstance(calibration, int | float) \
            or not calibration > 0:
        raise DataError(f"{source}: calibration_s must be a positive number, not {calibration!r}")
    use = raw.get("use", True)
    if not isinstance(use, bool):
        raise DataError(f"{source}: use must be true or false, not {use!r}")
    margin = raw.get("margin", 1.0)
    if isinstance(margin, bool) or not isinstance(margin, int | float) or not margin > 0:
        raise DataError(f"{source}: margin must be a positive number, not {margin!r}")
    return Costs(formulas, float(calibration), use, float(margin))


@functools.cache
def load_costs() -> Costs:
    """The shipped coefficients (thrifty_tui/data/costs.toml)."""
    text = resources.files("thrifty_tui.data").joinpath("costs.toml").read_text("utf-8")
    return parse_costs(text, "thrifty_tui/data/costs.toml")
