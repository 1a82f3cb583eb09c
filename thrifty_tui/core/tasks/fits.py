"""Units of work that the worker runs in child processes.

Each takes and returns plain, picklable values. Children keep what they loaded in a small
cache, so a data set reaches each child once, not once per fit.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Heavy imports (pandas, scikit-learn, joblib) happen inside the functions: the app's process
# imports this module only to name its functions when it submits them to a child, and
# importing scikit-learn there took ~1.6 s with the GIL held (the UI froze, `run` waited).
from thrifty_tui.core.records import ProblemSummary

if TYPE_CHECKING:
    from thrifty_tui.core.data.tables import LoadedTable
    from thrifty_tui.core.learn.diagnostics import Diagnostics
    from thrifty_tui.core.records import FoldResult, ModelResult
    from thrifty_tui.core.learn.screening import Problem
    from thrifty_tui.core.learn.zoo import ModelSpec

_TABLES: dict[tuple[str, str], LoadedTable] = {}
_PROBLEMS: dict[str, Problem] = {}


def init_child(memory_cap_mb: float | None = None, log_path: str | None = None) -> None:
    """Run once in each child: one BLAS/OpenMP thread, lower priority, a memory cap.

    The cap is RLIMIT_DATA (heap and anonymous mappings, not shared libraries): an
    allocation past it raises MemoryError inside the fit, which becomes an OOM row,
    instead of the kernel's out-of-memory killer taking the machine down.
    """
    if log_path:
        # Children inherit the terminal as stderr: a library warning printed there would be
        # drawn over the app's screen. Send it to the workspace's log instead.
        try:
            fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(fd, 2)
            os.close(fd)
        except OSError:
            pass
    if memory_cap_mb:
        import resource

        cap = int(memory_cap_mb * 2**20)
        try:
            resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
        except (ValueError, OSError):
            pass
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:  # noqa: BLE001 - a missing limiter only costs speed
        pass
    try:
        os.nice(5)
    except OSError:
        pass
    # What every fit needs, imported as the child starts: all children start together, so
    # the one that does not prepare the problem is ready for fits sooner.
    try:
        import pandas  # noqa: F401
        import sklearn.ensemble
        import sklearn.linear_model  # noqa: F401
    except (ImportError, MemoryError):  # a tight memory cap: imported when first needed
        pass


def _column_entry(column: Any, X: Any) -> dict[str, Any]:
    """A column of the manifest's input schema; numbers carry their median (the bundle's
    input_example.json shows it), dates their middle value."""
    entry: dict[str, Any] = {"name": column.name, "dtype": column.dtype,
                             "role": column.role.value}
    if column.role.value in ("numeric", "datetime") and column.name in X:
        import pandas as pd

        if column.role.value == "numeric":
            median = pd.to_numeric(X[column.name], errors="coerce").median()
            if pd.notna(median):
                entry["median"] = float(median)
        else:  # the middle date, as the ISO text a date column holds (parsed as DateParts does)
            parsed = pd.to_datetime(X[column.name], errors="coerce", format="mixed", utc=True)
            median = parsed.median()
            if pd.notna(median):
                entry["median"] = median.tz_convert(None).isoformat()
    return entry


def _table(path: str) -> LoadedTable:
    from thrifty_tui.core.data.tables import fingerprint_file, load_table

    key = (str(Path(path).expanduser().resolve()), fingerprint_file(path))
    if key not in _TABLES:
        _TABLES.clear()  # keep one table per child: bounded memory
        _TABLES[key] = load_table(path)
    return _TABLES[key]


def prepare_problem(path: str, target: str, task: str | None, metric: str | None, seed: int,
                    problem_file: str,
                    labels: tuple[tuple[int, ...], tuple[str, ...]] | None = None,
                    sample_rows: int | None = None,
                    roles: tuple[tuple[str, str], ...] = ()) -> ProblemSummary:
    """Fix target, roles and folds once; save the problem for the other children.

    ``roles`` = (column, role) pairs the user chose on the Load screen; they override the
    inferred roles.

    ``labels`` = (rows, labels) from the label store: only those rows, with the labels as
    column ``target``.
    """
    import joblib

    from thrifty_tui.core.errors import DataError
    from thrifty_tui.core.store.labels import attach_labels
    from thrifty_tui.core.data.schema import suggest_task
    from thrifty_tui.core.learn.screening import make_problem, rung_folds

    clear_feature_caches(Path(problem_file).parent)
    table = _table(path)
    frame = table.frame if labels is None else attach_labels(table.frame, *labels, target)
    sample: dict[str, Any] = {"method": "all rows", "rows": len(frame), "seed": seed}
    source_rows = len(frame)  # before any sample: "would more rows help?" projects to it
    if sample_rows is not None and sample_rows < 1:
        raise DataError("--sample needs a positive number of rows")
    if sample_rows is not None and sample_rows < len(frame):
        from thrifty_tui.core.data.sampling import random_sample, stratified_sample

        if target in frame.columns and (task or suggest_task(frame[target])) == "classification":
            frame = stratified_sample(frame[frame[target].notna()], sample_rows, target, seed)
            sample = {"method": "stratified", "rows": len(frame), "seed": seed}
        else:
            frame = random_sample(frame, sample_rows, seed)
            sample = {"method": "random", "rows": len(frame), "seed": seed}
    sample["source_rows"] = source_rows
    problem = make_problem(frame, target, task=task, metric=metric, seed=seed,
                           roles=dict(roles) or None)
    joblib.dump(problem, problem_file)
    _PROBLEMS.clear()
    _PROBLEMS[problem_file] = problem
    return ProblemSummary(
        task=problem.task, metric=problem.metric, n_rows=len(problem.y),
        n_folds=len(problem.folds), classes=tuple(problem.classes),
        notices=tuple(table.notices + problem.notices), fingerprint=table.fingerprint,
        source=table.source,
        columns=tuple(_column_entry(c, problem.X) for c in problem.schema),
        schema=tuple(problem.schema), rungs=tuple(problem.rungs), sample=sample,
        rung_folds={r: len(rung_folds(problem, r)) for r in range(len(problem.rungs))},
        fold_sizes=tuple((len(tr), len(te)) for tr, te in problem.folds),
        class_counts=({str(k): int(v) for k, v in problem.y.value_counts().items()}
                      if problem.task == "classification" else {}))


def _problem(problem_file: str) -> Problem:
    if problem_file not in _PROBLEMS:
        import joblib

        _PROBLEMS.clear()
        _PROBLEMS[problem_file] = joblib.load(problem_file)
    return _PROBLEMS[problem_file]


def evaluate_model(problem_file: str, spec: ModelSpec) -> ModelResult:
    """Cross-validate one model on the saved problem."""
    from thrifty_tui.core.learn.screening import evaluate

    return evaluate(spec, _problem(problem_file))


def warm_up(problem_file: str, min_seconds: float = 0.3) -> int:
    """Import what fits need and load the problem, so fit timings exclude the child's start.

    Takes at least ``min_seconds`` so that, of several warm-ups submitted at once, each lands
    on its own idle child. Returns the child's process id.
    """
    import time

    began = time.monotonic()
    import sklearn.ensemble  # noqa: F401 - the import is the point
    import sklearn.linear_model  # noqa: F401

    _problem(problem_file)
    time.sleep(max(0.0, min_seconds - (time.monotonic() - began)))
    return os.getpid()


def evaluate_fold_task(problem_file: str, spec: ModelSpec, rung: int, fold: int,
                       oof_file: str | None = None) -> FoldResult:
    """One fit and score: model ``spec`` on fold ``fold`` of racing rung ``rung``."""
    from thrifty_tui.core.learn.screening import evaluate_fold

    return evaluate_fold(spec, _problem(problem_file), rung, fold, oof_file,
                         feature_cache=feature_cache_dir(problem_file))


def feature_cache_dir(problem_file: str) -> str:
    """The folder where a run's fold fits share their fitted feature steps."""
    return problem_file + ".features"


