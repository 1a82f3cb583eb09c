"""The mean of the leaders, scored from its members' saved out-of-fold predictions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, r2_score
from threadpoolctl import threadpool_limits

from thrifty_tui.config import SAMPLE_DIR
from thrifty_tui.core.learn.ensemble import mean_of_fitted
from thrifty_tui.core.tasks.ensemble import score_mean
from thrifty_tui.core.learn.screening import evaluate_fold, refit
from thrifty_tui.core.tasks.fits import _problem, prepare_problem
from thrifty_tui.core.learn.zoo import load_zoo, spec_by_name

FULL = load_zoo("full")


@pytest.fixture(autouse=True, scope="module")
def one_thread_per_fit():
    with threadpool_limits(1):
        yield


def _oof(tmp_path, problem_file: str, names: list[str], prefix: str = "") -> list[list[str]]:
    """Every member's out-of-fold prediction files on the full-size folds, as screening
    writes them."""
    problem = _problem(problem_file)
    last = len(problem.rungs) - 1
    files = []
    for m, name in enumerate(names):
        spec = spec_by_name(name, FULL)
        member = [str(tmp_path / f"{prefix}{m}-fold{k}.npz") for k in range(len(problem.folds))]
        for k, path in enumerate(member):
            assert evaluate_fold(spec, problem, last, k, path).status == "done"
        files.append(member)
    return files


def test_regression_scores_are_the_metric_on_the_mean_prediction(tmp_path):
    problem_file = str(tmp_path / "cars.joblib")
    prepare_problem(str(SAMPLE_DIR / "car_prices.csv"), "Price", None, None, 0, problem_file)
    problem = _problem(problem_file)
    members = _oof(tmp_path, problem_file, ["extra trees", "RBF SVM"])
    out = [str(tmp_path / f"mean-fold{k}.npz") for k in range(len(problem.folds))]
    scores, diag = score_mean(problem_file, members, out, "mean of two",
                              str(tmp_path / "mean.json"))
    expected, singles = [], []
    for k, (_, test_idx) in enumerate(problem.folds):
        loaded = [np.load(files[k]) for files in members]
        assert all(np.array_equal(d["index"], test_idx) for d in loaded)
        y = problem.y.to_numpy()[test_idx]
        expected.append(r2_score(y, (loaded[0]["pred"] + loaded[1]["pred"]) / 2))
        singles.append([r2_score(y, d["pred"]) for d in loaded])
    assert scores == pytest.approx(expected, abs=1e-12)
    assert len(scores) == 5 and all(0.9 < s < 1 for s in scores)
    # Not a copy of either member's scores: the mean is a model of its own.
    assert all(abs(s - a) > 1e-6 and abs(s - b) > 1e-6 for s, (a, b) in zip(scores, singles))
    assert dict(diag.metrics)["r2"] == pytest.approx(
        r2_score(problem.y, np.concatenate([np.load(f)["pred"] for f in out])[
            np.argsort(np.concatenate([np.load(f)["index"] for f in out]))]))
    assert diag.importances == () and "not computed" in diag.importance_kind


def test_classification_averages_probabilities_and_needs_them(tmp_path):
    problem_file = str(tmp_path / "gss.joblib")
    prepare_problem(str(SAMPLE_DIR / "gss_wages.csv"), "gender", None, None, 0, problem_file,
                    sample_rows=600)
    problem = _problem(problem_file)
    n = len(problem.folds)
    members = _oof(tmp_path, problem_file, ["logistic regression", "random forest"])
    out = [str(tmp_path / f"mean-fold{k}.npz") for k in range(n)]
    scores, _ = score_mean(problem_file, members, out, "m", str(tmp_path / "m.json"))
    classes = np.asarray(problem.classes)
    expected = []
    for k, (_, test_idx) in enumerate(problem.folds):
        probas = [np.load(files[k]) for files in members]
        assert all(list(d["classes"]) == list(classes) for d in probas)
        mean = (probas[0]["proba"] + probas[1]["proba"]) / 2
        expected.append(balanced_accuracy_score(problem.y.to_numpy()[test_idx],
                                                classes[mean.argmax(axis=1)]))
    assert scores == pytest.approx(expected, abs=1e-12)
    # A member without class probabilities (a linear SVM): no mean is formed.
    svm = _oof(tmp_path, problem_file, ["linear SVM"], prefix="svm")
    assert score_mean(problem_file, [members[0], svm[0]], out, "m",
                      str(tmp_path / "m.json")) is None


def test_the_assembled_voting_model_predicts_the_mean_of_its_members(tmp_path):
    problem_file = str(tmp_path / "cars.joblib")
    prepare_problem(str(SAMPLE_DIR / "car_prices.csv"), "Price", None, None, 0, problem_file)
    problem = _problem(problem_file)
    fitted = [refit(spec_by_name(name, FULL), problem) for name in ("extra trees", "ridge")]
    model = mean_of_fitted(fitted, ["extra trees", "ridge"], "regression")
    X = problem.X.head(50)
    assert np.allclose(model.predict(X), (fitted[0].predict(X) + fitted[1].predict(X)) / 2)
