"""What a bundle holds: the same predictions for every kind of model, the feature steps on their
own, lexicons that match the fitted steps, diagnostics as text and numbers, a full manifest."""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bundle_helpers import fit_sample, members_of
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.tree import DecisionTreeClassifier

from thrifty_tui.core.store.bundle import (
    EXAMPLE_MEMBER,
    FEATURES_MEMBER,
    MANIFEST_MEMBER,
    clear_stale_partials,
    load_bundle,
    write_bundle,
)
from thrifty_tui.core.store.predict import check_input, input_notes, predict_frame
from thrifty_tui.core.store.bundle_report import find_diagnostics, model_slug
from thrifty_tui.core.learn.diagnostics import PLOT_KINDS, classification_diagnostics
from thrifty_tui.core.errors import DataError
from thrifty_tui.core.store.trust import load_skops, trusted_types

CASES = {
    "classification": ("gss_wages.csv", "gender", lambda: LogisticRegression(max_iter=1000),
                       "linear", None),
    "regression": ("car_prices.csv", "Price", lambda: HistGradientBoostingRegressor(
        max_iter=30, random_state=0), "tree", None),
    "free text (TF-IDF)": ("movies.csv", "Comedy", lambda: LogisticRegression(max_iter=1000),
                           "linear", 600),
    "free text (SVD, trees)": ("movies.csv", "Comedy", lambda: DecisionTreeClassifier(
        max_depth=6, random_state=0), "tree", 400),
}
TEXT_CASE = "free text (TF-IDF)"


@pytest.fixture(scope="module", params=list(CASES))
def exported(request, tmp_path_factory):
    if request.param == TEXT_CASE:
        fitted, path, _ = request.getfixturevalue("text_bundle")
        return fitted, path
    file, target, make, features, rows = CASES[request.param]
    fitted = fit_sample(file, target, make(), features, rows=rows)
    path = write_bundle(fitted.model, fitted.manifest,
                        tmp_path_factory.mktemp("bundles") / model_slug(request.param))
    return fitted, path


@pytest.fixture(scope="module")
def text_bundle(tmp_path_factory):
    file, target, make, features, rows = CASES[TEXT_CASE]
    fitted = fit_sample(file, target, make(), features, rows=rows)
    path = write_bundle(fitted.model, fitted.manifest, tmp_path_factory.mktemp("t") / "text")
    return fitted, path, members_of(path)


# --- acceptance 1: the loaded bundle predicts what the app's model predicts ------------------

def test_round_trip_predictions_equal_the_fitted_models(exported):
    fitted, path = exported
    model, manifest = load_bundle(path)
    X = fitted.problem.X
    np.testing.assert_array_equal(model.predict(X), fitted.model.predict(X))
    if fitted.problem.task == "classification":
        np.testing.assert_array_equal(model.predict_proba(X), fitted.model.predict_proba(X))
    out = predict_frame(model, fitted.frame, manifest)  # the CLI's path, from the raw frame
    np.testing.assert_array_equal(out["prediction"], fitted.model.predict(X))


def test_feature_steps_alone_transform_like_the_pipeline(exported):
    fitted, path = exported
    features = load_skops(members_of(path)[FEATURES_MEMBER])
    X = fitted.problem.X.head(200)
    ours, theirs = features.transform(X), fitted.model[:-1].transform(X)
    to_dense = (lambda m: m.toarray() if hasattr(m, "toarray") else np.asarray(m))
    np.testing.assert_array_equal(to_dense(ours), to_dense(theirs))


def test_the_input_example_fits_the_schema_and_holds_no_training_rows(exported):
    fitted, path = exported
    model, manifest = load_bundle(path)
    example = pd.DataFrame(json.loads(members_of(path)[EXAMPLE_MEMBER]))
    assert list(example.columns) == [c["name"] for c in manifest["columns"]]
    assert len(predict_frame(model, example, manifest)) == len(example)
    merged = example.merge(fitted.problem.X, how="inner")
    assert merged.empty  # made up from medians and categories, not copied


def test_manifest_records_versions_platform_schema_and_trusted_types(exported):
    fitted, path = exported
    manifest = json.loads(members_of(path)[MANIFEST_MEMBER])
    assert {"python", "scikit-learn", "skops", "pandas", "numpy", "thrifty-tui"} <= set(
        manifest["versions"])
    assert manifest["platform"] and manifest["created"].endswith("Z")
    assert manifest["columns"] == fitted.manifest["columns"]
    assert manifest["classes"] == list(fitted.problem.classes)
    for key in ("data", "labels", "cv", "leaderboard", "budget", "timings"):
        assert manifest[key] == fitted.manifest[key]
    assert set(manifest["trusted_types"]) <= trusted_types()
    assert manifest["types_thrifty_tui_refuses"] == []
    assert manifest["contents"] == sorted(set(manifest["files"]))
    assert manifest["diagnostics"] == {"available": False,
                                       "reason": "no diagnostics were stored for this model"}


