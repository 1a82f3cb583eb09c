"""What the Load screen shows, as pure functions of the opened data set and the user's choices.

No widgets here: each function turns the worker's frozen snapshot (``DatasetOpened`` and its
``Profile``) into Rich text, so the screen stays a thin view and the wording is testable.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.suggester import Suggester

from thrifty_tui.core.roles import ROLE_WORDS, Role

if TYPE_CHECKING:  # annotations only: the Load screen's first frame does not import them
    from thrifty_tui.core.events import DatasetOpened
    from thrifty_tui.core.data.profile_records import ColumnProfile, Profile

# The roles a user can give a column with `r`, in cycling order ("id-like" = not used).
ROLE_CYCLE = (Role.NUMERIC, Role.CATEGORICAL, Role.TEXT, Role.DATETIME, Role.ID)
SAMPLE_SIZES = (100_000, 50_000, 20_000, 10_000, 5_000, 2_000, 1_000)
ROLE_SHORT = ROLE_WORDS
# Screening time ≈ FIXED_SECONDS + SECONDS_PER_CELL x rows x usable columns, fitted to two
# runs of the full zoo on a 2-core machine: movies (3 k rows x 13 columns) took ~41 s, gss
# (49 k x ~30) ~145 s. Small files are dominated by the fixed part (child processes, the
# zoo's dearer models, the refit). A finished run of the same file replaces the guess with
# its measurement (scaled the same way).
SECONDS_PER_CELL = 7.3e-5
FIXED_SECONDS = 38.0


def sample_choices(n_rows: int) -> tuple[int | None, ...]:
    """None (all rows) and the standard sizes smaller than the file."""
    return (None, *(s for s in SAMPLE_SIZES if s < n_rows))


def next_role(current: Role) -> Role:
    """The role after ``current`` in :data:`ROLE_CYCLE` (a constant column starts over)."""
    if current not in ROLE_CYCLE:
        return ROLE_CYCLE[0]
    return ROLE_CYCLE[(ROLE_CYCLE.index(current) + 1) % len(ROLE_CYCLE)]


def column_role(column: ColumnProfile, roles: dict[str, str], target: str | None) -> Role:
    """The role the column will have: target, the user's choice, or the inferred one."""
    if column.name == target:
        return Role.TARGET
    if column.name in roles:
        return Role(roles[column.name])
    return Role.NUMERIC if column.role == Role.TARGET else column.role


def usable_columns(profile: Profile, roles: dict[str, str], target: str | None) -> int:
    return sum(1 for c in profile.columns
               if column_role(c, roles, target) in (Role.NUMERIC, Role.CATEGORICAL, Role.TEXT,
                                                    Role.DATETIME))


def chosen_roles(profile: Profile, roles: dict[str, str], target: str | None
                 ) -> list[tuple[str, str]]:
    """The columns whose role the user changed, as the column list marks them (``*``): in
    the profile, not the target, and not what was inferred."""
    out = []
    for column in profile.columns:
        role = roles.get(column.name)
        if role is None or column.name == target or Role(role) == column_role(column, {},
                                                                                target):
            continue
        out.append((column.name, ROLE_SHORT[Role(role)]))
    return out


def column_label(column: ColumnProfile, roles: dict[str, str], target: str | None,
                 name_width: int = 10) -> Text:
    """One line of the column list: target mark, name, role (* = the user's), missing, distinct
    (the name cut to ``name_width``: wider terminals give the list more room)."""
    role = column_role(column, roles, target)
    is_target = column.name == target
    chosen = (column.name in roles and not is_target
              and Role(roles[column.name]) != column_role(column, {}, target))
    w = name_width
    name = column.name if len(column.name) <= w else column.name[:w - 1] + "…"
    style = "bold green" if is_target else ("yellow" if chosen else "")
    return Text.assemble(
        ("▶ " if is_target else "  ", "bold green"), (f"{name:<{w}} ", "bold" if is_target else ""),
        (f"{ROLE_SHORT[role] + ('*' if chosen else ''):<9}", style or "dim"),
        (f"{column.missing_fraction:>4.0%}", "red" if column.missing_fraction >= 0.5 else "dim"),
        (f" {_count(column.n_unique):>6}", "dim"))


def _count(n: int) -> str:
    return f"{n:,}" if n < 100_000 else f"{n / 1000:,.0f}k"


