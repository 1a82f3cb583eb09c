"""Predictions from a loaded bundle: the input checked against the manifest's columns (names,
types, nothing missing), notes on what was changed, one row out per row in, in order."""

from __future__ import annotations

from typing import Any

import pandas as pd

from thrifty_tui.core.errors import DataError


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def check_input(frame: pd.DataFrame, manifest: dict[str, Any]) -> pd.DataFrame:
    """The model's input columns from ``frame``; DataError naming what is missing or wrong.

    Numeric columns must hold numbers (text that reads as numbers is converted); categories
    and text may hold anything. Extra columns are left out (see input_notes).
    """
    needed = [c["name"] for c in manifest["columns"]]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(f"input lacks column(s) the model needs: {', '.join(missing[:10])}"
                        + (f" and {len(missing) - 10} more" if len(missing) > 10 else ""))
    if len(frame) == 0:
        raise DataError("input has no rows to predict")
    X = frame[needed].copy()
    wrong = []
    for col in manifest["columns"]:
        name = col["name"]
        if col.get("role") != "numeric" or _is_numeric(X[name]):
            continue
        as_numbers = pd.to_numeric(X[name], errors="coerce")
        bad = X[name][as_numbers.isna() & X[name].notna()]
        if len(bad):
            wrong.append(f"{name!r} should hold numbers ({col.get('dtype')} in training) but "
                         f"holds text such as {str(bad.iloc[0])[:30]!r}")
        else:
            X[name] = as_numbers
    if wrong:
        raise DataError("wrong types in input: " + "; ".join(wrong[:3])
                        + (f"; and {len(wrong) - 3} more" if len(wrong) > 3 else ""))
    return X


def input_notes(frame: pd.DataFrame, manifest: dict[str, Any]) -> list[str]:
    """Things worth telling about input that still predicts: columns the model ignores."""
    needed = {c["name"] for c in manifest["columns"]}
    ignored = [str(c) for c in frame.columns if c not in needed and c != manifest.get("target")]
    if not ignored:
        return []
    return [f"ignoring {len(ignored)} column(s) the model does not use: "
            + ", ".join(ignored[:10]) + (" …" if len(ignored) > 10 else "")]


def predict_frame(model: Any, frame: pd.DataFrame, manifest: dict[str, Any],
                  explain: int = 0, background: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per input row, in order: ``prediction`` and, for classifiers, ``proba_<class>``
    (the bundle's calibration and decision threshold applied, core.store.decide); with
    ``explain`` K, the K columns that moved each prediction most and by how much
    (core.learn.explain; ``background`` for models that are not linear)."""
    from thrifty_tui.core.store.decide import apply_decisions

    X = check_input(frame, manifest)
    predictions, proba = apply_decisions(model, X, manifest)
    out = pd.DataFrame({"prediction": predictions})
    if proba is not None:  # one frame, not a column at a time (150 classes)
        out = pd.concat([out, pd.DataFrame(proba, columns=[f"proba_{c}" for c in model.classes_])],
                        axis=1)
    if explain > 0:
        from thrifty_tui.core.learn.explain import explain_frame

        out = pd.concat([out, explain_frame(model, X, manifest["task"], explain, background)],
                        axis=1)
    return out


def read_background(data: bytes, manifest: dict[str, Any]) -> pd.DataFrame:
    """A bundle's background sample (core.store.decide.write_background) as a frame typed
    like the model's input."""
    import json

    stored = json.loads(data)
    return check_input(pd.DataFrame(stored["rows"], columns=stored["columns"]), manifest)
