"""The base of every event: a frozen dataclass that turns itself into a JSON-ready dict, and
the registry of event names (``EVENT_NAMES``; each events module registers its own). Public
through ``core.events``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from thrifty_tui.core.data.profile_records import Profile
from thrifty_tui.core.learn.diagnostics import Diagnostics
from thrifty_tui.core.records import ColumnInfo, ModelResult

EVENT_NAMES: dict[type, str] = {}


@dataclass(frozen=True)
class Event:
    """Base class: every event can turn itself into a JSON-ready dict."""

    @property
    def name(self) -> str:
        return EVENT_NAMES[type(self)]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.name}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = _plain(value)
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, ModelResult):
        d = asdict(value)
        d["mean"], d["std"] = value.mean, value.std
        d["params"] = dict(value.params)
        return d
    if isinstance(value, ColumnInfo | Diagnostics):
        return asdict(value)
    if isinstance(value, Profile):
        return value.to_dict()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value
