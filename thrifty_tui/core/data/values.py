"""Numbers no model can use: infinities, and values too large for the float32 that trees and
many scikit-learn steps convert to. They are read as missing, with a note naming the columns.

Left in, ``inf`` in a feature failed every model ("Input X contains infinity"), in a
regression target it failed the run ("no model finished"), in ``predict``'s input it was an
internal error, and ``profile`` printed numpy's RuntimeWarnings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Above this magnitude a float64 overflows float32 (and squares overflow float64 soon after).
MAX_ABS = float(np.finfo(np.float32).max)


def unusable_numbers(frame: pd.DataFrame) -> dict[str, int]:
    """Column -> how many of its values are infinite or beyond float32 (numeric columns)."""
    counts: dict[str, int] = {}
    for name in frame.columns:
        column = frame[name]
        if not pd.api.types.is_float_dtype(column):
            continue  # integers cannot hold inf, and int64 fits float64 exactly enough
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            bad = int(np.count_nonzero(np.abs(values) > MAX_ABS))
        if bad:
            counts[str(name)] = bad
    return counts


def finite_values(frame: pd.DataFrame, name: str) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """``frame`` with infinite and float32-overflowing values set missing, and the note
    saying so (no note, and the same frame, when there are none)."""
    counts = unusable_numbers(frame)
    if not counts:
        return frame, ()
    frame = frame.copy()
    for column in counts:
        values = frame[column]
        with np.errstate(invalid="ignore"):
            frame[column] = values.mask(values.abs() > MAX_ABS)
    shown = ", ".join(f"{c!r} ({n:,})" for c, n in list(counts.items())[:6])
    more = f" and {len(counts) - 6} more columns" if len(counts) > 6 else ""
    return frame, (f"{name}: infinite or overflowing numbers read as missing in {shown}{more}",)
