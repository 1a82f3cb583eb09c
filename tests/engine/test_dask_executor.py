"""Fits on a real Dask LocalCluster of 2 worker processes (issue 22): the same leaderboard as
on this machine, caps and cancel that hold, a worker killed mid-run, an unreachable scheduler.

One cluster serves the module (starting it takes seconds); the data and the zoo are small.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from engine_helpers import A_LITTLE_SLOW, CAR_PRICES, SLEEPY, Recorder, of_type

from thrifty_tui.core.events import JobFailed, ModelScored, ModelStarted, RunFinished
from thrifty_tui.core.executor_events import ExecutorChanged
from thrifty_tui.core.learn.zoo import load_zoo, spec_by_name
from thrifty_tui.engine.jobs import ConnectCluster, OpenDataset, Screen
from thrifty_tui.engine.worker import Worker

pytest.importorskip("distributed")  # in the dev extra: CI runs these

QUICK = load_zoo("quick")
BASELINE, LINEAR = spec_by_name("baseline (mean)", load_zoo("default")), spec_by_name(
    "linear", QUICK)

ZOO = """
[[model]]
name = "baseline (mean)"
tier = 0
tasks = ["regression"]
estimator = "sklearn.dummy:DummyRegressor"
features = "none"
baseline = true

[[model]]
name = "ridge"
tier = 1
tasks = ["regression"]
estimator = "sklearn.linear_model:Ridge"
features = "linear"
[model.space]
alpha = { log = [0.01, 100] }

