"""Wide and long data: permutation importances within a time allowance (300+ columns), and
no character n-grams for long documents."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from thrifty_tui.core.learn.diagnostics import diagnose, render_text
from thrifty_tui.core.learn.importances import (
    importance_seconds,
    importances_file,
    permutation_importances,
)
from thrifty_tui.core.learn.screening import evaluate_fold, make_problem
from thrifty_tui.core.learn.zoo import load_zoo, spec_by_name


def _wide(n_rows: int = 300, n_cols: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(n_rows, n_cols)),
                         columns=[f"f{i}" for i in range(n_cols)])
    frame["y"] = 2 * frame["f0"] + rng.normal(scale=0.3, size=n_rows)
    return frame


@pytest.fixture(scope="module")
def wide_problem():
    return make_problem(_wide(), "y", task="regression", seed=0)


def _fitted_ridge(problem):
    from thrifty_tui.core.learn.screening import build_model

    train_idx, test_idx = problem.folds[0]
    model = build_model(spec_by_name("ridge", load_zoo(None)), problem)
    model.fit(problem.X.iloc[train_idx], problem.y.iloc[train_idx])
    return model, problem.X.iloc[test_idx], problem.y.iloc[test_idx]


def test_allowance_is_a_second_or_half_the_fit():
    assert importance_seconds(0.1) == 1.0
    assert importance_seconds(6.0) == 3.0


def test_importances_over_the_allowance_are_not_computed_and_say_why(wide_problem):
    model, X, y = _fitted_ridge(wide_problem)
    pairs, note = permutation_importances(model, X, y, "r2", max_seconds=0.0)
    assert pairs == ()
    assert note.startswith("not computed: 400 columns, about ")


def test_importances_within_the_allowance_are_the_usual_ones():
    model, X, y = _fitted_ridge(make_problem(_wide(n_cols=12), "y", task="regression", seed=0))
    capped = permutation_importances(model, X, y, "r2", max_seconds=1e6)
    free = permutation_importances(model, X, y, "r2")
    assert capped == free  # same 3 repeats, same seed
    pairs, note = capped
    assert note == "" and pairs[0][0] == "f0" and pairs[0][1] > 1.0


def test_a_wide_fold_saves_the_reason_and_diagnostics_do_not_refit(wide_problem, tmp_path,
                                                                   monkeypatch):
    # 400 columns x 3 shuffles of a ~10 ms scoring is several seconds: over the 1 s allowed
    # for a ridge fit of a fraction of a second, so the fold returns without them.
    spec = spec_by_name("ridge", load_zoo(None))
    oof = [str(tmp_path / f"fold{k}.npz") for k in range(len(wide_problem.folds))]
    for k, path in enumerate(oof):
        result = evaluate_fold(spec, wide_problem, 0, k, path)
        assert result.status == "done"
    with np.load(importances_file(oof[0])) as data:
        assert len(data["names"]) == 0
        assert str(data["note"]).startswith("not computed: 400 columns")

    from thrifty_tui.core.learn import diagnostics

    def no_refit(*args, **kwargs):
        raise AssertionError("the diagnostics computed importances again")

    monkeypatch.setattr(diagnostics, "permutation_importances", no_refit)
    diag = diagnose(spec, wide_problem, oof)
    assert diag.importances == ()
    assert "not computed: 400 columns" in diag.importance_kind
    assert "ridge: importances not computed" in render_text(diag, "importance")


def _documents(n: int, words: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    vocab = np.array(["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa"])
    y = rng.integers(0, 2, n)
    docs = [" ".join(rng.choice(vocab, words)) + (" good" if v else " bad") for v in y]
    return pd.DataFrame({"doc": docs, "y": y})


def test_long_documents_get_word_ngrams_only_and_titles_keep_characters():
    from thrifty_tui.core.learn.features import linear_features
    from thrifty_tui.core.records import Role
    from thrifty_tui.core.data.schema import LONG_TEXT_CHARS, infer_schema

    def vectorizers(frame: pd.DataFrame) -> list[str]:
        schema = infer_schema(frame, target="y")
        info = next(c for c in schema if c.name == "doc")
        assert info.role == Role.TEXT
        text = {n: t for n, t, _ in linear_features(schema).transformers}["text:doc"]
        tfidf = text.named_steps["tfidf"]
        parts = tfidf.transformer_list if hasattr(tfidf, "transformer_list") else [("words",
                                                                                     tfidf)]
        return [f"{name}:{vec.analyzer}" for name, vec in parts]

    long_docs = _documents(200, 120)
    assert long_docs["doc"].str.len().mean() > LONG_TEXT_CHARS
    assert vectorizers(long_docs) == ["words:word"]
    titles = _documents(200, 4)
    assert titles["doc"].str.len().mean() < LONG_TEXT_CHARS
    assert vectorizers(titles) == ["words:word", "chars:char_wb"]


def test_a_linear_model_on_long_documents_learns_their_words():
    from thrifty_tui.core.learn.screening import evaluate

    problem = make_problem(_documents(300, 120), "y", task="classification", seed=0)
    result = evaluate(spec_by_name("logistic regression", load_zoo(None)), problem)
    assert result.status == "done" and result.mean > 0.95


def test_confusion_text_fits_the_side_pane_with_many_classes():
    from thrifty_tui.core.learn.diagnostics import classification_diagnostics, confusion_text

    labels = [f"c{i}" for i in range(150)]
    y = np.array(labels * 4)
    pred = np.roll(y, 1)
    diag = classification_diagnostics("m", y, pred, None, tuple(sorted(labels)))
    text = confusion_text(diag, 6, max_width=34)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 34
    assert lines[0].split()[-2:] == ["c0", "c1"]  # two classes fit beside the row labels
    assert lines[-1] == "(148 more classes not shown)"
    wide = confusion_text(diag, 6)  # no width: six classes, as before
    assert wide.splitlines()[-1] == "(144 more classes not shown)"
