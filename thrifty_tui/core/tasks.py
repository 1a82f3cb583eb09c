"""Units of work that the worker runs in child processes.

Each takes and returns plain, picklable values. Children keep what they loaded in a small
cache, so a data set reaches each child once, not once per fit.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from thrifty_tui.core.bundle import predict_frame, write_bundle
from thrifty_tui.core.data import LoadedTable, fingerprint_file, load_table, preview_rows
from thrifty_tui.core.events import DatasetOpened
from thrifty_tui.core.records import ModelResult
from thrifty_tui.core.schema import infer_schema, suggest_target, suggest_task
from thrifty_tui.core.screening import Problem, evaluate, make_problem, refit
from thrifty_tui.core.zoo import ModelSpec

_TABLES: dict[tuple[str, str], LoadedTable] = {}
_PROBLEMS: dict[str, Problem] = {}


def init_child() -> None:
    """Run once in each child: one BLAS/OpenMP thread each and a lower priority than the UI."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:  # noqa: BLE001 - a missing limiter only costs speed
        pass
    try:
        os.nice(5)
    except OSError:
        pass


def _table(path: str) -> LoadedTable:
    key = (str(Path(path).expanduser().resolve()), fingerprint_file(path))
    if key not in _TABLES:
        _TABLES.clear()  # keep one table per child: bounded memory
        _TABLES[key] = load_table(path)
    return _TABLES[key]


def open_dataset(path: str) -> DatasetOpened:
    """Read ``path`` and describe it for the Load screen."""
    table = _table(path)
    frame = table.frame
    target = suggest_target(frame)
    return DatasetOpened(
        path=table.source, fingerprint=table.fingerprint, n_rows=len(frame),
        columns=infer_schema(frame, target=None), preview=preview_rows(frame),
        suggested_target=target, suggested_task=suggest_task(frame[target]),
        notices=table.notices)


def prepare_problem(path: str, target: str, task: str | None, metric: str | None, seed: int,
                    problem_file: str) -> dict[str, Any]:
    """Fix target, roles and folds once; save the problem for the other children."""
    table = _table(path)
    problem = make_problem(table.frame, target, task=task, metric=metric, seed=seed)
    joblib.dump(problem, problem_file)
    _PROBLEMS.clear()
    _PROBLEMS[problem_file] = problem
    return {
        "task": problem.task, "metric": problem.metric, "n_rows": len(problem.y),
        "n_folds": len(problem.folds), "classes": problem.classes,
        "notices": table.notices + problem.notices, "fingerprint": table.fingerprint,
        "source": table.source,
        "columns": [{"name": c.name, "dtype": c.dtype, "role": c.role.value}
                    for c in problem.schema],
    }


def _problem(problem_file: str) -> Problem:
    if problem_file not in _PROBLEMS:
        _PROBLEMS.clear()
        _PROBLEMS[problem_file] = joblib.load(problem_file)
    return _PROBLEMS[problem_file]


def evaluate_model(problem_file: str, spec: ModelSpec) -> ModelResult:
    """Cross-validate one model on the saved problem."""
    return evaluate(spec, _problem(problem_file))


def refit_model(problem_file: str, spec: ModelSpec, model_file: str) -> str:
    """Fit ``spec`` on every row and save it with joblib; returns the file written."""
    model = refit(spec, _problem(problem_file))
    tmp = model_file + ".tmp"
    joblib.dump(model, tmp, compress=3)
    os.replace(tmp, model_file)
    return model_file


def export_bundle(model_file: str, manifest: dict[str, Any], out_path: str) -> tuple[str, int, int]:
    """Write the bundle of a refit model; returns (path, member count, size in bytes)."""
    model = joblib.load(model_file)
    out = write_bundle(model, manifest, out_path)
    import zipfile

    with zipfile.ZipFile(out) as zf:
        n_files = len(zf.namelist())
    return str(out), n_files, out.stat().st_size


def predict_with_model(model_file: str, manifest: dict[str, Any], path: str, out_path: str) -> int:
    """The app's own predictions: the refit model applied to a file, written as CSV."""
    model = joblib.load(model_file)
    frame = load_table(path).frame
    predictions: pd.DataFrame = predict_frame(model, frame, manifest)
    predictions.to_csv(out_path, index=False)
    return len(predictions)
