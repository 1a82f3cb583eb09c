"""Bad values and workspace faults through the CLI, in-process: exit 2 and one line (or exit
0 with a note), never a traceback on stderr unless --debug asks for it; exit 1 only for bugs."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

from corpus import BAD  # noqa: E402

from thrifty_tui.cli import commands, main  # noqa: E402
from thrifty_tui.config import SAMPLE_DIR  # noqa: E402


def _one_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("thrifty-tui: error: ") and "Traceback" not in stderr
    return lines[0]


def test_a_memory_cap_too_low_to_start_a_child_names_the_cap(tmp_path, capsys):
    code = main(["run", str(SAMPLE_DIR / "car_prices.csv"), "--target", "Price",
                 "--workspace", str(tmp_path / "ws"), "--max-memory-mb", "200"])
    line = _one_line(capsys.readouterr().err)
    assert code == 2 and "--max-memory-mb" in line and "200 MB is too low" in line


def test_a_corrupt_workspace_is_one_line_and_exit_2(tmp_path, capsys):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "thrifty.sqlite").write_bytes(b"garbage, not SQLite" * 500)
    code = main(["run", str(SAMPLE_DIR / "car_prices.csv"), "--target", "Price",
                 "--workspace", str(ws)])
    line = _one_line(capsys.readouterr().err)
    assert code == 2 and "is corrupt" in line and "thrifty.sqlite" in line


def test_infinities_in_a_run_are_noted_and_the_run_finishes(tmp_path, capsys):
    code = main(["run", str(BAD / "infinities.csv"), "--target", "x", "--no-tune",
                 "--max-fits", "10", "--workspace", str(tmp_path / "ws")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "infinite or overflowing numbers read as missing in 'a' (2), 'b' (1), 'x' (1)" in out
    assert "dropped 1 rows with no 'x'" in out
    db = sqlite3.connect(tmp_path / "ws" / "thrifty.sqlite")
    assert [r[0] for r in db.execute("SELECT status FROM runs")] == ["done"]
    db.close()


@pytest.fixture(scope="module")
def price_bundle(tmp_path_factory) -> Path:
    from bundle_helpers import fit_sample

    from thrifty_tui.core.store.bundle import write_bundle

    fitted = fit_sample("car_prices.csv", "Price", Ridge(), rows=200)
    return write_bundle(fitted.model, fitted.manifest, tmp_path_factory.mktemp("b") / "price")


def test_predict_reads_infinities_as_missing_with_a_note(price_bundle, tmp_path, capsys):
    frame = pd.read_csv(SAMPLE_DIR / "car_prices.csv").head(20)
    frame["Mileage"] = frame["Mileage"].astype(float)
    frame.loc[3, "Mileage"], frame.loc[4, "Mileage"] = np.inf, 1e308
    data = tmp_path / "new.csv"
    frame.to_csv(data, index=False)
    code = main(["predict", str(price_bundle), str(data), "-o", str(tmp_path / "out.csv")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Traceback" not in err and "infinite or overflowing" in err and "'Mileage'" in err
    out = pd.read_csv(tmp_path / "out.csv")
    assert len(out) == 20 and np.isfinite(out.iloc[:, -1]).all()


def test_an_internal_error_keeps_its_traceback_for_the_log_or_debug(monkeypatch, tmp_path,
                                                                     capsys):
    log = tmp_path / "thrifty.log"
    monkeypatch.setenv("THRIFTY_LOG", str(log))

    def broken(args):  # a bug, as far as the CLI can tell
        raise RuntimeError("a bug in a command")

    monkeypatch.setattr(commands, "_predict", broken)
    import logging

    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_thrifty", False)]:
        root.removeHandler(handler)  # (an earlier test set up the log of the test run)
    assert main(["predict", "b.zip", "d.csv"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert "internal error: RuntimeError: a bug in a command" in line and str(log) in line
    assert "Traceback" in log.read_text() and "a bug in a command" in log.read_text()
    assert main(["--debug", "predict", "b.zip", "d.csv"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("thrifty-tui: error:")
    for handler in [h for h in root.handlers if getattr(h, "_thrifty", False)]:
        root.removeHandler(handler)
        handler.close()
    assert os.environ["THRIFTY_LOG"] == str(log)
