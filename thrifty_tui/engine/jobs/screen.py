"""The Screen job: prepare the problem in a child, race the zoo (ScreenRun), tune the leaders
(TuneRun) and score their mean (MeanOfLeaders) within the budget (BudgetGuard), fit the best
for export (final_fit), and report the run."""

from __future__ import annotations

import json
import math
import shutil
import time
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from thrifty_tui.core.data.sniff import estimate_shape
from thrifty_tui.core.errors import describe_error
from thrifty_tui.core.policy.sizing import FileShape, budget_for_whole_file, rows_for_budget
from thrifty_tui.core.events import Notice, RunFinished, RunStarted
from thrifty_tui.core.records import ProblemSummary, best_result
from thrifty_tui.core.learn import tuning
from thrifty_tui.core.tasks import fits as tasks
from thrifty_tui.core.tasks import loading
from thrifty_tui.engine.budget_guard import BudgetGuard
from thrifty_tui.engine.context import Cancelled, JobContext
from thrifty_tui.engine.ensemble_run import MeanOfLeaders
from thrifty_tui.engine.jobs import labeling
from thrifty_tui.engine.jobs.after_screening import after_screening
from thrifty_tui.engine.jobs.final_fit import final_fit
from thrifty_tui.engine.jobs.requests import Screen
from thrifty_tui.engine.projection_report import projection_event
from thrifty_tui.engine.screen_run import ScreenRun


@dataclass(frozen=True)
class _Begun:
    """A Screen job's run, started: the problem prepared, the run stored and announced."""

    run_id: int
    run_dir: Path
    summary: ProblemSummary
    specs: tuple[Any, ...]
    shape: FileShape | None
    budget_rows: int | None


def run_screen(ctx: JobContext, job: Screen) -> None:
    """Prepare the problem, race the zoo, tune the leaders, fit the best, report the run."""
    started = job.started_at if job.started_at is not None else time.monotonic()
    guard = BudgetGuard(ctx, job, started)  # done rules, fit count, cost meter, tuning
    job = guard.job  # with the time budget of a thrifty.toml beside the data, if any
    ctx.executor.set_memory_cap(job.max_memory_mb)
    problems = ctx.ws.artifacts / "problems"
    problems.mkdir(exist_ok=True)
    problem_file = str(problems / f"problem-{time.time_ns()}.joblib")
    begun = _begin(ctx, job, guard, problem_file)
    run_id, summary, specs = begun.run_id, begun.summary, begun.specs
    best = None
    model_path = ""
    try:
        run = ScreenRun(ctx, job, run_id, begun.run_dir, problem_file, summary, specs, started)
        run.guard = guard
        guard.ensemble = ensemble = MeanOfLeaders(ctx, guard, run, problem_file)
        status, stop_reason, results = run.execute()
        status, stop_reason, results, tuned = after_screening(
            guard, run, status, stop_reason, problem_file, specs, tuning.problem_key(
                summary, job.target, job.seed, job.racing, job.label_set))
        if status == "done":
            results = ensemble.consider(results)
        best = best_result(results)
        if status == "done":
            projected = projection_event(run, best, summary, job.seed)
            if projected is not None:
                ctx.emit(projected)
        if best is not None and status == "done":
            try:
                best, model_path = _fit_best(ctx, guard, ensemble, results, best,
                                             (*tuned, *specs), problem_file, begun)
            except Cancelled:
                status, stop_reason = "cancelled", "cancelled by the user during the final fit"
            except Exception as err:  # noqa: BLE001 - the run still ends with RunFinished
                if isinstance(err, BrokenExecutor):
                    ctx.executor.kill()
                status = "failed"
                stop_reason = f"fitting {best.model} on all rows failed: {describe_error(err)}"
    finally:
        Path(problem_file).unlink(missing_ok=True)
        # The folds' shared fitted features: kept through tuning (same features, other
        # model parameters), removed here however the job ended.
        shutil.rmtree(tasks.feature_cache_dir(problem_file), ignore_errors=True)
    if best is None and status == "done":
        # Keep why (a spent budget, say): "no model finished" alone leaves the user guessing.
        status = "failed"
        stop_reason = ("no model finished" if stop_reason == "all models screened"
                       else f"no model finished: {stop_reason}")
    stop_reason = ensemble.amend(guard.final_reason(status, stop_reason))
    if begun.budget_rows is not None and begun.shape is not None:
        stop_reason += _sample_advice(summary.sample, begun.shape, guard.budget.wall_s)
    finished = RunFinished(
        run_id=run_id, status=status, best_model=best.model if best else "",
        best_score=best.mean if best else math.nan, metric=summary.metric,
        elapsed_s=round(time.monotonic() - started, 3), stop_reason=stop_reason,
        model_path=model_path)
    guard.finish(run_id, status, stop_reason)
    ctx.ws.finish_run(finished)
    ctx.emit(finished)


