"""The durable label store: an append-only event log in the workspace's SQLite database.

Every user action (label, skip, unsure, flag, undo, add/rename/merge a label, goal) and every
re-ranking of the queue is one row of ``label_events``, committed on its own with
``synchronous=FULL`` by the one writer (the worker thread). The state of a label set (labels,
queue order, undo stack) is folded from its events by :class:`LabelBook`, so reopening replays
the log and lands on the same item with the same queue. Stdlib only: the app's process reads it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# 1-9 then the home row; s and l are the app's Screen and Load keys, so they are left out.
LABEL_KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "d", "f", "g", "h", "j", "k")
POOL_CAP = 100_000  # items per label set; rows of bigger files are sampled (seeded)
SKIP_GAP = 20  # a skipped item comes back after this many others
HEAD = 6  # items at the front of the queue that a re-ranking never moves (shown as "next")
ITEM_ACTIONS = ("label", "unsure", "flag", "skip")
UNDOABLE = ITEM_ACTIONS + ("add", "rename", "merge")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS label_sets (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL, name TEXT NOT NULL, text_column TEXT NOT NULL,
    n_rows INTEGER NOT NULL, pool_cap INTEGER NOT NULL, seed INTEGER NOT NULL,
    fingerprint TEXT NOT NULL, created_at REAL NOT NULL, UNIQUE (path, name)
);
CREATE TABLE IF NOT EXISTS label_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, set_id INTEGER NOT NULL REFERENCES label_sets(id),
    kind TEXT NOT NULL, item INTEGER NOT NULL DEFAULT -1, label TEXT NOT NULL DEFAULT '',
    how TEXT NOT NULL DEFAULT '', payload TEXT NOT NULL DEFAULT '{}', at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS label_events_set ON label_events (set_id, seq);
CREATE TRIGGER IF NOT EXISTS label_events_no_update BEFORE UPDATE ON label_events
BEGIN SELECT RAISE(ABORT, 'label events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS label_events_no_delete BEFORE DELETE ON label_events
BEGIN SELECT RAISE(ABORT, 'label events are append-only'); END;
"""


class LabelError(ValueError):
    """An action that cannot apply (unknown label, nothing to undo …); one line for the user."""


@dataclass(frozen=True)
class LabelSetInfo:
    """One label set: which file, which rows are items (pool), and how they were drawn."""

    id: int
    path: str
    name: str
    text_column: str
    n_rows: int
    pool_cap: int
    seed: int
    fingerprint: str
    created_at: float


@dataclass(frozen=True)
class LabelEvent:
    """One row of the log; ``item`` is a source row number (0-based, as the loader reads it)."""

    seq: int
    kind: str
    item: int = -1
    label: str = ""
    how: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    at: float = 0.0


