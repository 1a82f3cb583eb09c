"""Bundles: what is written is what loads, anything altered is refused, writes are atomic."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn
from bundle_helpers import fit_sample
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression, Ridge

from thrifty_tui.core.store import bundle as bundle_module
from thrifty_tui.core.store.bundle import (
    CARD_MEMBER,
    FEATURES_MEMBER,
    JOBLIB_MEMBER,
    MANIFEST_MEMBER,
    MODEL_MEMBER,
    BundleError,
    load_bundle,
    predict_frame,
    write_bundle,
)
from thrifty_tui.core.errors import DataError


@pytest.fixture(scope="module")
def gss():
    """A logistic regression on the GSS sample (classification with categorical columns)."""
    fitted = fit_sample("gss_wages.csv", "gender", LogisticRegression(max_iter=1000))
    return fitted.frame, fitted.model, fitted.manifest


@pytest.fixture
def written(gss, tmp_path) -> Path:
    _, model, manifest = gss
    return write_bundle(model, manifest, tmp_path / "gender-linear")


def _rewrite(src: Path, dst: Path, change) -> None:
    """Copy a bundle member by member, letting ``change(name, data)`` alter or add members."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        members = {n: zin.read(n) for n in zin.namelist()}
        for name, data in change(members).items():
            zout.writestr(name, data)


# --- round trip -------------------------------------------------------------------------------

def test_round_trip_gives_the_same_predictions(gss, written):
    frame, model, manifest = gss
    assert written.name == "gender-linear.thrifty.zip"
    loaded, loaded_manifest = load_bundle(written)
    X = frame[[c["name"] for c in manifest["columns"]]]
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    for key in ("model", "task", "target", "metric", "cv_scores", "columns", "classes"):
        assert loaded_manifest[key] == manifest[key]
    assert loaded_manifest["format"] == 2
    assert loaded_manifest["versions"]["scikit-learn"] == sklearn.__version__
    with zipfile.ZipFile(written) as zf:
        names = set(zf.namelist())
        assert {CARD_MEMBER, MANIFEST_MEMBER, MODEL_MEMBER, JOBLIB_MEMBER,
                FEATURES_MEMBER} <= names
        # Every file but the manifest is listed with its SHA-256, and nothing else is.
        assert set(loaded_manifest["files"]) == names - {MANIFEST_MEMBER}
        for name, digest in loaded_manifest["files"].items():
            assert hashlib.sha256(zf.read(name)).hexdigest() == digest
        card = zf.read(CARD_MEMBER).decode()
        # The joblib copy is the same model, for trusted local use.
        copy = joblib.load(io.BytesIO(zf.read(JOBLIB_MEMBER)))
    assert card.startswith("# LogisticRegression for `gender`")
    assert f"{manifest['cv_mean']:.4f}" in card
    assert np.array_equal(copy.predict_proba(X), model.predict_proba(X))


def test_predict_frame_one_row_per_input_row_in_order(gss, written):
    frame, model, manifest = gss
    loaded, loaded_manifest = load_bundle(written)
    # Extra columns (the target too) and another column order do not matter.
    shuffled = frame[list(reversed(frame.columns))].iloc[::-1].reset_index(drop=True)
    out = predict_frame(loaded, shuffled, loaded_manifest)
    assert list(out.columns) == ["prediction", "proba_Female", "proba_Male"]
    assert len(out) == len(frame)
    X = shuffled[[c["name"] for c in manifest["columns"]]]
    assert out["prediction"].tolist() == model.predict(X).tolist()
    np.testing.assert_allclose(out[["proba_Female", "proba_Male"]].sum(axis=1), 1.0)
    picked = np.where(out["proba_Male"] > out["proba_Female"], "Male", "Female")
    assert (picked == out["prediction"]).all()


def test_regression_bundle_has_only_a_prediction_column(tmp_path):
    fitted = fit_sample("car_prices.csv", "Price", Ridge())
    path = write_bundle(fitted.model, fitted.manifest, tmp_path / "price.zip")
    assert path == tmp_path / "price.zip"  # a .zip name is kept as given
    loaded, manifest = load_bundle(path)
    out = predict_frame(loaded, fitted.frame, manifest)
    assert list(out.columns) == ["prediction"]
    np.testing.assert_array_equal(out["prediction"], fitted.model.predict(fitted.problem.X))


# --- refusing what was altered ----------------------------------------------------------------

