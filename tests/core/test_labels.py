"""The label store: append-only durable events, the folded state (undo, skip, rename, merge,
re-ranking), replay = resume, export and metadata; plus the active-learning arithmetic."""

from __future__ import annotations

import csv
import json
import sqlite3

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thrifty_tui.config import SAMPLE_DIR
from thrifty_tui.core.tasks import active
from thrifty_tui.core.store.labels import (
    HEAD,
    SKIP_GAP,
    LabelBook,
    LabelError,
    LabelStore,
    attach_labels,
    export_labels,
    labeled_rows,
    labels_metadata,
    parse_label_spec,
    pool_rows,
    replay,
)
from thrifty_tui.core.store.workspace import Workspace

MOVIES = str(SAMPLE_DIR / "movies.csv")


@pytest.fixture
def store(tmp_path):
    ws = Workspace(tmp_path / "ws")
    yield LabelStore(ws.db)
    ws.close()


def open_set(store: LabelStore, n_rows: int = 100, labels=("yes", "no")):
    info = store.create_set("/data/x.csv", "label", "text", n_rows, 1000, 0, "stamp")
    book = LabelBook(pool_rows(n_rows, 1000, 0), 0)
    act(store, book, info.id, "schema", payload={"labels": list(labels)})
    return info, book


def act(store, book, set_id, kind, item=-1, label="", payload=None):
    book.check(kind, item, label, payload or {})
    event = store.append(set_id, kind, item, label, book.how_of(item), payload)
    return book.apply(event)


def test_the_log_is_durable_and_append_only(store):
    info, book = open_set(store)
    act(store, book, info.id, "label", book.queue[0], "yes")
    mode = store.db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.db.execute("UPDATE label_events SET label='no'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.db.execute("DELETE FROM label_events")
    # Another connection (another process after a crash) sees the committed event.
    other = sqlite3.connect(store.db.execute("PRAGMA database_list").fetchone()[2])
    assert other.execute("SELECT kind, label FROM label_events WHERE kind='label'").fetchall() == [
        ("label", "yes")]


def test_one_label_advances_and_undo_restores_item_and_label(store):
    info, book = open_set(store)
    first, second = book.queue[:2]
    act(store, book, info.id, "label", first, "yes")
    assert book.queue[0] == second and book.item_state(first) == ("label", "yes")
    act(store, book, info.id, "label", second, "no")
    act(store, book, info.id, "undo")
    assert book.queue[0] == second and book.item_state(second) == ("", "")
    # Relabeling a labeled item (found by search) and undoing it restores the old label.
    act(store, book, info.id, "label", first, "no")
    assert book.counts() == {"yes": 0, "no": 1}
    act(store, book, info.id, "undo")
    assert book.item_state(first) == ("label", "yes") and book.counts() == {"yes": 1, "no": 0}
    act(store, book, info.id, "undo")
    assert book.queue[:2] == [first, second] and not book.can_undo
    with pytest.raises(LabelError, match="nothing to undo"):
        book.check("undo", -1, "", {})


def test_skipped_items_come_back_and_unsure_flag_leave_the_queue(store):
    info, book = open_set(store)
    skipped = book.queue[0]
    act(store, book, info.id, "skip", skipped)
    assert book.queue.index(skipped) == SKIP_GAP and book.item_state(skipped) == ("skip", "")
    for _ in range(SKIP_GAP):
        act(store, book, info.id, "label", book.queue[0], "yes")
    assert book.queue[0] == skipped  # it is back in front of the user
    act(store, book, info.id, "unsure", skipped)
    act(store, book, info.id, "flag", book.queue[0])
    assert (book.n_outcome("unsure"), book.n_outcome("flag"), book.n_outcome("label")) == (1, 1, 20)
    assert len(book.queue) == 100 - 22


def test_rename_and_merge_are_undoable_events(store):
    info, book = open_set(store, labels=("cat", "dog", "kitten"))
    items = book.queue[:3]
    for item, label in zip(items, ("cat", "dog", "kitten"), strict=True):
        act(store, book, info.id, "label", item, label)
    act(store, book, info.id, "rename", label="Cat", payload={"old": "cat"})
    assert book.slots == ["Cat", "dog", "kitten"] and book.item_state(items[0])[1] == "Cat"
    changed = act(store, book, info.id, "merge", label="Cat", payload={"sources": ["kitten"]})
    assert changed == [items[2]] and book.slots == ["Cat", "dog", ""]
    assert book.keys() == ("1", "2", "") and book.counts() == {"Cat": 2, "dog": 1}
    with pytest.raises(LabelError, match="unknown label"):
        book.check("label", book.queue[0], "kitten", {})
    act(store, book, info.id, "undo")
    act(store, book, info.id, "undo")
    assert book.slots == ["cat", "dog", "kitten"]
    assert [book.item_state(i)[1] for i in items] == ["cat", "dog", "kitten"]


def test_rerank_keeps_the_visible_head_and_skipped_places(store):
    info, book = open_set(store)
    act(store, book, info.id, "skip", book.queue[0])
    head = book.queue[:HEAD]
    skipped_at = SKIP_GAP
    skipped = book.queue[skipped_at]
    tail = book.queue[HEAD:]
    order = list(reversed(tail))[:30]
    act(store, book, info.id, "rerank", payload={"order": order, "how": ["uncertainty"] * 30,
                                                 "notes": ["m"] * 30, "keep": HEAD})
    assert book.queue[:HEAD] == head
    assert book.queue[skipped_at] == skipped
    ranked = [i for i in book.queue[HEAD:HEAD + 31] if i != skipped]
    assert ranked[:30] == [i for i in order if i != skipped][:30]
    assert sorted(book.queue) == sorted(book.known)
    assert book.how_of(order[0]) == "uncertainty"


def test_replay_is_resume(store):
    info, book = open_set(store)
    for step in range(30):
        kind = ("label", "label", "skip", "unsure", "label")[step % 5]
        act(store, book, info.id, kind, book.queue[0], "yes" if kind == "label" else "")
        if step % 7 == 6:
            act(store, book, info.id, "undo")
    again = replay(store.events(info.id), pool_rows(100, 1000, 0), 0)
    assert again.queue == book.queue and again.outcome == book.outcome
    assert again.skipped == book.skipped and again.undo_hint() == book.undo_hint()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["label", "skip", "unsure", "flag", "undo", "rename"]),
                          st.integers(0, 39), st.booleans()), max_size=40))
