"""Column roles: how a column is turned into features (stdlib only).

On their own, apart from :mod:`records`, because the Load screen's first frame needs them and
not the records' dataclasses (a few ms of start-up each).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """How a column is turned into features."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    TEXT = "text"
    ID = "id-like"
    CONSTANT = "constant"
    TARGET = "target"
    DATETIME = "datetime"  # dates and times: turned into year, month, day, weekday, hour


USABLE_ROLES = (Role.NUMERIC, Role.CATEGORICAL, Role.TEXT, Role.DATETIME)
