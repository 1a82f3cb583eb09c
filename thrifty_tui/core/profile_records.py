"""What a profile says, as plain frozen data (stdlib only, so the UI can hold one).

:mod:`profile` computes these; the Load screen shows them and the CLI prints them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from thrifty_tui.core.records import Role


@dataclass(frozen=True)
class ColumnProfile:
    """One column: dtype, inferred role, missing share, distinct values and a few examples."""

    name: str
    dtype: str
    role: Role
    missing_fraction: float
    n_unique: int
    examples: tuple[str, ...]
    minimum: float | None = None
    maximum: float | None = None
    mean: float | None = None


@dataclass(frozen=True)
class TargetProfile:
    """The chosen target: suggested task, class balance and rows without a value."""

    name: str
    task: str  # "classification", "regression" or "" when the target is empty
    missing_rows: int
    missing_fraction: float
    classes: tuple[tuple[str, int], ...] = ()  # most frequent first, at most 30
    n_classes: int = 0
    exact: bool = True  # counts over every row of the file (else over the profiled rows)


@dataclass(frozen=True)
class ProfileWarning:
    """Something to check before training, about one column."""

    kind: str  # id-like, constant, datetime, high-missing, leakage, missing-target, one-class …
    column: str
    message: str


@dataclass(frozen=True)
class Profile:
    """What a table holds; statistics come from ``profiled_rows`` rows (``method`` says how)."""

    source: str
    rows: int
    rows_exact: bool
    profiled_rows: int
    method: str
    columns: tuple[ColumnProfile, ...]
    target: TargetProfile | None = None
    warnings: tuple[ProfileWarning, ...] = ()
    notices: tuple[str, ...] = ()
    seconds: float = 0.0

    def column(self, name: str) -> ColumnProfile:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def with_role(self, name: str, role: Role) -> Profile:
        """The same profile with the user's choice of role for one column."""
        self.column(name)
        return replace(self, columns=tuple(replace(c, role=role) if c.name == name else c
                                           for c in self.columns))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for col in d["columns"]:
            col["role"] = str(col["role"])
        if self.target is not None:
            d["target"]["classes"] = [{"label": k, "rows": n} for k, n in self.target.classes]
        return d
