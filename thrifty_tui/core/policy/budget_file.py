"""A run's budget from ``thrifty.toml`` beside the data file, with the job's values on top.

The ``[budget]`` table's keys (``wall_seconds``, ``max_fits``, ``target_score``, ...) become a
``policy.budget.Budget``; a wrong key or value is a DataError that names it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from thrifty_tui.core.errors import DataError
from thrifty_tui.core.policy.budget import Budget

BUDGET_FILE_NAME = "thrifty.toml"

_KEYS: dict[str, tuple[str, type]] = {
    "wall_seconds": ("wall_s", float), "budget": ("wall_s", float), "seconds": ("wall_s", float),
    "max_fits": ("max_fits", int), "target_score": ("target_score", float),
    "min_improvement": ("min_improvement", float), "patience": ("patience", int),
    "patience_delta": ("patience_delta", float), "delta": ("patience_delta", float),
    "noise_floor": ("noise_floor", bool), "noise_window": ("noise_window", int),
    "price_per_cpu_hour": ("price_per_cpu_hour", float), "tune": ("tune", bool),
}


def budget_from_mapping(table: Mapping[str, Any], source: str = "[budget]") -> Budget:
    """A Budget from a ``[budget]`` table; DataError naming a wrong key or value."""
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _KEYS:
            raise DataError(f"{source}: unknown key {key!r}; known: {', '.join(sorted(_KEYS))}")
        name, kind = _KEYS[key]
        if kind is bool:
            if not isinstance(value, bool):
                raise DataError(f"{source}: {key} must be true or false")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise DataError(f"{source}: {key} must be a number, not {value!r}")
        elif kind is int and value != int(value):
            raise DataError(f"{source}: {key} must be a whole number")
        values[name] = kind(value)
    for name in ("wall_s", "max_fits", "patience", "noise_window", "price_per_cpu_hour"):
        if values.get(name) is not None and values[name] < 0:
            raise DataError(f"{source}: {name} must not be negative")
    return Budget(**values)


def find_budget_file(data_path: str | None) -> Path | None:
    """A ``thrifty.toml`` next to the data file, if there is one."""
    if not data_path:
        return None
    candidate = Path(data_path).expanduser().resolve().parent / BUDGET_FILE_NAME
    return candidate if candidate.is_file() else None


def load_budget_file(path: str | Path) -> Budget:
    """The ``[budget]`` table of a thrifty.toml (an empty Budget when it has none)."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except OSError as err:
        raise DataError(f"cannot read {path}: {err.strerror or err}") from err
    except tomllib.TOMLDecodeError as err:
        raise DataError(f"{path} is not valid TOML: {err}") from err
    table = data.get("budget", {})
    if not isinstance(table, dict):
        raise DataError(f"{path}: [budget] must be a table")
    return budget_from_mapping(table, f"{path} [budget]")


def resolve_budget(data_path: str | None, override: Budget | None = None,
                   wall_s: float | None = None) -> Budget:
    """The run's budget: thrifty.toml beside the data, then the job's (CLI's) values on top."""
    found = find_budget_file(data_path)
    budget = load_budget_file(found) if found else Budget()
    if override is not None:
        budget = budget.merged(override)
    if wall_s is not None:
        budget = replace(budget, wall_s=wall_s)
    return budget