def test_a_changed_byte_in_the_model_member_is_refused(written, tmp_path):
    def flip(members):
        data = bytearray(members[MODEL_MEMBER])
        data[len(data) // 2] ^= 0x01
        return {**members, MODEL_MEMBER: bytes(data)}

    bad = tmp_path / "flipped.zip"
    _rewrite(written, bad, flip)  # a valid zip whose member no longer matches its hash
    with pytest.raises(BundleError, match="model.skops does not match its SHA-256"):
        load_bundle(bad)


def test_a_changed_byte_in_the_file_is_refused(written, tmp_path):
    with zipfile.ZipFile(written) as zf:
        info = zf.getinfo(MODEL_MEMBER)
    raw = bytearray(written.read_bytes())
    raw[info.header_offset + 100 + info.compress_size // 2] ^= 0xFF
    bad = tmp_path / "raw-flipped.zip"
    bad.write_bytes(bytes(raw))
    with pytest.raises(BundleError):
        load_bundle(bad)


def test_an_added_member_is_refused(written, tmp_path):
    bad = tmp_path / "added.zip"
    _rewrite(written, bad, lambda members: {**members, "extra.py": b"print('hi')"})
    with pytest.raises(BundleError, match="files its manifest does not list: extra.py"):
        load_bundle(bad)


def test_a_removed_member_is_refused(written, tmp_path):
    bad = tmp_path / "removed.zip"
    _rewrite(written, bad, lambda m: {k: v for k, v in m.items() if k != "README.md"})
    with pytest.raises(BundleError, match="missing README.md"):
        load_bundle(bad)


def test_a_manifest_that_is_not_json_is_refused(written, tmp_path):
    bad = tmp_path / "badjson.zip"
    _rewrite(written, bad, lambda m: {**m, MANIFEST_MEMBER: b"{not json"})
    with pytest.raises(BundleError, match="not valid JSON"):
        load_bundle(bad)


@pytest.mark.parametrize("content", [b"", b"just text, not a zip\n", b"PK\x03\x04broken"])
def test_not_a_bundle_is_refused(tmp_path, content):
    path = tmp_path / "thing.zip"
    path.write_bytes(content)
    with pytest.raises(BundleError):
        load_bundle(path)


def test_a_zip_without_manifest_is_refused(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("model.joblib", b"123")
    with pytest.raises(BundleError, match="no manifest.json"):
        load_bundle(path)


def test_missing_bundle_is_a_bundle_error(tmp_path):
    with pytest.raises(BundleError, match="no bundle at"):
        load_bundle(tmp_path / "nope.zip")


def test_missing_columns_in_predict_input_are_a_data_error(gss, written):
    frame, _, _ = gss
    loaded, manifest = load_bundle(written)
    with pytest.raises(DataError, match=r"input lacks column\(s\) the model needs: age, educcat"):
        predict_frame(loaded, frame.drop(columns=["age", "educcat"]), manifest)


# --- the write itself -------------------------------------------------------------------------

def test_write_leaves_no_partial_files_and_a_readable_mode(gss, tmp_path):
    _, model, manifest = gss
    old = os.umask(0o022)
    try:
        path = write_bundle(model, manifest, tmp_path / "b")
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.thrifty.zip"]
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600


def test_failed_write_keeps_the_old_bundle_and_leaves_no_partial(gss, tmp_path, monkeypatch):
    _, model, manifest = gss
    path = write_bundle(model, manifest, tmp_path / "b")
    before = path.read_bytes()

    def fail_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bundle_module.os, "replace", fail_replace)
    changed = {**manifest, "model": "something else"}
    with pytest.raises(OSError, match="No space left"):
        write_bundle(model, changed, tmp_path / "b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.thrifty.zip"]
    assert path.read_bytes() == before
    assert load_bundle(path)[1]["model"] == "LogisticRegression"


def test_unpicklable_model_writes_nothing(gss, tmp_path):
    _, _, manifest = gss
    with pytest.raises(Exception):  # noqa: B017 - pickle raises one of several types
        write_bundle(lambda x: x, manifest, tmp_path / "b")
    assert list(tmp_path.iterdir()) == []


# --- fuzz: a damaged bundle is refused with BundleError or loads the very same model ---------

@pytest.fixture(scope="module")
def small_bundle(tmp_path_factory):
    fitted = fit_sample("car_prices.csv", "Price", Ridge(), rows=200)
    frame, model, problem = fitted.frame, fitted.model, fitted.problem
    path = write_bundle(model, fitted.manifest,
                        tmp_path_factory.mktemp("fuzz") / "small.zip")
    return path.read_bytes(), frame, model.predict(problem.X)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_flipped_byte_is_refused_or_harmless(small_bundle, tmp_path, data):
    raw, frame, expected = small_bundle
    position = data.draw(st.integers(0, len(raw) - 1), label="position")
    mask = data.draw(st.integers(1, 255), label="mask")
    damaged = bytearray(raw)
    damaged[position] ^= mask
    path = tmp_path / "damaged.zip"
    path.write_bytes(bytes(damaged))
    try:
        model, manifest = load_bundle(path)
    except BundleError as err:
        assert "\n" not in str(err)
        return
    # Only zip bookkeeping (timestamps, version fields) can change without being noticed.
    assert np.array_equal(predict_frame(model, frame, manifest)["prediction"], expected)
    assert manifest["model"] == "Ridge" and manifest["target"] == "Price"


def test_bundle_error_is_a_data_error():
    # The CLI maps DataError to exit 2: a bad bundle is bad input, not an internal error.
    assert issubclass(BundleError, DataError)
    frame = pd.DataFrame({"a": [1]})
    with pytest.raises(DataError):
        predict_frame(None, frame, {"columns": [{"name": "b"}], "task": "regression"})


def test_predict_frame_with_many_classes_builds_one_frame():
    # One proba column inserted at a time made pandas warn (a fragmented frame) past 100.
    import warnings

    from sklearn.tree import DecisionTreeClassifier

    frame = pd.DataFrame({"x": np.arange(300, dtype=float), "y": [f"c{i % 150}" for i in range(300)]})
    model = DecisionTreeClassifier(random_state=0).fit(frame[["x"]], frame["y"])
    manifest = {"task": "classification", "target": "y",
                "columns": [{"name": "x", "dtype": "float64", "role": "numeric"}]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = predict_frame(model, frame, manifest)
    assert list(out.columns) == ["prediction"] + [f"proba_{c}" for c in model.classes_]
    assert out["prediction"].tolist() == frame["y"].tolist()
    np.testing.assert_allclose(out.iloc[:, 1:].sum(axis=1), 1.0)
