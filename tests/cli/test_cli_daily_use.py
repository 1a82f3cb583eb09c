"""The CLI as a new user meets it (issue 21): no terminal, --help with examples, runs,
settings errors, the app's words for roles, inspect's whole board."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from thrifty_tui.cli import build_parser, main
from thrifty_tui.config import SAMPLE_DIR

COMMANDS = ("open", "run", "predict", "runs", "profile", "sample", "inspect", "export-mlflow",
            "label", "labels")


def test_without_a_terminal_the_app_refuses_in_one_line(tmp_path):
    """`thrifty-tui > file`: exit 2, one line naming the headless commands, no escape codes."""
    done = subprocess.run([sys.executable, "-m", "thrifty_tui", "--workspace",
                           str(tmp_path / "ws")], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs a terminal" in lines[0], done.stderr
    assert "run, predict, profile" in lines[0] and "\x1b" not in done.stderr
    assert not (tmp_path / "ws").exists()  # nothing started


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out and f"thrifty-tui {command}" in out.split("example", 1)[1], out


def test_run_help_explains_path_target_seed_and_shows_workspace(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    for words in ("the data file", "the column to predict", "seed of the folds",
                  "--workspace DIR", "workspace folder"):
        assert words in out, words


def test_runs_lists_every_run_as_text_and_json(tmp_path, capsys):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tui"))
    from tui_helpers import fixed_workspace

    ws = fixed_workspace(tmp_path / "ws", model_path="model.joblib")
    assert main(["runs", "--workspace", str(ws)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("run 1: gss_wages.csv → gender (classification, balanced_accuracy)")
    assert "best hist gradient boosting 0.7750" in out
    assert main(["runs", "--json", "--workspace", str(ws)]) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["run_id"] == 1 and row["best_model"] == "hist gradient boosting"
    assert row["exportable"] is True and row["stop_reason"] == "all models screened"
    assert main(["runs", "--workspace", str(tmp_path / "none")]) == 2


def test_profile_says_category_like_the_app(capsys):
    assert main(["profile", str(SAMPLE_DIR / "movies.csv")]) == 0
    out = capsys.readouterr().out
    mpaa = next(line for line in out.splitlines() if line.startswith("mpaa"))
    assert "category" in mpaa and "categorical" not in out


def test_a_bad_setting_is_one_line_naming_file_and_field(tmp_path, monkeypatch):
    from thrifty_tui.cli.start import app_settings
    from thrifty_tui.core.errors import DataError

    config = tmp_path / "thrifty.toml"
    config.write_text('[app]\nmetric = "speed"\n')
    monkeypatch.setenv("THRIFTY_CONFIG", str(config))
    monkeypatch.setattr("thrifty_tui.cli.start.no_terminal", lambda: None)
    with pytest.raises(DataError) as err:
        app_settings(str(tmp_path / "ws"))
    assert str(config) in str(err.value) and "[app] metric" in str(err.value)


def test_the_parser_builds_without_heavy_imports():
    assert build_parser().prog == "thrifty-tui"


def test_inspect_lists_every_model_of_the_board():
    from thrifty_tui.cli.bundle import describe

    board = [{"model": f"model {i}", "mean": 0.5 + i / 100, "status": "done"} for i in range(10)]
    manifest = {"model": "model 9", "task": "classification", "target": "y", "metric": "accuracy",
                "cv_scores": [0.6], "columns": [{"name": "when", "role": "datetime",
                                                 "dtype": "datetime64"}],
                "leaderboard": board}
    text = describe({"path": "b.thrifty.zip", "files_checked": 3, "size_bytes": 2048,
                     "manifest": manifest, "versions": {}, "warnings": []})
    assert all(f"model {i}" in text for i in range(10)), text
    assert "board:    10 models" in text
    assert "when (date," in text  # the app's word for the role
