"""The export as the app does it: a screening run in the worker, then an Export job whose child
writes the bundle from the workspace (run record, problem, stored diagnostics) with progress."""

from __future__ import annotations

import json
import queue
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest

from thrifty_tui.config import SAMPLE_DIR
from thrifty_tui.core.records import ModelResult
from thrifty_tui.core.store.bundle import load_bundle
from thrifty_tui.core.store.decide import apply_decisions
from thrifty_tui.core.store.predict import predict_frame
from thrifty_tui.core.data.tables import load_table
from thrifty_tui.core.events import (
    ExportFinished,
    ExportProgress,
    ExportStarted,
    JobFailed,
    RunFinished,
)
from thrifty_tui.core.learn.zoo import load_zoo, spec_by_name
from thrifty_tui.engine.jobs import Export, Screen
from thrifty_tui.engine.worker import Worker


def _until(events: queue.Queue, kind: type, timeout: float = 120.0) -> list:
    seen = []
    while True:
        event = events.get(timeout=timeout)
        seen.append(event)
        if isinstance(event, JobFailed):
            pytest.fail(f"{event.job} failed: {event.message}")
        if isinstance(event, kind):
            return seen


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Movies (a free-text title column) screened with two models, the best exported."""
    folder = tmp_path_factory.mktemp("app")
    data = folder / "movies.csv"
    load_table(SAMPLE_DIR / "movies.csv").frame.head(500).to_csv(data, index=False)
    zoo = load_zoo(None)
    specs = tuple(spec_by_name(n, zoo) for n in ("baseline (dummy)", "logistic regression"))
    events: queue.Queue = queue.Queue()
    worker = Worker(folder / "ws", events.put, max_procs=1).start()  # one child: less start-up
    try:
        worker.submit(Screen(path=str(data), target="Comedy", seed=1, zoo=specs,
                             budget_s=300, racing=False, tune=False))
        finished = _until(events, RunFinished)[-1]
        assert finished.status == "done", finished.stop_reason
        worker.submit(Export(path=str(folder / "comedy"), run_id=finished.run_id))
        export_events = _until(events, ExportFinished)
    finally:
        worker.shutdown(timeout=30)
    return folder, data, finished, export_events


def test_the_export_reports_its_stages_in_order(exported):
    _, _, _, events = exported
    events = [e for e in events if isinstance(e, ExportStarted | ExportProgress | ExportFinished)]
    assert isinstance(events[0], ExportStarted) and isinstance(events[-1], ExportFinished)
    steps = [e.step for e in events if isinstance(e, ExportProgress) and e.total == 7]
    assert steps == sorted(steps) and steps[-1] == 6  # polled, so some stages may coalesce
    assert "syncing to disk" in {e.stage for e in events if isinstance(e, ExportProgress)}


def test_the_bundle_predicts_what_the_apps_model_predicts(exported):
    _, data, finished, events = exported
    model, manifest = load_bundle(events[-1].path)
    app_model = joblib.load(finished.model_path)  # the refit model the app keeps and uses
    frame = load_table(data).frame
    X = frame[[c["name"] for c in manifest["columns"]]]
    out = predict_frame(model, frame, manifest)
    # The bundle's decisions (a calibration map when it lowered the CV log loss, a threshold
    # with a cost matrix) applied to the app's model: the same numbers.
    predictions, proba = apply_decisions(app_model, X, manifest)
    assert out["prediction"].tolist() == predictions.tolist()
    np.testing.assert_array_equal(out.filter(like="proba_").to_numpy(), proba)
    if not (manifest.get("calibration") or {}).get("applied"):
        np.testing.assert_array_equal(proba, app_model.predict_proba(X))
    assert any(c["role"] == "text" for c in manifest["columns"])


def test_the_manifest_is_built_from_the_workspace(exported):
    _, data, finished, events = exported
    _, manifest = load_bundle(events[-1].path)
    assert manifest["model"] == finished.best_model and manifest["run_id"] == finished.run_id
    assert manifest["data"]["path"] == str(data) and manifest["data"]["fingerprint"]
    assert "sample" in manifest["data"] and manifest["labels"] is None
    assert [f["score"] for f in manifest["cv"]["folds"]] == manifest["cv_scores"]
    assert manifest["cv"]["splitter"] == "StratifiedKFold" and manifest["cv"]["seed"] == 1
    assert {r["model"] for r in manifest["leaderboard"]} == {"baseline (dummy)",
                                                            "logistic regression"}
    assert manifest["fit_rows"] == manifest["n_rows"] == 500  # fitted on every row
    budget = manifest["budget"]
    assert budget["budget_s"] == 300 and budget["spent_s"] == finished.elapsed_s
    assert budget["stop_reason"] == finished.stop_reason
    # The done rules as set, how each ended, and the cost meter travel with the model.
    assert budget["rules"]["wall_s"] == 300 and budget["rules"]["max_fits"] is None
    assert budget["stop"]["reason"] == finished.stop_reason
    assert {r[0]: r[1] for r in budget["stop"]["rules"]}["wall"] == "not yet"
    assert budget["cost"]["cpu_s"] > 0 and budget["cost"]["by_model"]
    with zipfile.ZipFile(events[-1].path) as zf:
        card = zf.read("README.md").decode()
    assert f"Compute: {budget['cost']['cpu_s']:.1f} CPU-s" in card
    assert manifest["timings"]["run_started"] <= manifest["timings"]["run_finished"]
    assert manifest["timings"]["run_elapsed_s"] == finished.elapsed_s


def test_stored_diagnostics_become_plots_and_numbers(exported):
    folder, _, finished, events = exported
    stored = sorted((folder / "ws" / "artifacts" / "runs" / str(finished.run_id)
                     / "diagnostics").glob("*.json"))
    _, manifest = load_bundle(events[-1].path)
    with zipfile.ZipFile(events[-1].path) as zf:
        names = set(zf.namelist())
    if not any(json.loads(p.read_text()).get("model") == finished.best_model for p in stored):
        # The run stored none for this model: the bundle says so and has no plots.
        assert manifest["diagnostics"]["available"] is False
        assert not any(n.startswith("diagnostics/") for n in names)
        return
    assert manifest["diagnostics"]["available"] is True
    assert "diagnostics/diagnostics.json" in names
    for kind in manifest["diagnostics"]["plots"]:
        assert f"diagnostics/plot-{kind}.txt" in names
    assert "confusion" in manifest["diagnostics"]["plots"]
    assert {"diagnostics/confusion.csv", "diagnostics/metrics.csv"} <= names


def test_no_temporary_files_are_left(exported):
    folder, _, _, events = exported
    assert Path(events[-1].path).parent == folder
    assert not list(folder.glob(".*.partial"))
    assert not list((folder / "ws" / "artifacts").glob("export-*.progress*"))


def test_the_model_card_says_when_the_model_saw_fewer_rows_than_the_data(exported):
    from thrifty_tui.core.store.bundle_report import model_card

    _, _, _, events = exported
    _, manifest = load_bundle(events[-1].path)
    assert "was fitted on" not in model_card(manifest)
    cut = {**manifest, "fit_rows": 120}
    assert ("The model was fitted on 120 of these rows (a stratified subsample): the time "
            "budget ran out") in model_card(cut)


def test_the_manifest_and_card_say_when_the_estimate_was_measured_on_fewer_rows(exported):
    from thrifty_tui.core.store.bundle_report import model_card
    from thrifty_tui.engine.jobs.screen import _estimate_note

    _, _, _, events = exported
    _, manifest = load_bundle(events[-1].path)
    assert manifest["cv_rows"] == manifest["fit_rows"] == manifest["n_rows"]
    assert "measured on" not in model_card(manifest)
    short = {**manifest, "cv_rows": 1_498, "fit_rows": 40_455}
    assert ("Its cross-validated score was measured on 1,498 rows only (the time budget cut "
            "it short); the model was fitted on 40,455") in model_card(short)
    best = ModelResult(model="hgb (on 1,498 rows)", status="done", fold_scores=(0.958,) * 5,
                       fit_seconds=1.0, rows=1_498)
    note = _estimate_note(best, 1_498, 40_455, "balanced_accuracy")
    assert note.startswith("hgb (on 1,498 rows): its cross-validated balanced_accuracy 0.9580 "
                           "was measured on 1,498 rows; the exported model is fitted on 40,455")