def _begin(ctx: JobContext, job: Screen, guard: BudgetGuard, problem_file: str) -> _Begun:
    """Prepare the problem in a child (a sample when the budget cannot afford the whole
    file), choose the zoo's models for it, store the run and announce it."""
    from thrifty_tui.core.learn.zoo import (
        default_zoo,
        find_zoo_file,
        has_free_text,
        load_zoo,
        models_for,
    )

    zoo_path = job.zoo_path or find_zoo_file(job.path)
    zoo = job.zoo or (load_zoo(zoo_path) if zoo_path else default_zoo())
    labels = labeling.screen_labels(ctx, job) if job.label_set is not None else None
    shape, budget_rows = _budget_sample(job, guard)
    summary = ctx.wait(ctx.executor.submit(
        loading.prepare_problem, job.path, job.target, job.task,
        job.metric, job.seed, problem_file, labels and labels[:2],
        budget_rows or job.sample_rows, job.roles, budget_rows is not None))
    if labels:
        summary = replace(summary, labels=labels[2])  # count, schema, when: for the bundle
    notices = list(summary.notices)
    if zoo_path and not job.zoo:
        notices.append(f"models from {zoo_path}")
    has_text = has_free_text(summary.schema)
    excluded = tuple(f"{s.name}: {why}" for s in zoo
                     if (why := s.applies_to(summary.task, summary.n_rows, has_text))
                     and summary.task in s.tasks)
    specs = models_for(summary.task, zoo, summary.n_rows, summary.schema)
    names = tuple(s.name for s in specs)
    rungs = tuple(summary.rungs) if job.racing else (summary.n_rows,)
    run_id = ctx.ws.start_run(job.path, job.target, summary.task, summary.metric,
                              summary.n_rows, summary.n_folds, names, job.seed,
                              tuple(notices), rungs, excluded, job.max_fit_seconds)
    if summary.sample["method"] != "all rows":
        record_sample(ctx, job.path, summary.sample, run_id)
    run_dir = ctx.ws.run_dir(run_id)
    public = summary.public()
    (run_dir / "problem.json").write_text(json.dumps(
        {**public, "target": job.target, "seed": job.seed, "path": job.path,
         "excluded": excluded, "max_fit_seconds": job.max_fit_seconds,
         "budget_s": job.budget_s}, default=str))
    ctx.emit(RunStarted(run_id=run_id, path=job.path, target=job.target, task=summary.task,
                        metric=summary.metric, n_rows=summary.n_rows,
                        n_folds=summary.n_folds, models=names, notices=tuple(notices),
                        rungs=rungs, excluded=excluded,
                        max_fit_seconds=job.max_fit_seconds))
    guard.begin(run_id, summary)
    return _Begun(run_id, run_dir, summary, tuple(specs), shape, budget_rows)


def _fit_best(ctx: JobContext, guard: BudgetGuard, ensemble: MeanOfLeaders,
              results: list[Any], best: Any, specs: tuple[Any, ...], problem_file: str,
              begun: _Begun) -> tuple[Any, str]:
    """Fit the run's best for export (the mean of the leaders when it was chosen and its
    members' fits end in time, else the best single model); returns it and its file."""
    n_rows = int(begun.summary.n_rows)
    with guard.ticking("refit"):
        fit_rows = n_rows
        fitted = ensemble.final_fit(specs, results) if ensemble.chosen(best) else None
        if fitted is not None:
            model_path, best = fitted
        else:  # the best single model (also when the mean could not be fitted)
            best = ensemble.fallback(results) or best
            spec = next(s for s in specs if s.name == best.model)
            model_path, fit_rows = final_fit(ctx, guard, problem_file, spec, begun.run_dir,
                                             fit_rows)
    # Fewer than all rows when a time budget cut the best model short; more rows than its
    # estimate was measured on when it was cut short before all rows.
    cv_rows = best.rows or n_rows
    ctx.ws.update_run_extra(begun.run_id, fit_rows=fit_rows, cv_rows=cv_rows)
    if fit_rows > cv_rows:
        ctx.emit(Notice(message=_estimate_note(best, cv_rows, fit_rows,
                                               begun.summary.metric)))
    return best, model_path


def record_sample(ctx: JobContext, path: str, sample: dict[str, Any], run_id: int | None) -> None:
    """Put a sample taken of ``path`` in the workspace: the source's fingerprint (size,
    mtime, hash of the content or of sampled blocks), method, size and seed."""
    fingerprint = ctx.wait(ctx.executor.submit(loading.fingerprint, path))
    ctx.ws.add_sample(fingerprint, sample["method"], int(sample["rows"]),
                       int(sample["seed"]), run_id=run_id)


def _budget_sample(job: Screen, guard: BudgetGuard) -> tuple[FileShape | None, int | None]:
    """The file's estimated shape and, when the time budget cannot afford to prepare it
    whole, the rows of the sample to screen instead (``policy.sizing.rows_for_budget``).
    Not when the user chose a sample or labels, or for a file whose shape is unknown."""
    if job.sample_rows is not None or job.label_set is not None or guard.budget.wall_s is None:
        return None, None
    estimated = estimate_shape(job.path)
    shape = FileShape(*estimated) if estimated else None
    return shape, rows_for_budget(shape, guard.seconds_left())


def _sample_advice(sample: dict[str, Any], shape: FileShape, wall_s: float | None) -> str:
    """The stop reason's note on a sample taken for the budget, and what to raise."""
    if sample.get("method") == "all rows":
        return ""
    return (f"; screened a {sample['method']} sample of {int(sample['rows']):,} of "
            f"{int(sample.get('source_rows') or shape.rows):,} rows, as many as the "
            f"{wall_s:g} s budget could prepare (for all rows: --budget "
            f"{math.ceil(budget_for_whole_file(shape)):d} or more, or choose --sample)")


def _estimate_note(best: Any, cv_rows: int, fit_rows: int, metric: str) -> str:
    """Said when the exported model saw more rows than its cross-validated estimate."""
    return (f"{best.model}: its cross-validated {metric} {best.mean:.4f} was measured on "
            f"{cv_rows:,} rows; the exported model is fitted on {fit_rows:,} rows, so the "
            "estimate describes a smaller fit than the one exported")

