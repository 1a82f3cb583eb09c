"""Learning while labeling: a cheap model, margin sampling with a random control slice, and
the numbers behind "should I keep labeling?" (a learning curve on random items, a projection,
per-class recall). Runs in the worker's child processes, never in the app's.
"""

from __future__ import annotations

import math
import random
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from thrifty_tui.core.data.tables import load_table
from thrifty_tui.core.errors import DataError
from thrifty_tui.core.store.labels import HEAD, POOL_CAP, file_stamp, pool_rows
from thrifty_tui.core.records import USABLE_ROLES, Role
from thrifty_tui.core.data.schema import infer_schema

TEXT_CHARS, FIELD_CHARS, MAX_FIELDS = 4000, 200, 40
TOP = 1000  # how many queue places one re-ranking decides
CONTROL_EVERY = 10  # every 10th of those is a random item: the control slice
METRIC = "balanced_accuracy"

_TABLES: dict[tuple[str, str], pd.DataFrame] = {}
_FEATURES: dict[tuple, tuple[Any, np.ndarray]] = {}


def _frame(path: str, stamp: str) -> pd.DataFrame:
    key = (path, stamp)
    if key not in _TABLES:
        _TABLES.clear()  # one table per child: bounded memory
        _TABLES[key] = load_table(path).frame
    return _TABLES[key]


def choose_text_column(frame: pd.DataFrame, wanted: str | None) -> str:
    """The column shown as wrapped free text: ``wanted``, else the longest text column, else ''."""
    if wanted:
        if wanted not in frame.columns:
            raise DataError(f"no column named {wanted!r}; columns are: "
                            f"{', '.join(map(str, frame.columns[:20]))}")
        return wanted
    texts = [c.name for c in infer_schema(frame) if c.role == Role.TEXT]
    if not texts:
        return ""
    return max(texts, key=lambda c: frame[c].dropna().astype(str).str.len().mean())


def load_pool(path: str, text_column: str | None, seed: int, cap: int = POOL_CAP) -> dict:
    """Read a file and turn its (sampled) rows into records of strings for the label screen."""
    table = load_table(path)
    frame = table.frame
    if frame.empty:
        raise DataError(f"{path} has no rows to label")
    stamp = file_stamp(path)
    _TABLES.clear()
    _TABLES[(str(path), stamp)] = frame
    text = choose_text_column(frame, text_column)
    rows = pool_rows(len(frame), cap, seed)
    columns = [str(c) for c in frame.columns[:MAX_FIELDS]]
    if text and text not in columns:
        columns = [text] + columns[:-1]
    shown = frame.iloc[rows][columns] if len(rows) < len(frame) else frame[columns]
    limits = [TEXT_CHARS if c == text else FIELD_CHARS for c in columns]
    cells = [shown[c].map(lambda v: "" if pd.isna(v) else str(v)).str.slice(0, lim).tolist()
             for c, lim in zip(columns, limits, strict=True)]
    records = [list(r) for r in zip(*cells, strict=True)]
    features = [c.name for c in infer_schema(frame) if c.role in USABLE_ROLES]
    notices = list(table.notices)
    if len(rows) < len(frame):
        notices.append(f"labeling a random sample of {len(rows):,} of {len(frame):,} rows")
    return {"path": str(path), "stamp": stamp, "n_rows": len(frame), "rows": rows,
            "columns": columns, "text_column": text, "records": records,
            "feature_columns": features, "notices": notices, "cap": cap, "seed": seed}


def features_for(path: str, stamp: str, rows: Sequence[int], columns: Sequence[str]):
    """Unsupervised features of every pool row (fit once per child, then only the model fits)."""
    from thrifty_tui.core.learn.features import linear_features

    key = (path, stamp, len(rows), rows[0] if rows else -1, rows[-1] if rows else -1,
           tuple(columns))
    if key not in _FEATURES:
        frame = _frame(path, stamp)
        sub = frame.iloc[list(rows)][list(columns)].reset_index(drop=True)
        schema = [c for c in infer_schema(sub) if c.role in USABLE_ROLES]
        if not schema:
            raise DataError("no usable feature columns to learn from")
        X = linear_features(schema).fit_transform(sub[[c.name for c in schema]])
        _FEATURES.clear()
        _FEATURES[key] = (X, np.asarray(rows))
    return _FEATURES[key]


