"""A data file at a glance: rows, column roles, missing values, the target's balance, warnings.

A big file is profiled from a random sample streamed by :func:`sampling.sample_file` (its row
count stays exact); ``quick=True`` reads only the first rows and estimates the count. Leakage
suspects are columns that predict the target almost perfectly on their own: a one-column
lookup (numbers cut into quantile bins) fitted on half the rows and scored on the other half.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from thrifty_tui.core.errors import DataError
from thrifty_tui.core.data.profile_records import (
    ColumnProfile,
    Profile,
    ProfileWarning,
    TargetProfile,
    column_warning,
)
from thrifty_tui.core.records import Role
from thrifty_tui.core.data.schema import infer_role, suggest_task

DEFAULT_SAMPLE_ROWS = 50_000
FULL_LOAD_BYTES = 64 << 20  # read whole below this (compressed files count 6x their size)
LEAK_SCORE = 0.98  # balanced accuracy (classification) or R² (regression) on held-out rows
LEAK_BINS = 32
MAX_CLASSES_SHOWN = 30


def profile(source: str | os.PathLike[str] | pd.DataFrame, target: str | None = None,
            sample_rows: int = DEFAULT_SAMPLE_ROWS, seed: int = 0, quick: bool = False) -> Profile:
    """Profile a file or a frame; a big file from a sample. DataError if it cannot be read."""
    started = time.monotonic()
    if isinstance(source, pd.DataFrame):
        out = _profile_rows(source, target, rows=len(source), rows_exact=True,
                            source="<frame>", sample_rows=sample_rows, seed=seed)
    else:
        out = _profile_path(Path(source), target, sample_rows, seed, quick)
    return replace(out, seconds=round(time.monotonic() - started, 3))


def profile_rows(frame: pd.DataFrame, target: str | None, rows: int, rows_exact: bool,
                 source: str, method: str | None = None, notices: tuple[str, ...] = (),
                 seed: int = 0, sample_rows: int = DEFAULT_SAMPLE_ROWS) -> Profile:
    """Profile rows already in memory: all of a file (``method`` None) or a sample of it whose
    file has ``rows`` rows (exact or estimated). The Load screen's worker task uses it."""
    started = time.monotonic()
    out = _profile_rows(frame, target, rows, rows_exact, source, sample_rows, seed, notices,
                        method=method)
    return replace(out, seconds=round(time.monotonic() - started, 3))


def _profile_path(path: Path, target: str | None, sample_rows: int, seed: int,
                  quick: bool) -> Profile:
    from thrifty_tui.core.data.tables import _check_path, _sniff_magic, file_kind, load_table

    p = _check_path(path)
    kind, _ = _sniff_magic(p, file_kind(p))
    streamable = kind.format == "delimited" or (kind.format == "parquet" and not kind.compression)
    size = p.stat().st_size * (6 if kind.compression else 1)
    if quick and streamable:
        table = load_table(p, max_rows=sample_rows)
        frame = table.frame
        if len(frame) < sample_rows:
            return _profile_rows(frame, target, len(frame), True, str(p), sample_rows, seed,
                                 table.notices)
        return _profile_rows(frame, target, int(_estimate_rows(p, kind)), False, str(p),
                             sample_rows, seed, table.notices, method=f"first {len(frame):,} rows")
    if size <= FULL_LOAD_BYTES or not streamable:
        table = load_table(p)
        return _profile_rows(table.frame, target, len(table.frame), True, str(p), sample_rows,
                             seed, table.notices)
    from thrifty_tui.core.data.sampling import sample_file

    stratify = target if target and _looks_like_classes(p, target) else None
    frame, record = sample_file(p, sample_rows, stratify=stratify, seed=seed, min_per_class=0)
    counts = {label: k for label, k, _ in record.classes} if stratify else None
    return _profile_rows(frame, target, record.source_rows, True, str(p), sample_rows, seed,
                         record.notices, method=f"random sample of {len(frame):,} rows",
                         exact_counts=counts)


def _estimate_rows(p: Path, kind: Any) -> float:
    from thrifty_tui.core.data.streams import open_stream

    with open_stream(p, kind) as stream:
        return stream.estimate_rows()


def _looks_like_classes(p: Path, target: str) -> bool:
    """Whether the target looks like class labels (judged on the first rows)."""
    from thrifty_tui.core.data.tables import load_table

    head = load_table(p, max_rows=5000).frame
    if target not in head.columns:
        raise DataError(f"no column named {target!r}; columns are: "
                        f"{', '.join(map(str, head.columns[:20]))}")
    values = head[target].dropna()
    return bool(len(values)) and suggest_task(values) == "classification" and \
        values.nunique() <= 200