[[model]]
name = "tree"
tier = 2
tasks = ["regression"]
estimator = "sklearn.tree:DecisionTreeRegressor"
features = "tree"
params = { max_depth = 6 }
seed_param = "random_state"
[model.space]
max_depth = { int = [2, 12] }
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A worker whose fits run on LocalCluster(2 single-threaded worker processes)."""
    recorder = Recorder()
    worker = Worker(tmp_path_factory.mktemp("dask") / "ws", recorder, max_procs=2).start()
    worker.submit(ConnectCluster("local:2"))
    events = recorder.wait_for(lambda es: any(isinstance(e, ExecutorChanged | JobFailed)
                                              for e in es), timeout=90)
    assert isinstance(events[-1], ExecutorChanged), events[-1]
    yield worker, recorder
    worker.shutdown(timeout=30)


def _run(engine, job: Screen, timeout: float = 120.0) -> list:
    worker, recorder = engine
    since = recorder.mark()
    worker.submit(job)
    return recorder.wait_for_end(since, timeout)


def _board(events) -> dict:
    return {e.result.model: (e.result.status, tuple(round(s, 10) for s in e.result.fold_scores))
            for e in of_type(events, ModelScored)}


def test_the_cluster_reports_its_workers_and_the_policy_plans_for_them(cluster):
    worker, recorder = cluster
    changed = of_type(recorder.events, ExecutorChanged)[0]
    assert (changed.kind, changed.address, changed.workers, changed.cores) == (
        "dask", "local:2", 2, 2)
    assert changed.to_dict()["event"] == "executor"
    assert worker.executor.max_workers == 2  # what ScreenRun and TuneRun fill up to


def test_screening_and_tuning_match_a_local_run(cluster, tmp_path):
    zoo = tmp_path / "zoo.toml"
    zoo.write_text(ZOO)
    job = Screen(path=CAR_PRICES, target="Price", seed=3, zoo_path=str(zoo), tune=True)
    broadcasts = cluster[0].executor.broadcasts
    on_cluster = _run(cluster, job)
    local_recorder = Recorder()
    local = Worker(tmp_path / "ws", local_recorder, max_procs=2).start()
    try:
        here = _run((local, local_recorder), job)
    finally:
        local.shutdown(timeout=30)
    assert isinstance(on_cluster[-1], RunFinished) and on_cluster[-1].status == "done"
    assert _board(on_cluster) == _board(here)
    assert len(_board(here)) >= 3
    assert (on_cluster[-1].best_model, on_cluster[-1].best_score) == (
        here[-1].best_model, here[-1].best_score)
    trials = sorted((e.model, e.trial, e.params, e.fold_scores) for e in on_cluster
                    if e.name == "trial")
    assert trials  # tuning ran on the cluster too
    assert trials == sorted((e.model, e.trial, e.params, e.fold_scores) for e in here
                            if e.name == "trial")
    # The problem went out once for the job (a broadcast), not with each of its many fits.
    assert cluster[0].executor.broadcasts == broadcasts + 1


def test_a_fit_past_its_cap_is_stopped_within_cap_plus_2_s_and_the_slot_runs_on(cluster):
    cap = 4.0  # a linear fit on 643 rows stays far below it even at load 10
    worker, recorder = cluster
    since = recorder.mark()
    worker.submit(Screen(path=CAR_PRICES, target="Price", max_fit_seconds=cap, racing=False,
                         zoo=(BASELINE, SLEEPY, LINEAR), tune=False))
    recorder.wait_for(lambda es: any(isinstance(e, ModelStarted) and e.model == "sleepy"
                                     for e in es), since, timeout=60)
    began = time.monotonic()
    recorder.wait_for(lambda es: any(isinstance(e, ModelScored) and e.result.model == "sleepy"
                                     for e in es), since, timeout=60)
    assert time.monotonic() - began <= cap + 2.0
    events = recorder.wait_for_end(since, timeout=60)
    board = _board(events)
    assert board["sleepy"][0] == "timeout"
    assert board[LINEAR.name][0] == "done"  # its fits ran on the slots the sleeper held
    assert events[-1].status == "done" and events[-1].best_model == LINEAR.name


def test_cancel_stops_every_fit_on_the_cluster_within_2_s(cluster):
    worker, recorder = cluster
    since = recorder.mark()
    worker.submit(Screen(path=CAR_PRICES, target="Price", racing=False, zoo=(BASELINE, SLEEPY),
                         tune=False))
    recorder.wait_for(lambda es: any(isinstance(e, ModelStarted) and e.model == "sleepy"
                                     for e in es), since, timeout=60)
    time.sleep(0.5)  # both slots hold a sleeping fit now
    began = time.monotonic()
    worker.cancel()
    events = recorder.wait_for_end(since, timeout=30)
    assert time.monotonic() - began <= 2.0
    assert events[-1].status == "cancelled"


def test_a_worker_killed_mid_run_loses_no_finished_result(cluster):
    worker, recorder = cluster
    since = recorder.mark()
    worker.submit(Screen(path=CAR_PRICES, target="Price", racing=False,
                         zoo=(BASELINE, LINEAR, A_LITTLE_SLOW), tune=False))
    first = recorder.wait_for(lambda es: any(isinstance(e, ModelStarted) and
                                             e.model == A_LITTLE_SLOW.name for e in es),
                              since, timeout=60)
    finished_before = _board(first)
    pids = worker.executor.client.run(os.getpid)
    os.kill(sorted(pids.values())[0], signal.SIGKILL)  # a Dask worker process, mid-fit
    events = recorder.wait_for_end(since, timeout=120)
    end = events[-1]
    assert isinstance(end, RunFinished)
    board = _board(events)
    for model, row in finished_before.items():  # nothing finished is lost
        assert board[model] == row
    if end.status == "done":  # the fits of the dead worker ran again elsewhere
        assert board[A_LITTLE_SLOW.name][0] == "done"
        assert board[LINEAR.name][0] == "done"
    else:
        assert end.stop_reason


def test_a_time_budget_holds_on_the_cluster(cluster, tmp_path):
    zoo = tmp_path / "zoo.toml"
    zoo.write_text(ZOO)
    worker, recorder = cluster
    since = recorder.mark()
    worker.submit(OpenDataset(path=CAR_PRICES))  # this machine's children up, as in the app
    recorder.wait_for(lambda es: any(e.name in ("dataset", "error") for e in es), since, 60)
    began = time.monotonic()
    events = _run(cluster, Screen(path=CAR_PRICES, target="Price", budget_s=6.0,
                                  zoo_path=str(zoo)))
    wall = time.monotonic() - began
    done = events[-1]
    assert isinstance(done, RunFinished) and done.status == "done" and done.best_model
    assert done.elapsed_s <= 6.0 * 1.05 and wall <= 6.0 * 1.05 + 0.5
    assert len(_board(events)) >= 3 and done.stop_reason


def test_a_cluster_lost_mid_run_goes_on_here_with_the_fallback(tmp_path):
    recorder = Recorder()
    worker = Worker(tmp_path / "ws", recorder, max_procs=2).start()
    try:
        worker.submit(ConnectCluster("local:2", fallback_local=True))
        recorder.wait_for(lambda es: any(isinstance(e, ExecutorChanged) for e in es),
                          timeout=90)
        since = recorder.mark()
        worker.submit(Screen(path=CAR_PRICES, target="Price", racing=False,
                             zoo=(BASELINE, A_LITTLE_SLOW), tune=False))
        recorder.wait_for(lambda es: any(isinstance(e, ModelStarted) and
                                         e.model == A_LITTLE_SLOW.name for e in es),
                          since, timeout=60)
        worker.executor.client.cluster.close()  # the scheduler and its workers go away
        events = recorder.wait_for_end(since, timeout=120)
    finally:
        worker.shutdown(timeout=30)
    lost = [e for e in events if isinstance(e, ExecutorChanged)]
    assert len(lost) == 1 and lost[0].kind == "local"
    assert "is gone" in lost[0].message and "finished results are kept" in lost[0].message
    assert isinstance(events[-1], RunFinished) and events[-1].status == "done"
    board = _board(events)  # the fits in flight ran again here: no model failed for it
    assert board[A_LITTLE_SLOW.name][0] == "done" and board[BASELINE.name][0] == "done"
