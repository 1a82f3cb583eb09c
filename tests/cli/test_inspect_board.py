"""`inspect`'s board: every model as the app's board shows it (★ the bundle's model, mean ± std,
≈ and the rows where a model was scored on fewer rows than the run had)."""

from __future__ import annotations

from thrifty_tui.cli.bundle import describe


def test_inspect_board_marks_the_bundles_model_and_the_models_scored_on_fewer_rows():
    board = [{"model": "baseline (dummy)", "mean": 0.5, "std": 0.0, "rows": 3000,
              "status": "done"},
             {"model": "linear", "mean": 0.61, "std": 0.012, "rows": 3000, "status": "done"},
             {"model": "random forest", "mean": 0.58, "std": 0.02, "rows": 1000,
              "status": "dropped"},
             {"model": "svm", "mean": None, "std": None, "rows": None, "status": "failed"}]
    manifest = {"model": "linear", "task": "classification", "target": "y", "n_rows": 3000,
                "metric": "accuracy", "cv_scores": [0.6], "columns": [], "leaderboard": board}
    text = describe({"path": "b.thrifty.zip", "files_checked": 3, "size_bytes": 2048,
                     "manifest": manifest, "versions": {}, "warnings": []})
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("board:"))
    assert "4 models" in lines[start]
    rows = lines[start + 1:start + 5]
    assert rows[1].split() == ["★", "linear", "0.6100", "±", "0.0120", "done"]
    assert rows[0].split()[:3] == ["baseline", "(dummy)", "0.5000"]
    assert "★" not in rows[0] and "≈" not in rows[0]
    assert "≈ 1,000 rows  dropped" in rows[2]
    assert rows[3].split() == ["svm", "-", "failed"]
