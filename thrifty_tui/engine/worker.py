"""The one background worker: it owns every fit and every write, and reports by events."""

from __future__ import annotations

import json
import logging
import math
import queue
import sqlite3
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thrifty_tui.core.errors import DataError, check_path, describe_error
from thrifty_tui.core.events import (
    BoardRestored, DatasetOpened, Event, ExportFinished, ExportStarted, JobFailed, ModelScored,
    ModelStarted, Notice, Predicted, RunFinished, RunStarted,
)
from thrifty_tui.core.records import ModelResult, best_result
from thrifty_tui.core.workspace import Workspace
from thrifty_tui.engine.jobs import Export, Job, OpenDataset, Predict, Restore, Screen, Shutdown
from thrifty_tui.engine.pool import ChildPool

if TYPE_CHECKING:  # the zoo imports scikit-learn, which the app's process never needs
    from thrifty_tui.core.zoo import ModelSpec

log = logging.getLogger(__name__)
Emit = Callable[[Event], None]
POLL_SECONDS = 0.05


class Cancelled(Exception):
    """The user asked the current job to stop."""


class Worker:
    """Takes jobs from a queue in one thread, drives child processes, emits frozen events."""

    def __init__(self, workspace: str | Path, emit: Emit, *, max_procs: int | None = None):
        self.workspace_root = Path(workspace)
        self.emit = emit
        self.pool = ChildPool(max_procs)
        self._jobs: queue.Queue[Job] = queue.Queue()
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="thrifty-worker", daemon=True)
        self._ready = threading.Event()
        self.busy = False
        self.current_run_id: int | None = None

    # -- called from any thread -------------------------------------------------------------
    def start(self) -> Worker:
        self._thread.start()
        return self

    def submit(self, job: Job) -> None:
        """Queue a job; it runs after the ones before it."""
        self._jobs.put(job)

    def cancel(self) -> None:
        """Ask the running job to stop at its next check (fits in progress are killed)."""
        self._cancel.set()

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop after the current job: running fits are killed, then the thread ends."""
        self._cancel.set()
        self._jobs.put(Shutdown())
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- the worker thread ------------------------------------------------------------------
    def _loop(self) -> None:
        workspace_error = ""
        try:
            self.ws = Workspace(self.workspace_root)
            self.ws.mark_interrupted()
        except (OSError, sqlite3.Error) as err:
            # Without this the thread dies before its loop and whoever waits for events hangs.
            workspace_error = (f"cannot use the workspace {self.workspace_root}: "
                               f"{describe_error(err)}")
        self._ready.set()
        try:
            while True:
                try:
                    job = self._jobs.get(timeout=POLL_SECONDS * 4)
                except queue.Empty:
                    continue
                if isinstance(job, Shutdown):
                    break
                if workspace_error:
                    self.emit(JobFailed(job=type(job).__name__, message=workspace_error))
                    continue
                self._cancel.clear()
                self.busy = True
                try:
                    self._handle(job)
                except Cancelled:
                    # Screen reports its own cancel as RunFinished; a job cancelled before it
                    # had anything to report still needs an answer, or its caller waits forever.
                    self.emit(JobFailed(job=type(job).__name__,
                                        message=f"{type(job).__name__} cancelled"))
                except DataError as err:
                    self.emit(JobFailed(job=type(job).__name__, message=str(err)))
                except Exception as err:  # noqa: BLE001 - errors never kill the worker
                    log.error("job %s failed:\n%s", job, traceback.format_exc())
                    if isinstance(err, BrokenExecutor):
                        self.pool.kill()  # a dead child broke the pool: the next job gets a new one
                    self.emit(JobFailed(job=type(job).__name__, message=describe_error(err),
                                        user_error=False))
                finally:
                    self.busy = False
        finally:
            self.pool.kill()
            if not workspace_error:
                self.ws.close()

    def _handle(self, job: Job) -> None:
        if isinstance(job, OpenDataset):
            self._open(job)
        elif isinstance(job, Screen):
            self._screen(job)
        elif isinstance(job, Export):
            self._export(job)
        elif isinstance(job, Predict):
            self._predict(job)
        elif isinstance(job, Restore):
            self._restore()
        else:
            raise TypeError(f"unknown job {job!r}")

    def _wait(self, future: Future) -> Any:
        """The future's result, checking for cancel while waiting (then the children die)."""
        while True:
            done, _ = wait([future], timeout=POLL_SECONDS)
            if done:
                return future.result()
            if self._cancel.is_set():
                self.pool.kill()
                raise Cancelled

    def _open(self, job: OpenDataset) -> None:
        from thrifty_tui.core import tasks
        check_path(job.path)  # cheap checks here, for a message without a child round trip
        event: DatasetOpened = self._wait(self.pool.submit(tasks.open_dataset, job.path))
        self.ws.add_dataset(event.path, event.fingerprint, event.n_rows, len(event.columns))
        self.emit(event)

    def _screen(self, job: Screen) -> None:
        from thrifty_tui.core import tasks
        from thrifty_tui.core.zoo import DEFAULT_ZOO, models_for

        started = time.monotonic()
        problems = self.ws.artifacts / "problems"
        problems.mkdir(exist_ok=True)
        problem_file = str(problems / f"problem-{time.time_ns()}.joblib")
        summary = self._wait(self.pool.submit(
            tasks.prepare_problem, job.path, job.target, job.task, job.metric, job.seed,
            problem_file))
        specs = models_for(summary["task"], job.zoo or DEFAULT_ZOO)
        names = tuple(s.name for s in specs)
        run_id = self.ws.start_run(job.path, job.target, summary["task"], summary["metric"],
                                   summary["n_rows"], summary["n_folds"], names, job.seed,
                                   tuple(summary["notices"]))
        self.current_run_id = run_id
        run_dir = self.ws.run_dir(run_id)
        (run_dir / "problem.json").write_text(json.dumps(
            {**summary, "target": job.target, "seed": job.seed, "path": job.path}, default=str))
        self.emit(RunStarted(run_id=run_id, path=job.path, target=job.target, task=summary["task"],
                             metric=summary["metric"], n_rows=summary["n_rows"],
                             n_folds=summary["n_folds"], models=names,
                             notices=tuple(summary["notices"])))
        results: list[ModelResult] = []
        try:
            status, stop_reason = self._screen_models(job, run_id, specs, problem_file, results,
                                                      started)
            best = best_result(results)
            model_path = ""
            if best is not None and status == "done":
                spec = next(s for s in specs if s.name == best.model)
                try:
                    model_path = self._wait(self.pool.submit(
                        tasks.refit_model, problem_file, spec, str(run_dir / "model.joblib")))
                except Cancelled:
                    status, stop_reason = "cancelled", "cancelled by the user during the final fit"
                except Exception as err:  # noqa: BLE001 - the run still ends with RunFinished
                    if isinstance(err, BrokenExecutor):
                        self.pool.kill()
                    status = "failed"
                    stop_reason = f"fitting {best.model} on all rows failed: {describe_error(err)}"
        finally:
            Path(problem_file).unlink(missing_ok=True)
        if best is None and status == "done":
            # Keep why (a spent budget, say): "no model finished" alone leaves the user guessing.
            status = "failed"
            stop_reason = ("no model finished" if stop_reason == "all models screened"
                           else f"no model finished: {stop_reason}")
        finished = RunFinished(
            run_id=run_id, status=status, best_model=best.model if best else "",
            best_score=best.mean if best else math.nan, metric=summary["metric"],
            elapsed_s=round(time.monotonic() - started, 3), stop_reason=stop_reason,
            model_path=model_path)
        self.ws.finish_run(finished)
        self.emit(finished)

    def _screen_models(self, job: Screen, run_id: int, specs: tuple[ModelSpec, ...],
                       problem_file: str, results: list[ModelResult],
                       started: float) -> tuple[str, str]:
        """Cross-validate ``specs`` in the children; every spec ends with one ModelScored row.

        Returns (status, stop reason). A child that dies (a crash, the out-of-memory killer)
        breaks the whole pool and every fit on it; the models that were running then are
        retried one at a time, so only the one that kills its child alone is a failed row.
        """
        from thrifty_tui.core import tasks

        total = len(specs)
        stop_reason = "all models screened"
        waiting = list(specs)
        alone: list[ModelSpec] = []  # victims of a dead child, retried one at a time
        running: dict[Future, ModelSpec] = {}

        def row(spec: ModelSpec, status: str, error: str) -> ModelResult:
            return ModelResult(spec.name, status, (), 0.0, error=error, baseline=spec.baseline)

        try:
            while waiting or alone or running:
                over_budget = job.budget_s is not None and time.monotonic() - started > job.budget_s
                if over_budget and (waiting or alone):
                    stop_reason = f"budget of {job.budget_s:g} s spent"
                    for spec in alone + waiting:
                        self._record(run_id, row(spec, "skipped", stop_reason), results, total)
                    waiting, alone = [], []
                if alone:
                    if not running:
                        spec = alone.pop(0)
                        running[self.pool.submit(tasks.evaluate_model, problem_file, spec)] = spec
                else:
                    while waiting and len(running) < self.pool.max_workers:
                        spec = waiting.pop(0)
                        running[self.pool.submit(tasks.evaluate_model, problem_file, spec)] = spec
                        self.emit(ModelStarted(run_id=run_id, model=spec.name))
                if not running:
                    break
                done, _ = wait(list(running), timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
                if self._cancel.is_set():
                    raise Cancelled
                broken: list[ModelSpec] = []
                for future in done:
                    spec = running.pop(future)
                    try:
                        result = future.result()
                    except BrokenExecutor:
                        broken.append(spec)
                        continue
                    except Exception as err:  # noqa: BLE001 - a failing model is a failed row
                        result = row(spec, "failed", describe_error(err))
                    self._record(run_id, result, results, total)
                if broken:
                    broken += running.values()  # the pool is gone: so are the fits still on it
                    running.clear()
                    self.pool.kill()
                    if len(broken) == 1:
                        self._record(run_id, row(broken[0], "failed", (
                            "its process died (out of memory or a crash in native code)")),
                            results, total)
                    else:
                        alone += broken
        except Cancelled:
            self.pool.kill()
            reason = "cancelled by the user"
            for spec in running.values():
                self._record(run_id, row(spec, "cancelled", reason), results, total)
            for spec in alone + waiting:
                self._record(run_id, row(spec, "skipped", reason), results, total)
            return "cancelled", reason
        return "done", stop_reason

    def _record(self, run_id: int, result: ModelResult, results: list[ModelResult],
                total: int) -> None:
        results.append(result)
        self.ws.add_result(run_id, result)
        self.emit(ModelScored(run_id=run_id, result=result, done=len(results), total=total))

    def _manifest(self, run_id: int) -> tuple[str, dict[str, Any]]:
        try:
            run = self.ws.run_started(run_id)
        except KeyError:
            raise DataError(f"run {run_id} is not in this workspace") from None
        finished = self.ws.run_finished(run_id)
        if finished is None or not finished.model_path:
            raise DataError(f"run {run_id} has no fitted model to export; screen first")
        problem = json.loads((self.ws.run_dir(run_id) / "problem.json").read_text())
        results = self.ws.results(run_id)
        best = next(r for r in results if r.model == finished.best_model)
        manifest = {
            "model": best.model, "params": dict(best.params), "task": run.task,
            "target": run.target, "metric": run.metric, "classes": list(problem["classes"]),
            "cv_scores": list(best.fold_scores), "cv_mean": best.mean, "cv_std": best.std,
            "n_folds": run.n_folds, "n_rows": run.n_rows, "seed": problem["seed"],
            "columns": problem["columns"], "run_id": run_id,
            "data": {"path": problem["source"], "fingerprint": problem["fingerprint"]},
            "leaderboard": [{"model": r.model, "status": r.status, "mean": r.mean, "std": r.std,
                             "fit_seconds": r.fit_seconds} for r in results],
        }
        return finished.model_path, manifest

    def _export(self, job: Export) -> None:
        from thrifty_tui.core import tasks

        run_id = job.run_id or self.ws.latest_finished_run_id()
        if run_id is None:
            raise DataError("nothing to export yet: screen some models first")
        model_path, manifest = self._manifest(run_id)
        self.emit(ExportStarted(path=job.path))
        path, n_files, n_bytes = self._wait(
            self.pool.submit(tasks.export_bundle, model_path, manifest, job.path))
        self.emit(ExportFinished(path=path, n_files=n_files, n_bytes=n_bytes))

    def _predict(self, job: Predict) -> None:
        from thrifty_tui.core import tasks

        run_id = job.run_id or self.ws.latest_finished_run_id()
        if run_id is None:
            raise DataError("no fitted model yet: screen some models first")
        model_path, manifest = self._manifest(run_id)
        n_rows = self._wait(self.pool.submit(tasks.predict_with_model, model_path, manifest,
                                             job.path, job.out_path))
        self.emit(Predicted(path=job.path, out_path=job.out_path, n_rows=n_rows))

    def _restore(self) -> None:
        run_id = self.ws.last_run_id()
        if run_id is None:
            self.emit(Notice(message="new workspace: no runs yet"))
            return
        self.emit(BoardRestored(run=self.ws.run_started(run_id), results=self.ws.results(run_id),
                                finished=self.ws.run_finished(run_id)))
