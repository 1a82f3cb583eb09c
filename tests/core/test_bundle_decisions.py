"""A bundle keeps what was decided (issue 23): the cost matrix and its threshold, the
calibration map when it helped, the background sample; `predict` applies them, `--explain K`
says why, and the model card tells. Real fits on HMDA's mortgage denials; the diagnostics
are those the app computes from out-of-fold probabilities."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline

from thrifty_tui.cli.commands import main
from thrifty_tui.core.data.tables import load_table
from thrifty_tui.core.learn.calibration import apply_calibration
from thrifty_tui.core.learn.diagnostics import classification_diagnostics, with_probability_fields
from thrifty_tui.core.learn.explain import linear_contributions
from thrifty_tui.core.learn.features import categorical_mask, linear_features, tree_features
from thrifty_tui.core.learn.screening import make_problem
from thrifty_tui.core.store.bundle import open_bundle, write_bundle
from thrifty_tui.core.store.bundle_report import model_slug
from thrifty_tui.core.store.decide import (
    BACKGROUND_FILE,
    BACKGROUND_MEMBER,
    bundle_decisions,
    write_background,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bundle_helpers import manifest_for

DATA = Path("/work/shared/data/suite/AER_HMDA.csv.gz")
COST = {"false_positive": 1.0, "false_negative": 10.0}


@pytest.fixture(scope="module")
def hmda():
    frame = load_table(DATA).frame
    return frame, make_problem(frame, "deny", seed=0)


def _export(problem, model, name: str, folder: Path, cost=None, calibrate=True) -> Path:
    """What the app's export does: diagnostics from out-of-fold probabilities (and a
    baseline's), the run's background sample, the decisions, the bundle."""
    diagnostics = folder / "diagnostics"
    diagnostics.mkdir(parents=True, exist_ok=True)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    proba = cross_val_predict(model, problem.X, problem.y, cv=folds, method="predict_proba")
    pred = np.asarray(problem.classes)[proba.argmax(axis=1)]
    diag = with_probability_fields(classification_diagnostics(
        name, problem.y, pred, proba, problem.classes), problem.y, proba, problem)
    prior = np.tile((problem.y == "yes").mean(), len(problem.y))
    dummy = np.column_stack([1 - prior, prior])
    base = with_probability_fields(classification_diagnostics(
        "baseline (dummy)", problem.y, np.full(len(prior), "no"), dummy, problem.classes),
        problem.y, dummy, problem)
    for d in (diag, base):
        (diagnostics / f"{model_slug(d.model)}.json").write_text(
            json.dumps(dataclasses.asdict(d), default=float))
    write_background(problem.X, diagnostics / BACKGROUND_FILE, 20, 0)
    manifest = manifest_for(problem, name, str(DATA))
    manifest["leaderboard"].append({"model": "baseline (dummy)", "status": "done", "mean": 0.5,
                                    "std": 0.0, "baseline": True})
    keys, extra = bundle_decisions(manifest, str(diagnostics), cost, calibrate)
    model.fit(problem.X, problem.y)
    return write_bundle(model, {**manifest, **keys}, folder / f"{model_slug(name)}.thrifty.zip",
                        diagnostics=json.loads((diagnostics / f"{model_slug(name)}.json")
                                               .read_text()), extra=extra)


@pytest.fixture(scope="module")
def logistic(hmda, tmp_path_factory):
    """A plain logistic regression's bundle, exported with the cost matrix (used thrice)."""
    _, problem = hmda
    return _export(problem, _linear(problem), "logistic", tmp_path_factory.mktemp("logistic"),
                   cost=COST)


def _linear(problem, weights=None) -> Pipeline:
    return Pipeline([("features", linear_features(problem.schema)),
                     ("model", LogisticRegression(max_iter=1000, class_weight=weights))])