def _profile_rows(frame: pd.DataFrame, target: str | None, rows: int, rows_exact: bool,
                  source: str, sample_rows: int, seed: int, notices: tuple[str, ...] = (),
                  method: str | None = None, exact_counts: dict[str, int] | None = None
                  ) -> Profile:
    """Profile the rows at hand (at most ``sample_rows`` of them, drawn at random)."""
    from thrifty_tui.core.data.sampling import random_sample

    if target is not None and target not in frame.columns:
        raise DataError(f"no column named {target!r}; columns are: "
                        f"{', '.join(map(str, frame.columns[:20]))}")
    whole_target = frame[target] if target is not None else None
    complete = method is None  # every row of the source is at hand
    if len(frame) > sample_rows:
        frame = random_sample(frame, sample_rows, seed)
        method = method or f"random sample of {sample_rows:,} rows"
    method = method or "all rows"
    columns = tuple(_column_profile(frame[name]) for name in frame.columns)
    if target is not None:
        columns = tuple(replace(c, role=Role.TARGET) if c.name == target else c for c in columns)
    warnings = [w for c in columns if (w := column_warning(c, len(frame)))]
    target_profile = None
    if target is not None:
        target_profile, target_warnings = _target_profile(whole_target, rows, exact_counts,
                                                          exact_rows=complete)
        warnings += target_warnings
        if target_profile.task:
            warnings += _leakage_warnings(frame, target, target_profile.task, columns, seed)
    return Profile(source=source, rows=int(rows), rows_exact=rows_exact,
                   profiled_rows=len(frame), method=method, columns=columns,
                   target=target_profile, warnings=tuple(warnings), notices=tuple(notices))


def _column_profile(col: pd.Series) -> ColumnProfile:
    present = col.dropna()
    n_unique = int(present.nunique())
    examples = tuple(str(v)[:40] for v in pd.unique(present.iloc[:500])[:3])
    numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
    stats: dict[str, float | None] = {}
    if numeric and len(present):
        values = present.to_numpy(dtype=float)
        stats = {"minimum": float(values.min()), "maximum": float(values.max()),
                 "mean": float(values.mean())}
    return ColumnProfile(name=str(col.name), dtype=str(col.dtype), role=infer_role(col),
                         missing_fraction=float(col.isna().mean()) if len(col) else 0.0,
                         n_unique=n_unique, examples=examples, **stats)


def _target_profile(y: pd.Series, rows: int, exact_counts: dict[str, int] | None,
                    exact_rows: bool) -> tuple[TargetProfile, list[ProfileWarning]]:
    name = str(y.name)
    warnings: list[ProfileWarning] = []
    present = y.dropna()
    if exact_counts is not None:
        missing = exact_counts.get("", 0)
        total = sum(exact_counts.values())
    else:
        missing, total = int(y.isna().sum()), len(y)
    fraction = missing / total if total else 0.0
    if len(present) == 0:
        warnings.append(ProfileWarning("target-empty", name, f"{name!r} has no values"))
        return TargetProfile(name, "", missing, fraction, exact=exact_counts is not None
                             or exact_rows), warnings
    task = suggest_task(present)
    classes: tuple[tuple[str, int], ...] = ()
    n_classes = 0
    counts: dict[str, int] = {}
    if task == "classification":
        counts = ({k: v for k, v in exact_counts.items() if k != ""} if exact_counts is not None
                  else present.astype(str).value_counts().to_dict())
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        classes, n_classes = tuple(ordered[:MAX_CLASSES_SHOWN]), len(ordered)
        if n_classes == 1:
            warnings.append(ProfileWarning("one-class", name, f"{name!r} has a single class "
                                           f"({ordered[0][0]!r}); nothing to learn"))
        singles = [k for k, v in ordered if v < 2]
        if singles and n_classes > 1:
            warnings.append(ProfileWarning(
                "rare-class", name, f"{name!r}: {len(singles)} class(es) with a single row "
                f"({', '.join(map(repr, singles[:5]))}); they are dropped before training"))
        if n_classes > 50:
            warnings.append(ProfileWarning("many-classes", name, f"{name!r} has {n_classes:,} "
                                           f"classes; is it really a class label?"))
    if missing:
        about = "" if exact_counts is not None or exact_rows else "about "
        shown = missing if exact_counts is not None or exact_rows else round(fraction * rows)
        warnings.append(ProfileWarning(
            "missing-target", name, f"{about}{shown:,} rows ({fraction:.1%}) have no {name!r}; "
            f"they are dropped before training"))
    return TargetProfile(name, task, missing, fraction, classes, n_classes,
                         exact=exact_counts is not None or exact_rows,
                         labelled=sum(counts.values()) if classes else 0), warnings