def cheap_model(seed: int = 0, n_classes: int = 2):
    """The labeling model: class-balanced logistic regression (fits in milliseconds).

    liblinear, because lbfgs needs ~0.5 s on a few dozen rows of wide TF-IDF and liblinear
    ~10 ms; it is binary only, so more classes are one-vs-rest.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    model = LogisticRegression(solver="liblinear", class_weight="balanced", random_state=seed)
    return model if n_classes <= 2 else OneVsRestClassifier(model)


def fit(X, y: Sequence[str], seed: int = 0):
    """The cheap model fitted on ``X, y``; None when there is only one class."""
    n_classes = len(set(y))
    if n_classes < 2:
        return None
    return cheap_model(seed, n_classes).fit(X, np.asarray(y))


def margins(model, X) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Margin between the two most likely classes (small = uncertain), the top class and p."""
    proba = model.predict_proba(X)
    part = np.sort(proba, axis=1)
    top = proba.argmax(axis=1)
    return part[:, -1] - part[:, -2], model.classes_[top], part[:, -1]


def uncertainty_order(margin: np.ndarray, candidates: Sequence[int], seed: int,
                      top: int = TOP, control_every: int = CONTROL_EVERY
                      ) -> tuple[list[int], list[str]]:
    """The next ``top`` items: smallest margin first, every ``control_every``-th one random."""
    ranked = [candidates[i] for i in np.argsort(margin, kind="stable")]
    rng = random.Random(seed)
    n_control = min(top, len(ranked)) // control_every if control_every else 0
    controls = rng.sample(ranked, n_control)  # a uniform sample of everything waiting
    control = set(controls)
    uncertain = iter(i for i in ranked if i not in control)
    picks = iter(controls)
    order: list[int] = []
    how: list[str] = []
    while len(order) < min(top, len(ranked)):
        is_control = bool(control_every) and len(order) % control_every == control_every - 1
        item = next(picks, None) if is_control else None
        if item is None:
            is_control = False
            item = next(uncertain, None)
            if item is None:
                break
        order.append(item)
        how.append("random" if is_control else "uncertainty")
    return order, how


