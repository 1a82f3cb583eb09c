"""`inspect`, `predict` and `export-mlflow` on bundles: checks shown, refusals as one line + exit 2."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from bundle_helpers import edit_manifest, fit_sample, rewrite

from thrifty_tui.cli.commands import main
from thrifty_tui.config import SAMPLE_DIR
from thrifty_tui.core.store.bundle import MODEL_MEMBER, load_bundle, write_bundle

MOVIES = SAMPLE_DIR / "movies.csv"


def _one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("thrifty-tui: error: ") and "Traceback" not in stderr
    return lines[0]


@pytest.fixture(scope="module")
def text_model(tmp_path_factory):
    """A free-text classifier (TF-IDF on titles) on 300 movies, its bundle and its data."""
    fitted = fit_sample("movies.csv", "Comedy", LogisticRegression(max_iter=1000), rows=300)
    folder = tmp_path_factory.mktemp("cli")
    data = folder / "movies-300.csv"
    fitted.frame.to_csv(data, index=False)
    return fitted, write_bundle(fitted.model, fitted.manifest, folder / "comedy"), data


# --- inspect ------------------------------------------------------------------------------------

def test_inspect_shows_the_manifest_and_the_checks(text_model, capsys):
    _, bundle, _ = text_model
    assert main(["inspect", str(bundle)]) == 0
    out = capsys.readouterr().out
    assert "model:    LogisticRegression — classification of 'Comedy', classes 0, 1" in out
    assert "title (text, str)" in out and "fingerprint sha256:test" in out
    assert "files match their SHA-256" in out and "allowlist" in out
    assert "warning" not in out


def test_inspect_json_is_one_object_with_checks_and_manifest(text_model, capsys):
    _, bundle, _ = text_model
    assert main(["inspect", str(bundle), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["warnings"] == []
    assert report["files_checked"] == len(report["manifest"]["files"])
    assert report["manifest"]["target"] == "Comedy"
    versions = report["versions"]["scikit-learn"]
    assert versions["bundle"] == versions["here"]


def _untrusted(fitted):
    evil = Pipeline([("call", FunctionTransformer(func=print)), *fitted.model.steps])
    return lambda m: {**m, MODEL_MEMBER: sio.dumps(evil)}


@pytest.fixture(scope="module")
def refused(text_model, tmp_path_factory):
    """One bundle per kind of tampering, each with the message it must be refused with."""
    fitted, bundle, _ = text_model
    folder = tmp_path_factory.mktemp("refused")

    def flip(members):
        data = bytearray(members["lexicons/categories.json"])
        data[10] ^= 0x20
        return {**members, "lexicons/categories.json": bytes(data)}

    return {
        "tampered": (rewrite(bundle, folder / "t.zip", flip),
                     "lexicons/categories.json does not match its SHA-256"),
        "added": (rewrite(bundle, folder / "a.zip", lambda m: {**m, "run.sh": b"rm -rf ~"}),
                  "holds files its manifest does not list: run.sh"),
        "untrusted": (rewrite(bundle, folder / "u.zip", _untrusted(fitted), rehash=True),
                      "holds untrusted type(s) builtins.print"),
        "zip slip": (rewrite(bundle, folder / "z.zip", lambda m: {**m, "../x.py": b"1"},
                             rehash=True), "member '../x.py' would escape the folder"),
        "version": (edit_manifest(bundle, folder / "v.zip", lambda m: m["versions"].update(
            {"scikit-learn": "0.24.2"})), "scikit-learn 0.24.2, another major version"),
    }


@pytest.mark.parametrize("command", ["inspect", "predict"])
def test_tampered_bundles_exit_2_with_their_own_line(refused, text_model, capsys, command):
    _, _, data = text_model
    lines = set()
    for case, (path, message) in refused.items():
        argv = [command, str(path)] + ([str(data)] if command == "predict" else [])
        assert main(argv) == 2, case
        captured = capsys.readouterr()
        line = _one_error_line(captured.err)
        assert message in line, (case, line)
        assert captured.out == ""  # nothing predicted, nothing shown as if fine
        lines.add(line)
    assert len(lines) == len(refused)


# --- predict ------------------------------------------------------------------------------------

def test_predict_uses_the_skops_model_and_never_unpickles(text_model, tmp_path, capsys,
                                                          monkeypatch):
    fitted, bundle, data = text_model

    def no_pickles(*args, **kwargs):
        raise AssertionError("predict must not unpickle anything")

    monkeypatch.setattr(pickle, "loads", no_pickles)
    monkeypatch.setattr(pickle, "load", no_pickles)
    monkeypatch.setattr("joblib.load", no_pickles)
    out = tmp_path / "p.csv"
    assert main(["predict", str(bundle), str(data), "-o", str(out)]) == 0
    assert capsys.readouterr().err == ""
    got = pd.read_csv(out, dtype={"prediction": str})
    X = fitted.problem.X
    assert got["prediction"].tolist() == fitted.model.predict(X).tolist()
    np.testing.assert_allclose(got[["proba_0", "proba_1"]], fitted.model.predict_proba(X))


def test_predict_checks_the_input_against_the_schema(text_model, tmp_path, capsys):
    _, bundle, data = text_model
    frame = pd.read_csv(data)
    cases = {
        "missing": (frame.drop(columns=["title", "mpaa"]),
                    "input lacks column(s) the model needs: title, mpaa"),
        "wrong type": (frame.assign(votes="many"),
                       ("'votes' should hold numbers (int64 in training) but holds text "
                        "such as 'many'")),
    }
    for case, (bad, message) in cases.items():
        path = tmp_path / f"{case}.csv"
        bad.to_csv(path, index=False)
        assert main(["predict", str(bundle), str(path)]) == 2
        assert message in _one_error_line(capsys.readouterr().err), case
    extra = tmp_path / "extra.csv"
    frame.assign(reviewer="ann").to_csv(extra, index=False)
    assert main(["predict", str(bundle), str(extra), "-o", str(tmp_path / "p.csv")]) == 0
    assert capsys.readouterr().err == ("thrifty-tui: note: ignoring 1 column(s) the model does "
                                       "not use: reviewer\n")


# --- MLflow -------------------------------------------------------------------------------------

def test_export_mlflow_without_mlflow_says_which_extra(text_model, tmp_path, capsys,
                                                       monkeypatch):
    _, bundle, _ = text_model
    for name in ("mlflow", "mlflow.sklearn", "mlflow.models", "mlflow.types"):
        monkeypatch.setitem(sys.modules, name, None)  # import fails as if not installed
    assert main(["export-mlflow", str(bundle), str(tmp_path / "m")]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "pip install 'thrifty-tui[mlflow]'" in line
    assert not (tmp_path / "m").exists()


def test_export_mlflow_loads_in_mlflow_and_predicts_the_same(text_model, tmp_path, capsys):
    mlflow_pyfunc = pytest.importorskip("mlflow.pyfunc", reason="the mlflow extra is not "
                                                                "installed")
    fitted, bundle, _ = text_model
    target = tmp_path / "comedy-mlflow"
    assert main(["export-mlflow", str(bundle), str(target)]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.strip() == f"MLflow model: {target}"
    mlmodel = (target / "MLmodel").read_text()
    assert "serialization_format: skops" in mlmodel and "signature:" in mlmodel
    assert "thrifty_tui.core.learn.features.TextColumn" in mlmodel  # named for skops, explicitly
    requirements = (target / "requirements.txt").read_text()
    assert "scikit-learn==" in requirements and "skops==" in requirements
    assert (target / "input_example.json").is_file()
    assert not list(tmp_path.glob(".*.partial"))

    loaded = mlflow_pyfunc.load_model(str(target))
    X = fitted.problem.X
    model, _ = load_bundle(bundle)
    np.testing.assert_array_equal(np.asarray(loaded.predict(X)), model.predict(X))

    assert main(["export-mlflow", str(bundle), str(target)]) == 2  # never over a model
    assert "already exists" in _one_error_line(capsys.readouterr().err)
