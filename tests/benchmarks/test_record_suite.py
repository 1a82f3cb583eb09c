"""The recorded-fits trace (benchmarks/traces.py) and the resumable recorder
(benchmarks/record_suite.py) on a tiny data set with two fast models: real fits in child
processes, real files."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import record_suite  # noqa: E402
import replay_suite  # noqa: E402
import traces  # noqa: E402

from thrifty_tui.core.policy.budget import Budget  # noqa: E402
from thrifty_tui.core.policy.recording import Recording  # noqa: E402
from thrifty_tui.core.policy.replay import replay  # noqa: E402

MODELS = ("baseline (dummy)", "linear")  # the quick zoo (tests/conftest.py)


def _job(folder: Path) -> record_suite.Job:
    rng = np.random.default_rng(0)
    n = 240
    x = rng.normal(size=(n, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame["colour"] = rng.choice(["red", "green", "blue"], size=n)
    frame["y"] = np.where(x[:, 0] + 0.5 * x[:, 1] + rng.normal(0, 0.3, n) > 0, "yes", "no")
    frame.iloc[:180].to_csv(folder / "TRAIN.csv", index=False)
    frame.iloc[180:].drop(columns=["y"]).to_csv(folder / "TEST.csv", index=False)
    frame.iloc[180:][["y"]].to_csv(folder / "TEST_y.csv", index=False)
    return record_suite.Job("tiny", str(folder / "TRAIN.csv"), str(folder / "TEST.csv"),
                            str(folder / "TEST_y.csv"), "y", "classification", "accuracy")


def test_pack_round_trip() -> None:
    proba = np.array([[0.25, 0.75], [1.0, 0.0], [0.1, 0.9]])
    back = traces.unpack(traces.pack(proba, "float16"))
    assert back.dtype == np.float16 and back.shape == (3, 2)
    np.testing.assert_allclose(back, proba, atol=1e-3)
    values = np.array([215000.5, -3.25, 1e-3])
    np.testing.assert_allclose(traces.unpack(traces.pack(values, "float32")), values, rtol=1e-6)
    assert traces.unpack(traces.pack([0, 2, 1], "int16")).tolist() == [0, 2, 1]
    assert traces.unpack(None) is None


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[record_suite.Job, Path]:
    folder = tmp_path_factory.mktemp("tiny")
    job = _job(folder)
    out = folder / "traces" / "tiny.json.gz"
    assert record_suite.record(job, out, workers=1, models=MODELS)
    return job, out


def test_trace_holds_every_fit_and_reads_as_a_recording(recorded) -> None:
    job, out = recorded
    data = traces.load(out)
    assert data["set"] == "tiny" and data["task"] == "classification" and data["n_rows"] == 180
    assert "load" in data["machine"] and data["date"] and data["load_end"]
    assert [m["name"] for m in data["models"]] == list(MODELS)
    folds = sum(data["folds_at"])
    for m in data["models"]:
        assert len(m["fits"]) == len(m["details"]) == folds and not m["failures"]
        for (r, k, rows, s, score), (r2, k2, rows2, fit_s, predict_s, peak) in zip(
                m["fits"], m["details"], strict=True):
            assert (r, k, rows) == (r2, k2, rows2) and 0 <= score <= 1 and peak > 0
            assert s == pytest.approx(fit_s + predict_s, abs=2e-4)
        assert 0 <= m["holdout"] <= 1 and m["refit_s"] > 0
        oof = traces.oof_of(data, m["name"])
        assert oof.dtype == np.float16 and oof.shape == (180, 2)
        np.testing.assert_allclose(oof.astype(float).sum(axis=1), 1.0, atol=2e-3)
    y = traces.unpack(data["y"])
    assert y.shape == (180,) and set(y.tolist()) == {0, 1} and data["classes"] == ["no", "yes"]
    # The out-of-fold accuracy from the stored probabilities is the mean of the fold scores
    # (equal-sized folds, up to float16 rounding): what an ensemble would be scored from.
    logistic = data["models"][1]
    accuracy = float(np.mean(traces.oof_of(data, logistic["name"]).argmax(axis=1) == y))
    last = len(data["rungs"]) - 1
    fold_scores = [f[4] for f in logistic["fits"] if f[0] == last]
    assert accuracy == pytest.approx(np.mean(fold_scores), abs=0.02)
    assert logistic["holdout"] > 0.75  # the signal is real; the baseline's is a class share
    rec = Recording.load(out)
    assert rec == traces.recording(data) and rec.rungs == tuple(data["rungs"])
    assert rec.models[1].fits[(last, 0)][2] == fold_scores[0]
    outcome = replay(rec, Budget(wall_s=60))
    assert outcome.best in MODELS and not math.isnan(outcome.cv)


def test_replay_suite_prints_a_row_per_set_and_budget(recorded, capsys) -> None:
    _, out = recorded
    real = out.parent / "results.json"  # as benchmarks/suite.py keeps its real runs
    real.write_text(json.dumps({"thrifty": {"60": {"tiny": {
        "best": "not a model (on 90 rows)", "holdout": -1.0, "wall": 1000.0}}}}))
    rows = replay_suite.main(["--traces", str(out.parent), "--budgets", "3", "60",
                              "--real", str(real)])
    assert [(r["set"], r["budget"]) for r in rows] == [("tiny", 3.0), ("tiny", 60.0)]
    assert "real" not in rows[0] and rows[1]["real"]["pick"] == "not a model"
    assert rows[1]["agree"] is False and rows[1]["wall_ok"] is False
    data = traces.load(out)
    for r in rows:
        assert r["pick"] in MODELS and r["holdout"] == traces.holdout_of(data, r["pick"])
        assert r["regret"] >= 0
    assert "B = 60 s on 1 sets" in capsys.readouterr().out
    assert set(replay_suite.halves(["a", "b", "c", "d"]).values()) == {"A", "B"}


def test_recorder_skips_a_recorded_set_and_resumes_a_killed_one(recorded, tmp_path) -> None:
    job, out = recorded
    before = out.read_bytes()
    assert record_suite.record(job, out, workers=1, models=MODELS)  # recorded: skipped
    assert out.read_bytes() == before
    # A run killed after its first model left it in the partial file: the next run keeps it
    # as it is (no new fit: its timings are unchanged) and records only the second model.
    data = traces.load(out)
    again = tmp_path / "tiny.json.gz"
    partial = tmp_path / "tiny.partial.json.gz"
    first = data["models"][0]
    traces.save({k: v for k, v in data.items() if k != "models"} | {"models": [first]}, partial)
    assert not record_suite.record(job, again, workers=1, models=MODELS,
                                   deadline=0.0)  # the deadline passed: nothing new
    assert not again.exists() and partial.exists()
    assert record_suite.record(job, again, workers=1, models=MODELS)
    resumed = traces.load(again)
    assert not partial.exists()
    assert resumed["models"][0] == first
    assert [m["name"] for m in resumed["models"]] == list(MODELS)
    assert len(resumed["models"][1]["fits"]) == sum(resumed["folds_at"])


def test_holdout_labels_match_a_float_target_and_a_models_text_labels() -> None:
    import suite

    assert list(suite.labels(np.array([0.0, 1.0]))) == list(suite.labels(["0", "1"])) == ["0", "1"]
    assert list(suite.labels(["yes", "no"])) == ["yes", "no"]
    assert list(suite.labels(np.array([0.5]))) == ["0.5"]
