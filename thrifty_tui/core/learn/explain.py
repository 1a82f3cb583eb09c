"""What a model learned and why it predicted a row: partial dependence with ICE lines, and
per-row contributions of the original columns.

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

GRID_POINTS = 15
ICE_LINES = 12
PD_ROWS = 100  # rows averaged for partial dependence (and drawn as ICE lines: ICE_LINES)
LEADING_FEATURES = 3
MAX_LEVELS = 12  # categorical features: the most frequent levels
BACKGROUND_ROWS = 20
EXPLAINED_ROWS = 20  # held-out rows explained for the diagnostics screen
BATCH_ROWS = 200_000  # rows predicted at once by the sampled method
EXACT, SAMPLED = "exact (linear coefficients)", "first-order Shapley against a background sample"


@dataclass(frozen=True)
class Dependence:
    """Partial dependence of the prediction on one column: the average over rows (``average``)
    at each grid value, and a few rows' own lines (ICE)."""

    feature: str
    kind: str  # "numeric" or "categorical"
    grid: tuple[Any, ...]
    average: tuple[float, ...]
    ice: tuple[tuple[float, ...], ...] = ()
    response: str = ""  # what the y axis is: "P(yes)", "predicted price"


@dataclass(frozen=True)
class RowExplanation:
    """One held-out row: its prediction and the columns that moved it most (signed)."""

    row: int
    prediction: str
    contributions: tuple[tuple[str, float], ...]
    base: float  # the intercept (linear) or the background's mean output
    method: str


def numeric_grid(values: Any, points: int = GRID_POINTS) -> Any:
    """Equally spaced values between the 5th and 95th percentiles (scikit-learn's default
    range), NaN ignored; the distinct values when there are fewer."""
    import numpy as np

    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if len(finite) == 0:
        return np.array([])
    unique = np.unique(finite)
    if len(unique) <= points:
        return unique
    lo, hi = np.percentile(finite, [5, 95])
    return np.linspace(lo, hi, points)


def categorical_grid(values: Any, levels: int = MAX_LEVELS) -> Any:
    """The most frequent levels (missing values left out)."""
    import numpy as np
    import pandas as pd

    counts = pd.Series(values).dropna().value_counts()
    return np.asarray(counts.index[:levels], dtype=object)


def _response(model: Any, task: str, classes: Sequence[str]) -> tuple[int | None, str]:
    """Which output partial dependence follows: the positive class's probability (binary),
    the first class's (more), or the prediction."""
    if task != "classification" or not hasattr(model, "predict_proba"):
        return None, "prediction"
    labels = [str(c) for c in getattr(model, "classes_", classes)]
    k = 1 if len(labels) == 2 else 0
    return k, f"P({labels[k][:12]})"


def _outputs(estimator: Any, M: Any, k: int | None, task: str) -> Any:
    """What partial dependence follows on ``M``: class ``k``'s probability, else the
    decision value (classifiers without probabilities), else the prediction."""
    import numpy as np

    if k is not None:
        return np.asarray(estimator.predict_proba(M))[:, k]
    if task == "classification" and hasattr(estimator, "decision_function"):
        scores = np.asarray(estimator.decision_function(M), dtype=float)
        return scores if scores.ndim == 1 else scores[:, 0]
    return np.asarray(estimator.predict(M), dtype=float)


def _individual(model: Any, X: Any, name: str, grid: Any, k: int | None, task: str,
                prepared: Any) -> Any:
    """ICE values (rows × grid): every row with ``name`` set to each grid value. With the
    feature steps column by column (``prepared``, from _transformed), only that column's
    outputs are swapped and the final estimator predicts all grid values in one call."""
    import numpy as np

    if prepared is None:
        from sklearn.inspection import partial_dependence

        result = partial_dependence(model, X, [name], kind="individual",
                                    custom_values={name: grid},
                                    categorical_features=[name] if grid.dtype == object
                                    else None,
                                    response_method="predict_proba" if k is not None
                                    else "auto")
        individual = np.asarray(result["individual"])
        return individual[k if (k is not None and individual.shape[0] > 1) else 0]
    final, Z, _, groups = prepared
    cols = groups[list(X.columns).index(name)]
    probe = X.iloc[np.zeros(len(grid), dtype=int)].reset_index(drop=True)
    probe[name] = grid
    values = np.asarray(model[:-1].transform(probe), dtype=float)[:, cols]
    stacked = np.repeat(Z[None, :, :], len(grid), axis=0)
    stacked[:, :, cols] = values[:, None, :]
    out = _outputs(final, stacked.reshape(len(grid) * len(Z), Z.shape[1]), k, task)
    return out.reshape(len(grid), len(Z)).T


