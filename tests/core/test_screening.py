"""Screening on real data: every model sees the same folds and the leader beats the baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from thrifty_tui.config import SAMPLE_DIR
from thrifty_tui.core.data.tables import load_table
from thrifty_tui.core.errors import DataError
from thrifty_tui.core.learn.features import linear_features
from thrifty_tui.core.records import Role, best_result
from thrifty_tui.core.learn.screening import evaluate, make_problem, refit
from thrifty_tui.core.learn.zoo import DEFAULT_ZOO, ModelSpec, models_for, spec_by_name


@pytest.fixture(autouse=True, scope="module")
def one_thread_per_fit():
    """Fit with one BLAS/OpenMP thread, as the worker's children do (and fast on a busy CI)."""
    with threadpool_limits(1):
        yield


def _frame(name: str) -> pd.DataFrame:
    return load_table(SAMPLE_DIR / name).frame


def _screen(problem):
    return [evaluate(spec, problem) for spec in models_for(problem.task)]


def _assert_beats_baseline(results, margin: float) -> None:
    assert [r.status for r in results] == ["done"] * len(results), [r.error for r in results]
    baseline = next(r for r in results if r.baseline)
    leader = best_result(results)
    assert leader is not None and not leader.baseline
    assert leader.mean > baseline.mean + margin, (leader, baseline)
    for r in results:
        assert all(np.isfinite(r.fold_scores))


# --- the bundled samples ----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("file", "target", "task", "metric", "n_rows", "baseline_mean", "margin"),
    [
        # movies: a free-text title, gaps in budget and mpaa, a 0/1 target.
        ("movies.csv", "Comedy", "classification", "balanced_accuracy", 3000, 0.5, 0.08),
        ("gss_wages.csv", "gender", "classification", "balanced_accuracy", 3000, 0.5, 0.15),
        ("car_prices.csv", "Price", "regression", "r2", 804, None, 0.5),
    ],
)
def test_screening_a_sample_beats_the_dummy_baseline(file, target, task, metric, n_rows,
                                                      baseline_mean, margin):
    problem = make_problem(_frame(file), target, seed=0)
    assert (problem.task, problem.metric, len(problem.y), len(problem.X)) == (
        task, metric, n_rows, n_rows)
    assert target not in problem.X.columns
    assert len(problem.folds) == 5
    results = _screen(problem)
    assert [r.model for r in results] == [s.name for s in models_for(task)]
    assert all(len(r.fold_scores) == 5 for r in results)
    baseline = next(r for r in results if r.baseline)
    if baseline_mean is not None:  # a prior-class dummy scores exactly chance
        assert baseline.mean == pytest.approx(baseline_mean)
    else:  # the mean predictor's out-of-fold R² is about zero
        assert abs(baseline.mean) < 0.05
    _assert_beats_baseline(results, margin)


def test_movies_title_is_text_and_feeds_the_models():
    problem = make_problem(_frame("movies.csv"), "Comedy", seed=0)
    roles = {c.name: c.role for c in problem.schema}
    assert roles["title"] == Role.TEXT
    assert roles["mpaa"] == Role.CATEGORICAL
    assert roles["budget"] == Role.NUMERIC
    assert problem.classes == ("0", "1")
    # The linear model's features include one column per title word and character n-gram.
    model = refit(spec_by_name("linear"), problem)
    features = model.named_steps["features"]
    union = features.named_transformers_["text:title"].named_steps["tfidf"]
    words = union.transformer_list[0][1].vocabulary_
    chars = union.transformer_list[1][1].vocabulary_
    assert len(words) > 100 and "the" in words
    assert len(chars) > 1000 and " th" in chars
    assert features.transform(problem.X.head(3)).shape[1] > len(words) + len(chars)


def _sklearn_csv(tmp_path, loader, name: str) -> pd.DataFrame:
    frame = loader(as_frame=True).frame
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return load_table(path).frame


