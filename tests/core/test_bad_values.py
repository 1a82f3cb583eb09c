"""Bad values are bad input, not internal errors: infinities and overflow, more classes than
the folds can hold, text columns with no word seen twice."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from thrifty_tui.core.data.profile import profile
from thrifty_tui.core.data.tables import load_table
from thrifty_tui.core.learn.screening import make_problem, rung_folds


def _with_infinities(path, target_too: bool = False):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    frame["y"] = 2 * frame["a"] + rng.normal(size=300)
    frame.loc[5, "a"], frame.loc[7, "b"], frame.loc[9, "a"] = np.inf, -np.inf, 1e308
    if target_too:
        frame.loc[3, "y"], frame.loc[4, "y"] = np.inf, -1e308
    frame.to_csv(path, index=False)
    return path


def test_infinities_and_overflow_are_read_as_missing_with_a_note(tmp_path):
    table = load_table(_with_infinities(tmp_path / "inf.csv", target_too=True))
    frame = table.frame
    assert frame["a"].isna().sum() == 2 and frame["b"].isna().sum() == 1
    assert frame["y"].isna().sum() == 2
    assert np.isfinite(frame[["a", "b", "y"]].dropna().to_numpy()).all()
    note = next(n for n in table.notices if "infinite" in n)
    assert "'a'" in note and "'b'" in note and "'y'" in note


def test_a_regression_target_with_infinities_drops_those_rows(tmp_path):
    frame = load_table(_with_infinities(tmp_path / "inf.csv", target_too=True)).frame
    problem = make_problem(frame, "y", task="regression")
    assert len(problem.y) == 298 and np.isfinite(problem.y).all()
    assert any("dropped 2 rows" in n for n in problem.notices)


def test_profile_of_infinities_warns_nothing(tmp_path):
    path = _with_infinities(tmp_path / "inf.csv", target_too=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = profile(str(path), target="y")
    assert result.rows == 300


def test_a_thousand_classes_of_eight_rows_race_only_where_every_class_fits():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=8000), "b": rng.normal(size=8000),
                          "y": np.repeat([f"c{i}" for i in range(1000)], 8)})
    problem = make_problem(frame, "y", task="classification")
    assert len(problem.folds) == 5
    for rung in range(len(problem.rungs)):  # each rung has folds every class can be split in
        folds = rung_folds(problem, rung)
        assert len(folds) >= 2
    assert min(problem.rungs) >= 2 * 1000


def test_a_text_column_of_unique_tokens_falls_back_with_a_note():
    rng = np.random.default_rng(0)
    tokens = [f"k{rng.integers(1e12):x} q{i}z{rng.integers(1e9):x}" for i in range(400)]
    frame = pd.DataFrame({"tok": tokens, "n": rng.normal(size=400)})
    frame["y"] = np.where(frame["n"] > 0, "p", "q")
    problem = make_problem(frame, "y", task="classification", roles={"tok": "text"})
    roles = {c.name: c.role.value for c in problem.schema}
    assert roles.get("tok") != "text"
    assert any("'tok'" in n and "text" in n for n in problem.notices)


@pytest.mark.parametrize("values", [["a b", "c d", "e f", "g h"] * 10])
def test_text_features_never_fail_for_lack_of_repeated_words(values):
    """In a fold, a word seen twice overall may be seen once: the features still fit."""
    from thrifty_tui.core.learn.features import _text_pipeline

    unique = [f"{v} w{i}" for i, v in enumerate(values)]
    for dense in (None, 10):
        out = _text_pipeline(dense).fit_transform(pd.DataFrame({"t": unique[:3]}))
        assert out.shape[0] == 3
