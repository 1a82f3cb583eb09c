"""Where a project's durable state lives: one SQLite database plus an artifacts folder."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from thrifty_tui.config import DEFAULT_WORKSPACE, resolve_workspace  # noqa: F401 - re-exported
from thrifty_tui.core.events import RunFinished, RunStarted
from thrifty_tui.core.records import ModelResult

SCHEMA_VERSION = 1
OWNER_COLUMNS = (("owner_pid", "INTEGER"), ("owner_started", "INTEGER"))

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS datasets (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL, fingerprint TEXT NOT NULL,
    n_rows INTEGER NOT NULL, n_cols INTEGER NOT NULL, opened_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL, target TEXT NOT NULL, task TEXT NOT NULL,
    metric TEXT NOT NULL, n_rows INTEGER NOT NULL, n_folds INTEGER NOT NULL,
    models TEXT NOT NULL, seed INTEGER NOT NULL, notices TEXT NOT NULL DEFAULT '[]',
    started_at REAL NOT NULL, finished_at REAL, status TEXT NOT NULL DEFAULT 'running',
    best_model TEXT, best_score REAL, elapsed_s REAL, stop_reason TEXT, model_path TEXT,
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id), model TEXT NOT NULL,
    status TEXT NOT NULL, fold_scores TEXT NOT NULL, fit_seconds REAL NOT NULL,
    error TEXT NOT NULL, params TEXT NOT NULL, baseline INTEGER NOT NULL, finished_at REAL NOT NULL,
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS results_run ON results(run_id);
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY, source TEXT NOT NULL, size_bytes INTEGER NOT NULL,
    mtime REAL NOT NULL, sha256 TEXT NOT NULL, hashed TEXT NOT NULL, method TEXT NOT NULL,
    rows INTEGER NOT NULL, seed INTEGER NOT NULL, created_at REAL NOT NULL,
    run_id INTEGER, extra TEXT NOT NULL DEFAULT '{}'
);
"""