def test_any_key_sequence_replays_and_undoes_completely(tmp_path_factory, steps):
    ws = Workspace(tmp_path_factory.mktemp("prop") / "ws")
    store = LabelStore(ws.db)
    info, book = open_set(store, n_rows=40)
    n_actions = 0
    for kind, index, flag in steps:
        try:
            if kind == "rename":
                old = book.labels[0]
                act(store, book, info.id, "rename", label=old + "x", payload={"old": old})
            elif kind == "undo":
                act(store, book, info.id, "undo")
            else:
                queue = book.queue or sorted(book.known)
                item = queue[index % len(queue)] if flag else queue[0]
                act(store, book, info.id, kind, item, book.labels[index % 2])
        except LabelError:
            continue
        n_actions += 1 if kind != "undo" else -1
    again = replay(store.events(info.id), pool_rows(40, 1000, 0), 0)
    assert (again.queue, again.outcome, again.slots) == (book.queue, book.outcome, book.slots)
    while book.can_undo:
        act(store, book, info.id, "undo")
    assert book.outcome == {} and book.skipped == set() and book.labels == ["yes", "no"]
    assert sorted(book.queue) == list(range(40))
    ws.close()


def test_export_joins_the_source_and_metadata_describes_the_labels(tmp_path):
    ws = Workspace(tmp_path / "ws")
    store = LabelStore(ws.db)
    frame = pd.read_csv(MOVIES)
    info = store.create_set(MOVIES, "comedy", "title", len(frame), 1000, 0, "s")
    book = LabelBook(pool_rows(len(frame), 1000, 0), 0)
    act(store, book, info.id, "schema", payload={"labels": ["yes", "no"],
                                                 "descriptions": {"yes": "a comedy"}})
    for _ in range(12):
        item = book.queue[0]
        act(store, book, info.id, "label", item, "yes" if frame.Comedy[item] else "no")
    act(store, book, info.id, "flag", book.queue[0])
    ws.close()
    db_path = tmp_path / "ws" / "thrifty.sqlite"
    assert export_labels(db_path, tmp_path / "l.csv") == 13
    assert export_labels(db_path, tmp_path / "l.jsonl") == 13
    with open(tmp_path / "l.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["row", "label", "status", "labeled_at", "chosen_by", "seq"]
    assert [r["status"] for r in rows].count("flag") == 1
    labeled = pd.read_csv(tmp_path / "l.csv").query("status == 'labeled'")
    joined = frame.join(labeled.set_index("row"), how="inner")  # the row number is the index
    assert (joined.label == np.where(joined.Comedy == 1, "yes", "no")).all()
    lines = [json.loads(line) for line in (tmp_path / "l.jsonl").read_text().splitlines()]
    assert lines[0]["chosen_by"] == "random" and lines[0]["row"] == int(rows[0]["row"])
    db = sqlite3.connect(db_path)
    meta = labels_metadata(db)
    assert meta["count"] == 12 and meta["flagged"] == 1 and meta["name"] == "comedy"
    assert meta["schema"][0] == {"label": "yes", "key": "1", "description": "a comedy"}
    assert sum(meta["counts"].values()) == 12 and meta["first_at"] <= meta["last_at"]
    target = attach_labels(frame, *labeled_rows(db, info.id), "comedy")
    assert len(target) == 12 and set(target.comedy) <= {"yes", "no"}
    with pytest.raises(LabelError, match=".csv or .jsonl"):
        export_labels(db_path, tmp_path / "l.txt")


def test_label_spec():
    assert parse_label_spec(["spam:unwanted mail, ham"]) == (("spam", "unwanted mail"), ("ham", ""))
    with pytest.raises(LabelError, match="twice"):
        parse_label_spec(["a,b,a"])
    with pytest.raises(LabelError, match="at most"):
        parse_label_spec([",".join(f"l{i}" for i in range(20))])


def test_pool_of_a_file_and_margin_order_with_a_random_control_slice():
    pool = active.load_pool(MOVIES, None, 0)
    assert pool["text_column"] == "title" and pool["columns"][0] == "title"
    assert len(pool["records"]) == len(pool["rows"]) == 3000
    assert pool["records"][0][0] == "Sergeant Murphy"
    margin = np.linspace(0, 1, 500)
    order, how = active.uncertainty_order(margin, list(range(500)), seed=1, top=100)
    assert len(order) == 100 and len(set(order)) == 100
    assert how.count("random") == 10 and all(how[i] == "random" for i in range(9, 100, 10))
    uncertain = [o for o, h in zip(order, how, strict=True) if h == "uncertainty"]
    assert uncertain == sorted(uncertain)  # smallest margin first


def test_refit_ranks_and_the_learning_report_is_on_random_items():
    pool = active.load_pool(MOVIES, None, 0)
    frame = pd.read_csv(MOVIES)
    book = LabelBook(pool["rows"], 0)
    features = [c for c in pool["feature_columns"] if c not in ("Comedy",)]
    labeled = [(r, "Drama" if frame.Drama[r] else "other", "random") for r in book.queue[:80]]
    spec = {**pool, "feature_columns": features, "labeled": labeled,
            "pending": book.queue[80:], "seed": 0}
    out = active.refit_rank(spec)
    assert len(out["order"]) == 1000 and out["notes"][0].startswith("model: ")
    learning = out["learning"]
    assert learning["estimate"] == "80 random items" and learning["n_labels"] == 80
    assert 0.5 < learning["score"] <= 1.0
    assert [n for n, _ in learning["curve"]] == [16, 32, 48, 64, 80]
    assert {c for c, _, _ in learning["per_class"]} == {"Drama", "other"}
    assert learning["advice"]
