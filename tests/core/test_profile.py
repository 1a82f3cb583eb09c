"""Profiles: roles, missing values, target balance, and warnings worth reading."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

from thrifty_tui.core.data import profile as profile_module
from thrifty_tui.core.data.tables import DataError
from thrifty_tui.core.data.profile import leakage_score, profile
from thrifty_tui.core.records import Role
from thrifty_tui.core.data.schema import infer_role

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
from helpers import BAD, SHARED, data_cli


def _kinds(result) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for w in result.warnings:
        out.setdefault(w.kind, set()).add(w.column)
    return out


@pytest.fixture(scope="module")
def movies() -> Path:
    path = SHARED / "ggplot2movies_movies.csv.gz"
    if not path.exists():
        pytest.skip("shared data not available")
    return path


def test_movies_profile(movies):
    result = profile(movies, target="Comedy")
    assert result.rows == 58_788 and result.rows_exact
    assert result.profiled_rows == 50_000 and result.method.startswith("random sample")
    roles = {c.name: c.role for c in result.columns}
    assert roles["rownames"] == Role.ID and roles["title"] == Role.TEXT
    assert roles["mpaa"] == Role.CATEGORICAL and roles["budget"] == Role.NUMERIC
    assert roles["Comedy"] == Role.TARGET
    budget = result.column("budget")
    assert 0.9 < budget.missing_fraction < 0.95 and budget.minimum >= 0
    assert len(result.column("title").examples) == 3
    t = result.target
    assert t.task == "classification" and t.exact and t.missing_rows == 0
    assert dict(t.classes) == {"0": 41_517, "1": 17_271}  # over every row, not the sample
    kinds = _kinds(result)
    assert kinds["id-like"] == {"rownames"} and kinds["high-missing"] == {"budget", "mpaa"}
    assert "leakage" not in kinds


def test_missing_target_rows_are_counted_and_said():
    path = SHARED / "stevedata_gss_wages.csv.gz"
    if not path.exists():
        pytest.skip("shared data not available")
    result = profile(path, target="realrinc")
    assert result.target.task == "regression"
    assert result.target.missing_rows == 23_810 and result.target.exact
    warning = next(w for w in result.warnings if w.kind == "missing-target")
    assert "23,810 rows (38.6%) have no 'realrinc'" in warning.message


def test_leakage_suspects_are_flagged_and_honest_features_are_not():
    data = load_breast_cancer(as_frame=True).frame
    rng = np.random.default_rng(0)
    frame = data.assign(
        diagnosis_code=data["target"].map({0: "M", 1: "B"}),  # the label, renamed: a leak
        leaky_number=data["target"] * 100 + rng.normal(0, 1, len(data)),  # a leak, as a number
        patient_id=[f"P{i:05d}" for i in range(len(data))],  # an id: unseen values, no leak
    )
    result = profile(frame, target="target")
    kinds = _kinds(result)
    assert kinds["leakage"] == {"diagnosis_code", "leaky_number"}
    assert "patient_id" in kinds["id-like"]
    message = next(w.message for w in result.warnings if w.column == "diagnosis_code")
    assert "predicts 'target' almost perfectly" in message and "balanced accuracy" in message


def test_user_roles_redo_the_role_warnings_without_the_data():
    """Roles chosen on the Load screen change the warnings that follow from a role; the
    data is not read again (the profile alone holds what is needed)."""
    data = load_breast_cancer(as_frame=True).frame
    frame = data.assign(
        diagnosis_code=data["target"].map({0: "M", 1: "B"}),
        patient_id=[f"P{i:05d}" for i in range(len(data))],
        ward=["A"] * len(data),
        note=[None if i % 3 else f"n{i % 5}" for i in range(len(data))],  # 67 % missing
    )
    result = profile(frame, target="target")
    kinds = _kinds(result)
    assert kinds["id-like"] == {"patient_id"} and kinds["constant"] == {"ward"}
    assert kinds["leakage"] == {"diagnosis_code"} and kinds["high-missing"] == {"note"}
    assert result.with_roles({}) is result

    changed = result.with_roles({"patient_id": "categorical", "ward": Role.NUMERIC,
                                 "diagnosis_code": "id-like", "note": "id-like",
                                 "target": "numeric", "not a column": "text"})
    roles = {c.name: c.role for c in changed.columns}
    assert roles["patient_id"] == Role.CATEGORICAL and roles["ward"] == Role.NUMERIC
    assert roles["diagnosis_code"] == Role.ID and roles["target"] == Role.TARGET
    kinds = _kinds(changed)
    # Their own id-like / constant warnings go; a leak kept out of the features is no longer
    # one; a column set to id-like says so (and not that it looks like a row identifier).
    assert kinds["id-like"] == {"diagnosis_code", "note"} and "constant" not in kinds
    assert "leakage" not in kinds and "high-missing" not in kinds
    said = {w.column: w.message for w in changed.warnings}
    assert said["diagnosis_code"] == ("'diagnosis_code' is set to id-like; it is not used as a "
                                      "feature")
    # Target warnings and the other columns' warnings stay, in the profile's order.
    assert [w for w in changed.warnings if w.kind not in ("id-like",)] == \
        [w for w in result.warnings if w.column not in
         {"patient_id", "ward", "diagnosis_code", "note"}]
    # The Load screen applies all the user's roles to the worker's profile each time: a column
    # whose choice is undone gets its warnings back, the leak included.
    back = result.with_roles({"patient_id": "categorical"})
    assert _kinds(back)["leakage"] == {"diagnosis_code"} and "id-like" not in _kinds(back)
    # The inferred role, chosen again, changes nothing.
    assert result.with_roles({"diagnosis_code": result.column("diagnosis_code").role}) is result


def test_regression_leak_and_iris_is_not_a_leak():
    diabetes = load_diabetes(as_frame=True).frame
    diabetes["target_in_dollars"] = diabetes["target"] * 1_000 + 7
    assert _kinds(profile(diabetes, target="target"))["leakage"] == {"target_in_dollars"}
    iris = load_iris(as_frame=True).frame  # petal sizes separate the species well, not perfectly
    assert "leakage" not in _kinds(profile(iris, target="target"))


def test_leakage_score_values():
    y = pd.Series(["a", "b"] * 200)
    assert leakage_score(y.map({"a": 1, "b": 2}), y, "classification") == 1.0
    ids = pd.Series([f"id{i}" for i in range(400)])
    assert leakage_score(ids, y, "classification") == pytest.approx(0.5, abs=0.05)
    assert np.isnan(leakage_score(y[:5], y[:5], "classification"))


def test_constant_datetime_and_target_warnings():
    frame = pd.DataFrame({
        "same": ["x"] * 60, "empty": [None] * 60,
        "day": pd.date_range("2024-01-01", periods=60).strftime("%Y-%m-%d"),
        "v": np.arange(60) % 7, "y": ["only"] * 60,
    })
    result = profile(frame, target="y")
    kinds = _kinds(result)
    assert kinds["constant"] == {"same", "empty"} and kinds["datetime"] == {"day"}
    dates = next(w.message for w in result.warnings if w.kind == "datetime")
    assert "year, month, day, weekday and hour" in dates  # date parts are features
    assert kinds["one-class"] == {"y"}
    assert result.column("day").role == Role.DATETIME
    empty = profile(frame.assign(y=None), target="y")
    assert empty.target.task == "" and "target-empty" in _kinds(empty)


def test_datetime_and_id_roles():
    assert infer_role(pd.Series(pd.date_range("2020-01-01", periods=10))) == Role.DATETIME
    assert infer_role(pd.Series([f"2020-01-0{i % 9 + 1} 10:00" for i in range(50)])) == \
        Role.DATETIME
    assert infer_role(pd.Series(["31/12/2020", "01/01/2021"] * 30)) == Role.DATETIME
    assert infer_role(pd.Series(["a", "b"] * 30)) == Role.CATEGORICAL
    assert infer_role(pd.Series(np.arange(100), name="customer_id")) == Role.ID
    assert infer_role(pd.Series(np.arange(5000), name="n")) == Role.ID  # a row counter
    assert infer_role(pd.Series(np.arange(100), name="year")) == Role.NUMERIC


def test_big_files_are_profiled_from_a_streamed_sample(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=20_000),
                          "y": rng.choice(["p", "q"], size=20_000, p=[0.9, 0.1])})
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    monkeypatch.setattr(profile_module, "FULL_LOAD_BYTES", 1_000)
    result = profile(path, target="y", sample_rows=2_000)
    assert result.rows == 20_000 and result.rows_exact and result.profiled_rows == 2_000
    counts = frame["y"].value_counts().to_dict()
    assert dict(result.target.classes) == counts and result.target.exact
    quick = profile(path, target="y", sample_rows=2_000, quick=True)
    assert not quick.rows_exact and quick.method == "first 2,000 rows"
    assert 15_000 < quick.rows < 25_000
    assert not quick.target.exact


def test_thousands_of_columns_profile_quickly():
    result = profile(BAD / "many_columns.csv", target="x")
    assert len(result.columns) == 3001 and result.seconds < 20


def test_profile_is_plain_data_and_roles_can_change(movies):
    result = profile(movies, target="Comedy", sample_rows=5_000)
    again = json.loads(json.dumps(result.to_dict()))
    assert again["rows"] == 58_788 and again["target"]["classes"][0]["label"] == "0"
    changed = result.with_role("year", Role.CATEGORICAL)
    assert changed.column("year").role == Role.CATEGORICAL
    assert result.column("year").role == Role.NUMERIC


def test_unknown_target_is_a_data_error():
    with pytest.raises(DataError, match="no column named 'nope'"):
        profile(BAD / "ragged_some.csv", target="nope")


def test_cli_profile_text_and_json(movies, capsys):
    assert data_cli(["profile", str(movies), "--target", "Comedy", "--sample-rows", "5000"]) == 0
    out = capsys.readouterr().out
    assert "58,788 rows x 25 columns" in out and "target Comedy: classification" in out
    assert "looks like a row identifier" in out
    assert data_cli(["profile", str(movies), "--json", "--quick", "--sample-rows", "1000"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["rows_exact"] is False and d["profiled_rows"] == 1000

