"""Labeling jobs on the real worker: durable acks, errors, refit in a child, resume, screening
on the labels. One worker serves the module, as in the app."""

from __future__ import annotations

import sqlite3
import time

import pandas as pd
import pytest
from engine_helpers import Recorder, of_type

from thrifty_tui.config import SAMPLE_DIR
from thrifty_tui.core.events import (
    JobFailed,
    LabelingOpened,
    LabelSaved,
    LearningUpdated,
    ModelStarted,
    RunFinished,
    RunStarted,
)
from thrifty_tui.core.store.labels import HEAD
from thrifty_tui.engine.jobs import EditLabels, Label, OpenLabeling, Screen
from thrifty_tui.engine.worker import Worker

MOVIES = str(SAMPLE_DIR / "movies.csv")
COMEDY = pd.read_csv(MOVIES).Comedy


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return tmp_path_factory.mktemp("labeling") / "ws"


@pytest.fixture(scope="module")
def engine(workspace):
    recorder = Recorder()
    worker = Worker(workspace, recorder, max_procs=1).start()
    yield worker, recorder
    worker.shutdown(timeout=30)


def ask(engine, job, kind=LabelSaved, timeout=60.0):
    """Submit ``job``; the last event of type ``kind`` (or the JobFailed) it caused."""
    worker, recorder = engine
    since = recorder.mark()
    worker.submit(job)
    events = recorder.wait_for(lambda es: any(isinstance(e, kind | JobFailed) for e in es),
                               since, timeout)
    return [e for e in events if isinstance(e, kind | JobFailed)][-1]


@pytest.fixture(scope="module")
def opened(engine):
    _, recorder = engine
    since = recorder.mark()
    saved = ask(engine, OpenLabeling(path=MOVIES, labels=("yes:a comedy", "no"), name="comedy"))
    opened = of_type(recorder.events[since:], LabelingOpened)[0]
    return opened, saved


def oracle(item: int) -> str:
    return "yes" if COMEDY[item] else "no"


def test_open_reports_items_schema_and_the_queue_head(opened):
    opened, saved = opened
    assert opened.text_column == "title" and opened.set_name == "comedy"
    assert len(opened.records) == len(opened.rows) == 3000 and opened.n_rows == 3000
    assert saved.action == "open" and len(saved.head) == HEAD
    assert saved.labels == ("yes", "no") and saved.keys == ("1", "2")
    assert saved.descriptions == ("a comedy", "")
    assert saved.n_labeled == 0 and saved.n_waiting == 3000


def test_a_label_is_on_disk_when_its_ack_arrives(engine, opened, workspace):
    opened, saved = opened
    item = saved.head[0]
    ack = ask(engine, Label(set_id=opened.set_id, action="label", item=item, label=oracle(item),
                            token=7))
    assert (ack.token, ack.item, ack.label, ack.n_labeled) == (7, item, oracle(item), 1)
    assert ack.head[0] == saved.head[1] and ack.changed == ((item, "label", oracle(item)),)
    # A second connection, as another process would: the event is already committed.
    db = sqlite3.connect(workspace / "thrifty.sqlite")
    assert db.execute("SELECT item, label FROM label_events WHERE seq=?", (ack.seq,)).fetchone() \
        == (item, oracle(item))
    db.close()


def test_bad_actions_fail_cleanly_and_change_nothing(engine, opened):
    opened, _ = opened
    failed = ask(engine, Label(set_id=opened.set_id, action="label", item=0, label="maybe"))
    assert isinstance(failed, JobFailed) and "unknown label 'maybe'" in failed.message
    failed = ask(engine, Label(set_id=99, action="label", item=0, label="yes"))
    assert isinstance(failed, JobFailed) and "not open" in failed.message
    failed = ask(engine, EditLabels(set_id=opened.set_id, action="goal", names=("lots",)))
    assert isinstance(failed, JobFailed) and "number" in failed.message


def test_undo_skip_and_goal(engine, opened):
    opened, _ = opened
    set_id = opened.set_id
    before = ask(engine, EditLabels(set_id=set_id, action="goal", names=("50",)))
    assert before.goal == 50
    first = before.head[0]
    skipped = ask(engine, Label(set_id=set_id, action="skip", item=first))
    assert skipped.head[0] != first and skipped.n_skipped == 1
    undone = ask(engine, Label(set_id=set_id, action="undo"))
    assert undone.head[0] == first and undone.n_skipped == 0 and undone.item == first


def test_the_model_refits_in_a_child_and_reranks_behind_the_head(engine, opened, workspace):
    opened, _ = opened
    _, recorder = engine
    since = recorder.mark()
    ack = ask(engine, EditLabels(set_id=opened.set_id, action="goal", names=("50",)))
    for _ in range(12):
        item = ack.head[0]
        ack = ask(engine, Label(set_id=opened.set_id, action="label", item=item,
                                label=oracle(item)))
    learning = recorder.wait_for(lambda es: any(isinstance(e, LearningUpdated) for e in es),
                                 since, timeout=90)
    update = of_type(learning, LearningUpdated)[-1]
    assert update.metric == "balanced_accuracy" and update.n_labels >= 8
    assert 0.0 <= update.score <= 1.0 and update.curve and update.advice
    db = sqlite3.connect(workspace / "thrifty.sqlite")
    reranks = db.execute("SELECT count(*) FROM label_events WHERE kind='rerank'").fetchone()[0]
    db.close()
    assert reranks >= 1
    # The head the user saw before the re-ranking is still the head.
    head = ask(engine, EditLabels(set_id=opened.set_id, action="goal", names=("60",))).head
    assert head == ack.head