def partial_dependence_of(model: Any, X: Any, features: Sequence[str],
                          categorical: Sequence[str], task: str, classes: Sequence[str],
                          seed: int = 0, deadline: float | None = None
                          ) -> tuple[Dependence, ...]:
    """Partial dependence and ICE lines of ``features`` over (up to PD_ROWS of) ``X`` on our
    grid: the mean over rows of the prediction with the column set to each grid value (what
    scikit-learn's ``partial_dependence`` computes by brute force). Columns past
    ``deadline`` (a time.perf_counter() value) are left out."""
    import time

    import numpy as np

    if len(X) > PD_ROWS:
        X = X.sample(PD_ROWS, random_state=seed)
    # scikit-learn refuses integer columns (rounding on the grid): the model sees floats.
    ints = [n for n in features if n not in categorical and X[n].dtype.kind in "iub"]
    X = X.astype({n: float for n in ints}) if ints else X
    k, response = _response(model, task, classes)
    prepared = _transformed(model, X, X.iloc[:1])
    out = []
    for name in features:
        if deadline is not None and time.perf_counter() > deadline:
            break
        is_cat = name in categorical
        grid = categorical_grid(X[name]) if is_cat else numeric_grid(X[name])
        if len(grid) < 2:
            continue
        individual = _individual(model, X, name, grid, k, task, prepared)
        out.append(Dependence(
            feature=name, kind="categorical" if is_cat else "numeric",
            grid=tuple(str(g) if is_cat else float(g) for g in grid),
            average=tuple(float(v) for v in individual.mean(axis=0)),
            ice=tuple(tuple(float(v) for v in line) for line in individual[:ICE_LINES]),
            response=response))
    return tuple(out)


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


def _names_out(step: Any, used: list[str]) -> list[str]:
    """The output names of one ColumnTransformer part; steps without names of their own
    (thrifty-tui's CategoryStrings) pass theirs through."""
    if step == "passthrough":
        return list(used)
    names = list(used)
    for part in [s for _, s in step.steps] if hasattr(step, "steps") else [step]:
        if part not in (None, "passthrough") and hasattr(part, "get_feature_names_out"):
            names = [str(n) for n in part.get_feature_names_out(names)]
    return names


def column_map(features: Any, columns: Sequence[str]) -> Any:
    """A sparse (transformed columns × original columns) 0/1 matrix: which original column
    each output of the ColumnTransformer in ``features`` comes from."""
    import numpy as np
    from scipy import sparse

    transformer = features.steps[-1][1] if hasattr(features, "steps") else features
    index = {c: i for i, c in enumerate(columns)}
    rows, cols = [], []
    for name, step, used in transformer.transformers_:
        if name == "remainder" or step == "drop":
            continue
        where = transformer.output_indices_[name]
        width = where.stop - where.start
        used = [used] if isinstance(used, str) else list(used)
        names: list[str] = []
        if len(used) > 1:
            try:
                names = _names_out(step, used)
            except Exception:  # noqa: BLE001 - fall back on position
                names = []
        for j in range(width):
            if len(used) == 1:
                owner = used[0]
            elif len(names) == width:
                owner = max((c for c in used if names[j] == c or names[j].startswith(c + "_")
                             or names[j] == f"missingindicator_{c}"), key=len, default=used[0])
            else:
                owner = used[min(j, len(used) - 1)]
            rows.append(where.start + j)
            cols.append(index[owner])
    total = max(transformer.output_indices_[n].stop for n in transformer.output_indices_)
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(total, len(columns)))


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


def _transformed(model: Any, X: Any, background: Any) -> tuple[Any, Any, Any, list[Any]] | None:
    """(final estimator, X and background through the feature steps as dense arrays, the
    transformed columns of each original column) when the feature steps work column by
    column (every feature set of the zoo does): the swaps then happen on numbers, and the
    feature steps run once instead of 2 x columns x background rows times."""
    import numpy as np
    from scipy import sparse

    if not hasattr(model, "steps") or len(model.steps) < 2:
        return None
    features = model[:-1]
    transformer = features.steps[-1][1] if hasattr(features, "steps") else features
    if not hasattr(transformer, "output_indices_"):
        return None
    Z, Zb = features.transform(X), features.transform(background)
    if sparse.issparse(Z) or sparse.issparse(Zb):
        return None
    mapping = column_map(features, list(X.columns)).tocsc()
    groups = [mapping[:, j].nonzero()[0] for j in range(X.shape[1])]
    return model.steps[-1][1], np.asarray(Z, dtype=float), np.asarray(Zb, dtype=float), groups


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
    split = _transformed(model, X, bg)
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
        prepared = _transformed(model, sample, background)
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