def _leakage_warnings(frame: pd.DataFrame, target: str, task: str,
                      columns: tuple[ColumnProfile, ...], seed: int) -> list[ProfileWarning]:
    keep = frame[target].notna()
    max_rows = int(min(20_000, max(2_000, 2_000_000 // max(frame.shape[1], 1))))
    rows = frame[keep]
    if len(rows) > max_rows:
        from thrifty_tui.core.data.sampling import random_sample

        rows = random_sample(rows, max_rows, seed)
    y = rows[target]
    metric = "balanced accuracy" if task == "classification" else "R²"
    out = []
    for col in columns:
        if col.name == target or col.role == Role.CONSTANT:
            continue
        score = leakage_score(rows[col.name], y, task, seed)
        if score >= LEAK_SCORE:
            out.append(ProfileWarning(
                "leakage", col.name, f"{col.name!r} predicts {target!r} almost perfectly on its "
                f"own ({metric} {score:.3f} on held-out rows): a leak? check it before training"))
    return out


def leakage_score(feature: pd.Series, target: pd.Series, task: str, seed: int = 0) -> float:
    """How well ``feature`` alone predicts ``target`` on held-out rows.

    A lookup table (each value, or quantile bin of a number, mapped to its majority class or
    mean target) is fitted on half the rows and scored on the other half: balanced accuracy
    for classification, R² for regression. Unseen values get the overall majority or mean, so
    an identifier scores like the baseline, not like a perfect predictor.
    """
    y = target.to_numpy()
    n = len(y)
    if n < 20:
        return float("nan")
    codes = _codes(feature)
    train = np.random.default_rng(seed).random(n) < 0.5
    test = ~train
    if train.sum() < 5 or test.sum() < 5:
        return float("nan")
    n_codes = int(codes.max()) + 1
    seen = np.bincount(codes[train], minlength=n_codes) > 0
    if task == "classification":
        y_codes, _ = pd.factorize(pd.Series(y).astype(str))
        k = int(y_codes.max()) + 1
        table = np.bincount(codes[train] * k + y_codes[train], minlength=n_codes * k)
        majority = table.reshape(n_codes, k).argmax(axis=1)
        fallback = int(np.bincount(y_codes[train], minlength=k).argmax())
        pred = np.where(seen[codes[test]], majority[codes[test]], fallback)
        truth = y_codes[test]
        recalls = [float((pred[truth == c] == c).mean()) for c in np.unique(truth)]
        return float(np.mean(recalls))
    values = pd.to_numeric(pd.Series(y), errors="coerce").to_numpy(dtype=float)
    sums = np.bincount(codes[train], weights=values[train], minlength=n_codes)
    counts = np.bincount(codes[train], minlength=n_codes)
    means = np.divide(sums, counts, out=np.zeros(n_codes), where=counts > 0)
    pred = np.where(seen[codes[test]], means[codes[test]], values[train].mean())
    truth = values[test]
    total = float(((truth - truth.mean()) ** 2).sum())
    return 1.0 - float(((truth - pred) ** 2).sum()) / total if total > 0 else float("nan")


def _codes(feature: pd.Series) -> np.ndarray:
    """Integer codes: quantile bins for a many-valued number, the value itself otherwise."""
    numeric = pd.api.types.is_numeric_dtype(feature) and not pd.api.types.is_bool_dtype(feature)
    if numeric and feature.nunique() > LEAK_BINS:
        values = feature.to_numpy(dtype=float)
        edges = np.unique(np.nanquantile(values, np.linspace(0, 1, LEAK_BINS + 1))[1:-1])
        codes = np.searchsorted(edges, values, side="right")
        return np.where(np.isnan(values), len(edges) + 1, codes).astype(np.int64)
    if pd.api.types.is_datetime64_any_dtype(feature):
        feature = feature.astype("int64", errors="ignore")
    codes, _ = pd.factorize(feature, use_na_sentinel=False)
    return codes.astype(np.int64)
