"""Columns that hold numbers as text: decimal commas ("3,5"), thousands separators and
currency signs ("$1,234.50"), read as numbers with a note; and a DuckDB scan's Arrow table
typed like ``pandas.read_csv`` would type it."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd


_INT = re.compile(r"\s*[+-]?\d+\s*")
_DECIMAL_COMMA = re.compile(r"\s*[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+\s*")
# A number as spreadsheets write it: "$1,234.50", "-€12", "12.5%", "1,234".
_FORMATTED = re.compile(r"\s*[+-]?[$€£¥]?\s?[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?\s?%?\s*")
_FORMATTING = re.compile(r"[$€£¥,%]")
_BOOLS = {"true", "false"}


def _casts(values: Any, kind: Any) -> bool:
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        pc.cast(values, kind)
        return True
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False


def _text_column(col: Any) -> Any:
    """One text column as pandas' ``read_csv`` would type it: int, float, bool or str."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(col)
    if col.null_count == n:
        return np.full(n, np.nan)
    trimmed = pc.utf8_trim_whitespace(col)
    floats = None
    # A failed cast is slow: try a few values first, then float64, and look for integers after.
    if _casts(pc.drop_null(trimmed).slice(0, 64), pa.float64()):
        try:
            floats = pc.cast(trimmed, pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    if floats is not None:
        finite = floats[~np.isnan(floats)]
        if len(finite) and np.all(finite == np.floor(finite)) and \
                pc.all(pc.match_substring_regex(trimmed, r"^[+-]?[0-9]+$")).as_py() is not False:
            try:
                ints = pc.cast(trimmed, pa.int64())
                return floats if col.null_count else ints.to_numpy(zero_copy_only=False)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass  # beyond int64: keep the floats, as pandas would
        return floats
    values = col.to_pandas()
    present = values.dropna()
    probe = present.iloc[:2000].str.strip()
    if set(probe.str.lower().unique()) <= _BOOLS:
        lowered = present.str.strip().str.lower()
        if set(lowered.unique()) <= _BOOLS:
            flags = lowered.eq("true")
            if len(present) == n:
                return flags.to_numpy(dtype=bool)
            out = np.full(n, np.nan, dtype=object)
            out[np.flatnonzero(values.notna().to_numpy())] = flags.to_numpy(dtype=object)
            return out
    if pd.to_numeric(probe, errors="coerce").notna().all():
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.notna().sum() == len(present):
            return numbers.to_numpy()
    return values.astype("str")


def typed_frame(table: Any, names: tuple[str, ...]) -> pd.DataFrame:
    """A pandas frame from DuckDB's text columns, typed as ``pandas.read_csv`` would."""
    data = {}
    for i, name in enumerate(names):
        values = _text_column(table.column(i))
        data[name] = values.reset_index(drop=True) if isinstance(values, pd.Series) else values
    return pd.DataFrame(data)


def _numbers_from_text(frame: pd.DataFrame, looks_like: Any, to_plain: Any,
                       ) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Text columns whose first 2,000 values present all ``looks_like`` numbers (a test on
    those values) turned into floats by ``to_plain`` (text to plain number text), when every
    value present then converts."""
    fixed = []
    for name in frame.columns:
        col = frame[name]
        if not isinstance(col.dtype, pd.StringDtype):
            continue
        present = col.dropna()
        if present.empty or not looks_like(present.iloc[:2000].str.strip()):
            continue
        numbers = pd.to_numeric(to_plain(col.str.strip()), errors="coerce")
        if numbers.notna().sum() == len(present):
            frame[name] = numbers.astype(np.float64)
            fixed.append(str(name))
    return frame, tuple(fixed)


def decimal_commas(frame: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Text columns written with decimal commas ('3,14', '1.234,5') turned into floats."""
    return _numbers_from_text(
        frame,
        lambda probe: probe.str.contains(",", regex=False).any()
        and probe.str.fullmatch(_DECIMAL_COMMA.pattern + "|" + _INT.pattern).all(),
        lambda text: text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))


def formatted_numbers(frame: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Text columns of numbers written with currency signs, thousands separators or percent
    signs ("$1,234.50", "12.5%") turned into floats (12.5% is 12.5), at loading, so a model
    and its bundle's predictions see the same numbers. Every value present must be one."""
    return _numbers_from_text(
        frame,
        lambda probe: probe.str.contains(_FORMATTING).any()
        and probe.str.fullmatch(_FORMATTED.pattern).all(),
        lambda text: text.str.replace(r"[$€£¥,%\s]", "", regex=True))