def test_screening_breast_cancer_from_csv(tmp_path):
    frame = _sklearn_csv(tmp_path, load_breast_cancer, "breast_cancer")
    problem = make_problem(frame, "target", seed=0)
    assert problem.task == "classification" and problem.classes == ("0", "1")
    assert len(problem.y) == 569 and problem.X.shape[1] == 30
    results = _screen(problem)
    _assert_beats_baseline(results, margin=0.35)
    assert best_result(results).mean > 0.9


def test_screening_diabetes_regression_from_csv(tmp_path):
    frame = _sklearn_csv(tmp_path, load_diabetes, "diabetes")
    problem = make_problem(frame, "target", seed=0)
    assert problem.task == "regression" and problem.metric == "r2"
    results = _screen(problem)
    _assert_beats_baseline(results, margin=0.3)
    linear = next(r for r in results if r.model == "linear")
    assert 0.4 < linear.mean < 0.6  # ridge on diabetes: a known ~0.48 out of fold


# --- determinism ------------------------------------------------------------------------------

def test_same_seed_same_folds_and_scores():
    frame = _frame("movies.csv")
    first, second = (make_problem(frame, "Comedy", seed=7) for _ in range(2))
    for (tr1, te1), (tr2, te2) in zip(first.folds, second.folds, strict=True):
        assert np.array_equal(tr1, tr2) and np.array_equal(te1, te2)
    # The tree pipeline reduces the title with a randomized SVD: seeded, so repeatable.
    for name in ("linear", "decision tree"):
        a, b = evaluate(spec_by_name(name), first), evaluate(spec_by_name(name), second)
        assert a.fold_scores == b.fold_scores
        assert a.params == b.params
    other = make_problem(frame, "Comedy", seed=8)
    assert not np.array_equal(first.folds[0][1], other.folds[0][1])


def test_folds_partition_the_rows_and_keep_class_shares():
    problem = make_problem(_frame("gss_wages.csv"), "gender", seed=0)
    test_rows = np.concatenate([te for _, te in problem.folds])
    assert sorted(test_rows) == list(range(len(problem.y)))
    share = (problem.y == "Female").mean()
    for _, te in problem.folds:
        assert abs((problem.y.iloc[te] == "Female").mean() - share) < 0.01


# --- make_problem's checks --------------------------------------------------------------------

def test_rows_without_a_target_are_dropped_and_reported():
    frame = _frame("gss_wages.csv")
    frame.loc[frame.index[::81], "gender"] = None  # 38 rows
    n_missing = int(frame["gender"].isna().sum())
    assert n_missing == 38
    problem = make_problem(frame, "gender", seed=0)
    assert len(problem.y) == len(problem.X) == 3000 - 38
    assert problem.notices == ("dropped 38 rows with no 'gender'",)
    assert set(problem.y) == {"Female", "Male"}
    assert problem.X.index.equals(pd.RangeIndex(3000 - 38))


def test_integer_labels_with_gaps_stay_integers():
    frame = _frame("movies.csv")
    frame.loc[frame.index[:10], "Comedy"] = np.nan  # the column becomes float
    problem = make_problem(frame, "Comedy", seed=0)
    assert problem.classes == ("0", "1")
    assert problem.notices == ("dropped 10 rows with no 'Comedy'",)


def test_one_class_target_raises_data_error():
    frame = _frame("gss_wages.csv")
    frame["gender"] = "Male"
    with pytest.raises(DataError, match="only one class"):
        make_problem(frame, "gender")


def test_a_class_with_one_row_is_dropped_then_one_class_left_raises():
    frame = _frame("gss_wages.csv").head(50).copy()
    frame["gender"] = ["Male"] * 49 + ["Female"]
    with pytest.raises(DataError, match="only one class"):
        make_problem(frame, "gender", task="classification")


