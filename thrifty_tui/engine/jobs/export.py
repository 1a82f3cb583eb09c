"""The Export and Predict jobs: a run's refit model and its manifest, written as a bundle (or
used to predict a file) in a child process."""

from __future__ import annotations

import json
import time
from concurrent.futures import wait
from pathlib import Path
from typing import Any

from thrifty_tui.core.errors import DataError
from thrifty_tui.core.events import ExportFinished, ExportStarted, Predicted
from thrifty_tui.core.records import ModelResult
from thrifty_tui.engine.context import POLL_SECONDS, Cancelled, JobContext
from thrifty_tui.engine.jobs.requests import Export, Predict


def run_manifest(ctx: JobContext, run_id: int) -> tuple[str, dict[str, Any]]:
    """The refit model's file and the manifest of run ``run_id`` (everything but hashes,
    versions and contents, which the bundle writer adds)."""
    try:
        run = ctx.ws.run_started(run_id)
    except KeyError:
        raise DataError(f"run {run_id} is not in this workspace") from None
    finished = ctx.ws.run_finished(run_id)
    if finished is None or not finished.model_path:
        raise DataError(f"run {run_id} has no fitted model to export; screen first")
    problem = json.loads((ctx.ws.run_dir(run_id) / "problem.json").read_text())
    results = ctx.ws.results(run_id)
    best = next(r for r in results if r.model == finished.best_model)
    row = ctx.ws.db.execute("SELECT started_at, finished_at FROM runs WHERE id=?",
                             (run_id,)).fetchone()
    started_at, finished_at = row if row else (None, None)

    def stamp(seconds: float | None) -> str | None:
        return (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
                if seconds is not None else None)

    def board_row(r: ModelResult) -> dict[str, Any]:
        return {"model": r.model, "status": r.status, "mean": r.mean, "std": r.std,
                "fold_scores": list(r.fold_scores), "fit_seconds": r.fit_seconds,
                "rows": getattr(r, "rows", None) or None, "error": r.error or None,
                "baseline": r.baseline}

    classification = run.task == "classification"
    extra = ctx.ws.run_extra(run_id)
    manifest = {
        "model": best.model, "params": dict(best.params), "task": run.task,
        "target": run.target, "metric": run.metric, "classes": list(problem["classes"]),
        "cv_scores": list(best.fold_scores), "cv_mean": best.mean, "cv_std": best.std,
        "n_folds": run.n_folds, "n_rows": run.n_rows, "seed": problem["seed"],
        "fit_rows": extra.get("fit_rows") or run.n_rows,  # rows the exported model saw
        # rows its cross-validated score was measured on (fewer when the budget cut it short)
        "cv_rows": extra.get("cv_rows") or best.rows or run.n_rows,
        "columns": problem["columns"], "run_id": run_id,
        "data": {"path": problem["source"], "fingerprint": problem["fingerprint"],
                 "n_rows": run.n_rows, "sample": problem.get("sample"),
                 "class_counts": problem.get("class_counts") or None},
        "labels": problem.get("labels"),
        "cv": {"splitter": "StratifiedKFold" if classification else "KFold",
               "shuffle": True, "seed": problem["seed"], "n_folds": run.n_folds,
               "fold_sizes": problem.get("fold_sizes"),
               "folds": [{"fold": i + 1, "score": s} for i, s in enumerate(best.fold_scores)],
               "mean": best.mean, "std": best.std,
               "racing_rungs": problem.get("rungs")},
        "leaderboard": [board_row(r) for r in results],
        "budget": {"budget_s": problem.get("budget_s"),
                   "max_fit_seconds": problem.get("max_fit_seconds"),
                   "spent_s": finished.elapsed_s, "status": finished.status,
                   "stop_reason": finished.stop_reason,
                   # The done rules as set, each rule's state at the end, the stopping
                   # rule and the best-so-far trace, and the cost meter (BudgetGuard).
                   "rules": extra.get("budget"), "stop": extra.get("stop"),
                   "cost": extra.get("cost")},
        "timings": {"run_started": stamp(started_at), "run_finished": stamp(finished_at),
                    "run_elapsed_s": finished.elapsed_s,
                    "best_model_cv_fit_s": best.fit_seconds},
        "notices": list(run.notices),
    }
    return finished.model_path, manifest



def run_export(ctx: JobContext, job: Export) -> None:
    from thrifty_tui.core.tasks import fits as tasks
    from thrifty_tui.core.events import ExportProgress

    run_id = job.run_id or ctx.ws.latest_finished_run_id()
    if run_id is None:
        raise DataError("nothing to export yet: screen some models first")
    model_path, manifest = run_manifest(ctx, run_id)
    run_dir = ctx.ws.run_dir(run_id)
    progress = ctx.ws.artifacts / f"export-{time.time_ns()}.progress"
    ctx.emit(ExportStarted(path=job.path))
    future = ctx.executor.submit(tasks.export_bundle, model_path, manifest, job.path,
                                 str(run_dir / "diagnostics"), str(progress), dict(job.cost),
                                 job.calibrate)
    reported = ""
    try:
        while True:  # _wait, plus the child's progress relayed as events
            done, _ = wait([future], timeout=POLL_SECONDS)
            try:
                text = progress.read_text(encoding="utf-8")
            except OSError:
                text = reported
            if text != reported:
                reported = text
                try:
                    stage, step, total = json.loads(text)
                    ctx.emit(ExportProgress(path=job.path, stage=str(stage),
                                             step=int(step), total=int(total)))
                except (ValueError, TypeError):
                    pass
            if done:
                break
            if ctx.cancel_requested():
                ctx.executor.kill()  # the bundle's temporary file is left; never the bundle
                raise Cancelled
        path, n_files, n_bytes = future.result()
    finally:
        progress.unlink(missing_ok=True)
        Path(f"{progress}.tmp").unlink(missing_ok=True)
    ctx.emit(ExportFinished(path=path, n_files=n_files, n_bytes=n_bytes))



def run_predict(ctx: JobContext, job: Predict) -> None:
    from thrifty_tui.core.tasks import fits as tasks

    run_id = job.run_id or ctx.ws.latest_finished_run_id()
    if run_id is None:
        raise DataError("no fitted model yet: screen some models first")
    model_path, manifest = run_manifest(ctx, run_id)
    n_rows = ctx.wait(ctx.executor.submit(tasks.predict_with_model, model_path, manifest,
                                         job.path, job.out_path,
                                         str(ctx.ws.run_dir(run_id) / "diagnostics")))
    ctx.emit(Predicted(path=job.path, out_path=job.out_path, n_rows=n_rows))

