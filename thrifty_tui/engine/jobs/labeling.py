"""The labeling jobs, run on the worker thread: every action is appended to the label store
(committed, fsynced) before its LabelSaved event goes out; the labeling model refits in a
child process in the background and re-ranks the queue when it is done.
"""

from __future__ import annotations

import logging
import math
import threading
from concurrent.futures import BrokenExecutor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thrifty_tui.core.errors import DataError, check_path, describe_error
from thrifty_tui.core.events import LabelingOpened, LabelSaved, LearningUpdated, Notice
from thrifty_tui.core.store.labels import (
    HEAD,
    LABEL_KEYS,
    POOL_CAP,
    LabelBook,
    LabelError,
    LabelEvent,
    LabelSetInfo,
    LabelStore,
    labeled_rows,
    labels_metadata,
    parse_label_spec,
    pool_cache_file,
    pool_rows,
    read_pool_cache,
    replay,
    write_pool_cache,
)
from thrifty_tui.core.tasks import labeling as child_tasks
from thrifty_tui.engine.context import JobContext
from thrifty_tui.engine.jobs.requests import EditLabels, Label, LabelingJob, OpenLabeling, Screen

log = logging.getLogger(__name__)
MIN_LABELS = 8  # labels (of at least two classes) before the first model


@dataclass(frozen=True)
class RefitFinished(LabelingJob):
    """Internal: a background refit ended (its future is done); queued by the future itself."""

    set_id: int
    future: Future
    n_labels: int


# Jobs the worker also serves between the polls of a long job (a screening run): a label
# key is acknowledged within a poll (50 ms) instead of after the run.
QUICK_JOBS = (Label, EditLabels, RefitFinished)


@dataclass
class Session:
    """One open label set on the worker: its items, its folded state, its refit status."""

    info: LabelSetInfo
    pool: dict[str, Any]
    book: LabelBook
    refitting: bool = False
    refit_n: int = 0
    failures: int = 0
    learning: dict[str, Any] | None = field(default=None)


_HANDLERS: dict[int, Labeling] = {}  # id of a worker's JobContext -> its labeling handler


def handle(ctx: JobContext, job: LabelingJob) -> None:
    """Entry point from the worker's dispatch: one handler per worker (per context), made on
    first use and kept for the worker's life."""
    handler = _HANDLERS.get(id(ctx))
    if handler is None or handler.ctx is not ctx:
        handler = _HANDLERS[id(ctx)] = Labeling(ctx)
    handler.handle(job)


def screen_labels(ctx: JobContext, job: Screen
                  ) -> tuple[tuple[int, ...], tuple[str, ...], dict[str, Any]]:
    """(rows, labels, metadata) of a Screen job's label set; DataError when there are too few.

    The rows are those of ``job.path`` as the loader reads it; the metadata (count, schema,
    when) goes into the run's problem.json and from there into the bundle's manifest.
    """
    assert job.label_set is not None
    store = LabelStore(ctx.ws.db)  # the tables exist even in a workspace that never labeled
    try:
        info = store.get_set(job.label_set)
        rows, labels = labeled_rows(ctx.ws.db, job.label_set)
        meta = labels_metadata(ctx.ws.db, job.label_set)
    except LabelError as err:
        raise DataError(str(err)) from None
    if Path(job.path).expanduser().resolve() != Path(info.path):
        raise DataError(f"label set {job.label_set} labels {info.path}, not {job.path}")
    if len(set(labels)) < 2 or len(rows) < 10:
        raise DataError(f"label set {job.label_set} has {len(rows)} labels in "
                        f"{len(set(labels))} classes: label at least 10 in two classes first")
    return rows, labels, meta