def clear_feature_caches(problems_dir: str | Path, keep: str | None = None) -> None:
    """Remove the feature caches of earlier runs (a cancelled run leaves its own behind)."""
    import shutil

    for path in Path(problems_dir).glob("*.features"):
        if str(path) != keep:
            shutil.rmtree(path, ignore_errors=True)


def diagnose_task(problem_file: str, spec: ModelSpec, oof_files: list[str],
                  learning_curve: tuple[tuple[int, float], ...], out_json: str) -> Diagnostics:
    """Diagnostics of one model from its saved out-of-fold predictions; saved as JSON too."""
    import dataclasses
    import json

    from thrifty_tui.core.learn.diagnostics import diagnose

    from thrifty_tui.core.learn.explain import BACKGROUND_ROWS
    from thrifty_tui.core.store.decide import BACKGROUND_FILE, write_background

    problem = _problem(problem_file)
    diag = diagnose(spec, problem, oof_files, learning_curve)
    background = Path(out_json).parent / BACKGROUND_FILE
    if not background.exists():  # the same rows for every model of the run
        write_background(problem.X, background, BACKGROUND_ROWS, problem.seed)
    tmp = out_json + ".tmp"
    Path(tmp).write_text(json.dumps(dataclasses.asdict(diag), default=float))
    os.replace(tmp, out_json)
    return diag


def refit_model(problem_file: str, spec: ModelSpec, model_file: str) -> str:
    """Fit ``spec`` on every row and save it with joblib; returns the file written.

    When the screening run already fitted this very spec on this problem into ``model_file``
    (``refit_and_check``, beside the last diagnostics), that file is used as it is.
    """
    import joblib

    from thrifty_tui.core.learn.screening import refit

    if _refit_stamp(problem_file, spec) == _read_stamp(model_file) and Path(model_file).is_file():
        return model_file
    model = refit(spec, _problem(problem_file))
    tmp = model_file + ".tmp"
    joblib.dump(model, tmp, compress=3)
    os.replace(tmp, model_file)
    return model_file


CHECK_ROWS = 5_000