# --- lexicons ---------------------------------------------------------------------------------

def _tsv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode()), delimiter="\t",
                               quoting=csv.QUOTE_NONE))


def test_tfidf_vocabularies_and_idf_weights_are_plain_tsv(text_bundle):
    fitted, _, members = text_bundle
    union = fitted.model.named_steps["features"].named_transformers_["text:title"]["tfidf"]
    for name, vectorizer in union.transformer_list:
        rows = _tsv(members[f"lexicons/vocabulary-text-title-tfidf-{name}.tsv"])
        assert len(rows) == len(vectorizer.vocabulary_)
        for row in rows[:: max(1, len(rows) // 50)]:
            column = int(row["column"])
            assert vectorizer.vocabulary_[row["term"]] == column
            assert float(row["idf"]) == pytest.approx(vectorizer.idf_[column], rel=1e-5)


def test_categories_imputation_and_scaling_match_the_fitted_steps(text_bundle):
    fitted, _, members = text_bundle
    steps = fitted.model.named_steps["features"].named_transformers_
    categories = json.loads(members["lexicons/categories.json"])["cat/onehot"]
    onehot = steps["cat"]["onehot"]
    assert categories["categories"]["mpaa"] == list(onehot.categories_[0])
    imputation = json.loads(members["lexicons/imputation.json"])["num/impute"]
    imputer = steps["num"]["impute"]
    numeric = list(imputer.feature_names_in_)
    assert imputation["strategy"] == "median"
    assert [imputation["values"][c] for c in numeric] == pytest.approx(list(imputer.statistics_))
    assert "budget" in imputation["missing_indicators"]
    scaling = json.loads(members["lexicons/scaling.json"])["num/scale"]
    scaler = steps["num"]["scale"]
    assert scaling["columns"]["year"]["mean"] == pytest.approx(scaler.mean_[0])
    assert scaling["columns"]["year"]["scale"] == pytest.approx(scaler.scale_[0])
    index = json.loads(members["lexicons/steps.json"])
    assert {s["step"] for s in index["steps"]} >= {
        "num/impute", "num/scale", "cat/impute", "cat/onehot", "text:title/tfidf/words"}
    names = members["lexicons/feature_names.txt"].decode().splitlines()
    assert len(names) == fitted.model[:-1].transform(fitted.problem.X.head(2)).shape[1]


# --- diagnostics ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def diagnosed(tmp_path_factory):
    """A classifier with stored diagnostics, laid out as the screening run stores them."""
    fitted = fit_sample("gss_wages.csv", "gender", LogisticRegression(max_iter=1000))
    X, y = fitted.problem.X, fitted.problem.y
    proba = fitted.model.predict_proba(X)
    diag = classification_diagnostics(fitted.manifest["model"], y, fitted.model.predict(X),
                                      proba, fitted.problem.classes)
    diag = type(diag)(**{**asdict(diag), "roc": diag.roc, "pr": diag.pr,
                         "per_class": diag.per_class,
                         "learning_curve": ((500, 0.61), (1000, 0.64), (3000, 0.66))})
    folder = tmp_path_factory.mktemp("run") / "diagnostics"
    folder.mkdir()
    (folder / f"{model_slug(diag.model)}.json").write_text(json.dumps(asdict(diag)))
    stored = find_diagnostics(folder, diag.model)
    path = write_bundle(fitted.model, fitted.manifest, folder.parent / "diag",
                        diagnostics=stored)
    return diag, members_of(path)


def test_diagnostic_plots_are_saved_as_text_with_their_numbers(diagnosed):
    diag, members = diagnosed
    manifest = json.loads(members[MANIFEST_MEMBER])
    summary = manifest["diagnostics"]
    assert summary["available"] is True
    # (no importances, no out-of-fold probabilities' fields: test_bundle_decisions has those)
    assert set(summary["plots"]) == set(PLOT_KINDS["classification"]) - {
        "importance", "dependence", "reliability", "cost", "explain"}
    for kind in summary["plots"]:
        text = members[f"diagnostics/plot-{kind}.txt"].decode()
        assert "\x1b[" not in text and len(text.splitlines()) > 3
    confusion = list(csv.reader(io.StringIO(members["diagnostics/confusion.csv"].decode())))
    assert confusion[0][1:] == list(diag.labels)
    assert [[int(v) for v in row[1:]] for row in confusion[1:]] == [list(r) for r in
                                                                    diag.confusion]
    roc = list(csv.DictReader(io.StringIO(members["diagnostics/roc.csv"].decode())))
    assert float(roc[0]["area"]) == pytest.approx(diag.roc[0].area)
    curve = members["diagnostics/learning_curve.csv"].decode().splitlines()
    assert curve == ["training_rows,cv_score", "500,0.61", "1000,0.64", "3000,0.66"]
    assert json.loads(members["diagnostics/diagnostics.json"])["model"] == diag.model
    assert summary["metrics"]["accuracy"] == pytest.approx(dict(diag.metrics)["accuracy"])
    assert "Out-of-fold: accuracy" in members["README.md"].decode()


def test_diagnostics_are_found_by_model_name_whatever_the_file_is_called(tmp_path):
    (tmp_path / "other.json").write_text(json.dumps({"model": "ridge", "task": "regression"}))
    (tmp_path / "broken.json").write_text("{not json")
    assert find_diagnostics(tmp_path, "ridge") == {"model": "ridge", "task": "regression"}
    assert find_diagnostics(tmp_path, "lasso") is None
    assert find_diagnostics(tmp_path / "missing", "ridge") is None
    assert model_slug("baseline (dummy)") == "baseline--dummy"


# --- input data against the schema -------------------------------------------------------------

def test_input_is_checked_against_the_schema(text_bundle):
    fitted, path, _ = text_bundle
    model, manifest = load_bundle(path)
    frame = fitted.frame.head(20)
    with pytest.raises(DataError, match=r"input lacks column\(s\) the model needs: title, year"):
        check_input(frame.drop(columns=["title", "year"]), manifest)
    words = frame.assign(length=["long"] * 20)
    with pytest.raises(DataError, match="wrong types in input: 'length' should hold numbers "
                                        r"\(int64 in training\) but holds text such as 'long'"):
        check_input(words, manifest)
    as_text = frame.assign(length=frame["length"].astype(str))  # numbers read as text: fine
    np.testing.assert_array_equal(predict_frame(model, as_text, manifest)["prediction"],
                                  predict_frame(model, frame, manifest)["prediction"])
    with pytest.raises(DataError, match="input has no rows"):
        check_input(frame.head(0), manifest)
    extra = frame.assign(notes="x", id=1)
    assert input_notes(extra, manifest) == [
        "ignoring 2 column(s) the model does not use: notes, id"]
    assert input_notes(frame, manifest) == []  # the target column is expected, not noted


# --- leftovers of killed writes -----------------------------------------------------------------

def test_a_new_write_removes_the_leftovers_of_dead_writers_only(tmp_path):
    fitted = fit_sample("car_prices.csv", "Price", Ridge(), rows=100)
    dead = tmp_path / ".b.thrifty.zip.999999999.abc.partial"  # no such pid
    alive = tmp_path / f".b.thrifty.zip.{os.getpid()}.def.partial"  # a write in progress
    other = tmp_path / ".c.thrifty.zip.999999999.ghi.partial"  # another bundle's
    for p in (dead, alive, other):
        p.write_bytes(b"half a zip")
    write_bundle(fitted.model, fitted.manifest, tmp_path / "b")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["b.thrifty.zip", alive.name, other.name])
    assert clear_stale_partials(tmp_path / "c.thrifty.zip") == [other]
    assert Path(tmp_path / "b.thrifty.zip").is_file()


def test_an_unwritable_destination_is_a_clear_data_error(tmp_path):
    import joblib

    from thrifty_tui.core.tasks.fits import export_bundle

    fitted = fit_sample("car_prices.csv", "Price", Ridge(), rows=100)
    joblib.dump(fitted.model, tmp_path / "model.joblib")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(DataError, match="cannot write the bundle .*a-file/sub/b: Not a directory"):
        export_bundle(str(tmp_path / "model.joblib"), fitted.manifest, str(blocker / "sub" / "b"))
    progress = tmp_path / "p.progress"
    path, n_files, n_bytes = export_bundle(str(tmp_path / "model.joblib"), fitted.manifest,
                                           str(tmp_path / "ok"), None, str(progress))
    assert Path(path).stat().st_size == n_bytes and n_files >= 8
    assert json.loads(progress.read_text()) == ["syncing to disk", 6, 7]  # the last stage