def test_predict_applies_the_cost_threshold_and_the_card_says_so(hmda, logistic, tmp_path):
    frame, problem = hmda
    path = logistic
    bundle = open_bundle(path)
    decision = bundle.manifest["decision"]
    assert decision["positive"] == "yes" and decision["cost"] == COST
    assert 0.02 <= decision["threshold"] < 0.5  # a missed denial costs ten false alarms
    assert decision["expected_cost"] < decision["expected_cost_at_half"]
    assert decision["expected_cost"] < decision["baseline_expected_cost"]
    data = tmp_path / "rows.csv"
    frame.head(400).to_csv(data, index=False)
    out = tmp_path / "out.csv"
    assert main(["predict", str(path), str(data), "-o", str(out)]) == 0
    predicted = pd.read_csv(out)
    raw = bundle.model.predict_proba(problem.X.head(400))[:, 1]
    assert (predicted["prediction"] == np.where(raw >= decision["threshold"], "yes", "no")).all()
    assert (predicted["prediction"] == "yes").sum() > (bundle.model.predict(
        problem.X.head(400)) == "yes").sum()  # more calls than at 0.5
    card = bundle.members["README.md"].decode()
    assert f"Decision threshold: **{decision['threshold']:.2f}** on P(yes)" in card
    assert "false negative 10" in card and "predict` applies it" in card
    for member in ("diagnostics/plot-cost.txt", "diagnostics/cost_curve.csv",
                   "diagnostics/plot-reliability.txt", BACKGROUND_MEMBER):
        assert member in bundle.members


def test_calibration_is_exported_only_when_it_improved_cv_log_loss(hmda, logistic, tmp_path):
    frame, problem = hmda
    weighted = open_bundle(_export(problem, _linear(problem, "balanced"), "weighted", tmp_path))
    plain = open_bundle(logistic)
    kept = open_bundle(_export(problem, _linear(problem, "balanced"), "kept", tmp_path,
                               calibrate=False))
    assert weighted.manifest["calibration"]["applied"] is True
    assert plain.manifest["calibration"]["applied"] is False
    assert plain.manifest["calibration"]["improved"] is False
    assert kept.manifest["calibration"]["improved"] is True
    assert kept.manifest["calibration"]["applied"] is False
    assert "decision" not in weighted.manifest  # no cost matrix set, no threshold
    data = tmp_path / "rows.csv"
    frame.head(50).to_csv(data, index=False)
    for bundle, path in ((weighted, tmp_path / "weighted.thrifty.zip"), (plain, logistic)):
        out = tmp_path / f"{path.name}.csv"
        assert main(["predict", str(path), str(data), "-o", str(out)]) == 0
        got = pd.read_csv(out)["proba_yes"].to_numpy()
        raw = bundle.model.predict_proba(problem.X.head(50))[:, 1]
        cal = bundle.manifest["calibration"]
        want = apply_calibration(cal["map"], raw) if cal["applied"] else raw
        np.testing.assert_allclose(got, want, rtol=1e-9)
    assert "the calibrated probabilities were exported" in weighted.members["README.md"].decode()
    assert "not exported" in plain.members["README.md"].decode()


def test_predict_explain_for_a_linear_and_a_boosting_model(hmda, logistic, tmp_path, capsys):
    frame, problem = hmda
    data = tmp_path / "rows.csv"
    frame.head(30).to_csv(data, index=False)
    linear = logistic
    assert main(["predict", str(linear), str(data), "--explain", "3"]) == 0
    out = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert list(out.columns)[-6:] == ["explain_1", "explain_1_amount", "explain_2",
                                      "explain_2_amount", "explain_3", "explain_3_amount"]
    values, _, _ = linear_contributions(open_bundle(linear).model, problem.X.head(30))
    top = dict(zip(problem.X.columns, values[0], strict=True))
    assert out.loc[0, "explain_1_amount"] == pytest.approx(top[out.loc[0, "explain_1"]],
                                                           abs=1e-6)
    boosting = Pipeline([("features", tree_features(problem.schema)),
                         ("model", HistGradientBoostingClassifier(
                             max_iter=30, categorical_features=categorical_mask(problem.schema),
                             random_state=0))])
    path = _export(problem, boosting, "boosting", tmp_path)
    assert main(["predict", str(path), str(data), "--explain", "2"]) == 0
    out = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert list(out.columns)[-4:] == ["explain_1", "explain_1_amount", "explain_2",
                                      "explain_2_amount"]
    assert set(out["explain_1"]) <= set(problem.X.columns)
    assert (out["explain_1_amount"].abs() >= out["explain_2_amount"].abs()).all()


def test_inspect_tells_the_decisions(logistic, capsys):
    assert main(["inspect", str(logistic)]) == 0
    out = capsys.readouterr().out
    assert "decision: predicts yes at P >= 0." in out and "'false_negative': 10.0" in out
    assert "calibration: isotonic" in out and "not applied" in out
