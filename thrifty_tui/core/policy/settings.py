"""The screening policy's settings as data (issue 20): rung sizes, the first-look tier, the
drop margin, the final refit's reserve shares and when the first-rung leader goes to all rows.

``PolicySettings`` holds them, frozen; its defaults are the shipped values of
``thrifty_tui/data/policy.toml`` (``shipped()`` reads that file once). A snapshot of a run
carries the settings it is decided with (``Snapshot.settings``), so the policy stays a pure
function of its snapshot and a replay (``policy.replay``) can try other values without
touching the code: ``benchmarks/choose_defaults.py`` chooses them on half the suite and checks
them on the other half.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

SHIPPED_FILE = "policy.toml"

# key in the file -> (table, field, kind, lowest allowed)
_KEYS: dict[str, tuple[str, str, type, float]] = {
    "racing.min_rung_rows": ("racing", "min_rung_rows", int, 1),
    "racing.rung_factor": ("racing", "rung_factor", int, 2),
    "racing.max_rungs": ("racing", "max_rungs", int, 1),
    "schedule.look_tier": ("schedule", "look_tier", int, 0),
    "schedule.drop_margin": ("schedule", "drop_margin", float, 0.0),
    "schedule.max_reserve_share": ("schedule", "max_reserve_share", float, 0.0),
    "schedule.looked_reserve_share": ("schedule", "looked_reserve_share", float, 0.0),
    "leader.ahead_up_to_s": ("leader", "ahead_up_to_s", float, 0.0),
}
_SHARES = ("max_reserve_share", "looked_reserve_share")  # at most 1 too


class PolicySettingsError(ValueError):
    """A bad policy settings file: the message names the key."""


@dataclass(frozen=True)
class PolicySettings:
    """The policy's settings (see the module). The defaults here are the fallbacks; the
    shipped values are policy.toml's (``shipped()``), today the same."""

    min_rung_rows: int = 500  # the first racing rung's rows, at least
    rung_factor: int = 3  # each rung has this many times the rows of the one below
    max_rungs: int = 4  # the last rung is all rows
    look_tier: int = 2  # under a time budget, tiers up to this one get a first look first
    drop_margin: float = 0.005  # how far behind the rung's leader a model must be to be dropped
    max_reserve_share: float = 0.2  # of the budget, kept at most for the refit (first looks)
    looked_reserve_share: float = 0.5  # ... (fits on larger rungs)
    ahead_up_to_s: float = 1e9  # budgets up to this: the first-rung leader goes to all rows first

    def leader_ahead(self, wall_s: float | None) -> bool:
        """Whether, under the time budget ``wall_s`` (None: none), the first-rung leader is
        taken to all rows ahead of the others (``schedule.fold_priority``)."""
        return wall_s is not None and wall_s <= self.ahead_up_to_s

    def to_table(self) -> dict[str, dict[str, Any]]:
        """The settings as policy.toml's tables (to write a chosen set back)."""
        out: dict[str, dict[str, Any]] = {}
        for table, name, _, _ in _KEYS.values():
            out.setdefault(table, {})[name] = getattr(self, name)
        return out


def _checked(key: str, value: Any) -> Any:
    table, name, kind, lowest = _KEYS[key]
    ok = isinstance(value, kind) or (kind is float and isinstance(value, int))
    if isinstance(value, bool) or not ok:
        raise PolicySettingsError(f"policy settings: {key} must be "
                                  f"{'an integer' if kind is int else 'a number'}, got {value!r}")
    if (math.isnan(value) or value < lowest
            or (name in _SHARES and value > 1)):
        bound = f"between {lowest:g} and 1" if name in _SHARES else f"at least {lowest:g}"
        raise PolicySettingsError(f"policy settings: {key} must be {bound}, got {value!r}")
    return kind(value)


def from_table(table: dict[str, Any], base: PolicySettings | None = None) -> PolicySettings:
    """Settings from policy.toml's tables over ``base`` (default: the dataclass's defaults);
    an unknown table or key, or a bad value, raises ``PolicySettingsError`` naming it."""
    values: dict[str, Any] = {}
    for section, items in table.items():
        if not isinstance(items, dict):
            raise PolicySettingsError(f"policy settings: unknown key {section!r}")
        for name, value in items.items():
            key = f"{section}.{name}"
            if key not in _KEYS:
                raise PolicySettingsError(f"policy settings: unknown key {key!r}")
            values[_KEYS[key][1]] = _checked(key, value)
    return replace(base or PolicySettings(), **values)


def loads(text: str, base: PolicySettings | None = None) -> PolicySettings:
    """Settings from the text of a policy.toml (see ``from_table``)."""
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise PolicySettingsError(f"policy settings: not TOML: {err}") from err
    return from_table(table, base)


@cache
def shipped() -> PolicySettings:
    """The shipped settings: thrifty_tui/data/policy.toml, read once."""
    return loads(resources.files("thrifty_tui.data").joinpath(SHIPPED_FILE).read_text())