def refit_and_check(problem_file: str, spec: ModelSpec, model_file: str) -> tuple[str, float]:
    """``refit_model``, plus the refit model's score on (up to 5,000 of) its own rows.

    A healthy fit scores at least about its cross-validated score on rows it was fitted on;
    one far below has collapsed on all rows (did not converge, predicts a constant …).
    """
    import joblib
    from sklearn.metrics import get_scorer

    from thrifty_tui.core.learn.screening import refit

    problem = _problem(problem_file)
    model = refit(spec, problem)
    tmp = model_file + ".tmp"
    joblib.dump(model, tmp, compress=3)
    os.replace(tmp, model_file)
    Path(model_file + ".stamp").write_text(_refit_stamp(problem_file, spec))
    X, y = problem.X, problem.y
    if len(y) > CHECK_ROWS:
        X = X.sample(CHECK_ROWS, random_state=problem.seed)
        y = y.loc[X.index]
    try:
        score = float(get_scorer(problem.metric)(model, X, y))
    except Exception:  # noqa: BLE001 - the check is advice; the model is written
        score = float("nan")
    return model_file, score


def _refit_stamp(problem_file: str, spec: ModelSpec) -> str:
    """What a refit model file was fitted from: the problem file, the spec's name and build."""
    import json

    build = spec.build
    func = getattr(build, "func", build)
    how = repr((getattr(func, "__module__", ""), getattr(func, "__qualname__", repr(func)),
                getattr(build, "args", ()), sorted(getattr(build, "keywords", {}).items())))
    return json.dumps([problem_file, spec.name, how])


def _read_stamp(model_file: str) -> str | None:
    try:
        return Path(model_file + ".stamp").read_text()
    except OSError:
        return None


def refit_collapsed(cv_mean: float, own_score: float, baseline: float | None) -> bool:
    """Whether a model refit on all rows scores far below its cross-validated score on the
    very rows it was fitted on: it lost over half its lead over the baseline (or, with no
    baseline, over a tenth of its score). NaN scores never count as collapsed, nor does a
    model with no lead over the baseline."""
    import math

    if math.isnan(cv_mean) or math.isnan(own_score):
        return False
    lead = cv_mean - baseline if baseline is not None and not math.isnan(baseline) else math.nan
    if lead <= 0:
        return False  # no better than the baseline: no lead to lose (the baseline itself)
    allowed = 0.1 * max(abs(cv_mean), 1e-9) if math.isnan(lead) else 0.5 * lead
    return own_score < cv_mean - allowed


def export_bundle(model_file: str, manifest: dict[str, Any], out_path: str,
                  diagnostics_dir: str | None = None,
                  progress_file: str | None = None, cost: dict[str, Any] | None = None,
                  calibrate: bool = True) -> tuple[str, int, int]:
    """Write the bundle of a refit model; returns (path, member count, size in bytes).

    ``cost`` (a core.learn.value.CostMatrix as a dict, over thrifty.toml's [cost] beside the
    data) sets the decision threshold; the calibration map goes in when it lowered the
    cross-validated log loss (and ``calibrate``); see core.store.decide.

    The model's stored diagnostics in ``diagnostics_dir`` (if any) go in as text plots and
    numbers. As each stage starts, ``[stage, step, total]`` replaces ``progress_file``'s
    content, for the worker thread to report.
    """
    import json
    import zipfile

    import joblib

    from thrifty_tui.core.store.bundle import write_bundle
    from thrifty_tui.core.errors import DataError
    from thrifty_tui.core.store.bundle_report import find_diagnostics
    from thrifty_tui.core.store.decide import bundle_decisions

    def progress(stage: str, step: int, total: int) -> None:
        if progress_file:
            tmp = f"{progress_file}.tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(json.dumps([stage, step, total]))
            os.replace(tmp, progress_file)

    progress("reading the model", 0, 1)
    model = joblib.load(model_file)
    diagnostics = find_diagnostics(diagnostics_dir, manifest["model"])
    keys, extra = bundle_decisions(manifest, diagnostics_dir, cost, calibrate)
    try:
        out = write_bundle(model, {**manifest, **keys}, out_path, diagnostics=diagnostics,
                           progress=progress, extra=extra)
    except OSError as err:  # a folder the user cannot write to is bad input, not a crash
        raise DataError(f"cannot write the bundle {out_path}: {err.strerror or err}") from None
    with zipfile.ZipFile(out) as zf:
        n_files = len(zf.namelist())
    return str(out), n_files, out.stat().st_size


def predict_with_model(model_file: str, manifest: dict[str, Any], path: str, out_path: str,
                       diagnostics_dir: str | None = None) -> int:
    """The app's own predictions: the refit model applied to a file, written as CSV, with the
    decisions its bundle would carry (calibration, thrifty.toml's cost threshold)."""
    import joblib

    from thrifty_tui.core.data.tables import load_table
    from thrifty_tui.core.store.decide import bundle_decisions
    from thrifty_tui.core.store.predict import predict_frame

    keys, _ = bundle_decisions(manifest, diagnostics_dir)
    manifest = {**manifest, **keys}
    model = joblib.load(model_file)
    frame = load_table(path).frame
    predictions = predict_frame(model, frame, manifest)
    predictions.to_csv(out_path, index=False)
    return len(predictions)
