"""kill -9 at random moments never loses a label whose "saved ✓" the screen showed.

The real command (`python -m thrifty_tui label …`) runs under a pseudo-terminal, gets label
keys typed at it, and is killed with SIGKILL (its whole process group: the app, its worker
thread, its children) at a random moment, many times over the same workspace. After each kill,
every acknowledgement seen in the terminal output must be in the store, and SQLite's
integrity check must pass.
"""

from __future__ import annotations

import fcntl
import os
import random
import re
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

from thrifty_tui.config import SAMPLE_DIR
from thrifty_tui.core.tasks import active
from thrifty_tui.core.store.labels import (
    POOL_CAP,
    LabelStore,
    pool_cache_file,
    pool_rows,
    replay,
    write_pool_cache,
)

MOVIES = str((SAMPLE_DIR / "movies.csv").resolve())
KILLS = 22
ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
ACK = re.compile(r"saved ✓ (\d+) · row (\d+) → (yes|no) │")
READY = re.compile(r"ready: press a label key|resumed: (\d+) labels on disk")


class Terminal:
    """The app on a pseudo-terminal of 80x24; everything it writes is kept."""

    def __init__(self, workspace: Path):
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "thrifty_tui", "label", MOVIES, "--labels", "yes,no",
             "--workspace", str(workspace)],
            stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
            close_fds=True)
        os.close(slave)
        self.master = master
        self.output = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output += chunk

    def text(self) -> str:
        return ESCAPES.sub(b"", bytes(self.output)).decode("utf-8", "replace")

    def type(self, key: bytes) -> None:
        os.write(self.master, key)

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)  # the app and every child it started
        self.proc.wait(timeout=10)
        self._reader.join(timeout=5)
        os.close(self.master)


def stored_labels(workspace: Path) -> tuple[dict[int, str], str]:
    db = sqlite3.connect(workspace / "thrifty.sqlite")
    try:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        store = LabelStore.__new__(LabelStore)
        store.db = db
        sets = store.sets()
        if not sets:
            return {}, integrity
        info = sets[0]
        book = replay(store.events(info.id), pool_rows(info.n_rows, info.pool_cap, info.seed),
                      info.seed)
        return {item: o[1] for item, o in book.outcome.items() if o[0] == "label"}, integrity
    finally:
        db.close()


def test_sigkill_at_random_moments_loses_no_acknowledged_label(tmp_path):
    workspace = tmp_path / "ws"
    # The records cache, as the first run would write it: every start resumes from it.
    write_pool_cache(pool_cache_file(workspace / "artifacts", MOVIES, 0, POOL_CAP),
                     active.load_pool(MOVIES, None, 0))
    rng = random.Random(6)
    acknowledged: dict[int, str] = {}
    kills_while_labeling = 0
    for cycle in range(KILLS):
        term = Terminal(workspace)
        try:
            if cycle % 4 == 3:  # some kills land during start-up
                time.sleep(rng.uniform(0.0, 1.5))
            else:
                deadline = time.monotonic() + 30
                while not READY.search(term.text()):
                    assert time.monotonic() < deadline, term.text()[-2000:]
                    assert term.proc.poll() is None, term.text()[-2000:]
                    time.sleep(0.02)
                stop = time.monotonic() + rng.uniform(0.2, 1.0)
                while time.monotonic() < stop:
                    term.type(rng.choice([b"1", b"2", b"1", b"2", b" "]))
                    time.sleep(rng.uniform(0.01, 0.06))
                kills_while_labeling += 1
        finally:
            term.kill()
        shown = [(int(n), int(row), label) for n, row, label in ACK.findall(term.text())]
        for _, row, label in shown:
            acknowledged[row] = label
        labels, integrity = stored_labels(workspace)
        assert integrity == "ok"
        lost = {row: label for row, label in acknowledged.items() if labels.get(row) != label}
        assert not lost, f"cycle {cycle}: acknowledged but not stored: {lost}"
        if shown:
            assert len(labels) >= max(n for n, _, _ in shown)
    # The checks above meant something: labels were acknowledged and kills hit mid-typing.
    assert kills_while_labeling >= 16 and len(acknowledged) >= 20, len(acknowledged)
