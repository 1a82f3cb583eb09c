"""How sure a classifier is, and where to cut: reliability diagram, Brier score, a
cross-validated check of calibration, and the counts behind the cost curve, all from
out-of-fold probabilities (no model is refitted here). numpy and scikit-learn are imported
inside the functions: the records they return are read in the app's process.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

RELIABILITY_BINS = 10
THRESHOLDS = tuple(round(0.02 * i, 2) for i in range(1, 50))  # 0.02 .. 0.98
# Isotonic regression has no shape to hold it and overfits small sets (scikit-learn's user
# guide: "isotonic ... is prone to overfitting" below ~1,000 calibration samples).
ISOTONIC_MIN_ROWS = 1000
CALIBRATION_FOLDS = 5
EPS = 1e-15


def threshold_counts(y_true: Any, proba_positive: Any, positive: str,
                     thresholds: Sequence[float] = THRESHOLDS
                     ) -> tuple[tuple[float, int, int, int, int], ...]:
    """(threshold, TP, FP, TN, FN) when a row is called positive at proba >= threshold."""
    import numpy as np

    actual = np.asarray(y_true).astype(str) == str(positive)
    proba = np.asarray(proba_positive, dtype=float)
    out = []
    for t in thresholds:
        called = proba >= t
        out.append((float(t), int((called & actual).sum()), int((called & ~actual).sum()),
                    int((~called & ~actual).sum()), int((~called & actual).sum())))
    return tuple(out)


def reliability(y_true: Any, proba_positive: Any, positive: str, bins: int = RELIABILITY_BINS
                ) -> tuple[tuple[tuple[float, float, int], ...], float]:
    """The reliability diagram's points (mean predicted, observed share, rows in the bin), by
    quantile bins, and the Brier score."""
    import numpy as np
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import brier_score_loss

    actual = (np.asarray(y_true).astype(str) == str(positive)).astype(int)
    proba = np.clip(np.asarray(proba_positive, dtype=float), 0.0, 1.0)
    observed, predicted = calibration_curve(actual, proba, n_bins=bins, strategy="quantile")
    edges = np.unique(np.quantile(proba, np.linspace(0, 1, bins + 1)))
    counts = np.histogram(proba, bins=edges)[0] if len(edges) > 1 else np.array([len(proba)])
    counts = counts[counts > 0]
    if len(counts) != len(observed):  # bins merged differently: spread the rows evenly
        counts = np.full(len(observed), len(proba) // max(1, len(observed)))
    points = tuple((float(p), float(o), int(c))
                   for p, o, c in zip(predicted, observed, counts, strict=True))
    return points, float(brier_score_loss(actual, proba))


def calibration_method(n_rows: int) -> str:
    """Sigmoid below ISOTONIC_MIN_ROWS rows, isotonic from there on."""
    return "isotonic" if n_rows >= ISOTONIC_MIN_ROWS else "sigmoid"


def fit_calibration(y_true: Any, proba_positive: Any, positive: str, method: str
                    ) -> dict[str, Any]:
    """A calibration map fitted on (out-of-fold) probabilities, as plain numbers: sigmoid
    ``{"a", "b"}`` (p' = 1 / (1 + exp(-(a·logit(p) + b)))), isotonic ``{"x", "y"}``
    (interpolated, clipped at the ends)."""
    import numpy as np

    actual = (np.asarray(y_true).astype(str) == str(positive)).astype(int)
    proba = np.clip(np.asarray(proba_positive, dtype=float), 1e-6, 1 - 1e-6)
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(proba, actual)
        return {"method": "isotonic", "x": [float(v) for v in iso.X_thresholds_],
                "y": [float(v) for v in iso.y_thresholds_]}
    from sklearn.linear_model import LogisticRegression

    logit = np.log(proba / (1 - proba)).reshape(-1, 1)
    platt = LogisticRegression(C=1e6).fit(logit, actual)
    return {"method": "sigmoid", "a": float(platt.coef_[0, 0]),
            "b": float(platt.intercept_[0])}


def apply_calibration(params: dict[str, Any], proba_positive: Any) -> Any:
    """The calibrated probabilities of the positive class under ``params``
    (fit_calibration's)."""
    import numpy as np

    proba = np.clip(np.asarray(proba_positive, dtype=float), 1e-6, 1 - 1e-6)
    if params["method"] == "isotonic":
        return np.interp(proba, params["x"], params["y"])
    z = params["a"] * np.log(proba / (1 - proba)) + params["b"]
    return 1.0 / (1.0 + np.exp(-z))


def calibration_check(y_true: Any, proba_positive: Any, positive: str, seed: int = 0
                      ) -> dict[str, Any]:
    """Whether calibrating would lower the log loss, measured honestly: the calibration map
    is fitted on four fifths of the out-of-fold rows and scored on the fifth left out, five
    times (what CalibratedClassifierCV does with the folds' models, without refitting them).
    Returns method, log loss before and after, ``improved``, and the map fitted on all rows
    (the one a bundle applies)."""
    import numpy as np
    from sklearn.metrics import log_loss
    from sklearn.model_selection import StratifiedKFold

    actual = np.asarray(y_true).astype(str) == str(positive)
    proba = np.clip(np.asarray(proba_positive, dtype=float), EPS, 1 - EPS)
    method = calibration_method(len(proba))
    calibrated = np.empty(len(proba))
    folds = StratifiedKFold(CALIBRATION_FOLDS, shuffle=True, random_state=seed)
    for train, test in folds.split(proba.reshape(-1, 1), actual):
        params = fit_calibration(actual[train].astype(int).astype(str), proba[train], "1",
                                 method)
        calibrated[test] = apply_calibration(params, proba[test])
    calibrated = np.clip(calibrated, EPS, 1 - EPS)
    before = float(log_loss(actual, proba, labels=[False, True]))
    after = float(log_loss(actual, calibrated, labels=[False, True]))
    return {"method": method, "log_loss_before": before, "log_loss_after": after,
            "improved": after < before, "rows": len(proba),
            "map": fit_calibration(actual.astype(int).astype(str), proba, "1", method)}


def tune_threshold_cv(estimator: Any, X: Any, y: Any, cost: Any, positive: str, cv: Any = 5,
                      seed: int = 0) -> Any:
    """scikit-learn's TunedThresholdClassifierCV choosing the threshold of least expected cost
    (``cost``: a core.learn.value.CostMatrix) by cross-validation; returns it fitted."""
    import numpy as np
    from sklearn.metrics import make_scorer
    from sklearn.model_selection import TunedThresholdClassifierCV

    from thrifty_tui.core.learn.value import cost_of

    def negative_cost(y_true: Any, y_pred: Any, pos_label: str = positive) -> float:
        actual = np.asarray(y_true).astype(str) == str(positive)
        called = np.asarray(y_pred).astype(str) == str(positive)
        counts = (0.5, int((called & actual).sum()), int((called & ~actual).sum()),
                  int((~called & ~actual).sum()), int((~called & actual).sum()))
        return -cost_of(counts, cost)

    # pos_label on the scorer tells TunedThresholdClassifierCV which class the threshold is on.
    scorer = make_scorer(negative_cost, pos_label=positive)
    tuned = TunedThresholdClassifierCV(estimator, scoring=scorer, cv=cv, random_state=seed,
                                       thresholds=np.array(THRESHOLDS))
    return tuned.fit(X, y)


def expected_cost_of_predictions(y_true: Any, y_pred: Any, positive: str, cost: Any) -> float:
    """Expected cost per 1,000 of hard predictions (any model, any threshold)."""
    import numpy as np

    from thrifty_tui.core.learn.value import cost_of

    actual = np.asarray(y_true).astype(str) == str(positive)
    called = np.asarray(y_pred).astype(str) == str(positive)
    return cost_of((0.5, int((called & actual).sum()), int((called & ~actual).sum()),
                    int((~called & ~actual).sum()), int((~called & actual).sum())), cost)


def probability_fields(y_true: Any, proba: Any, classes: Sequence[str], seed: int = 0
                       ) -> dict[str, Any]:
    """The Diagnostics fields drawn from out-of-fold probabilities of a binary classifier:
    the positive class, threshold counts, reliability points, the calibration check, and
    the Brier score as a metric. Empty for more classes (no single threshold to tune)."""
    import json

    if proba is None or len(classes) != 2:
        return {}
    positive = str(classes[1])
    column = proba[:, 1]
    points, brier = reliability(y_true, column, positive)
    check = calibration_check(y_true, column, positive, seed)
    summary = tuple((k, v) for k, v in check.items() if k != "map")
    return {"positive": positive, "threshold_counts": threshold_counts(y_true, column, positive),
            "reliability": points, "brier": brier,
            "calibration": summary + (("map", json.dumps(check["map"])),)}