class Labeling:
    """The labeling jobs of one worker (all calls on the worker thread)."""

    def __init__(self, ctx: JobContext):
        self.ctx = ctx
        self.store = LabelStore(ctx.ws.db)
        self.sessions: dict[int, Session] = {}

    def handle(self, job: LabelingJob) -> None:
        try:
            if isinstance(job, OpenLabeling):
                self._open(job)
            elif isinstance(job, Label):
                self._label(job)
            elif isinstance(job, EditLabels):
                self._edit(job)
            elif isinstance(job, RefitFinished):
                self._refit_finished(job)
            else:
                raise TypeError(f"unknown labeling job {job!r}")
        except LabelError as err:
            raise DataError(str(err)) from None

    # -- open / resume ---------------------------------------------------------------------
    def _open(self, job: OpenLabeling) -> None:
        path = str(check_path(job.path).resolve())
        info = self.store.find_set(path, job.name)
        seed, cap = (info.seed, info.pool_cap) if info else (job.seed, POOL_CAP)
        text_column = job.text_column or (info.text_column if info else None) or None
        cache = pool_cache_file(self.ctx.ws.artifacts, path, seed, cap)
        pool = read_pool_cache(cache, path)
        if pool is not None and job.text_column and pool["text_column"] != job.text_column:
            pool = None  # another column asked for as the text
        if pool is None:  # first open, or the file changed: read it in a child
            pool = self.ctx.wait(self.ctx.executor.submit(
                child_tasks.load_pool, path, text_column, seed, cap))
            write_pool_cache(cache, pool)
        if info is not None and pool["n_rows"] != info.n_rows:
            raise DataError(f"{Path(path).name} changed since labeling began: "
                            f"{info.n_rows:,} rows then, {pool['n_rows']:,} now; use another "
                            f"--name or workspace for the new file")
        if info is None:
            info = self.store.create_set(path, job.name, pool["text_column"], pool["n_rows"],
                                         cap, seed, pool["stamp"])
        rows = pool_rows(info.n_rows, info.pool_cap, info.seed)
        book = replay(self.store.events(info.id), rows, info.seed)
        session = Session(info, pool, book)
        self.sessions[info.id] = session
        spec = parse_label_spec(job.labels)
        new = [(n, d) for n, d in spec if n not in book.labels]
        if new:
            if len(book.slots) + len(new) > len(LABEL_KEYS):
                raise LabelError("too many labels for the keys; merge some first")
            self._append(session, "schema", payload={
                "labels": [n for n, _ in new], "descriptions": {n: d for n, d in new if d}})
        self.ctx.emit(LabelingOpened(
            set_id=info.id, path=path, set_name=info.name, text_column=pool["text_column"],
            columns=tuple(pool["columns"]), rows=tuple(rows),
            records=tuple(map(tuple, pool["records"])), n_rows=info.n_rows,
            notices=tuple(pool.get("notices", ()))))
        changed = tuple(book.outcome) + tuple(book.skipped)
        self.ctx.emit(self._saved(session, "open", None, 0, list(changed)))
        # Starting the pool takes ~0.5 s (imports, resource tracker): on the worker thread, at
        # the first refit, it would hold up the acknowledgement of a label.
        self.ctx.executor.warm_up()
        self._maybe_refit(session)

    # -- actions -----------------------------------------------------------------------------
    def _session(self, set_id: int) -> Session:
        session = self.sessions.get(set_id)
        if session is None:
            raise LabelError(f"label set {set_id} is not open")
        return session

    def _append(self, session: Session, kind: str, item: int = -1, label: str = "",
                how: str = "", payload: dict[str, Any] | None = None
                ) -> tuple[LabelEvent, list[int]]:
        session.book.check(kind, item, label, payload or {})
        event = self.store.append(session.info.id, kind, item, label, how, payload)
        return event, session.book.apply(event)

    def _label(self, job: Label) -> None:
        session = self._session(job.set_id)
        book = session.book
        if job.action == "undo":
            seq, kind, item = book.undo_target()  # the event names the item it gives back
            undone = book.outcome[item][1] if kind == "label" else kind  # …and what it takes
            event, changed = self._append(session, "undo", item, undone,
                                          payload={"undoes": seq, "kind": kind})
        elif job.action in ("label", "skip", "unsure", "flag"):
            how = "search" if job.via == "search" else book.how_of(job.item)
            event, changed = self._append(session, job.action, job.item,
                                          job.label if job.action == "label" else "", how)
        else:
            raise LabelError(f"unknown action {job.action!r}")
        self.ctx.emit(self._saved(session, job.action, event, job.token, changed))
        if job.action in ("label", "undo"):
            self._maybe_refit(session)

    def _edit(self, job: EditLabels) -> None:
        session = self._session(job.set_id)
        event: LabelEvent | None = None
        changed: list[int] = []
        if job.action == "add":  # ``name`` or ``name:description``, as --labels reads them
            for name, description in parse_label_spec(job.names):
                event, _ = self._append(session, "add", label=name, payload=(
                    {"description": description} if description else None))
        elif job.action == "rename":
            event, changed = self._append(session, "rename", label=job.into.strip(),
                                          payload={"old": job.names[0]})
        elif job.action == "merge":
            event, changed = self._append(session, "merge", label=job.into.strip(),
                                          payload={"sources": list(job.names)})
        elif job.action == "goal":
            try:
                goal = int(job.names[0])
            except (IndexError, ValueError):
                raise LabelError("the goal is a number of labels, like 200") from None
            event, _ = self._append(session, "goal", label=str(goal), payload={"goal": goal})
        else:
            raise LabelError(f"unknown edit {job.action!r}")
        self.ctx.emit(self._saved(session, job.action, event, job.token, changed))

    def _saved(self, session: Session, action: str, event: LabelEvent | None, token: int,
               changed: list[int]) -> LabelSaved:
        book = session.book
        head = tuple(book.queue[:HEAD])
        counts = book.counts()
        return LabelSaved(
            set_id=session.info.id, seq=event.seq if event else book.last_seq, action=action,
            item=event.item if event else -1, label=event.label if event else "", token=token,
            head=head, head_how=tuple(book.how_of(i) for i in head),
            head_notes=tuple(book.note.get(i, "") for i in head), labels=tuple(book.slots),
            keys=book.keys(), descriptions=tuple(book.descriptions.get(s, "") for s in book.slots),
            counts=tuple(counts.get(s, 0) if s else 0 for s in book.slots),
            changed=tuple((i, *book.item_state(i)) for i in changed),
            n_labeled=book.n_outcome("label"), n_unsure=book.n_outcome("unsure"),
            n_flagged=book.n_outcome("flag"), n_skipped=len(book.skipped),
            n_waiting=len(book.queue), goal=book.goal, undo_hint=book.undo_hint(),
            at=event.at if event else 0.0)

    # -- learning while labeling ---------------------------------------------------------------
    def _maybe_refit(self, session: Session) -> None:
        """Refit in a child when enough new labels arrived since the last fit (never waits)."""
        book = session.book
        counts = [c for c in book.counts().values() if c]
        n = sum(counts)
        due = max(MIN_LABELS, session.refit_n + max(5, session.refit_n // 10))
        if session.refitting or len(counts) < 2 or n < due or session.failures >= 3 \
                or not book.queue:
            return
        pool = session.pool
        spec = {"path": pool["path"], "stamp": pool["stamp"], "rows": list(pool["rows"]),
                "feature_columns": pool["feature_columns"], "seed": session.info.seed,
                "labeled": [(item, label, how) for item, label, how, _, _ in book.labeled()],
                "pending": list(book.queue)}
        session.refitting, session.refit_n = True, n
        set_id, ctx = session.info.id, self.ctx

        def submit() -> None:
            # Off the worker thread: the first submit may wait for the pool to start (imports,
            # spawning children), and label acknowledgements must not wait behind it.
            try:
                future = ctx.executor.submit(child_tasks.refit_rank, spec)
            except Exception as err:  # noqa: BLE001 - reported by _refit_finished
                future = Future()
                future.set_exception(err)
            future.add_done_callback(lambda f: ctx.submit(RefitFinished(set_id, f, n)))

        threading.Thread(target=submit, name="thrifty-refit-submit", daemon=True).start()

    def _refit_finished(self, job: RefitFinished) -> None:
        session = self.sessions.get(job.set_id)
        if session is None:
            return
        session.refitting = False
        try:
            result = job.future.result()
        except Exception as err:  # noqa: BLE001 - labeling goes on without a model
            if isinstance(err, BrokenExecutor):
                # The children died under it (a screening run's timeout or cancel kills them,
                # and a broken pool restarts on its next submit): refit again on the next label.
                session.refit_n = 0
                return
            else:
                session.failures += 1
                log.warning("labeling model failed: %s", describe_error(err))
            self.ctx.emit(Notice(message=f"labeling model: {describe_error(err)}"))
            return
        if result["order"]:
            self._append(session, "rerank", payload={
                "order": result["order"], "how": result["how"], "notes": result["notes"],
                "keep": HEAD, "n_labels": job.n_labels})
        learning = result.get("learning")
        if learning:
            session.learning = learning
            self.ctx.emit(_learning_event(session.info.id, learning, result["fit_seconds"]))
        self._maybe_refit(session)


def _learning_event(set_id: int, d: dict[str, Any], fit_seconds: float) -> LearningUpdated:
    def num(v: Any) -> float:
        return float(v) if v is not None else math.nan

    return LearningUpdated(
        set_id=set_id, n_labels=int(d["n_labels"]), metric=d["metric"], score=num(d["score"]),
        score_std=num(d["score_std"]), estimate=d["estimate"],
        curve=tuple((int(n), float(s)) for n, s in d["curve"]),
        per_class=tuple((str(c), float(r), int(k)) for c, r, k in d["per_class"]),
        projected_n=int(d["projected_n"]), projected_score=num(d["projected_score"]),
        per_doubling=num(d["per_doubling"]), control=tuple(float(v) for v in d["control"]),
        advice=d["advice"], fit_seconds=fit_seconds)