def parse_label_spec(spec: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """``["spam:unwanted", "ham"]`` -> ((name, description), …); LabelError on bad names."""
    out: list[tuple[str, str]] = []
    for raw in spec:
        for part in str(raw).split(","):
            name, _, description = part.partition(":")
            name = name.strip()
            if not name:
                continue
            if name in (n for n, _ in out):
                raise LabelError(f"label {name!r} is given twice")
            out.append((name, description.strip()))
    if len(out) > len(LABEL_KEYS):
        raise LabelError(f"at most {len(LABEL_KEYS)} labels can have keys; got {len(out)}")
    return tuple(out)


def pool_rows(n_rows: int, cap: int, seed: int) -> list[int]:
    """The source rows that are items: all of them, or a seeded sample of ``cap`` (sorted)."""
    if n_rows <= cap:
        return list(range(n_rows))
    return sorted(random.Random(seed).sample(range(n_rows), cap))


def file_stamp(path: str | Path) -> str:
    """Size and modification time: enough to notice that a file changed since labeling began."""
    st = Path(path).stat()
    return f"{st.st_size}-{st.st_mtime_ns}"


def pool_cache_file(artifacts: Path, path: str, seed: int, cap: int) -> Path:
    """Where the records of a file's items are kept, so reopening needs no child process."""
    key = f"{path}\0{seed}\0{cap}"
    folder = Path(artifacts) / "labels"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"pool-{hashlib.sha1(key.encode()).hexdigest()[:16]}.json"


def read_pool_cache(cache: Path, path: str) -> dict[str, Any] | None:
    """The cached records of ``path``, or None when missing, unreadable or the file changed."""
    try:
        pool = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return pool if pool.get("stamp") == file_stamp(path) else None


def write_pool_cache(cache: Path, pool: dict[str, Any]) -> None:
    tmp = cache.with_name(cache.name + ".tmp")
    tmp.write_text(json.dumps(pool), encoding="utf-8")
    tmp.replace(cache)


class LabelStore:
    """Reads and appends label events on a workspace connection (autocommit, WAL, FULL sync)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        self.db.execute("PRAGMA synchronous=FULL")  # every append is durable once it returns
        self.db.executescript(_SCHEMA)

    def find_set(self, path: str, name: str) -> LabelSetInfo | None:
        row = self.db.execute("SELECT * FROM label_sets WHERE path=? AND name=?",
                              (path, name)).fetchone()
        return LabelSetInfo(*row) if row else None

    def get_set(self, set_id: int) -> LabelSetInfo:
        row = self.db.execute("SELECT * FROM label_sets WHERE id=?", (set_id,)).fetchone()
        if row is None:
            raise LabelError(f"no label set {set_id} in this workspace")
        return LabelSetInfo(*row)

    def sets(self) -> list[LabelSetInfo]:
        return [LabelSetInfo(*r) for r in self.db.execute("SELECT * FROM label_sets ORDER BY id")]

    def create_set(self, path: str, name: str, text_column: str, n_rows: int, pool_cap: int,
                   seed: int, fingerprint: str) -> LabelSetInfo:
        cur = self.db.execute(
            "INSERT INTO label_sets (path, name, text_column, n_rows, pool_cap, seed, fingerprint,"
            " created_at) VALUES (?,?,?,?,?,?,?,?)",
            (path, name, text_column, n_rows, pool_cap, seed, fingerprint, time.time()))
        return self.get_set(cur.lastrowid or 0)

    def append(self, set_id: int, kind: str, item: int = -1, label: str = "", how: str = "",
               payload: dict[str, Any] | None = None) -> LabelEvent:
        """Append one event; it is on disk (WAL, fsync) when this returns."""
        at = time.time()
        text = json.dumps(payload or {}, separators=(",", ":"))
        cur = self.db.execute(
            "INSERT INTO label_events (set_id, kind, item, label, how, payload, at)"
            " VALUES (?,?,?,?,?,?,?)", (set_id, kind, item, label, how, text, at))
        return LabelEvent(cur.lastrowid or 0, kind, item, label, how, payload or {}, at)

    def events(self, set_id: int) -> list[LabelEvent]:
        rows = self.db.execute(
            "SELECT seq, kind, item, label, how, payload, at FROM label_events WHERE set_id=?"
            " ORDER BY seq", (set_id,))
        return [LabelEvent(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6]) for r in rows]


class LabelBook:
    """The state of one label set folded from its events: labels, queue, schema, undo stack."""

    def __init__(self, rows: Sequence[int], seed: int):
        order = list(rows)
        random.Random(seed).shuffle(order)  # cold start: a random order, so the first are a sample
        self.queue: list[int] = order  # items not yet labeled/unsure/flagged, in the order shown
        self.known = set(order)
        self.how: dict[int, str] = {}  # why an item is where it is: random | uncertainty
        self.note: dict[int, str] = {}  # e.g. the model's margin for it
        self.outcome: dict[int, tuple[str, str, str, float, int]] = {}  # kind,label,how,at,seq
        self._kinds: Counter[str] = Counter()  # outcomes by kind, kept as they change
        self._labels: Counter[str] = Counter()  # labeled items by label
        self.skipped: set[int] = set()
        self.slots: list[str] = []  # label names by key slot; "" where a label was merged away
        self.descriptions: dict[str, str] = {}
        self.goal = 0
        self.last_seq = 0
        self.n_reranks = 0
        self._undo: list[tuple[int, str, int, Any]] = []  # (seq, kind, item, what to restore)

    # -- reading ------------------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        return [s for s in self.slots if s]

    def keys(self) -> tuple[str, ...]:
        return tuple(LABEL_KEYS[i] if name else "" for i, name in enumerate(self.slots))

    def how_of(self, item: int) -> str:
        return self.how.get(item, "random")

    def labeled(self) -> list[tuple[int, str, str, float, int]]:
        """(item, label, how, at, seq) of every labeled item, in the order they were labeled."""
        out = [(item, o[1], o[2], o[3], o[4]) for item, o in self.outcome.items() if o[0] == "label"]
        return sorted(out, key=lambda r: r[4])

    def counts(self) -> dict[str, int]:
        return {name: self._labels.get(name, 0) for name in self.labels}

    def n_outcome(self, kind: str) -> int:
        return self._kinds.get(kind, 0)

    def _set_outcome(self, item: int, value: tuple[str, str, str, float, int] | None) -> None:
        old = self.outcome.pop(item, None)
        if old is not None:
            self._kinds[old[0]] -= 1
            if old[0] == "label":
                self._labels[old[1]] -= 1
        if value is not None:
            self.outcome[item] = value
            self._kinds[value[0]] += 1
            if value[0] == "label":
                self._labels[value[1]] += 1

    def item_state(self, item: int) -> tuple[str, str]:
        """(outcome, label) of an item; ("", "") while it waits in the queue."""
        o = self.outcome.get(item)
        return (o[0], o[1]) if o else ("skip" if item in self.skipped else "", "")

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def undo_target(self) -> tuple[int, str, int]:
        """(seq, kind, item) of the action the next undo reverts; LabelError if none."""
        if not self._undo:
            raise LabelError("nothing to undo")
        seq, kind, item, _ = self._undo[-1]
        return seq, kind, item

    def undo_hint(self) -> str:
        if not self._undo:
            return ""
        _, kind, item = self.undo_target()
        return f"{kind} row {item}" if item >= 0 else kind

    # -- checks the writer makes before appending --------------------------------------------
    def check(self, kind: str, item: int, label: str, payload: dict[str, Any]) -> None:
        """LabelError if the action cannot apply now (so a bad event never reaches the log)."""
        if kind in ITEM_ACTIONS and item not in self.known:
            raise LabelError(f"row {item} is not an item of this label set")
        if kind == "label" and label not in self.labels:
            raise LabelError(f"unknown label {label!r}; labels are {', '.join(self.labels)}")
        if kind == "skip" and item not in self.queue:
            raise LabelError(f"row {item} is not waiting in the queue")
        if kind == "undo" and not self._undo:
            raise LabelError("nothing to undo")
        if kind == "add":
            if label in self.labels:
                raise LabelError(f"label {label!r} exists already")
            if len(self.slots) >= len(LABEL_KEYS):
                raise LabelError(f"at most {len(LABEL_KEYS)} labels")
        if kind == "rename":
            if payload.get("old") not in self.labels:
                raise LabelError(f"no label {payload.get('old')!r}")
            if not label or label in self.labels:
                raise LabelError(f"cannot rename to {label!r}: empty or taken (merge instead)")
        if kind == "merge":
            sources = payload.get("sources", [])
            missing = [s for s in sources if s not in self.labels]
            if missing or len(sources) < 1 or not label:
                raise LabelError(f"cannot merge {sources} into {label!r}")
            if label not in self.labels and label in sources:
                raise LabelError(f"cannot merge into {label!r}")

    # -- folding ------------------------------------------------------------------------------
    def apply(self, ev: LabelEvent) -> list[int]:
        """Fold one event in; returns the items whose outcome or label changed."""
        self.last_seq = ev.seq
        kind, item, p = ev.kind, ev.item, ev.payload
        if kind == "schema":
            for name in p.get("labels", []):
                if name not in self.slots:
                    self.slots.append(name)
            self.descriptions.update(p.get("descriptions", {}))
            return []
        if kind == "goal":
            self.goal = int(p.get("goal", 0))
            return []
        if kind == "rerank":
            self._rerank(p)
            return []
        if kind == "undo":
            return self._revert()
        if kind in ("label", "unsure", "flag"):
            prev = (self.outcome.get(item), self.queue.index(item) if item in self.queue else None,
                    item in self.skipped)
            self._set_outcome(item, (kind, ev.label if kind == "label" else "", ev.how, ev.at,
                                     ev.seq))
            if prev[1] is not None:
                del self.queue[prev[1]]
            self.skipped.discard(item)
            self._undo.append((ev.seq, kind, item, prev))
            return [item]
        if kind == "skip":
            index = self.queue.index(item)
            del self.queue[index]
            self.queue.insert(min(len(self.queue), index + SKIP_GAP), item)
            self._undo.append((ev.seq, kind, item, (index, item in self.skipped)))
            self.skipped.add(item)
            return [item]
        if kind in ("add", "rename", "merge"):
            before = (list(self.slots), {i: o for i, o in self.outcome.items() if o[0] == "label"})
            self._undo.append((ev.seq, kind, -1, before))
            if kind == "add":
                self.slots.append(ev.label)
                if p.get("description"):
                    self.descriptions[ev.label] = p["description"]
                return []
            sources = [p["old"]] if kind == "rename" else list(p["sources"])
            if ev.label not in self.slots:  # the new name takes the first source's key
                self.slots[self.slots.index(sources[0])] = ev.label
            self.slots = [s if s not in sources or s == ev.label else "" for s in self.slots]
            changed = [i for i, o in self.outcome.items() if o[0] == "label" and o[1] in sources]
            for i in changed:
                self._set_outcome(i, ("label", ev.label) + self.outcome[i][2:])
            return changed
        raise LabelError(f"unknown label event {kind!r}")

    def _revert(self) -> list[int]:
        _, kind, item, prev = self._undo.pop()
        if kind == "skip":
            index, was_skipped = prev
            self.queue.remove(item)
            self.queue.insert(index, item)
            if not was_skipped:
                self.skipped.discard(item)
            return [item]
        if kind in ("label", "unsure", "flag"):
            outcome, index, was_skipped = prev
            self._set_outcome(item, outcome)
            if index is not None:
                self.queue.insert(0, item)  # the undone item is in front of the user again
            if was_skipped:
                self.skipped.add(item)
            return [item]
        slots, labeled = prev
        changed = [i for i, o in labeled.items() if self.outcome.get(i) != o]
        self.slots = slots
        for i in changed:
            self._set_outcome(i, labeled[i])
        return changed

    def _rerank(self, p: dict[str, Any]) -> None:
        """Model order for the queue; the first HEAD items and skipped items keep their place."""
        self.n_reranks += 1
        keep = int(p.get("keep", HEAD))
        head = self.queue[:keep]
        fixed = set(head)
        waiting = set(self.queue)
        pinned = {i: pos for pos, i in enumerate(self.queue) if i in self.skipped and i not in fixed}
        ranked: list[int] = []
        for item, how, note in zip(p["order"], p["how"], p.get("notes", [""] * len(p["order"])),
                                   strict=True):
            if item in waiting and item not in fixed and item not in pinned:
                ranked.append(item)
                fixed.add(item)
                self.how[item] = how
                self.note[item] = note
        rest = [i for i in self.queue[keep:] if i not in fixed and i not in pinned]
        queue = head + ranked + rest
        for item, pos in sorted(pinned.items(), key=lambda kv: kv[1]):
            queue.insert(min(pos, len(queue)), item)
        self.queue = queue


def replay(events: Iterable[LabelEvent], rows: Sequence[int], seed: int) -> LabelBook:
    """The book after every event (what reopening a label set does)."""
    book = LabelBook(rows, seed)
    for ev in events:
        book.apply(ev)
    return book


# -- reading a workspace from outside the app (export, bundle metadata) ------------------------
def open_readonly(db_path: str | Path) -> sqlite3.Connection:
    """A read-only connection to a workspace database (safe while the app writes)."""
    path = Path(db_path)
    if not path.exists():
        raise LabelError(f"no workspace database at {path}")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def _store_ro(db: sqlite3.Connection) -> LabelStore:
    store = LabelStore.__new__(LabelStore)  # no schema writes on a read-only connection
    store.db = db
    return store


def _book_for(store: LabelStore, info: LabelSetInfo) -> LabelBook:
    return replay(store.events(info.id), pool_rows(info.n_rows, info.pool_cap, info.seed),
                  info.seed)


def _pick_set(store: LabelStore, set_id: int | None) -> LabelSetInfo:
    try:
        sets = store.sets()
    except sqlite3.OperationalError:
        sets = []
    if not sets:
        raise LabelError("no labels in this workspace yet: run `thrifty-tui label PATH` first")
    if set_id is None:
        return sets[-1]
    for info in sets:
        if info.id == set_id:
            return info
    raise LabelError(f"no label set {set_id}; sets are {', '.join(str(s.id) for s in sets)}")


def labels_metadata(db: sqlite3.Connection, set_id: int | None = None) -> dict[str, Any]:
    """What a bundle records about the labels: count, schema, when, how items were chosen."""
    store = _store_ro(db)
    info = _pick_set(store, set_id)
    book = _book_for(store, info)
    labeled = book.labeled()
    times = [r[3] for r in labeled]
    return {
        "set_id": info.id, "source": info.path, "name": info.name,
        "text_column": info.text_column, "source_fingerprint": info.fingerprint,
        "schema": [{"label": n, "key": k, "description": book.descriptions.get(n, "")}
                   for n, k in zip(book.slots, book.keys(), strict=True) if n],
        "count": len(labeled), "counts": book.counts(),
        "unsure": book.n_outcome("unsure"), "flagged": book.n_outcome("flag"),
        "chosen_by": dict(Counter(r[2] for r in labeled)),
        "first_at": _iso(min(times)) if times else None,
        "last_at": _iso(max(times)) if times else None,
        "created_at": _iso(info.created_at), "events": book.last_seq,
    }


def labeled_rows(db: sqlite3.Connection, set_id: int) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """The source rows that carry a label and their labels (the target for screening)."""
    store = _store_ro(db)
    rows = _book_for(store, _pick_set(store, set_id)).labeled()
    return tuple(r[0] for r in rows), tuple(r[1] for r in rows)


def attach_labels(frame: Any, rows: Sequence[int], labels: Sequence[str], column: str) -> Any:
    """The labeled rows of a source frame with the labels as column ``column`` (pandas in)."""
    out = frame.iloc[list(rows)].copy()
    out[column] = list(labels)
    return out.reset_index(drop=True)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


EXPORT_FIELDS = ("row", "label", "status", "labeled_at", "chosen_by", "seq")


def export_labels(db_path: str | Path, out: str | Path, set_id: int | None = None) -> int:
    """Write item row, label, status, time and how it was chosen as CSV or JSONL; row count.

    ``row`` is the 0-based data row of the source file as thrifty-tui reads it (header not
    counted), so ``frame.iloc[row]`` or a join on the row number gives the record back.
    """
    out = Path(out)
    if out.suffix.lower() not in (".csv", ".jsonl"):
        raise LabelError(f"{out.name}: write .csv or .jsonl")
    db = open_readonly(db_path)
    try:
        store = _store_ro(db)
        book = _book_for(store, _pick_set(store, set_id))
    finally:
        db.close()
    records = [{"row": item, "label": o[1], "status": {"label": "labeled"}.get(o[0], o[0]),
                "labeled_at": _iso(o[3]), "chosen_by": o[2], "seq": o[4]}
               for item, o in sorted(book.outcome.items(), key=lambda kv: kv[1][4])]
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        if out.suffix.lower() == ".csv":
            writer = csv.DictWriter(fh, fieldnames=EXPORT_FIELDS)
            writer.writeheader()
            writer.writerows(records)
        else:
            fh.writelines(json.dumps(rec) + "\n" for rec in records)
    tmp.replace(out)
    return len(records)