def estimate_text(dataset: DatasetOpened, rows: int | None, usable: int,
                  measured: tuple[int, int, float] | None = None) -> str:
    """Rows to screen, their memory as a frame, and the screening time: a rough guess, or
    scaled from ``measured`` = (rows, usable columns, seconds) of a finished run of the file."""
    n = rows or dataset.n_rows
    mb = n * dataset.bytes_per_row / 2**20
    cells = n * max(1, usable)
    seconds = FIXED_SECONDS + cells * SECONDS_PER_CELL
    how = "rough"
    if measured is not None and measured[2] > 0:
        then = FIXED_SECONDS + measured[0] * max(1, measured[1]) * SECONDS_PER_CELL
        seconds *= measured[2] / then
        how = "from the last run"
    what = f"all {n:,} rows" if rows is None else f"sample of {n:,} rows"
    return f"{what} · ~{_size(mb)} in memory · screening ≈ {_duration(seconds)} ({how})"


def _size(mb: float) -> str:
    return f"{mb * 1024:.0f} KB" if mb < 1 else (f"{mb:.0f} MB" if mb < 1024 else
                                                   f"{mb / 1024:.1f} GB")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{math.ceil(seconds):.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def profile_text(dataset: DatasetOpened, target: str | None, task: str | None,
                 roles: dict[str, str], highlighted: str | None) -> Text:
    """The profile panel: shape, the target (task, balance, rows dropped), the highlighted
    column, then the warnings (as the user's roles leave them)."""
    out = Text()
    if dataset.profile is None:
        return Text("no profile")
    profile = dataset.profile.with_roles(roles)
    exact = "exact" if dataset.rows_exact and profile.rows_exact else "estimated"
    out.append(f"{profile.rows:,} rows ({exact}) × {len(profile.columns):,} cols", "bold")
    out.append("\n" if profile.method == "all rows" else f"\nprofiled: {profile.method}\n",
               "dim")
    tp = profile.target if profile.target is not None and profile.target.name == target else None
    if tp is not None:
        out.append("target ", "dim")
        out.append(tp.name, "bold green")
        suggested = tp.task or "nothing to learn"
        out.append(f" → {task or suggested}" + ("" if task else " (auto)"), "bold")
        if tp.classes:
            # Of every labelled row: the shown classes are at most 30 (of 500, say).
            total = tp.labelled or sum(k for _, k in tp.classes) or 1
            shown = " · ".join(f"{fit_label(label)} {k / total:.0%}"
                               for label, k in tp.classes[:4])
            more = f" · +{tp.n_classes - 4} more" if tp.n_classes > 4 else ""
            out.append(f"\n  {tp.n_classes} class{'es' if tp.n_classes != 1 else ''}: "
                       f"{shown}{more}")
        about = "" if tp.exact else "about "
        out.append(f"\n  {about}{tp.missing_rows:,} rows without a target: dropped" if
                   tp.missing_rows else "\n  every row has a target", "yellow" if
                   tp.missing_rows else "dim")
        out.append("\n")
    elif target:
        out.append(f"target {target}: profiling…\n", "dim")
    col = next((c for c in profile.columns if c.name == highlighted), None)
    if col is not None:
        out.append(col.name, "bold")
        role = column_role(col, roles, target)
        out.append(f": {ROLE_SHORT[role]} · {col.dtype} · {col.missing_fraction:.0%} missing · "
                   f"{col.n_unique:,} distinct")
        if col.minimum is not None and col.maximum is not None:
            out.append(f" · {col.minimum:g} … {col.maximum:g}")
        if col.examples:
            out.append("\n  e.g. " + ", ".join(repr(e[:20]) for e in col.examples), "dim")
        out.append("\n")
    for warning in profile.warnings:
        kind = "red" if warning.kind in ("leakage", "one-class", "target-empty") else "yellow"
        out.append(f"⚠ {warning.message}\n", kind)
    for note in profile.notices:
        out.append(f"• {note}\n", "dim")
    out.rstrip()
    return out


def serious_warnings(dataset: DatasetOpened) -> list[str]:
    """Target problems that make screening impossible (shown as a notification too)."""
    profile = dataset.profile
    if profile is None:
        return []
    return [w.message for w in profile.warnings
            if w.kind in ("one-class", "target-empty") and w.column == dataset.target]


class PathSuggester(Suggester):
    """Completes a file system path: the first entry of the typed folder that starts with what
    follows the last slash (folders get a trailing slash, hidden entries only if asked for)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        folder, slash, prefix = value.rpartition("/")
        base = Path(os.path.expanduser(folder or "/")) if slash else Path(".")
        try:
            names = sorted(e.name + ("/" if e.is_dir() else "") for e in os.scandir(base)
                           if e.name.startswith(prefix)
                           and (prefix.startswith(".") or not e.name.startswith(".")))
        except OSError:
            return None
        for name in names:
            if name != prefix:
                return value[: len(value) - len(prefix)] + name
        return None


def fit_label(label: str, width: int = 14) -> str:
    """A class's name in the profile, cut with a sign ("Never Marrie 22%" read as a name)."""
    return label if len(label) <= width else label[:width - 1] + "…"
