"""Why a model predicted a row: per-row contributions of the original columns (and, with
core.learn.dependence's partial dependence, what a fold's model learned).

Contributions are in the model's own scale: the target's units for regression, log-odds of
the positive class (binary) or of the predicted class (more classes) for classifiers.

- Linear models (a final step with ``coef_`` after the feature steps): exact. Each
  transformed column's ``coef × value`` is added back to the original column it came from
  (one-hot levels, missing-value indicators, TF-IDF terms all go to their column), so a row's
  contributions add up to its decision function less the intercept.
- Any other model: first-order Shapley values against a background sample kept in the bundle:
  for column j, the mean of (a) f(row) − f(row with j taken from a background row) and
  (b) f(background row with j taken from the row) − f(background row), over the sample.
  It is the Shapley value exactly for models whose columns interact at most in pairs, an
  approximation beyond; it costs ``2 × columns × background rows`` predictions per row
  explained (10 columns, 20 background rows: 400 predictions a row), done in large batches.

numpy, pandas and scikit-learn are imported inside the functions: the app's process reads
the records only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from thrifty_tui.core.learn.columns import column_map, transformed
from thrifty_tui.core.learn.dependence import (  # noqa: F401 - importable from here too
    GRID_POINTS,
    ICE_LINES,
    PD_ROWS,
    Dependence,
    partial_dependence_of,
)

LEADING_FEATURES = 3
BACKGROUND_ROWS = 20
EXPLAINED_ROWS = 20  # held-out rows explained for the diagnostics screen
BATCH_ROWS = 200_000  # rows predicted at once by the sampled method
EXACT, SAMPLED = "exact (linear coefficients)", "first-order Shapley against a background sample"


@dataclass(frozen=True)
class RowExplanation:
    """One held-out row: its prediction and the columns that moved it most (signed)."""

    row: int
    prediction: str
    contributions: tuple[tuple[str, float], ...]
    base: float  # the intercept (linear) or the background's mean output
    method: str


# -- per-row contributions ----------------------------------------------------------------

def _linear_parts(model: Any) -> tuple[Any, Any, float] | None:
    """(feature steps, final linear estimator, target scale) when the model is linear in its
    transformed columns, else None."""
    if not hasattr(model, "steps") or len(model.steps) < 2:
        return None
    final = model.steps[-1][1]
    scale = 1.0
    if hasattr(final, "regressor_"):  # ScaledTarget: predictions = inner * scale_ + mean_
        scale = float(final.scale_)
        final = final.regressor_
    coef = getattr(final, "coef_", None)
    if coef is None or getattr(final, "intercept_", None) is None:
        return None
    return model[:-1], final, scale


def linear_contributions(model: Any, X: Any) -> tuple[Any, Any, Any] | None:
    """Exact contributions of a linear model: (n × columns array, intercepts per row, the
    class index per row or None); None when the model is not linear."""
    import numpy as np
    from scipy import sparse

    parts = _linear_parts(model)
    if parts is None:
        return None
    features, final, scale = parts
    Z = features.transform(X)
    Z = sparse.csr_matrix(Z) if not sparse.issparse(Z) else Z.tocsr()
    coef = np.atleast_2d(np.asarray(final.coef_, dtype=float))
    intercept = np.atleast_1d(np.asarray(final.intercept_, dtype=float))
    mapping = column_map(features, list(X.columns))
    if coef.shape[0] == 1:  # binary log-odds or one regression output
        klass = None
        values = np.asarray((Z.multiply(coef[0]) @ mapping).todense()) * scale
        base = np.full(len(X), intercept[0] * scale)
    else:  # more classes: the predicted class's score
        scores = Z @ coef.T + intercept
        klass = np.asarray(scores).argmax(axis=1)
        values = np.vstack([np.asarray((Z[i].multiply(coef[klass[i]]) @ mapping).todense())
                            for i in range(Z.shape[0])])
        base = intercept[klass]
    if hasattr(model.steps[-1][1], "regressor_"):
        base = base + float(model.steps[-1][1].mean_)
    return values, base, klass


def model_output(model: Any, X: Any, task: str, klass: Any = None) -> Any:
    """What contributions explain: the prediction (regression), else log-odds of the positive
    class (binary) or of class index ``klass`` per row."""
    import numpy as np

    if task != "classification":
        return np.asarray(model.predict(X), dtype=float)
    proba = np.clip(np.asarray(model.predict_proba(X), dtype=float), 1e-9, 1 - 1e-9)
    p = proba[:, 1] if proba.shape[1] == 2 else proba[np.arange(len(proba)), klass]
    return np.log(p / (1 - p))


def sampled_contributions(model: Any, X: Any, background: Any, task: str) -> tuple[Any, Any]:
    """First-order Shapley contributions (see the module's docstring) and the background's
    mean output; rows predicted in batches of about BATCH_ROWS."""
    import numpy as np

    n, p, b = len(X), X.shape[1], len(background)
    bg = background.reset_index(drop=True)
    klass = None
    if task == "classification":
        proba = np.asarray(model.predict_proba(X))
        klass = proba.argmax(axis=1) if proba.shape[1] > 2 else None
    own = model_output(model, X, task, klass)
    split = transformed(model, X, bg)
    if split is not None:
        predictor, rows_all, bg_all, groups = split
    else:  # any other model: swap columns of the frames themselves
        predictor, rows_all, bg_all = model, X.reset_index(drop=True), bg
        groups = [np.array([j]) for j in range(p)]

    def take(data: Any, index: Any) -> Any:
        return data[index] if isinstance(data, np.ndarray) else \
            data.iloc[index].reset_index(drop=True)

    def put(data: Any, part: slice, cols: Any, values: Any) -> None:
        if isinstance(data, np.ndarray):
            data[part, cols] = values
        else:
            data.iloc[part, cols[0]] = values[:, 0] if values.ndim == 2 else values

    values = np.zeros((n, p))
    chunk = max(1, BATCH_ROWS // max(1, 2 * p * b))
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        rows = take(rows_all, np.arange(start, start + m))
        k_rows = None if klass is None else klass[start:start + m]
        # (a) the row with column j from each background row; (b) each background row with
        # column j from the row. One block of m·b rows per column, p blocks.
        a = take(rows, np.tile(np.repeat(np.arange(m), b), p))
        bb = take(bg_all, np.tile(np.arange(b), m * p))
        for j, cols in enumerate(groups):
            if len(cols) == 0:
                continue
            part = slice(j * m * b, (j + 1) * m * b)
            put(a, part, cols, np.tile(take(bg_all, np.arange(b))[:, cols]
                                       if isinstance(bg_all, np.ndarray)
                                       else bg_all.iloc[:, cols].to_numpy(), (m, 1)))
            put(bb, part, cols, np.repeat(rows[:, cols] if isinstance(rows, np.ndarray)
                                          else rows.iloc[:, cols].to_numpy(), b, axis=0))
        k_rep = None if k_rows is None else np.tile(np.repeat(k_rows, b), p)
        fa = model_output(predictor, a, task, k_rep).reshape(p, m, b).mean(axis=2)
        fb = model_output(predictor, bb, task, k_rep).reshape(p, m, b).mean(axis=2)
        plain = model_output(predictor, take(bg_all, np.tile(np.arange(b), m)), task,
                             None if k_rows is None else np.repeat(k_rows, b)).reshape(m, b)
        values[start:start + m] = ((own[start:start + m] - fa).T
                                   + (fb.T - plain.mean(axis=1)[:, None])) / 2
    base = model_output(predictor, bg_all, task, None if klass is None else
                        np.full(b, int(np.bincount(klass).argmax())))
    return values, float(np.mean(base))


def contributions(model: Any, X: Any, task: str, background: Any = None
                  ) -> tuple[Any, Any, str]:
    """(n × columns contributions, base per row, method): exact for linear models, sampled
    against ``background`` for the others (ValueError when there is none)."""
    import numpy as np

    exact = linear_contributions(model, X)
    if exact is not None:
        values, base, _ = exact
        return values, base, EXACT
    if background is None or len(background) == 0:
        raise ValueError("this model needs a background sample to be explained")
    values, base = sampled_contributions(model, X, background[list(X.columns)], task)
    return values, np.full(len(X), base), SAMPLED


def top_k(values: Any, columns: Sequence[str], k: int) -> list[list[tuple[str, float]]]:
    """Per row, the ``k`` columns of largest absolute contribution, largest first."""
    import numpy as np

    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
    return [[(str(columns[j]), float(values[i, j])) for j in order[i]] for i in range(len(values))]


def explain_frame(model: Any, X: Any, task: str, k: int, background: Any = None) -> Any:
    """The columns ``predict --explain K`` adds: ``explain_i`` (the i-th column that moved
    the prediction most) and ``explain_i_amount`` (signed, in the model's scale), i = 1..K."""
    import pandas as pd

    values, _, _ = contributions(model, X, task, background)
    ranked = top_k(values, list(X.columns), min(k, X.shape[1]))
    data: dict[str, list[Any]] = {}
    for i in range(min(k, X.shape[1])):
        data[f"explain_{i + 1}"] = [r[i][0] for r in ranked]
        data[f"explain_{i + 1}_amount"] = [round(r[i][1], 6) for r in ranked]
    return pd.DataFrame(data)


def explain_rows(model: Any, X: Any, task: str, background: Any, k: int = 5,
                 rows: int = 20) -> tuple[RowExplanation, ...]:
    """Explanations of the first ``rows`` rows of ``X`` (a held-out sample), for the
    diagnostics screen."""
    sample = X.iloc[:rows]
    values, base, method = contributions(model, sample, task, background)
    predictions = model.predict(sample)
    ranked = top_k(values, list(sample.columns), min(k, sample.shape[1]))
    return tuple(RowExplanation(int(i), str(predictions[i]), tuple(ranked[i]), float(base[i]),
                                method) for i in range(len(sample)))


def learned_from_fold(model: Any, X_test: Any, problem: Any, leading: Sequence[str],
                      max_seconds: float | None = None) -> dict[str, tuple[Any, ...]]:
    """Partial dependence of the LEADING_FEATURES leading numeric or categorical columns
    (by importance, else in order) and EXPLAINED_ROWS held-out rows explained, on a fold's
    test rows, within ``max_seconds``: columns past it are left out, and the rows when
    their predictions would not fit."""
    import time

    import numpy as np

    roles = {c.name: getattr(c.role, "value", c.role) for c in problem.schema}
    usable = [n for n in X_test.columns if roles.get(n) in ("numeric", "categorical")]
    categorical = [n for n in usable if roles[n] == "categorical"]
    features = [n for n in leading if n in usable][:LEADING_FEATURES] \
        or usable[:LEADING_FEATURES]
    sample = X_test.sample(min(PD_ROWS, len(X_test)), random_state=problem.seed)
    started = time.perf_counter()
    deadline = None if max_seconds is None else started + max_seconds
    out: dict[str, tuple[Any, ...]] = {
        "dependence": partial_dependence_of(model, sample, features, categorical, problem.task,
                                            problem.classes, problem.seed, deadline)}
    background = X_test.sample(min(BACKGROUND_ROWS, len(X_test)), random_state=problem.seed + 1)
    if _linear_parts(model) is None and deadline is not None:
        # The sampled method predicts 2 x columns x background rows per row explained.
        prepared = transformed(model, sample, background)
        predictor, rows = (prepared[0], prepared[1]) if prepared is not None else (model, sample)
        begun = time.perf_counter()
        model_output(predictor, rows, problem.task,
                     np.zeros(len(sample), dtype=int) if problem.task == "classification"
                     else None)
        per_row = (time.perf_counter() - begun) / max(1, len(sample))
        needed = per_row * EXPLAINED_ROWS * 2 * X_test.shape[1] * BACKGROUND_ROWS
        if time.perf_counter() + needed > deadline:
            return out
    out["explained"] = explain_rows(model, X_test, problem.task, background, rows=EXPLAINED_ROWS)
    return out
