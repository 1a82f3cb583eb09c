"""Kill `thrifty-tui run` and the app mid-screening: no process of theirs outlives them, a
SIGTERM or SIGHUP stops them like Ctrl+C (exit 143/129, the run not left `running`) and the app
gives the terminal back as it found it.

Real processes on purpose: orphans, exit codes and terminal modes exist only there. Each
process tree is found by a tag in its environment (loky's children inherit it), not by name.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import sqlite3
import subprocess
import sys
import termios
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "sample_data" / "gss_wages.csv"
TARGET = "realrinc"
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")


def _tagged(tag: str) -> list[int]:
    """Pids of live processes whose environment carries ``tag`` (zombies count as gone)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if f"THRIFTY_TEST_TAG={tag}".encode() not in (entry / "environ").read_bytes():
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            pids.append(int(entry.name))
    return pids


def _wait_gone(tag: str, seconds: float = 5.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = _tagged(tag)
        if not left:
            return []
        time.sleep(0.1)
    return _tagged(tag)


def _env(tag: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "THRIFTY_TEST_TAG": tag,
           "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "32"}
    env.pop("THRIFTY_WORKSPACE", None)
    return env


def _run_status(workspace: Path) -> list[str]:
    db = sqlite3.connect(workspace / "thrifty.sqlite")
    try:
        return [row[0] for row in db.execute("SELECT status FROM runs ORDER BY id")]
    finally:
        db.close()


def _start_run(tmp_path: Path, tag: str) -> subprocess.Popen:
    """`thrifty-tui run` on a file that takes a while, read until a model has been scored."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "thrifty_tui", "run", str(DATA), "--target", TARGET,
         "--workspace", str(tmp_path / "ws"), "--budget", "120", "--no-racing"],
        cwd=tmp_path, env=_env(tag), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("  ["):  # a model scored: the children are busy with the others
            return proc
    proc.kill()
    pytest.fail(f"no model scored: {proc.stderr.read() if proc.stderr else ''}")


@pytest.mark.parametrize("sig, code", [(signal.SIGKILL, -9), (signal.SIGTERM, 143),
                                       (signal.SIGHUP, 129)], ids=["KILL", "TERM", "HUP"])
def test_killing_run_leaves_no_process_and_no_live_run(tmp_path, sig, code):
    tag = uuid.uuid4().hex
    proc = _start_run(tmp_path, tag)
    assert len(_tagged(tag)) >= 2  # the command and at least one child
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert _wait_gone(tag) == []
    if sig != signal.SIGKILL:
        assert "Traceback" not in err
        assert err.strip().splitlines()[-1] == "thrifty-tui: error: interrupted"
        assert _run_status(tmp_path / "ws") == ["interrupted"]
    else:  # the next instance knows the owner is gone
        from thrifty_tui.core.store.workspace import Workspace

        ws = Workspace(tmp_path / "ws")
        ws.mark_interrupted()
        ws.close()
        assert _run_status(tmp_path / "ws") == ["interrupted"]


def _read_until(fd: int, needle: bytes, seconds: float) -> bytes:
    out = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and needle not in out:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
    return out


def _drain(fd: int, seconds: float) -> bytes:
    out = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


@pytest.mark.parametrize("sig, code", [(signal.SIGKILL, None), (signal.SIGTERM, 143),
                                       (signal.SIGHUP, 129)], ids=["KILL", "TERM", "HUP"])
def test_killing_the_app_restores_the_terminal_and_leaves_no_process(tmp_path, sig, code):
    tag = uuid.uuid4().hex
    before = None
    pid, master = pty.fork()
    if pid == 0:  # the child: the app on a terminal of its own
        os.chdir(tmp_path)
        os.execve(sys.executable, [sys.executable, "-m", "thrifty_tui", "--workspace",
                                   str(tmp_path / "ws"), "open", str(DATA), "--target", TARGET],
                  _env(tag))
    try:
        before = termios.tcgetattr(master)
        screen = _read_until(master, b"\x1b[?1049h", 30)  # the app took the alternate screen
        assert b"\x1b[?1049h" in screen
        # Wait until the file is read (its columns are listed), then screen models.
        _read_until(master, b"realrinc", 60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_tagged(tag)) < 2:
            time.sleep(0.2)
        os.write(master, b"s")
        _read_until(master, b"models", 30)
        time.sleep(2.0)  # mid-screening: children are fitting
        assert len(_tagged(tag)) >= 2
        os.kill(pid, sig)
        tail = _drain(master, 15)
        _, status = os.waitpid(pid, 0)
        if code is None:
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == sig
        else:
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == code, tail[-500:]
            # The driver gave the terminal back: normal screen, cursor shown, no mouse
            # reports, and the line discipline as it was (canonical mode, echo).
            assert b"\x1b[?1049l" in tail
            assert b"\x1b[?25h" in tail
            assert b"\x1b[?1000l" in tail
            after = termios.tcgetattr(master)
            assert after[3] & (termios.ICANON | termios.ECHO) == \
                before[3] & (termios.ICANON | termios.ECHO)
            assert _run_status(tmp_path / "ws") == ["interrupted"]
        assert _wait_gone(tag) == []
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(master)