def _current(engine, opened) -> int:
    return ask(engine, EditLabels(set_id=opened.set_id, action="goal", names=("50",))).head[0]


def test_resume_in_a_new_worker_is_the_same_queue_without_a_child(engine, opened, workspace):
    opened, _ = opened
    before = _current(engine, opened)
    head = ask(engine, EditLabels(set_id=opened.set_id, action="goal", names=("50",)))
    recorder = Recorder()
    other = Worker(workspace, recorder, max_procs=1).start()
    try:
        started = time.monotonic()
        resumed = ask((other, recorder), OpenLabeling(path=MOVIES, name="comedy"))
        took = time.monotonic() - started
        assert resumed.head == head.head and resumed.head[0] == before
        assert resumed.n_labeled == head.n_labeled and resumed.counts == head.counts
        assert len(resumed.changed) == head.n_labeled + head.n_skipped
        assert took < 5  # records came from the workspace cache, not a child reading the file
    finally:
        other.shutdown(timeout=30)


def test_screening_takes_the_labels_as_target(engine, opened):
    opened, _ = opened
    worker, recorder = engine
    since = recorder.mark()
    worker.submit(Screen(path=opened.path, target="comedy", task="classification",
                         label_set=opened.set_id, racing=False))
    events = recorder.wait_for_end(since, timeout=120)
    assert not of_type(events, JobFailed), of_type(events, JobFailed)
    started = of_type(events, RunStarted)[0]
    finished = of_type(events, RunFinished)[-1]
    labeled = ask(engine, EditLabels(set_id=opened.set_id, action="goal", names=("50",)))
    assert started.target == "comedy" and started.n_rows == labeled.n_labeled
    assert finished.status == "done"


def test_a_label_is_saved_while_a_screening_run_goes_on(engine, opened):
    """Keys are served between the run's polls: the ack comes before the run ends."""
    from engine_helpers import BASELINE, SLEEPY

    opened, _ = opened
    worker, recorder = engine
    since = recorder.mark()
    worker.submit(Screen(path=str(SAMPLE_DIR / "car_prices.csv"), target="Price",
                         zoo=(BASELINE, SLEEPY), racing=False))
    recorder.wait_for(lambda es: any(isinstance(e, ModelStarted) and e.model == "sleepy"
                                     for e in es), since, 60)
    assert worker.busy
    head = ask(engine, EditLabels(set_id=opened.set_id, action="goal", names=("60",)))
    item = head.head[0]
    ack = ask(engine, Label(set_id=opened.set_id, action="label", item=item,
                            label=oracle(item), token=41), timeout=20)
    assert isinstance(ack, LabelSaved) and (ack.token, ack.item) == (41, item)
    assert worker.busy and not of_type(recorder.events[since:], RunFinished)
    worker.cancel()
    events = recorder.wait_for_end(since, timeout=30)
    assert of_type(events, RunFinished)[-1].status == "cancelled"


def test_cli_exports_the_labels_and_refuses_bad_input(engine, opened, workspace, tmp_path,
                                                      capsys):
    from thrifty_tui.cli.commands import main

    opened, _ = opened
    labeled = ask(engine, EditLabels(set_id=opened.set_id, action="goal", names=("50",)))
    out = tmp_path / "labels.csv"
    assert main(["labels", "export", "--workspace", str(workspace), "-o", str(out)]) == 0
    frame = pd.read_csv(out)
    assert (frame.status == "labeled").sum() == labeled.n_labeled
    assert (frame.label == frame.row.map(oracle)).all()  # joinable: row = the file's data row
    assert set(frame.chosen_by) <= {"random", "uncertainty", "search"}
    assert main(["labels", "info", "--workspace", str(workspace)]) == 0
    assert f'"count": {labeled.n_labeled}' in capsys.readouterr().out
    assert main(["labels", "export", "--workspace", str(tmp_path / "none"), "-o", "x.csv"]) == 2
    assert main(["label", str(tmp_path / "missing.csv"), "--labels", "a,b"]) == 2
    assert main(["label", MOVIES, "--labels", "a,b,a"]) == 2
    assert "given twice" in capsys.readouterr().err


def test_an_added_label_keeps_its_name_and_its_description(engine, opened):
    opened, _ = opened
    ack = ask(engine, EditLabels(set_id=opened.set_id, action="add", names=("maybe:not sure",)))
    assert ack.labels[-1] == "maybe" and ack.descriptions[-1] == "not sure"
    undone = ask(engine, Label(set_id=opened.set_id, action="undo"))
    assert "maybe" not in undone.labels
