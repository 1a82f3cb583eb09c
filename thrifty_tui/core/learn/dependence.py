"""What a model learned: partial dependence with ICE lines for a few columns, on our grid,
the mean over rows of the prediction with the column set to each grid value (what
scikit-learn's ``partial_dependence`` computes by brute force; tests check they agree).
numpy, pandas and scikit-learn are imported inside the functions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from thrifty_tui.core.learn.columns import transformed

GRID_POINTS = 15
ICE_LINES = 12
PD_ROWS = 100  # rows averaged for partial dependence (and drawn as ICE lines: ICE_LINES)
MAX_LEVELS = 12  # categorical features: the most frequent levels


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


    if len(X) > PD_ROWS:
        X = X.sample(PD_ROWS, random_state=seed)
    # scikit-learn refuses integer columns (rounding on the grid): the model sees floats.
    ints = [n for n in features if n not in categorical and X[n].dtype.kind in "iub"]
    X = X.astype({n: float for n in ints}) if ints else X
    k, response = _response(model, task, classes)
    prepared = transformed(model, X, X.iloc[:1])
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