def refit_rank(spec: dict) -> dict:
    """Fit on the labels, order the waiting items, and measure the learning curve."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # small fits: threads only add overhead (children have 1 anyway)
        return _refit_rank(spec)


def _refit_rank(spec: dict) -> dict:
    started = time.perf_counter()
    X, rows = features_for(spec["path"], spec["stamp"], spec["rows"], spec["feature_columns"])
    index = np.searchsorted(rows, [r for r, _, _ in spec["labeled"]])
    y = [lab for _, lab, _ in spec["labeled"]]
    how = [h for _, _, h in spec["labeled"]]
    model = fit(X[index], y, spec["seed"])
    if model is None:
        return {"order": [], "how": [], "notes": [], "learning": None, "fit_seconds": 0.0}
    waiting = list(spec["pending"][HEAD:])
    order: list[int] = []
    order_how: list[str] = []
    notes: list[str] = []
    if waiting:
        margin, top_class, top_p = margins(model, X[np.searchsorted(rows, waiting)])
        order, order_how = uncertainty_order(margin, waiting, spec["seed"] + len(y))
        position = {item: i for i, item in enumerate(waiting)}
        notes = [f"model: {top_class[position[i]]} {top_p[position[i]]:.0%}" for i in order]
    learning = learning_report(X[index], y, how, spec["seed"])
    return {"order": order, "how": order_how, "notes": notes, "learning": learning,
            "fit_seconds": round(time.perf_counter() - started, 3)}


def _score(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    from sklearn.metrics import balanced_accuracy_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # classes absent from a small fold
        return float(balanced_accuracy_score(y_true, y_pred))


def learning_report(X, labels: Sequence[str], how: Sequence[str], seed: int = 0) -> dict:
    """Score vs number of labels, estimated on the random items (unbiased) when there are enough.

    Items chosen by uncertainty are harder than average, so scoring on them would understate
    the model; the random ones (cold start and control slice) are a sample of the pool. Each
    fold holds out some random items and trains on the first *n* labels in labeling order.
    """
    from sklearn.metrics import recall_score
    from sklearn.model_selection import KFold

    y = np.asarray(labels, dtype=object)
    n = len(y)
    classes = sorted(set(y))
    random_items = np.flatnonzero(np.asarray(how) == "random")
    rough = not (len(random_items) >= 20 and len(set(y[random_items])) >= 2)
    held = np.arange(n) if rough else random_items
    k = 3 if n > 1000 else 5
    k = max(2, min(k, len(held) // 2))
    fractions = (0.2, 0.4, 0.6, 0.8, 1.0)
    preds: dict[float, tuple[list, list]] = {f: ([], []) for f in fractions}
    control_true: list = []
    control_queue: list = []
    control_random: list = []
    fold_scores: list[float] = []
    for _, test_pos in KFold(k, shuffle=True, random_state=seed).split(held):
        test = held[test_pos]
        train = np.setdiff1d(np.arange(n), test)  # labeling order is index order
        for f in fractions:
            part = train[: max(2, round(f * len(train)))]
            model = fit(X[part], y[part], seed)
            if model is not None:
                preds[f][0].extend(y[test])
                preds[f][1].extend(model.predict(X[test]))
                if f == 1.0:
                    fold_scores.append(_score(y[test], model.predict(X[test])))
        rand_train = np.intersect1d(train, random_items)
        if not rough and len(rand_train) >= 4:
            same_n = train[: len(rand_train)]
            m_random = fit(X[rand_train], y[rand_train], seed)
            m_queue = fit(X[same_n], y[same_n], seed)
            if m_random is not None and m_queue is not None:
                control_true.extend(y[test])
                control_random.extend(m_random.predict(X[test]))
                control_queue.extend(m_queue.predict(X[test]))
    curve = [(round(f * n), _score(*preds[f])) for f in fractions if preds[f][0]]
    full_true, full_pred = preds[1.0]
    score = curve[-1][1] if curve and curve[-1][0] == n else math.nan
    per_class = []
    if full_true:
        recalls = recall_score(full_true, full_pred, labels=classes, average=None,
                               zero_division=0)
        counts = pd.Series(y).value_counts()
        scored = set(full_true)  # a class with no held-out item has no recall (NaN), not 0
        per_class = [(c, float(r) if c in scored else math.nan, int(counts.get(c, 0)))
                     for c, r in zip(classes, recalls, strict=True)]
    per_doubling = math.nan
    points = [(m, s) for m, s in curve if m >= 5]
    if len(points) >= 3:
        per_doubling = float(np.polyfit(np.log2([m for m, _ in points]),
                                        [s for _, s in points], 1)[0])
    projected = min(1.0, max(0.0, score + per_doubling)) if not math.isnan(per_doubling) else math.nan
    control: tuple[float, ...] = ()
    if control_true:
        n_random = len(random_items)
        control = (n_random, _score(control_true, control_queue), _score(control_true, control_random))
    return {"n_labels": n, "metric": METRIC, "score": score,
            "score_std": float(np.std(fold_scores)) if fold_scores else math.nan,
            "estimate": "rough: few random items yet" if rough
            else f"{len(held)} random items", "curve": curve, "per_class": per_class,
            "projected_n": 2 * n, "projected_score": projected, "per_doubling": per_doubling,
            "control": control, "advice": advice(score, per_doubling, per_class, rough, n)}


def advice(score: float, per_doubling: float, per_class: Sequence[tuple[str, float, int]],
           rough: bool, n: int) -> str:
    """One line answering "should I keep labeling?"."""
    parts = []
    if rough or math.isnan(per_doubling):
        parts.append("too early to tell: keep labeling")
    elif per_doubling >= 0.02:
        parts.append(f"still climbing (+{per_doubling:.2f}/doubling): keep labeling")
    elif per_doubling >= 0.005:
        parts.append(f"slowing (+{per_doubling:.3f}/doubling): a few hundred more at most")
    else:
        parts.append("flat: more labels add little; stop, or add a better feature")
    unmeasured = [c[0] for c in per_class if math.isnan(c[1])]
    weak = [c for c in per_class if c[2] < 20 and c[1] < 0.7]
    if weak:
        c = min(weak, key=lambda c: c[1])
        parts.append(f"{c[0]!r} weak ({c[2]} labels, recall {c[1]:.2f})")
    elif unmeasured:
        parts.append(f"{unmeasured[0]!r} unmeasured (no random item)")
    return "; ".join(parts)
