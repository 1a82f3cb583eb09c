"""Runs are owned, and a workspace fault is bad input that passes: a live run is never marked
interrupted by another instance, a dead owner's run is; a corrupt or locked workspace is
refused with one line, and re-checked on the next job instead of refused until a restart."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from engine_helpers import CAR_PRICES, Recorder

from thrifty_tui.core.events import JobFailed, Notice
from thrifty_tui.core.store.workspace import Workspace
from thrifty_tui.engine.jobs import Restore
from thrifty_tui.engine.worker import Worker

REPO = Path(__file__).resolve().parents[2]


def _start_run(ws: Workspace) -> int:
    return ws.start_run(CAR_PRICES, "Price", "regression", "r2", 804, 5, ("ridge",), 0)


def _status(root: Path, run_id: int) -> str:
    db = sqlite3.connect(root / "thrifty.sqlite")
    try:
        return db.execute("SELECT status FROM runs WHERE id=?", (run_id,)).fetchone()[0]
    finally:
        db.close()


def test_a_live_owners_run_is_not_marked_interrupted(tmp_path):
    owner = Workspace(tmp_path)
    run_id = _start_run(owner)
    other = Workspace(tmp_path)  # another instance opening the same workspace
    other.mark_interrupted()
    assert _status(tmp_path, run_id) == "running"
    other.close()
    owner.close()


def test_a_dead_owners_run_is_marked_interrupted(tmp_path):
    # The owner is another process that starts a run and dies without finishing it.
    code = (f"import sys; sys.path.insert(0, {str(REPO)!r})\n"
            "from thrifty_tui.core.store.workspace import Workspace\n"
            f"ws = Workspace({str(tmp_path)!r})\n"
            f"print(ws.start_run({CAR_PRICES!r}, 'Price', 'regression', 'r2', 804, 5, "
            "('ridge',), 0))\n"
            "import os; os._exit(0)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    run_id = int(done.stdout)
    assert _status(tmp_path, run_id) == "running"
    ws = Workspace(tmp_path)
    ws.mark_interrupted()
    assert _status(tmp_path, run_id) == "interrupted"
    ws.close()


def test_a_reused_pid_is_not_the_owner(tmp_path):
    """The pid lives, but it is another process now (its start time differs)."""
    ws = Workspace(tmp_path)
    run_id = _start_run(ws)
    ws.db.execute("UPDATE runs SET owner_started=owner_started-1 WHERE id=?", (run_id,))
    ws.mark_interrupted()
    assert _status(tmp_path, run_id) == "interrupted"
    ws.close()


def test_a_corrupt_workspace_is_one_clear_line_and_is_checked_again(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "thrifty.sqlite").write_bytes(b"this is not a database" * 300)
    events = Recorder()
    worker = Worker(root, events).start()
    try:
        worker.submit(Restore())
        failed = events.wait_for_end()[-1]
        assert isinstance(failed, JobFailed) and failed.user_error
        assert "corrupt" in failed.message and "thrifty.sqlite" in failed.message
        # Moved away, as the message says: the next job works without a restart.
        (root / "thrifty.sqlite").rename(root / "thrifty.sqlite.bad")
        mark = events.mark()
        worker.submit(Restore())
        got = events.wait_for(lambda es: any(isinstance(e, Notice | JobFailed) for e in es),
                              since=mark)
        answer = next(e for e in got if isinstance(e, Notice | JobFailed))
        assert isinstance(answer, Notice) and "no runs yet" in answer.message
    finally:
        worker.shutdown()


def test_a_lock_released_is_not_refused_until_restart(tmp_path):
    root = tmp_path / "ws"
    Workspace(root).close()
    holder = sqlite3.connect(root / "thrifty.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    events = Recorder()
    worker = Worker(root, events).start()
    try:
        worker.submit(Restore())
        failed = events.wait_for_end(timeout=30)[-1]
        assert isinstance(failed, JobFailed) and failed.user_error
        assert "locked" in failed.message
        holder.execute("ROLLBACK")
        holder.close()
        mark = events.mark()
        worker.submit(Restore())
        got = events.wait_for(lambda es: any(isinstance(e, Notice | JobFailed) for e in es),
                              since=mark)
        answer = next(e for e in got if isinstance(e, Notice | JobFailed))
        assert isinstance(answer, Notice), answer  # (RunsListed may follow it)
    finally:
        worker.shutdown()


def test_a_full_disk_is_named_as_such(tmp_path):
    """SQLITE_FULL, made for real: the database may not grow past its current pages."""
    from thrifty_tui.core.store.workspace import workspace_problem

    ws = Workspace(tmp_path)
    pages = ws.db.execute("PRAGMA page_count").fetchone()[0]
    ws.db.execute(f"PRAGMA max_page_count={pages}")
    try:
        for _ in range(200):
            _start_run(ws)
    except sqlite3.Error as err:
        message = workspace_problem(tmp_path, err)
    else:
        raise AssertionError("the database grew past its cap")
    ws.close()
    assert message.startswith(f"the disk of the workspace {tmp_path} is full")


def test_a_screen_job_failing_after_its_run_started_leaves_no_running_row(tmp_path):
    """The run's folder cannot be made (a file is in the way): the job fails after the run
    row was written, and the row says failed, with the reason, not running."""
    from thrifty_tui.engine.jobs import Screen

    root = tmp_path / "ws"
    Workspace(root).close()
    (root / "artifacts" / "runs").write_text("a file where the runs' folder goes")
    events = Recorder()
    worker = Worker(root, events).start()
    try:
        worker.submit(Screen(path=CAR_PRICES, target="Price"))
        failed = events.wait_for_end(timeout=120)[-1]
        assert isinstance(failed, JobFailed)
    finally:
        worker.shutdown()
    db = sqlite3.connect(root / "thrifty.sqlite")
    rows = db.execute("SELECT status, stop_reason FROM runs").fetchall()
    db.close()
    assert len(rows) == 1 and rows[0][0] == "failed" and rows[0][1] == failed.message
