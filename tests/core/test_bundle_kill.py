"""Acceptance 3: kill the exporting process at random moments; find no bundle or a whole one.

A helper process loads a fitted model once, then for each round forks a child that writes
the bundle (the real write_bundle: skops and joblib dumps, lexicons, the atomic zip write).
The test SIGKILLs that child after a random delay: half the rounds anywhere in the export,
half in the short window while the zip file itself is written, fsynced and renamed. Every
round must leave either no bundle (or the previous one, untouched) or a complete bundle that
verifies and predicts like the model; leftover temporary files are cleared by the next write.
"""

from __future__ import annotations

import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import joblib
import numpy as np
import pytest
from bundle_helpers import fit_sample
from sklearn.ensemble import RandomForestRegressor

from thrifty_tui.core.store.bundle import clear_stale_partials, open_bundle, write_bundle

REPO = Path(__file__).resolve().parents[2]
MIN_KILLS = 20
MAX_ROUNDS = 60
SEED = int(os.environ.get("THRIFTY_KILL_SEED", "20240607"))

HELPER = r'''
import json, os, sys, time
import joblib
from thrifty_tui.core.store.bundle import write_bundle
import skops.io  # loaded once here, not in every child

model = joblib.load(sys.argv[1])
manifest = json.loads(open(sys.argv[2]).read())
start = time.monotonic()

def say(text):
    os.write(1, (text + "\n").encode())

say("ready")
for line in sys.stdin:
    command, _, arg = line.strip().partition(" ")
    if command == "write":
        pid = os.fork()
        if pid == 0:
            def progress(stage, step, total):
                say(f"stage {step} {time.monotonic():.6f}")
            try:
                write_bundle(model, manifest, arg, progress=progress)
            finally:
                os._exit(0)
        say(f"pid {pid} {time.monotonic():.6f}")
    elif command == "reap":  # only now: until reaped, the pid cannot be reused
        _, status = os.waitpid(int(arg), 0)
        say(f"exit {status} {time.monotonic():.6f}")
    elif command == "quit":
        break
'''


class Helper:
    """The forking helper process and its output, read line by line on a thread."""

    def __init__(self, model_file: Path, manifest_file: Path):
        env = {**os.environ, "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1",
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HELPER, str(model_file), str(manifest_file)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True, bufsize=1)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def expect(self, prefix: str, timeout: float = 60.0) -> list[str]:
        """Words of the next line starting with ``prefix`` (other lines are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            if line.startswith(prefix):
                return line.split()

    def wait_for_stage_or_exit(self, step: int, pid: int) -> bool:
        """Block until the child reports stage ``step``; False if it ended first."""
        while True:
            try:
                words = self.lines.get(timeout=0.005)
            except queue.Empty:
                if not _alive(pid):
                    return False
                continue
            if words.startswith(f"stage {step} "):
                return True

    def close(self) -> None:
        try:
            self.send("quit")
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, not yet reaped by the helper, counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def helper(tmp_path_factory):
    fitted = fit_sample("car_prices.csv", "Price",
                        RandomForestRegressor(n_estimators=8, random_state=0), "tree")
    folder = tmp_path_factory.mktemp("model")
    joblib.dump(fitted.model, folder / "model.joblib")
    (folder / "manifest.json").write_text(json.dumps(fitted.manifest))
    started = Helper(folder / "model.joblib", folder / "manifest.json")
    started.expect("ready")
    yield started, fitted
    started.close()


def _check(folder: Path, fitted, had_old: bool) -> str:
    """What the round left: 'complete' (verified) or 'none'; fails on anything else."""
    final = folder / "b.thrifty.zip"
    others = [p for p in folder.iterdir() if p != final]
    assert all(p.name.startswith(".b.thrifty.zip.") and p.name.endswith(".partial")
               for p in others), others
    if not final.exists():
        assert not had_old, "the previous bundle disappeared"
        return "none"
    opened = open_bundle(final)  # every hash, the versions and the skops types
    X = fitted.problem.X.head(50)
    np.testing.assert_array_equal(opened.model.predict(X), fitted.model.predict(X))
    return "complete"


def test_a_killed_export_leaves_no_bundle_or_a_complete_one(helper, tmp_path):
    proc, fitted = helper
    rng = random.Random(SEED)
    # One round left alone: how long the whole export and its file-writing tail take.
    calibration = tmp_path / "calibration"
    calibration.mkdir()
    proc.send(f"write {calibration / 'b'}")
    _, pid, t_start = proc.expect("pid")
    tail_start = float(proc.expect("stage 5")[2])
    proc.send(f"reap {pid}")
    _, status, t_end = proc.expect("exit")
    assert int(status) == 0 and _check(calibration, fitted, False) == "complete"
    whole, tail = float(t_end) - float(t_start), float(t_end) - tail_start

    outcomes: Counter[str] = Counter()
    kills = rounds = 0
    while kills < MIN_KILLS and rounds < MAX_ROUNDS:
        folder = tmp_path / f"round-{rounds:02d}"
        folder.mkdir()
        had_old = rounds % 3 == 0  # a third of the rounds overwrite an existing bundle
        if had_old:
            shutil.copy(calibration / "b.thrifty.zip", folder / "b.thrifty.zip")
        anytime = rounds % 2 == 0
        proc.send(f"write {folder / 'b'}")
        pid = int(proc.expect("pid")[1])
        if anytime:
            time.sleep(rng.uniform(0, 0.95 * whole))
        elif proc.wait_for_stage_or_exit(5, pid):
            time.sleep(rng.uniform(0, 1.1 * tail))
        os.kill(pid, signal.SIGKILL)  # still our unreaped child, so never another process
        proc.send(f"reap {pid}")
        status = int(proc.expect("exit")[1])
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        kills += killed
        left = _check(folder, fitted, had_old)
        partial = any(folder.glob(".*.partial"))
        outcomes[f"{'killed' if killed else 'finished'}, {left}"
                 + (", temporary file left" if partial else "")] += 1
        rounds += 1
    print(f"\n{rounds} rounds (export {whole * 1000:.0f} ms, file tail {tail * 1000:.1f} ms): "
          f"{dict(outcomes)}")
    assert kills >= MIN_KILLS, outcomes
    # The kills did land while the zip was being written (else the test proves little) …
    assert sum(n for k, n in outcomes.items() if "temporary file left" in k) >= 1, outcomes
    # … and a later write of the same bundle clears what the dead writers left.
    for folder in tmp_path.glob("round-*"):
        clear_stale_partials(folder / "b.thrifty.zip")
        assert not any(folder.glob(".*.partial"))
    write_bundle(fitted.model, fitted.manifest, tmp_path / "round-00" / "b")
    assert _check(tmp_path / "round-00", fitted, True) == "complete"
