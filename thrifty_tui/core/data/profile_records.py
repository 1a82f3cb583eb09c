"""What a profile says, as plain frozen data (stdlib only, so the UI can hold one).

:mod:`profile` computes these; the Load screen shows them and the CLI prints them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from thrifty_tui.core.records import Role

HIGH_MISSING = 0.5  # a column at least this share missing gets a warning
# Warnings that follow from a column's role (and its missing share), worked out again when the
# user changes a role; the others (target, leakage) need the data.
ROLE_WARNINGS = frozenset({"id-like", "constant", "datetime", "high-missing"})
NOT_USED = (Role.ID, Role.CONSTANT)  # roles that keep a column out of the features


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
    labelled: int = 0  # rows counted in ``classes`` and beyond: what a class's share is of


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
        return self.with_roles({name: role})

    def with_roles(self, roles: Mapping[str, str | Role]) -> Profile:
        """The profile as the user's roles (column -> role) make it, without reading the data
        again: those columns' roles, their role warnings (id-like, constant, dates, missing)
        worked out anew, and no leakage warning for a column they keep out of the features.
        The target keeps its role; names not in the profile are ignored. Apply it to the
        profile the worker made: a warning dropped here is not brought back by a later call."""
        chosen = {name: Role(role) for name, role in roles.items()}
        if not chosen:
            return self
        columns = tuple(replace(c, role=chosen[c.name])
                        if c.name in chosen and c.role != Role.TARGET else c
                        for c in self.columns)
        changed = {new.name for new, old in zip(columns, self.columns, strict=True)
                   if new.role != old.role}
        if not changed:
            return self
        kept: dict[str, list[ProfileWarning]] = {}
        for w in self.warnings:
            if w.kind in ROLE_WARNINGS:
                kept.setdefault(w.column, []).append(w)
        role_warnings: list[ProfileWarning] = []
        for col in columns:
            if col.name in changed:
                warning = column_warning(col, self.profiled_rows, chosen=True)
                role_warnings += [warning] if warning is not None else []
            else:
                role_warnings += kept.get(col.name, [])
        unused = {c.name for c in columns if c.name in changed and c.role in NOT_USED}
        others = [w for w in self.warnings if w.kind not in ROLE_WARNINGS
                  and not (w.kind == "leakage" and w.column in unused)]
        return replace(self, columns=columns, warnings=(*role_warnings, *others))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for col in d["columns"]:
            col["role"] = str(col["role"])
        if self.target is not None:
            d["target"]["classes"] = [{"label": k, "rows": n} for k, n in self.target.classes]
        return d


def column_warning(col: ColumnProfile, n_rows: int, chosen: bool = False) -> ProfileWarning | None:
    """The warning a column's role (or its missing share) calls for, if any; ``chosen`` when
    the role is the user's, not inferred from ``n_rows`` profiled rows."""
    name = repr(col.name)
    if col.role == Role.ID:
        why = ("is set to id-like" if chosen else f"looks like a row identifier "
               f"({col.n_unique:,} distinct values in {n_rows:,} rows)")
        return ProfileWarning("id-like", col.name, f"{name} {why}; it is not used as a feature")
    if col.role == Role.CONSTANT:
        what = ("is set to constant" if chosen else "is empty" if col.n_unique == 0
                else f"holds a single value ({col.examples[0]!r})")
        return ProfileWarning("constant", col.name, f"{name} {what}; it is not used as a feature")
    if col.role == Role.DATETIME:
        return ProfileWarning("datetime", col.name, f"{name} holds dates; models see their "
                                                    f"year, month, day, weekday and hour")
    if col.missing_fraction >= HIGH_MISSING:
        return ProfileWarning("high-missing", col.name,
                              f"{name} is {col.missing_fraction:.0%} missing")
    return None
