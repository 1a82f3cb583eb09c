"""Column roles (numeric, categorical, text, id-like, constant) inferred from a frame."""

from __future__ import annotations

import pandas as pd

from thrifty_tui.core.records import USABLE_ROLES, ColumnInfo, Role

__all__ = ["USABLE_ROLES", "ColumnInfo", "Role", "infer_role", "infer_schema", "suggest_task",
           "suggest_target"]


def infer_role(series: pd.Series) -> Role:
    """Guess a column's role from its values (a sample is enough)."""
    non_null = series.dropna()
    n = len(non_null)
    if n == 0:
        return Role.CONSTANT
    n_unique = int(non_null.nunique())
    if n_unique <= 1:
        return Role.CONSTANT
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return Role.NUMERIC
    text = non_null.astype(str)
    unique_ratio = n_unique / n
    mean_words = float(text.str.count(r"\s+").mean()) + 1.0
    if unique_ratio > 0.3 and (mean_words >= 2.0 or text.str.len().mean() > 25):
        return Role.TEXT
    if unique_ratio > 0.95 and n > 50:
        return Role.ID
    return Role.CATEGORICAL


def infer_schema(frame: pd.DataFrame, target: str | None = None,
                 sample_rows: int = 20_000) -> tuple[ColumnInfo, ...]:
    """Infer every column's role; the target column gets Role.TARGET."""
    sample = frame if len(frame) <= sample_rows else frame.sample(sample_rows, random_state=0)
    infos = []
    for name in frame.columns:
        col = sample[name]
        role = Role.TARGET if name == target else infer_role(col)
        infos.append(ColumnInfo(
            name=str(name), dtype=str(col.dtype), role=role,
            missing_fraction=float(col.isna().mean()) if len(col) else 0.0,
            n_unique=int(col.nunique(dropna=True)),
        ))
    return tuple(infos)


def suggest_task(target: pd.Series) -> str:
    """'classification' for labels and small integer sets, else 'regression'."""
    values = target.dropna()
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return "classification"
    n_unique = values.nunique()
    is_integral = bool((values == values.round()).all())
    if is_integral and n_unique <= max(2, min(20, len(values) // 20)):
        return "classification"
    return "regression"


def suggest_target(frame: pd.DataFrame) -> str:
    """The last column is the usual place for a target; fall back to any usable column."""
    return str(frame.columns[-1])
