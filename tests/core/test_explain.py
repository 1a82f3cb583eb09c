"""What a model learned, how sure it is, what it is worth (issue 23), on real data: mortgage
denials (AER's HMDA, 2,380 rows, 12 % denied) and ISLR's wages, against scikit-learn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import partial_dependence
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline

from thrifty_tui.core.data.tables import load_table
from thrifty_tui.core.learn import explain as ex
from thrifty_tui.core.learn.calibration import (
    calibration_check,
    expected_cost_of_predictions,
    threshold_counts,
    tune_threshold_cv,
)
from thrifty_tui.core.learn.features import (
    ScaledTarget,
    categorical_mask,
    linear_features,
    tree_features,
)
from thrifty_tui.core.learn.screening import make_problem
from thrifty_tui.core.learn.value import CostMatrix, best_threshold, cost_at

SHARED = Path("/work/shared/data")  # as tests/fixtures/helpers.py
COST = CostMatrix(false_positive=1.0, false_negative=10.0)  # a missed denial costs ten times


@pytest.fixture(scope="module")
def hmda():
    problem = make_problem(load_table(SHARED / "suite" / "AER_HMDA.csv.gz").frame, "deny",
                           seed=0)
    linear = Pipeline([("features", linear_features(problem.schema)),
                       ("model", LogisticRegression(max_iter=1000))]).fit(problem.X, problem.y)
    boosting = Pipeline([("features", tree_features(problem.schema)),
                         ("model", HistGradientBoostingClassifier(
                             max_iter=40, categorical_features=categorical_mask(problem.schema),
                             random_state=0))]).fit(problem.X, problem.y)
    return problem, linear, boosting


def _categorical(problem) -> list[str]:
    return [c.name for c in problem.schema if c.role.value == "categorical"]


@pytest.mark.parametrize("which", ["linear", "boosting"])
def test_partial_dependence_equals_scikit_learns_on_the_same_grid(hmda, which):
    problem, linear, boosting = hmda
    model = linear if which == "linear" else boosting
    X = problem.X.iloc[:ex.PD_ROWS].astype({"chist": float})
    deps = ex.partial_dependence_of(model, X, ["pirat", "chist", "afam"], _categorical(problem),
                                    "classification", problem.classes)
    assert [d.feature for d in deps] == ["pirat", "chist", "afam"]
    assert [d.kind for d in deps] == ["numeric", "numeric", "categorical"]
    for dep in deps:
        grid = np.asarray(dep.grid, dtype=object if dep.kind == "categorical" else float)
        theirs = partial_dependence(model, X, [dep.feature], kind="both", method="brute",
                                    custom_values={dep.feature: grid},
                                    categorical_features=[dep.feature]
                                    if dep.kind == "categorical" else None)
        np.testing.assert_allclose(dep.average, theirs["average"][0], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(dep.ice, theirs["individual"][0][:ex.ICE_LINES], atol=1e-12)
        assert dep.response == "P(yes)"
    # The higher the payments-to-income ratio, the likelier a denial: what it learned.
    assert deps[0].average[-1] > deps[0].average[0]


def test_linear_contributions_add_up_to_the_decision_function_less_the_intercept(hmda):
    problem, linear, _ = hmda
    X = problem.X.iloc[:300]
    values, base, _ = ex.linear_contributions(linear, X)
    assert values.shape == (300, X.shape[1])
    np.testing.assert_allclose(values.sum(axis=1), linear.decision_function(X) - base,
                               atol=1e-9)
    assert np.allclose(base, linear.steps[-1][1].intercept_[0])
    # Each original column gets its own one-hot levels: afam's two levels, no other column's.
    groups = ex.column_map(linear[:-1], list(X.columns)).tocsc()
    assert groups[:, list(X.columns).index("afam")].nnz == 2


def test_linear_contributions_of_a_regression_are_in_the_targets_units():
    problem = make_problem(load_table(SHARED / "suite" / "ISLR_Wage.csv.gz").frame, "wage",
                           seed=0)
    model = Pipeline([("features", linear_features(problem.schema)),
                      ("model", ScaledTarget(Ridge()))]).fit(problem.X, problem.y)
    X = problem.X.iloc[:200]
    values, base, _ = ex.linear_contributions(model, X)
    np.testing.assert_allclose(values.sum(axis=1) + base, model.predict(X), rtol=1e-9)
    frame = ex.explain_frame(model, X, "regression", 3)
    assert list(frame.columns) == ["explain_1", "explain_1_amount", "explain_2",
                                   "explain_2_amount", "explain_3", "explain_3_amount"]
    first = dict(zip(X.columns, values[0], strict=True))
    assert frame.loc[0, "explain_1_amount"] == pytest.approx(first[frame.loc[0, "explain_1"]])
    assert abs(frame.loc[0, "explain_1_amount"]) >= abs(frame.loc[0, "explain_3_amount"])


def test_the_sampled_method_is_exact_for_an_additive_model(hmda):
    """For a model additive in its columns (logistic regression, in log-odds), first-order
    Shapley against a background sample is each column's contribution less its mean over
    the background: the documented method checked where the answer is known."""
    problem, linear, _ = hmda
    X, background = problem.X.iloc[:40], problem.X.iloc[1000:1000 + ex.BACKGROUND_ROWS]
    sampled, base = ex.sampled_contributions(linear, X, background, "classification")
    exact, _, _ = ex.linear_contributions(linear, X)
    exact_bg, _, _ = ex.linear_contributions(linear, background)
    np.testing.assert_allclose(sampled, exact - exact_bg.mean(axis=0), atol=1e-9)
    np.testing.assert_allclose(sampled.sum(axis=1) + base, linear.decision_function(X),
                               atol=1e-9)


def test_boosting_rows_are_explained_against_the_background(hmda):
    problem, _, boosting = hmda
    X, background = problem.X.iloc[:30], problem.X.iloc[1000:1000 + ex.BACKGROUND_ROWS]
    values, base, method = ex.contributions(boosting, X, "classification", background)
    assert method == ex.SAMPLED and values.shape == (30, X.shape[1])
    own = ex.model_output(boosting, X, "classification")
    # Not additive: the sum misses the interactions, but follows the prediction closely.
    assert np.corrcoef(values.sum(axis=1) + base, own)[0, 1] > 0.9
    with pytest.raises(ValueError, match="background"):
        ex.contributions(boosting, X, "classification", None)


def test_the_tuned_threshold_costs_less_than_half_on_imbalanced_data(hmda):
    """Out-of-fold: the threshold of least cost chosen by TunedThresholdClassifierCV inside
    each training part has a lower expected cost on the held-out part than 0.5 has; the app's
    own choice (from out-of-fold probabilities) lands below 0.5 as well."""
    problem, linear, _ = hmda
    outer = StratifiedKFold(3, shuffle=True, random_state=0)
    at_half, tuned = [], []
    for train, test in outer.split(problem.X, problem.y):
        X_tr, y_tr = problem.X.iloc[train], problem.y.iloc[train]
        X_te, y_te = problem.X.iloc[test], problem.y.iloc[test]
        plain = Pipeline(linear.steps).fit(X_tr, y_tr)
        at_half.append(expected_cost_of_predictions(y_te, plain.predict(X_te), "yes", COST))
        chosen = tune_threshold_cv(Pipeline(linear.steps), X_tr, y_tr, COST, "yes", cv=3)
        assert chosen.best_threshold_ < 0.5
        tuned.append(expected_cost_of_predictions(y_te, chosen.predict(X_te), "yes", COST))
    assert np.mean(tuned) < 0.8 * np.mean(at_half)
    proba = cross_val_predict(linear, problem.X, problem.y, cv=outer, method="predict_proba")
    counts = threshold_counts(problem.y, proba[:, 1], "yes")
    threshold, cost = best_threshold(counts, COST)
    assert threshold < 0.5 and cost < cost_at(counts, COST, 0.5)


def test_calibration_is_offered_only_when_it_lowers_cross_validated_log_loss(hmda):
    problem, linear, _ = hmda
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    plain = cross_val_predict(linear, problem.X, problem.y, cv=folds, method="predict_proba")
    weighted = Pipeline([linear.steps[0], ("model", LogisticRegression(
        max_iter=1000, class_weight="balanced"))])
    skewed = cross_val_predict(weighted, problem.X, problem.y, cv=folds, method="predict_proba")
    well = calibration_check(problem.y, plain[:, 1], "yes")
    bent = calibration_check(problem.y, skewed[:, 1], "yes")
    assert well["method"] == bent["method"] == "isotonic"  # 2,380 rows: enough for isotonic
    assert not well["improved"] and well["log_loss_after"] >= well["log_loss_before"]
    assert bent["improved"] and bent["log_loss_after"] < 0.7 * bent["log_loss_before"]
    small = calibration_check(problem.y.iloc[:500], skewed[:500, 1], "yes")
    assert small["method"] == "sigmoid"


def test_value_arithmetic():
    counts = ((0.3, 10, 20, 60, 10), (0.5, 8, 5, 75, 12), (0.7, 4, 1, 79, 16))
    cost = CostMatrix(false_positive=1, false_negative=10, true_positive=2)
    assert cost_at(counts, cost) == pytest.approx(1000 * (5 + 120 - 16) / 100)
    assert best_threshold(counts, cost) == (0.3, pytest.approx(1000 * (20 + 100 - 20) / 100))
    even = CostMatrix(false_positive=1, false_negative=1)
    assert best_threshold(((0.3, 1, 1, 1, 1), (0.5, 1, 1, 1, 1)), even)[0] == 0.5
    assert pd.isna(cost_at((), cost))


def test_thrifty_toml_cost_table_reaches_the_app_and_the_export(tmp_path):
    from thrifty_tui.config import SettingsError, make_settings, with_user_settings
    from thrifty_tui.core.errors import DataError
    from thrifty_tui.core.learn.value import load_cost_file

    data = tmp_path / "loans.csv"
    data.write_text("a,b\n1,2\n")
    toml = tmp_path / "thrifty.toml"
    toml.write_text("[cost]\nfalse_positive = 1\nfalse_negative = 10\npositive = \"yes\"\n")
    settings = with_user_settings(make_settings(str(tmp_path / "ws"), path=str(data)), {})
    assert dict(settings.cost) == {"false_positive": 1.0, "false_negative": 10.0,
                                   "positive": "yes"}
    assert load_cost_file(toml) == CostMatrix(false_positive=1.0, false_negative=10.0,
                                              positive="yes")
    toml.write_text("[cost]\nfalse_negative = \"ten\"\n")
    with pytest.raises(SettingsError, match=r"\[cost\] false_negative must be a number"):
        with_user_settings(make_settings(str(tmp_path / "ws"), path=str(data)), {})
    with pytest.raises(DataError, match="false_negative must be a number"):
        load_cost_file(toml)


def test_a_cost_matrix_for_the_first_class_is_turned_around():
    from thrifty_tui.core.learn.value import oriented

    class Diag:
        labels = ("no", "yes")

    given = CostMatrix(false_positive=2, false_negative=7, true_positive=1, positive="no")
    assert oriented(given, Diag()) == CostMatrix(false_positive=7, false_negative=2,
                                                 true_negative=1, positive="yes")
    with pytest.raises(Exception, match="'maybe' is not one of"):
        oriented(CostMatrix(false_positive=1, positive="maybe"), Diag())