def process_started(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (Linux), None if unknown: with
    the pid it names one process, even after the pid is reused."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def owner_alive(pid: int | None, started: int | None) -> bool:
    """Whether the process that owns a run is still running (False for runs of old
    workspaces, which have no owner: the old rule, "not finished means interrupted")."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, but another user's; the pid was reused
        return False
    now = process_started(pid)
    return started is None or now is None or now == started


def workspace_problem(root: str | os.PathLike[str], err: BaseException) -> str:
    """One line for the user saying what is wrong with the workspace and what to do."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    db = Path(root) / "thrifty.sqlite"
    if isinstance(err, sqlite3.OperationalError) and "locked" in text:
        return (f"the workspace {root} is locked by another program ({text}); try again once "
                "it is done, or use another --workspace")
    if isinstance(err, sqlite3.Error) and "full" in text:
        return f"the disk of the workspace {root} is full ({text}); free some space"
    if isinstance(err, sqlite3.DatabaseError) and (
            "not a database" in text or "malformed" in text or "corrupt" in text):
        return (f"the workspace database {db} is corrupt ({text}); move it away to start "
                "afresh, or use another --workspace")
    if isinstance(err, OSError):
        return f"cannot use the workspace {root}: {err.strerror or text}"
    return f"cannot use the workspace {root}: {type(err).__name__}: {text}"


class Workspace:
    """The SQLite store and artifact folder of one project; one writer (the worker thread)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.artifacts = self.root / "artifacts"
        self.artifacts.mkdir(exist_ok=True)
        self.db_path = self.root / "thrifty.sqlite"
        # The connection is made in, and used only by, the thread that opens the workspace.
        self.db = sqlite3.connect(self.db_path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(_SCHEMA)
        for table in ("runs", "results"):  # workspaces from before racing: add in place
            columns = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            if "extra" not in columns:
                self.db.execute(f"ALTER TABLE {table} ADD COLUMN extra TEXT NOT NULL DEFAULT '{{}}'")
            if table == "runs":  # workspaces from before runs had owners
                for name, kind in OWNER_COLUMNS:
                    if name not in columns:
                        self.db.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                        (str(SCHEMA_VERSION),))

    def close(self) -> None:
        self.db.close()

    def run_dir(self, run_id: int) -> Path:
        path = self.artifacts / "runs" / str(run_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def add_dataset(self, path: str, fingerprint: str, n_rows: int, n_cols: int) -> int:
        cur = self.db.execute(
            "INSERT INTO datasets (path, fingerprint, n_rows, n_cols, opened_at) VALUES (?,?,?,?,?)",
            (path, fingerprint, n_rows, n_cols, time.time()))
        return int(cur.lastrowid)

    def add_sample(self, fingerprint: dict, method: str, rows: int, seed: int,
                   run_id: int | None = None, **extra: object) -> int:
        """Record a sample taken of a file: its fingerprint (``SourceFingerprint.to_dict()``:
        path, size, mtime, sha256, hashed), how it was drawn, how many rows, the seed."""
        cur = self.db.execute(
            "INSERT INTO samples (source, size_bytes, mtime, sha256, hashed, method, rows, seed,"
            " created_at, run_id, extra) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (fingerprint["path"], fingerprint["size"], fingerprint["mtime"],
             fingerprint["sha256"], fingerprint["hashed"], method, rows, seed, time.time(),
             run_id, json.dumps(extra, default=str)))
        return int(cur.lastrowid)

    def samples(self) -> list[dict]:
        """Every recorded sample, oldest first, as plain dicts."""
        cur = self.db.execute("SELECT id, source, size_bytes, mtime, sha256, hashed, method, rows,"
                              " seed, created_at, run_id, extra FROM samples ORDER BY id")
        names = [d[0] for d in cur.description]
        out = []
        for row in cur.fetchall():
            item = dict(zip(names, row, strict=True))
            item["extra"] = json.loads(item["extra"] or "{}")
            out.append(item)
        return out

    def start_run(self, path: str, target: str, task: str, metric: str, n_rows: int,
                  n_folds: int, models: tuple[str, ...], seed: int,
                  notices: tuple[str, ...] = (), rungs: tuple[int, ...] = (),
                  excluded: tuple[str, ...] = (), max_fit_seconds: float | None = None) -> int:
        # The owner (this process, by pid and start time): only once it is gone may another
        # instance call the run interrupted (mark_interrupted).
        cur = self.db.execute(
            "INSERT INTO runs (path, target, task, metric, n_rows, n_folds, models, seed, notices,"
            " started_at, extra, owner_pid, owner_started) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (path, target, task, metric, n_rows, n_folds, json.dumps(list(models)), seed,
             json.dumps(list(notices)), time.time(), json.dumps({
                 "rungs": list(rungs), "excluded": list(excluded),
                 "max_fit_seconds": max_fit_seconds}), os.getpid(),
             process_started(os.getpid())))
        return int(cur.lastrowid)

    def add_result(self, run_id: int, result: ModelResult) -> None:
        self.db.execute(
            "INSERT INTO results (run_id, model, status, fold_scores, fit_seconds, error, params,"
            " baseline, finished_at, extra) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (run_id, result.model, result.status, json.dumps(list(result.fold_scores)),
             result.fit_seconds, result.error, json.dumps(dict(result.params)),
             int(result.baseline), time.time(), json.dumps({
                 "tier": result.tier, "rows": result.rows, "cpu_seconds": result.cpu_seconds,
                 "peak_mb": result.peak_mb,
                 "learning_curve": [list(p) for p in result.learning_curve]})))

    def restate_result(self, run_id: int, model: str, status: str, error: str) -> None:
        """A new status and reason for ``model``'s row of run ``run_id`` (its scores stay): a
        finished model beaten on shared rows by one the budget cut short (budget_guard)."""
        self.db.execute("UPDATE results SET status=?, error=? WHERE run_id=? AND model=?",
                        (status, error, run_id, model))

    def finish_run(self, event: RunFinished) -> None:
        self.db.execute(
            "UPDATE runs SET finished_at=?, status=?, best_model=?, best_score=?, elapsed_s=?,"
            " stop_reason=?, model_path=? WHERE id=?",
            (time.time(), event.status, event.best_model, event.best_score, event.elapsed_s,
             event.stop_reason, event.model_path, event.run_id))

    def run_started(self, run_id: int) -> RunStarted:
        row = self.db.execute(
            "SELECT id, path, target, task, metric, n_rows, n_folds, models, notices, extra"
            " FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(run_id)
        extra = json.loads(row[9] or "{}")
        return RunStarted(run_id=row[0], path=row[1], target=row[2], task=row[3], metric=row[4],
                          n_rows=row[5], n_folds=row[6], models=tuple(json.loads(row[7])),
                          notices=tuple(json.loads(row[8])),
                          rungs=tuple(extra.get("rungs", ())),
                          excluded=tuple(extra.get("excluded", ())),
                          max_fit_seconds=extra.get("max_fit_seconds"))

    def run_finished(self, run_id: int) -> RunFinished | None:
        row = self.db.execute(
            "SELECT status, best_model, best_score, metric, elapsed_s, stop_reason, model_path"
            " FROM runs WHERE id=? AND finished_at IS NOT NULL", (run_id,)).fetchone()
        if row is None:
            return None
        return RunFinished(run_id=run_id, status=row[0], best_model=row[1] or "",
                           best_score=row[2] if row[2] is not None else float("nan"),
                           metric=row[3], elapsed_s=row[4] or 0.0, stop_reason=row[5] or "",
                           model_path=row[6] or "")

    def results(self, run_id: int) -> tuple[ModelResult, ...]:
        rows = self.db.execute(
            "SELECT model, status, fold_scores, fit_seconds, error, params, baseline, extra"
            " FROM results WHERE run_id=? ORDER BY id", (run_id,)).fetchall()
        out = []
        for r in rows:
            extra = json.loads(r[7] or "{}")
            out.append(ModelResult(
                model=r[0], status=r[1], fold_scores=tuple(json.loads(r[2])), fit_seconds=r[3],
                error=r[4], params=tuple(json.loads(r[5]).items()), baseline=bool(r[6]),
                tier=int(extra.get("tier", 0)), rows=int(extra.get("rows", 0)),
                cpu_seconds=float(extra.get("cpu_seconds", 0.0)),
                peak_mb=float(extra.get("peak_mb", 0.0)),
                learning_curve=tuple((int(n), float(v))
                                     for n, v in extra.get("learning_curve", []))))
        return tuple(out)

    def last_run_id(self) -> int | None:
        row = self.db.execute("SELECT max(id) FROM runs").fetchone()
        return row[0] if row and row[0] is not None else None

    def latest_finished_run_id(self) -> int | None:
        row = self.db.execute(
            "SELECT max(id) FROM runs WHERE status='done' AND model_path IS NOT NULL"
            " AND model_path != ''").fetchone()
        return row[0] if row and row[0] is not None else None

    def mark_interrupted(self) -> list[int]:
        """Runs left 'running' by a process that is gone (killed, crashed, the machine
        restarted) are marked interrupted, not shown as live; runs whose owner still runs
        (a `thrifty-tui run` beside the app) are left alone. Returns the runs marked."""
        rows = self.db.execute("SELECT id, owner_pid, owner_started FROM runs"
                               " WHERE finished_at IS NULL").fetchall()
        gone = [run_id for run_id, pid, started in rows if not owner_alive(pid, started)]
        for run_id in gone:
            self.db.execute("UPDATE runs SET status='interrupted', finished_at=?, stop_reason="
                            "'the process running it stopped during the run' WHERE id=? AND "
                            "finished_at IS NULL", (time.time(), run_id))
        return gone

    def end_own_runs(self, status: str, reason: str) -> list[int]:
        """End the runs this process started and left open (a job that failed after its run
        began), as ``status`` with ``reason``; returns their ids."""
        me, started = os.getpid(), process_started(os.getpid())
        rows = self.db.execute("SELECT id, owner_started FROM runs WHERE finished_at IS NULL"
                               " AND owner_pid=?", (me,)).fetchall()
        ids = [run_id for run_id, owner in rows if owner is None or owner == started]
        for run_id in ids:
            self.db.execute("UPDATE runs SET status=?, stop_reason=?, finished_at=? WHERE id=?"
                            " AND finished_at IS NULL", (status, reason, time.time(), run_id))
        return ids

    def interrupt_run(self, run_id: int, reason: str) -> None:
        """Mark run ``run_id`` interrupted (a signal stopped its process), unless it ended
        otherwise first."""
        self.db.execute("UPDATE runs SET status='interrupted', stop_reason=?, finished_at="
                        "coalesce(finished_at, ?) WHERE id=? AND status IN ('running', "
                        "'cancelled')", (reason, time.time(), run_id))

    # -- tuning trials (issue 5): each stored as it finishes, so a restarted run resumes ------
    _TRIALS_SCHEMA = """
    CREATE TABLE IF NOT EXISTS trials (
        id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id), key TEXT NOT NULL,
        model TEXT NOT NULL, trial INTEGER NOT NULL, params TEXT NOT NULL, rung INTEGER NOT NULL,
        rows INTEGER NOT NULL, fold_scores TEXT NOT NULL, mean REAL, status TEXT NOT NULL,
        fit_seconds REAL NOT NULL, cpu_seconds REAL NOT NULL, peak_mb REAL NOT NULL,
        error TEXT NOT NULL DEFAULT '', finished_at REAL NOT NULL
    );
    CREATE INDEX IF NOT EXISTS trials_key ON trials(key);
    CREATE INDEX IF NOT EXISTS trials_run ON trials(run_id);
    """

    def _trials_table(self) -> None:
        if not getattr(self, "_has_trials", False):
            self.db.executescript(self._TRIALS_SCHEMA)
            self._has_trials = True

    def add_trial(self, trial: Any) -> None:
        """Store one finished trial (a ``core.tuning.TrialRecord``)."""
        self._trials_table()
        self.db.execute(
            "INSERT INTO trials (run_id, key, model, trial, params, rung, rows, fold_scores, mean,"
            " status, fit_seconds, cpu_seconds, peak_mb, error, finished_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (trial.run_id, trial.key, trial.model, trial.trial,
             json.dumps(dict(trial.params), default=str), trial.rung, trial.rows,
             json.dumps(list(trial.fold_scores)),
             trial.mean if trial.fold_scores else None, trial.status, trial.fit_seconds,
             trial.cpu_seconds, trial.peak_mb, trial.error, time.time()))

    def trials(self, run_id: int | None = None, key: str | None = None) -> list[Any]:
        """Stored trials of a run, or under a key (any run), oldest first, as TrialRecords."""
        from thrifty_tui.core.learn.tuning import TrialRecord

        self._trials_table()
        where, args = ("run_id=?", (run_id,)) if key is None else ("key=?", (key,))
        rows = self.db.execute(
            "SELECT key, run_id, model, trial, params, rung, rows, fold_scores, status,"
            f" fit_seconds, cpu_seconds, peak_mb, error FROM trials WHERE {where} ORDER BY id",
            args).fetchall()
        return [TrialRecord(key=r[0], run_id=r[1], model=r[2], trial=r[3],
                            params=tuple(json.loads(r[4]).items()), rung=r[5], rows=r[6],
                            fold_scores=tuple(json.loads(r[7])), status=r[8],
                            fit_seconds=r[9], cpu_seconds=r[10], peak_mb=r[11], error=r[12])
                for r in rows]

    def update_run_extra(self, run_id: int, **values: Any) -> None:
        """Merge ``values`` into the run's ``extra`` JSON (budget, stop rule, cost meter)."""
        row = self.db.execute("SELECT extra FROM runs WHERE id=?", (run_id,)).fetchone()
        extra = json.loads(row[0] or "{}") if row else {}
        extra.update(values)
        self.db.execute("UPDATE runs SET extra=? WHERE id=?",
                        (json.dumps(extra, default=str), run_id))

    def run_extra(self, run_id: int) -> dict[str, Any]:
        """The run's ``extra`` JSON as a dict."""
        row = self.db.execute("SELECT extra FROM runs WHERE id=?", (run_id,)).fetchone()
        return json.loads(row[0] or "{}") if row else {}
