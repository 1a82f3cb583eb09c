"""The headless CLI: run -> done line -> bundle -> predict, and one clear line for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine

from thrifty_tui.cli.commands import main
from thrifty_tui.config import SAMPLE_DIR
from thrifty_tui.core.store.bundle import load_bundle
from thrifty_tui.core.data.tables import load_table

CAR_PRICES = str(SAMPLE_DIR / "car_prices.csv")
REPO = Path(__file__).resolve().parents[2]


def thrifty(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m thrifty_tui ARGS`` in a fresh process, as a user or a script runs it."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("THRIFTY_WORKSPACE", None)
    return subprocess.run([sys.executable, "-m", "thrifty_tui", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def _one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("thrifty-tui: error: ")
    assert "Traceback" not in stderr
    return lines[0]


@pytest.fixture(scope="module")
def wine(tmp_path_factory) -> Path:
    """A CSV that is not one of the samples: wine, semicolon-delimited, text class labels."""
    frame = load_wine(as_frame=True).frame
    frame["cultivar"] = frame.pop("target").map({0: "barolo", 1: "grignolino", 2: "barbera"})
    path = tmp_path_factory.mktemp("wine") / "wine.csv"
    frame.to_csv(path, sep=";", index=False)
    return path


@pytest.fixture(scope="module")
def wine_run(wine):
    """``run --json --export`` on the wine CSV, in a subprocess."""
    folder = wine.parent
    proc = thrifty("run", str(wine), "--target", "cultivar", "--json", "--seed", "3",
                   "--export", "wine-model", "--workspace", "ws", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    return folder, proc, lines


def test_run_json_ends_with_the_done_line(wine_run):
    folder, proc, lines = wine_run
    assert "Traceback" not in proc.stderr
    assert all("event" in line for line in lines)
    names = [line["event"] for line in lines]
    assert names[0] == "run_started" and names[-1] == "done"
    # Four models, then the mean of those that cannot be told apart from the best.
    assert names.count("model") == 5 and names.count("done") == 1
    assert [line for line in lines if line["event"] == "model"][-1]["result"][
        "model"].startswith("mean of ")
    assert names.index("run_finished") < names.index("exported") < names.index("done")
    done, finished = lines[-1], lines[names.index("run_finished")]
    assert set(done) >= {"event", "best", "bundle", "elapsed_s"}
    assert set(done["best"]) == {"model", "cv_score", "metric"}
    assert done["best"]["model"] == finished["best_model"]
    assert done["best"]["cv_score"] == finished["best_score"] > 0.85
    assert done["best"]["metric"] == "balanced_accuracy"
    scores = {line["result"]["model"]: line["result"]["mean"]
              for line in lines if line["event"] == "model"}
    assert done["best"]["cv_score"] == max(scores.values())
    assert scores["baseline (dummy)"] == pytest.approx(1 / 3)
    assert 0 < done["elapsed_s"] < 120
    bundle = Path(done["bundle"])
    assert bundle == folder / "wine-model.thrifty.zip" and bundle.is_file()
    _, manifest = load_bundle(bundle)
    assert manifest["model"] == done["best"]["model"]
    assert manifest["classes"] == ["barbera", "barolo", "grignolino"]
    assert manifest["seed"] == 3


def test_predict_equals_the_apps_model(wine_run, wine):
    folder, _, lines = wine_run
    done = lines[-1]
    proc = thrifty("predict", done["bundle"], str(wine), "-o", "p.csv", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    out = pd.read_csv(folder / "p.csv")
    frame = load_table(wine).frame
    assert len(out) == len(frame) == 178
    assert list(out.columns) == ["prediction", "proba_barbera", "proba_barolo",
                                 "proba_grignolino"]
    # The model the app refit and kept in its workspace gives the same answers, row by row.
    finished = next(line for line in lines if line["event"] == "run_finished")
    app_model = joblib.load(folder / finished["model_path"])
    X = frame.drop(columns=["cultivar"])
    assert out["prediction"].tolist() == app_model.predict(X).tolist()
    np.testing.assert_allclose(out.iloc[:, 1:].to_numpy(), app_model.predict_proba(X),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(out.iloc[:, 1:].sum(axis=1), 1.0)
    assert (out["prediction"] == frame["cultivar"]).mean() > 0.9  # and they are mostly right


def test_predict_to_stdout_equals_the_file_output(wine_run, wine, tmp_path, capsys):
    bundle = wine_run[2][-1]["bundle"]
    assert main(["predict", bundle, str(wine)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert main(["predict", bundle, str(wine), "-o", str(tmp_path / "p.csv")]) == 0
    assert captured.out == (tmp_path / "p.csv").read_text()
    assert captured.out.splitlines()[0] == (
        "prediction,proba_barbera,proba_barolo,proba_grignolino")
    assert len(captured.out.splitlines()) == 1 + 178


def test_run_and_predict_a_regression_sample_in_process(tmp_path, capsys, monkeypatch):
    """Human-readable output this time, and a bundle name given without a suffix."""
    monkeypatch.chdir(tmp_path)
    code = main(["run", CAR_PRICES, "--target", "Price", "--export", "price",
                 "--workspace", str(tmp_path / "ws")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = captured.out.splitlines()
    assert out[0] == "run 1: regression of 'Price' on 804 rows, 5-fold CV, metric r2"
    assert sum(line.lstrip().startswith("[") for line in out) == 5  # four, and their mean
    assert out[-2].startswith("best: ") and out[-2].endswith(" — all models screened")
    bundle = tmp_path / "price.thrifty.zip"
    assert out[-1].startswith(f"bundle: {bundle} (")
    assert int(out[-1].split("(")[1].split()[0]) >= 7  # model x2, features, lexicons, card …
    assert main(["predict", str(bundle), CAR_PRICES, "-o", "p.csv"]) == 0
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert list(predictions.columns) == ["prediction"] and len(predictions) == 804
    from thrifty_tui.core.store.workspace import Workspace

    app_model = joblib.load(Workspace(tmp_path / "ws").run_finished(1).model_path)
    X = load_table(CAR_PRICES).frame.drop(columns=["Price"])
    np.testing.assert_allclose(predictions["prediction"], app_model.predict(X), rtol=1e-12)
    price = load_table(CAR_PRICES).frame["Price"]
    assert np.corrcoef(predictions["prediction"], price)[0, 1] > 0.9


# --- bad input: exit 2, one line, no traceback -------------------------------------------------

def _bad_inputs(folder: Path) -> dict[str, Path]:
    binary = folder / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 8)
    empty = folder / "empty.csv"
    empty.write_text("")
    broken_gz = folder / "broken.csv.gz"
    broken_gz.write_bytes(b"this is not gzip data\n" * 10)
    (folder / "a-folder").mkdir()
    return {"binary": binary, "empty": empty, "broken_gz": broken_gz,
            "folder": folder / "a-folder", "missing": folder / "no-such.csv"}


@pytest.mark.parametrize(("case", "message"), [
    ("missing", "no such file"),
    ("folder", "is a directory"),
    ("binary", "binary"),
    ("empty", "is empty"),
])
def test_run_on_bad_input_exits_2_with_one_line(tmp_path, capsys, case, message):
    path = _bad_inputs(tmp_path)[case]
    code = main(["run", str(path), "--target", "x", "--workspace", str(tmp_path / "ws")])
    assert code == 2
    assert message in _one_error_line(capsys.readouterr().err)


def test_unreadable_file_exits_2(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root reads any file; the binary and broken-gzip cases stand in for it")
    path = tmp_path / "locked.csv"
    path.write_text("a,b\n1,2\n")
    path.chmod(0)
    code = main(["run", str(path), "--target", "a", "--workspace", str(tmp_path / "ws")])
    assert code == 2
    assert "permission denied" in _one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("argv", [
    ["run"],
    ["run", CAR_PRICES],  # --target is required
    ["run", CAR_PRICES, "--target", "Price", "--budget", "soon"],
    ["run", CAR_PRICES, "--target", "Price", "--task", "clustering"],
    ["frobnicate"],
])
def test_usage_errors_exit_2_with_one_line(argv, capsys):
    assert main(argv) == 2
    _one_error_line(capsys.readouterr().err)


def test_missing_target_column_exits_2_from_a_real_process(tmp_path):
    proc = thrifty("run", CAR_PRICES, "--target", "price", "--workspace", "ws", cwd=tmp_path)
    assert proc.returncode == 2
    line = _one_error_line(proc.stderr)
    assert "no column named 'price'" in line and "Price" in line


def test_missing_file_exits_2_from_a_real_process(tmp_path):
    proc = thrifty("run", "nope.csv", "--target", "y", "--json", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert _one_error_line(proc.stderr) == "thrifty-tui: error: no such file: nope.csv"
    assert not (tmp_path / "thrifty-workspace").exists()  # nothing created for bad input


def test_unusable_workspace_exits_2_instead_of_hanging(tmp_path):
    (tmp_path / "ws").write_text("a file, not a folder")
    proc = thrifty("run", CAR_PRICES, "--target", "Price", "--workspace", "ws", cwd=tmp_path,
                   timeout=60)
    assert proc.returncode == 2
    assert "cannot use the workspace ws" in _one_error_line(proc.stderr)


def test_predict_bad_inputs_exit_2_with_one_line(wine_run, wine, tmp_path, capsys):
    bundle = Path(wine_run[2][-1]["bundle"])
    damaged = tmp_path / "damaged.zip"
    raw = bytearray(bundle.read_bytes())
    raw[len(raw) // 3] ^= 0xFF
    damaged.write_bytes(bytes(raw))
    no_columns = tmp_path / "fewer.csv"
    load_table(wine).frame.drop(columns=["proline", "hue"]).to_csv(no_columns, index=False)
    cases = [
        (["predict", str(tmp_path / "none.zip"), str(wine)], "no bundle at"),
        (["predict", str(wine), str(wine)], "not a readable zip bundle"),
        (["predict", str(damaged), str(wine)], "damaged.zip"),
        (["predict", str(bundle), str(no_columns)], "lacks column(s) the model needs: hue, proline"),
        (["predict", str(bundle), str(tmp_path / "none.csv")], "no such file"),
        (["predict", str(bundle), str(_bad_inputs(tmp_path)["broken_gz"])], "broken.csv.gz"),
        (["predict", str(bundle), str(wine), "-o", str(tmp_path / "no" / "dir.csv")],
         "cannot write"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        line = _one_error_line(capsys.readouterr().err)
        assert message in line, (argv, line)
