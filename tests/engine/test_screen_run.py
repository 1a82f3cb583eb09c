"""Racing, caps and objectivity of a screening run, on real data in real child processes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from engine_helpers import Recorder, of_type
from racing_helpers import COIN, EATER, FULL, QUICK, SLEEPER

from thrifty_tui.config import SAMPLE_DIR
from thrifty_tui.core.events import (
    LeaderTies, ModelDiagnosed, ModelScored, ModelStarted, ModelUpdate, RunFinished, RunStarted,
)
from thrifty_tui.core.learn.zoo import spec_by_name
from thrifty_tui.engine.jobs import Screen
from thrifty_tui.engine.worker import Worker

GSS = str(SAMPLE_DIR / "gss_wages.csv")
MOVIES = str(SAMPLE_DIR / "movies.csv")


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    recorder = Recorder()
    worker = Worker(tmp_path_factory.mktemp("racing") / "ws", recorder, max_procs=2).start()
    yield worker, recorder
    worker.shutdown(timeout=30)


def _run(engine, job: Screen, timeout: float = 180.0) -> list:
    worker, recorder = engine
    since = recorder.mark()
    worker.submit(job)
    return recorder.wait_for_end(since, timeout)


def _rows(events) -> dict:
    return {e.result.model: e.result for e in of_type(events, ModelScored)}


def test_a_fit_past_the_cap_becomes_timeout_and_the_run_completes(engine):
    cap = 6.0  # far above a linear fit on 2,400 rows even on a busy machine
    worker, recorder = engine
    since = recorder.mark()
    # One rung (no racing): only the hard cap can stop a fit, never a cost prediction.
    worker.submit(Screen(path=GSS, target="gender", max_fit_seconds=cap, racing=False,
                         zoo=(QUICK[0], SLEEPER, spec_by_name("linear", QUICK))))
    events = recorder.wait_for_end(since, timeout=120)
    started = [e for e in events if isinstance(e, ModelStarted) and e.model == "sleeper"]
    assert started
    rows = _rows(events)
    assert rows["sleeper"].status == "timeout"
    assert f"{cap:g} s cap" in rows["sleeper"].error
    # The run completes: the others finish and the best is refit.
    assert rows["linear"].status == "done"
    assert events[-1].status == "done" and events[-1].best_model == "linear"
    assert rows["sleeper"].fold_scores == ()


def test_a_fit_over_the_memory_cap_becomes_oom_and_the_run_goes_on(engine):
    events = _run(engine, Screen(path=GSS, target="gender", max_memory_mb=1500,
                                 zoo=(QUICK[0], EATER, spec_by_name("linear", QUICK))))
    rows = _rows(events)
    assert rows["eater"].status == "oom"
    assert "memory" in rows["eater"].error
    assert rows["linear"].status == "done"
    assert events[-1].status == "done"


def test_racing_drops_a_clearly_worse_model_on_a_small_rung(engine):
    events = _run(engine, Screen(path=GSS, target="gender",
                                 zoo=(QUICK[0], COIN, spec_by_name("linear", QUICK))))
    started = of_type(events, RunStarted)[0]
    assert started.rungs == (1000, 3000)
    rows = _rows(events)
    assert rows["coin flip"].status == "dropped"
    assert rows["coin flip"].rows == 1000  # it never paid for the full data
    assert "clearly worse than linear" in rows["coin flip"].error
    assert rows["linear"].status == "done" and rows["linear"].rows == 3000
    assert [n for n, _ in rows["linear"].learning_curve] == [1000, 3000]
    # The baseline is never dropped: it stays on the board as the reference.
    assert rows["baseline (dummy)"].status == "done"
    updates = [e for e in of_type(events, ModelUpdate) if e.model == "linear"]
    assert updates and updates[0].rows == 1000 and updates[0].status == "racing"


def test_full_zoo_on_free_text_data_baseline_leader_ties_and_diagnostics(engine, tmp_path):
    subset = tmp_path / "movies-1800.csv"
    pd.read_csv(MOVIES).head(1800).to_csv(subset, index=False)
    # One model of each tier of the full zoo (all of it takes minutes on 2 cores), with the
    # SVM for its decision values instead of probabilities.
    zoo = tuple(s for s in FULL if s.name in (
        "baseline (dummy)", "logistic regression", "linear SVM", "complement NB",
        "hist gradient boosting", "extra trees"))
    events = _run(engine, Screen(path=str(subset), target="Comedy", zoo=zoo), timeout=400)
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.status == "done"
    rows = _rows(events)
    baseline = rows["baseline (dummy)"]
    assert baseline.status == "done" and baseline.mean == pytest.approx(0.5)
    done = [r for r in rows.values() if r.status == "done"]
    assert finished.best_model == max(done, key=lambda r: r.mean).model
    # The screened leader (the mean of the leaders, when it forms, may score above it: whether
    # it does depends on which models racing lets reach all rows, which depends on timing).
    leader = max((r for r in done if not r.model.startswith("mean of ")), key=lambda r: r.mean)
    assert leader.mean > baseline.mean + 0.08
    # Cheap tiers are started first.
    order = [e.model for e in of_type(events, ModelStarted)]
    tiers = {s.name: s.tier for s in zoo}
    assert [tiers[m] for m in order] == sorted(tiers[m] for m in order)
    # Ties are about the leader, and every finished model gets its diagnostics.
    ties = of_type(events, LeaderTies)[-1]
    assert ties.leader == leader.model and leader.model not in ties.ties
    diagnosed = {e.model: e.diagnostics for e in of_type(events, ModelDiagnosed)}
    assert set(diagnosed) == {m for m, r in rows.items() if r.status == "done"}
    diag = diagnosed[leader.model]
    assert diag.labels == ("0", "1") and sum(map(sum, diag.confusion)) == 1800
    assert dict(diag.metrics)["balanced_accuracy"] == pytest.approx(leader.mean, abs=0.03)
    assert diag.roc and 0.5 < diag.roc[0].area <= 1.0
    assert diag.learning_curve
    # Importances get a second or half the fit, measured (core/learn/importances.py): on a
    # loaded machine they may be left out, and then the diagnostics say why.
    assert diag.importances or "; not computed: " in diag.importance_kind, \
        diag.importance_kind
    if "linear SVM" in diagnosed:  # no predict_proba: curves from decision values
        assert diagnosed["linear SVM"].roc[0].area > 0.5


def test_text_only_data_beats_its_baseline_clearly(engine, tmp_path):
    titles = pd.read_csv(MOVIES)[["title", "Comedy"]]
    path = tmp_path / "titles.csv"
    titles.to_csv(path, index=False)
    events = _run(engine, Screen(path=str(path), target="Comedy", racing=False,
                                 zoo=(QUICK[0], spec_by_name("linear", QUICK))))
    rows = _rows(events)
    assert rows["linear"].mean > rows["baseline (dummy)"].mean + 0.05


def test_regression_diagnostics_and_same_seed_same_results(engine, tmp_path):
    cars = str(SAMPLE_DIR / "car_prices.csv")
    first = _run(engine, Screen(path=cars, target="Price", zoo=QUICK, seed=3))
    second = _run(engine, Screen(path=cars, target="Price", zoo=QUICK, seed=3))
    a, b = _rows(first), _rows(second)
    assert {m: r.fold_scores for m, r in a.items()} == {m: r.fold_scores for m, r in b.items()}
    diag = {e.model: e.diagnostics for e in of_type(first, ModelDiagnosed)}["linear"]
    names = dict(diag.metrics)
    assert set(names) == {"r2", "rmse", "mae"} and names["r2"] > 0.5
    assert len(diag.actual) == len(diag.predicted) > 100


def test_a_model_too_slow_for_the_cap_is_skipped_from_its_cost_prediction(engine):
    # With a cap far below what a random forest needs on 3,000 rows, racing measures it on
    # the 1,000-row rung and skips (or times out) the full-data rung instead of running it.
    events = _run(engine, Screen(path=GSS, target="gender", max_fit_seconds=0.2,
                                 zoo=(QUICK[0], spec_by_name("random forest", FULL))))
    row = _rows(events)["random forest"]
    assert row.status in ("skipped", "timeout")
    assert "cap" in row.error


def test_metric_choice_and_a_bad_metric(engine):
    events = _run(engine, Screen(path=GSS, target="gender", metric="f1_macro", zoo=QUICK,
                                 racing=False))
    assert of_type(events, RunStarted)[0].metric == "f1_macro"
    assert of_type(events, RunStarted)[0].rungs == (3000,)
    bad = _run(engine, Screen(path=GSS, target="gender", metric="r2", zoo=QUICK))
    assert "does not fit classification" in bad[-1].message


def test_a_user_zoo_file_beside_the_data_is_used(engine, tmp_path):
    data = tmp_path / "cars.csv"
    data.write_text((SAMPLE_DIR / "car_prices.csv").read_text())
    (tmp_path / "thrifty-zoo.toml").write_text('''
[[model]]
name = "mean"
tier = 0
estimator = "sklearn.dummy:DummyRegressor"
features = "none"
baseline = true

[[model]]
name = "my ridge"
tier = 1
estimator = "sklearn.linear_model:Ridge"
features = "linear"
params = { alpha = 3.0 }
''')
    events = _run(engine, Screen(path=str(data), target="Price"))
    assert set(_rows(events)) == {"mean", "my ridge"}
    assert any("thrifty-zoo.toml" in n for n in of_type(events, RunStarted)[0].notices)


def test_sleeper_cleanup(engine):
    # After timeouts and OOMs the same worker still runs a clean screening.
    events = _run(engine, Screen(path=GSS, target="gender", zoo=QUICK))
    assert events[-1].status == "done"
    assert Path(events[-1].model_path).is_file()
