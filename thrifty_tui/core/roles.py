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

# The words people read for each role, in the app and in the CLI's text output (the JSON and
# the bundle's manifest keep the role's value).
ROLE_WORDS = {Role.NUMERIC: "numeric", Role.CATEGORICAL: "category", Role.TEXT: "text",
              Role.ID: "id-like", Role.CONSTANT: "constant", Role.TARGET: "target",
              Role.DATETIME: "date"}


def role_word(value: str) -> str:
    """The word for a role's value (``"categorical"`` -> ``"category"``); unknown: as is."""
    try:
        return ROLE_WORDS[Role(value)]
    except ValueError:
        return value