@pytest.mark.parametrize("values", [
    [f"user{i}" for i in range(50)],  # an id
    [f"2020-01-{i % 28 + 1:02d} 10:{i:02d}" for i in range(50)],  # timestamps
])
def test_a_target_with_a_value_a_row_says_so_not_one_class(values):
    frame = _frame("gss_wages.csv").head(50).copy()
    frame["key"] = values
    with pytest.raises(DataError, match=r"'key' has 50 distinct values, 50 of them in a single "
                                        r"row.*an id or a date"):
        make_problem(frame, "key")


def test_unknown_target_raises_data_error_naming_the_columns():
    with pytest.raises(DataError, match=r"no column named 'Gender'.*gender"):
        make_problem(_frame("gss_wages.csv"), "Gender")


def test_all_missing_target_raises():
    frame = _frame("car_prices.csv")
    frame["Price"] = np.nan
    with pytest.raises(DataError, match="has no values"):
        make_problem(frame, "Price")


def test_text_target_as_regression_raises():
    with pytest.raises(DataError, match="not numeric"):
        make_problem(_frame("gss_wages.csv"), "gender", task="regression")


def test_constant_regression_target_raises():
    frame = _frame("car_prices.csv")
    frame["Price"] = 1.5
    with pytest.raises(DataError, match="constant"):
        make_problem(frame, "Price", task="regression")


def test_target_alone_has_no_features():
    frame = _frame("car_prices.csv")[["Price"]].assign(const=1)
    with pytest.raises(DataError, match="no usable feature columns"):
        make_problem(frame, "Price")


# --- a failing model is a row, not a crash ----------------------------------------------------

class AlwaysFails(BaseEstimator, RegressorMixin):
    """An estimator whose fit raises, like a model that cannot cope with the data."""

    def fit(self, X, y):
        raise ValueError("cannot fit this data\nsecond line of detail")


def _failing(task, schema, seed):
    return Pipeline([("features", linear_features(schema)), ("model", AlwaysFails())])


def test_a_failing_model_becomes_a_failed_result():
    problem = make_problem(_frame("car_prices.csv"), "Price", seed=0)
    result = evaluate(ModelSpec("fails", 1, _failing), problem)
    assert result.status == "failed"
    assert result.fold_scores == ()
    assert result.error == "ValueError: cannot fit this data"  # one line for a table cell
    assert best_result([result]) is None


def test_models_for_puts_the_baseline_first_then_by_tier():
    names = [s.name for s in models_for("classification")]
    assert names[0] == "baseline (dummy)"
    assert len(names) == len(DEFAULT_ZOO) >= 4
    assert models_for("regression", (ModelSpec("x", 0, _failing, tasks=("classification",)),)) == ()


# --- a property: any frame either gives a consistent problem or a DataError ------------------

frames = st.integers(min_value=2, max_value=40).flatmap(lambda n: st.tuples(
    st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c"])), min_size=n, max_size=n),
    st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), min_size=n, max_size=n),
    st.lists(st.one_of(st.none(), st.sampled_from(["x", "y z", "long text here"])),
             min_size=n, max_size=n),
))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames, st.sampled_from([None, "classification", "regression"]), st.integers(0, 3))
def test_make_problem_is_consistent_or_raises_data_error(columns, task, seed):
    label, number, text = columns
    frame = pd.DataFrame({"label": label, "number": number, "text": text})
    try:
        problem = make_problem(frame, "label" if task != "regression" else "number",
                               task=task, seed=seed)
    except DataError as err:
        assert str(err) and "\n" not in str(err)
        return
    n = len(problem.y)
    assert len(problem.X) == n and problem.y.notna().all()
    assert problem.target not in problem.X.columns
    rows = np.sort(np.concatenate([te for _, te in problem.folds]))
    assert np.array_equal(rows, np.arange(n))
    if problem.task == "classification":
        assert problem.y.value_counts().min() >= 2
        assert set(problem.classes) == set(problem.y)
