"""The Load screen's jobs in the worker: profile in a child, progress, cancel, roles, samples."""

from __future__ import annotations

import json
import re

import pytest
from engine_helpers import BASELINE, CAR_PRICES, LINEAR, Recorder, of_type

from thrifty_tui.config import SAMPLE_DIR
from thrifty_tui.core.events import DatasetOpened, JobFailed, LoadProgress, RunFinished
from thrifty_tui.core.records import Role
from thrifty_tui.core.store.workspace import Workspace
from thrifty_tui.engine.jobs import OpenDataset, Screen
from thrifty_tui.engine.worker import Worker

MOVIES = str(SAMPLE_DIR / "movies.csv")


@pytest.fixture
def worker(tmp_path):
    recorder = Recorder()
    w = Worker(tmp_path / "ws", recorder, max_procs=1).start()
    w.recorder = recorder
    yield w
    w.shutdown(timeout=30)


def test_open_reports_progress_then_a_profile_for_the_asked_target(worker):
    worker.submit(OpenDataset(path=MOVIES, target="Action"))
    events = worker.recorder.wait_for(lambda es: any(isinstance(e, DatasetOpened | JobFailed)
                                                     for e in es))
    assert isinstance(events[0], LoadProgress)
    opened = of_type(events, DatasetOpened)[0]
    assert opened.target == "Action" and opened.n_rows == 3000 and opened.rows_exact
    assert opened.profile is not None and opened.profile.target.task == "classification"
    assert opened.profile.column("title").role == Role.TEXT
    assert len(opened.preview) == 40 and opened.bytes_per_row > 0
    # The app's process never imported pandas to do it (the profile types are stdlib only).
    assert type(opened.profile).__module__ == "thrifty_tui.core.data.profile_records"


def test_cancel_stops_a_load_and_says_so(worker, tmp_path):
    big = tmp_path / "big.csv"
    with open(big, "w") as fh:
        fh.write("a,b,c,label\n")
        fh.writelines(f"{i},{i * 0.25},word{i % 97} other{i % 13},{'xyz'[i % 3]}\n" for i in range(600_000))
    worker.submit(OpenDataset(path=str(big)))
    worker.recorder.wait_for(lambda es: any(isinstance(e, LoadProgress) for e in es))
    worker.cancel()
    events = worker.recorder.wait_for(lambda es: any(isinstance(e, DatasetOpened | JobFailed)
                                                     for e in es))
    failed = of_type(events, JobFailed)
    assert failed and failed[0].cancelled and "stopped loading big.csv" in failed[0].message
    assert not of_type(events, DatasetOpened)
    mark = worker.recorder.mark()  # the worker goes on: the next load works
    worker.submit(OpenDataset(path=MOVIES))
    later = worker.recorder.wait_for(lambda es: any(isinstance(e, DatasetOpened) for e in es),
                                     since=mark)
    assert of_type(later, DatasetOpened)[0].n_rows == 3000


def test_roles_reach_the_features_and_samples_are_recorded(worker, tmp_path):
    job = Screen(path=CAR_PRICES, target="Price", seed=3, zoo=(BASELINE, LINEAR),
                 racing=False, sample_rows=300,
                 roles=(("Cylinder", "categorical"), ("Mileage", "constant")))
    worker.submit(job)
    events = worker.recorder.wait_for_end(timeout=120)
    finished = of_type(events, RunFinished)[0]
    assert finished.status == "done", events
    problem = json.loads((worker.ws.run_dir(finished.run_id) / "problem.json").read_text())
    roles = {c["name"]: c["role"] for c in problem["columns"]}
    assert roles["Cylinder"] == "categorical" and "Mileage" not in roles
    worker.shutdown(timeout=30)
    ws = Workspace(tmp_path / "ws")
    try:
        (sample,) = ws.samples()
    finally:
        ws.close()
    assert sample["method"] == "random" and sample["rows"] == 300 and sample["seed"] == 3
    assert sample["run_id"] == finished.run_id and sample["hashed"] == "content"
    assert sample["size_bytes"] > 0 and sample["mtime"] > 0 and len(sample["sha256"]) == 64
    assert sample["source"].endswith("car_prices.csv")


def test_cli_run_with_sample_records_it_in_the_workspace(tmp_path, capsys):
    from thrifty_tui.cli import commands as cli

    code = cli.main(["run", CAR_PRICES, "--target", "Price", "--sample", "200", "--seed", "5",
                     "--zoo", "quick", "--no-racing", "--no-tune",
                     "--workspace", str(tmp_path / "cli-ws")])
    assert code == 0, capsys.readouterr().err
    ws = Workspace(tmp_path / "cli-ws")
    try:
        (sample,) = ws.samples()
    finally:
        ws.close()
    assert (sample["method"], sample["rows"], sample["seed"]) == ("random", 200, 5)
    assert sample["source"].endswith("car_prices.csv") and sample["run_id"] == 1


def test_a_sample_of_a_big_file_is_streamed_for_screening(worker, tmp_path):
    import duckdb

    big = tmp_path / "big.csv"  # ~72 MB: over the size read whole, so it is streamed
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(f"COPY (SELECT i AS id, (i * 7919) % 1000 AS amount, (i * 31) % 17 AS count, "
                f"CASE WHEN i % 100 = 0 THEN 'rare' WHEN i % 2 = 0 THEN 'a' ELSE 'b' END AS "
                f"label FROM range(4500000) t(i)) TO '{big}' (HEADER)")
    con.close()
    assert big.stat().st_size > 64 << 20
    worker.submit(Screen(path=str(big), target="label", zoo=(BASELINE,), racing=False,
                         sample_rows=500, seed=1))
    events = worker.recorder.wait_for_end(timeout=180)
    finished = of_type(events, RunFinished)[0]
    assert finished.status == "done", events
    run_dir = worker.ws.run_dir(finished.run_id)
    problem = json.loads((run_dir / "problem.json").read_text())
    assert problem["sample"]["engine"] == "duckdb stream"
    assert problem["sample"]["source_rows"] == 4_500_000 and problem["n_rows"] == 500
    assert problem["class_counts"]["rare"] >= 5  # 1 % of rows, kept by the stratified sample
    assert any("streamed from the file" in n for n in problem["notices"])
    worker.shutdown(timeout=30)
    ws = Workspace(tmp_path / "ws")
    try:
        (sample,) = ws.samples()
    finally:
        ws.close()
    assert sample["method"] == "stratified" and sample["hashed"].startswith("16 blocks")


def test_a_budget_shorter_than_the_files_read_time_screens_a_sample_and_ends_with_a_model(
        worker, tmp_path):
    """Reading and preparing 120 k rows takes longer than a 0.3 s budget allows: the run
    screens the sample the budget can afford (policy.sizing), still ends with a model (the
    baseline, cut short: policy.schedule.baseline_may_overrun), and says what to raise."""
    import time

    big = tmp_path / "big.csv"
    with open(big, "w") as fh:
        fh.write("a,b,c,label\n")
        fh.writelines(f"{i % 1000},{i * 0.25},{(i * 7) % 13},{'xyz'[i % 3]}\n"
                      for i in range(120_000))
    worker.submit(Screen(path=str(big), target="label", budget_s=0.3, tune=False,
                         started_at=time.monotonic()))
    events = worker.recorder.wait_for(lambda es: any(isinstance(e, RunFinished) for e in es),
                                      timeout=120)
    finished = of_type(events, RunFinished)[0]
    assert finished.status == "done" and finished.model_path, finished.stop_reason
    assert finished.best_model.startswith("baseline")
    found = re.search(r"stratified sample of ([\d,]+) of 120,000 rows", finished.stop_reason)
    assert found, finished.stop_reason
    rows = int(found.group(1).replace(",", ""))
    assert 2_000 <= rows < 120_000  # what 0.3 s less the time already spent can prepare
    assert "--budget" in finished.stop_reason and "--sample" in finished.stop_reason
    started = [e for e in events if type(e).__name__ == "RunStarted"][0]
    assert started.n_rows == rows
