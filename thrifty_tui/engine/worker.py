"""The one background worker: it owns every fit and every write, and reports by events."""

from __future__ import annotations

import json
import logging
import math
import os
import queue
import shutil
import sqlite3
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thrifty_tui.core.errors import DataError, describe_error
from thrifty_tui.core.data.sniff import precheck
from thrifty_tui.core.events import (
    BoardRestored, DatasetOpened, Event, ExportFinished, ExportStarted, JobFailed, ModelScored,
    ModelDiagnosed, ModelStarted, Notice, Predicted, RunFinished, RunStarted,
)
from thrifty_tui.core.records import ModelResult, best_result
from thrifty_tui.core.store.workspace import Workspace
from thrifty_tui.engine.jobs import Export, Job, OpenDataset, Predict, Restore, Screen, Shutdown
from thrifty_tui.engine.pool import ChildPool
from thrifty_tui.engine import labeling
from thrifty_tui.engine.jobs import LabelingJob

if TYPE_CHECKING:  # the zoo imports scikit-learn, which the app's process never needs
    from thrifty_tui.core.learn.zoo import ModelSpec

log = logging.getLogger(__name__)
Emit = Callable[[Event], None]
POLL_SECONDS = 0.05


class Cancelled(Exception):
    """The user asked the current job to stop."""


class _Wake(Job):
    """Internal: a quick job is waiting and the worker may be idle (see ``Worker.submit``)."""


class Worker:
    """Takes jobs from a queue in one thread, drives child processes, emits frozen events."""

    def __init__(self, workspace: str | Path, emit: Emit, *, max_procs: int | None = None):
        self.workspace_root = Path(workspace)
        self.emit = emit
        self.pool = ChildPool(max_procs, log_path=str(self.workspace_root / "children.log"))
        self._jobs: queue.Queue[Job] = queue.Queue()
        # Label keys (and their model refits) must not wait behind a screening run: they go
        # to this lane, which the worker thread also serves between the polls of a long job.
        self._quick: queue.Queue[Job] = queue.Queue()
        self._serving_quick = False
        # The dashboard's "extend" and "stop now" for the running job's budget guard.
        self._budget_requests: queue.Queue[tuple[float, int, bool]] = queue.Queue()
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
        """Queue a job; it runs after the ones before it. Quick jobs (a label key, a labeling
        refit's result) run in order among themselves, but also while a long job is running."""
        if isinstance(job, labeling.QUICK_JOBS):
            self._quick.put(job)
            self._jobs.put(_Wake())
        else:
            self._jobs.put(job)

    def checkpoint(self) -> bool:
        """Called on the worker thread by a long job at each poll: serve the quick jobs that
        are waiting, then say whether the user asked the long job to stop."""
        self.serve_quick()
        return self._cancel.is_set()

    def serve_quick(self) -> None:
        """Run the waiting quick jobs now, on this (the worker) thread."""
        if self._serving_quick:
            return
        self._serving_quick = True
        try:
            while True:
                try:
                    job = self._quick.get_nowait()
                except queue.Empty:
                    return
                self._run_guarded(job, quick=True)
        finally:
            self._serving_quick = False

    def adjust_budget(self, extra_s: float = 0.0, extra_fits: int = 0,
                      stop: bool = False) -> None:
        """From any thread: give the running job more seconds or fits, or stop it now (it
        keeps and refits the best so far, unlike cancel)."""
        self._budget_requests.put((float(extra_s), int(extra_fits), bool(stop)))

    def budget_requests(self) -> list[tuple[float, int, bool]]:
        """The adjustments asked for since the last call (the budget guard applies them)."""
        out = []
        while True:
            try:
                out.append(self._budget_requests.get_nowait())
            except queue.Empty:
                return out

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
                    if isinstance(job, _Wake):
                        try:
                            job = self._quick.get_nowait()
                        except queue.Empty:
                            continue
                    self.emit(JobFailed(job=type(job).__name__, message=workspace_error))
                    continue
                if isinstance(job, _Wake):
                    self.serve_quick()
                    continue
                self.serve_quick()  # keys typed before this job keep their order before it
                self._cancel.clear()
                self.busy = True
                try:
                    self._run_guarded(job)
                finally:
                    self.busy = False
        finally:
            self.pool.kill()
            if not workspace_error:
                self.ws.close()

    def _run_guarded(self, job: Job, quick: bool = False) -> None:
        """Run one job; every failure becomes an event, none ends the thread."""
        try:
            self._handle(job)
        except Cancelled:
            # Screen reports its own cancel as RunFinished; a job cancelled before it had
            # anything to report still needs an answer, or its caller waits forever.
            self.emit(JobFailed(job=type(job).__name__,
                                message=f"{type(job).__name__} cancelled"))
        except DataError as err:
            self.emit(JobFailed(job=type(job).__name__, message=str(err)))
        except Exception as err:  # noqa: BLE001 - errors never kill the worker
            log.error("job %s failed:\n%s", job, traceback.format_exc())
            # A dead child broke the pool: the next job gets a new one (but a quick job must
            # not kill the children of the long job it runs beside).
            if isinstance(err, BrokenExecutor) and not quick:
                self.pool.kill()
            self.emit(JobFailed(job=type(job).__name__, message=describe_error(err),
                                user_error=False))

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
        elif isinstance(job, LabelingJob):
            labeling.handle(self, job)
        else:
            raise TypeError(f"unknown job {job!r}")

    def _wait(self, future: Future, until: float | None = None) -> Any:
        """The future's result, checking for cancel while waiting (then the children die);
        TimeoutError once ``time.monotonic()`` passes ``until``, if given."""
        while True:
            timeout = POLL_SECONDS if until is None else max(
                0.0, min(POLL_SECONDS, until - time.monotonic()))
            done, _ = wait([future], timeout=timeout)
            if done:
                return future.result()
            if until is not None and time.monotonic() >= until:
                raise TimeoutError
            if self.checkpoint():
                self.pool.kill()
                raise Cancelled

    def _open(self, job: OpenDataset) -> None:
        """Read or sample the file and profile it in a child, relaying its progress a few
        times a second; cancel kills the child (a thread inside pandas cannot be stopped)."""
        from thrifty_tui.core.events import LoadProgress
        from thrifty_tui.core.tasks import loading

        started = time.monotonic()
        precheck(job.path)  # cheap checks here, for a message without a child round trip
        self.emit(LoadProgress(path=job.path, phase="starting", fraction=None, elapsed_s=0.0))
        progress = self.ws.artifacts / f"load-{time.time_ns()}.progress"
        future = self.pool.submit(loading.open_for_load, job.path,
                                  job.target, str(progress))
        last = 0.0
        try:
            while True:
                done, _ = wait([future], timeout=POLL_SECONDS)
                if done:
                    break
                if self.checkpoint():
                    self.pool.kill()
                    self.emit(JobFailed(job="OpenDataset", cancelled=True,
                                        message=f"stopped loading {Path(job.path).name}"))
                    return
                if time.monotonic() - last >= 0.25:  # a few updates a second is plenty
                    last = time.monotonic()
                    try:
                        phase, fraction = json.loads(progress.read_text(encoding="utf-8"))
                    except (OSError, ValueError, TypeError):
                        phase, fraction = "starting", None
                    self.emit(LoadProgress(path=job.path, phase=str(phase),
                                           fraction=None if fraction is None else float(fraction),
                                           elapsed_s=round(last - started, 1)))
            event: DatasetOpened = future.result()
        finally:
            progress.unlink(missing_ok=True)
            Path(f"{progress}.tmp").unlink(missing_ok=True)
        self.ws.add_dataset(event.path, event.fingerprint, event.n_rows, len(event.columns))
        self.emit(event)

    def _screen(self, job: Screen) -> None:
        from thrifty_tui.core.tasks import fits as tasks
        from thrifty_tui.core.learn import tuning
        from thrifty_tui.core.learn.zoo import (default_zoo, find_zoo_file, has_free_text, load_zoo,
                                          models_for)
        from thrifty_tui.engine.screen_run import ScreenRun
        from thrifty_tui.engine.budget_guard import BudgetGuard
        from thrifty_tui.engine.ensemble_run import MeanOfLeaders

        started = job.started_at if job.started_at is not None else time.monotonic()
        guard = BudgetGuard(self, job, started)  # done rules, fit count, cost meter, tuning
        job = guard.job  # with the time budget of a thrifty.toml beside the data, if any
        self.pool.set_memory_cap(job.max_memory_mb)
        problems = self.ws.artifacts / "problems"
        problems.mkdir(exist_ok=True)
        problem_file = str(problems / f"problem-{time.time_ns()}.joblib")
        zoo_path = job.zoo_path or find_zoo_file(job.path)
        zoo = job.zoo or (load_zoo(zoo_path) if zoo_path else default_zoo())
        labels = labeling.screen_labels(self, job) if job.label_set is not None else None
        from thrifty_tui.core.tasks import loading  # a sample of a big file is streamed

        summary = self._wait(self.pool.submit(
            loading.prepare_problem, job.path, job.target, job.task,
            job.metric, job.seed, problem_file, labels and labels[:2], job.sample_rows,
            job.roles))
        if labels:
            summary["labels"] = labels[2]  # count, schema, when: to problem.json and the bundle
        notices = list(summary["notices"])
        if zoo_path and not job.zoo:
            notices.append(f"models from {zoo_path}")
        has_text = has_free_text(summary["schema"])
        excluded = tuple(f"{s.name}: {why}" for s in zoo
                         if (why := s.applies_to(summary["task"], summary["n_rows"], has_text))
                         and summary["task"] in s.tasks)
        specs = models_for(summary["task"], zoo, summary["n_rows"], summary["schema"])
        names = tuple(s.name for s in specs)
        rungs = tuple(summary["rungs"]) if job.racing else (summary["n_rows"],)
        run_id = self.ws.start_run(job.path, job.target, summary["task"], summary["metric"],
                                   summary["n_rows"], summary["n_folds"], names, job.seed,
                                   tuple(notices), rungs, excluded, job.max_fit_seconds)
        self.current_run_id = run_id
        if summary["sample"]["method"] != "all rows":
            self._record_sample(job.path, summary["sample"], run_id)
        run_dir = self.ws.run_dir(run_id)
        public = {k: v for k, v in summary.items() if k != "schema"}
        (run_dir / "problem.json").write_text(json.dumps(
            {**public, "target": job.target, "seed": job.seed, "path": job.path,
             "excluded": excluded, "max_fit_seconds": job.max_fit_seconds,
             "budget_s": job.budget_s}, default=str))
        self.emit(RunStarted(run_id=run_id, path=job.path, target=job.target, task=summary["task"],
                             metric=summary["metric"], n_rows=summary["n_rows"],
                             n_folds=summary["n_folds"], models=names, notices=tuple(notices),
                             rungs=rungs, excluded=excluded,
                             max_fit_seconds=job.max_fit_seconds))
        guard.begin(run_id, summary)
        best = None
        model_path = ""
        try:
            run = ScreenRun(self, job, run_id, run_dir, problem_file, summary, specs, started)
            run.guard = guard
            guard.ensemble = ensemble = MeanOfLeaders(self, guard, run, problem_file)
            status, stop_reason, results = run.execute()
            status, stop_reason, results, tuned = guard.after_screening(
                run, status, stop_reason, problem_file, specs, tuning.problem_key(
                    summary, job.target, job.seed, job.racing, job.label_set))
            if status == "done":
                results = ensemble.consider(results)
            best = best_result(results)
            if status == "done":
                from thrifty_tui.engine.projection_report import projection_event

                projected = projection_event(run, best, {**summary, "seed": job.seed})
                if projected is not None:
                    self.emit(projected)
            if best is not None and status == "done":
                try:
                    with guard.ticking("refit"):
                        fit_rows = int(summary["n_rows"])
                        fitted = (ensemble.final_fit((*tuned, *specs), results)
                                  if ensemble.chosen(best) else None)
                        if fitted is not None:
                            model_path, best = fitted
                        else:  # the best single model (also when the mean could not be fitted)
                            best = ensemble.fallback(results) or best
                            spec = next(s for s in (*tuned, *specs) if s.name == best.model)
                            model_path, fit_rows = self._final_fit(guard, problem_file, spec,
                                                                   run_dir, fit_rows)
                    # Fewer than all rows when a time budget cut the best model short.
                    self.ws.update_run_extra(run_id, fit_rows=fit_rows)
                except Cancelled:
                    status, stop_reason = "cancelled", "cancelled by the user during the final fit"
                except Exception as err:  # noqa: BLE001 - the run still ends with RunFinished
                    if isinstance(err, BrokenExecutor):
                        self.pool.kill()
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
        finished = RunFinished(
            run_id=run_id, status=status, best_model=best.model if best else "",
            best_score=best.mean if best else math.nan, metric=summary["metric"],
            elapsed_s=round(time.monotonic() - started, 3), stop_reason=stop_reason,
            model_path=model_path)
        guard.finish(run_id, status, stop_reason)
        self.ws.finish_run(finished)
        self.emit(finished)

    def _final_fit(self, guard: Any, problem_file: str, spec: Any, run_dir: Path,
                   n_rows: int) -> tuple[str, int]:
        """Fit the best model for export; returns its file and the rows it was fitted on.

        A model cut short by the time budget (``spec.fit_rows``: as many rows as its fit is
        predicted to finish on in time) is also fitted on all rows at once, on the other
        core: predictions from fits on a few thousand rows are rough, so the fit on all rows
        is kept if it finishes by the end of the budget, else it is stopped there and the
        surer fit is kept (gss at 10 s: all 49 k rows in 2.6 s, predicted 4.2 s), or a fit on
        a larger racing size started after it on the freed core, if one ended in time. Not when
        even the surer fit is not predicted to finish in time (``guard.tries_all_rows``):
        the two would share the memory bandwidth and the surer one ran past the budget
        (births at 30 s: 1.06 x B).
        """
        from thrifty_tui.core.tasks import fits as tasks

        target = str(run_dir / "model.joblib")
        if not guard.tries_all_rows(spec):  # (so the budget has a deadline)
            path = self._wait(self.pool.submit(tasks.refit_model, problem_file, spec, target))
            return path, spec.fit_rows or n_rows
        deadline = guard.deadline()
        whole = str(run_dir / "model-all-rows.joblib")
        step_file = str(run_dir / "model-step.joblib")
        full = self.pool.submit(tasks.refit_model, problem_file, replace(spec, fit_rows=None),
                                whole)
        began = time.monotonic()
        sure = self.pool.submit(tasks.refit_model, problem_file, spec, target)

        def drop(*files: str) -> None:
            for file in files:
                Path(file).unlink(missing_ok=True)
                Path(file + ".tmp").unlink(missing_ok=True)

        try:
            self._wait(sure)
        except Exception:
            if not full.done():
                self.pool.kill()  # the fit on all rows must not hold a child after the run
            drop(whole)
            raise
        kept = int(spec.fit_rows)
        # The core the surer fit freed fits the model on the next racing sizes while each is
        # predicted to end in time (births at 10 s: 33 k rows, then 99 k, while all 298 k ran
        # past the deadline); the largest that ends by the deadline is kept.
        step: Future | None = None
        step_rows, step_began = 0, 0.0
        next_rows = guard.next_final_size(kept, time.monotonic() - began)
        full_error: BaseException | None = None
        try:
            while True:
                if step is None and next_rows is not None:
                    step_rows, step_began = next_rows, time.monotonic()
                    step = self.pool.submit(tasks.refit_model, problem_file,
                                            replace(spec, fit_rows=step_rows), step_file)
                    next_rows = None
                waiting = [f for f in (full if full_error is None else None, step) if f]
                if not waiting:
                    break
                timeout = max(0.0, min(POLL_SECONDS, deadline - time.monotonic()))
                done, _ = wait(waiting, timeout=timeout)
                if full in done:
                    try:
                        full.result()
                    except Exception as err:  # noqa: BLE001 - the surer fit stands
                        full_error = err
                        if isinstance(err, BrokenExecutor):
                            self.pool.kill()  # (the fit on all rows ran out of memory, say)
                            step = None
                        drop(whole)
                    else:
                        if step is not None and not step.done():
                            self.pool.kill()  # all rows beat any smaller fit still running
                        drop(step_file)
                        os.replace(whole, target)
                        return target, n_rows
                if step is not None and step in done:
                    try:
                        step.result()
                    except Exception as err:  # noqa: BLE001 - the last fit that ended stands
                        if isinstance(err, BrokenExecutor):
                            self.pool.kill()  # (the fit on all rows died with it)
                            full_error = full_error or err
                        drop(step_file)
                    else:
                        os.replace(step_file, target)
                        kept = step_rows
                        next_rows = guard.next_final_size(kept, time.monotonic() - step_began)
                    step = None
                if time.monotonic() >= deadline and (step is not None or full_error is None):
                    raise TimeoutError
                if self.checkpoint():
                    self.pool.kill()
                    raise Cancelled
        except Cancelled:
            drop(whole, step_file)
            raise
        except TimeoutError:
            self.pool.kill()  # past the budget: the fits still running are given up
            drop(whole, step_file)
        if full_error is None:
            why = "did not finish within the budget"
        else:
            why = f"failed ({describe_error(full_error)})"
        self.emit(Notice(message=(f"{spec.name}: the fit on all {n_rows:,} rows {why}; the "
                                  f"model is fitted on {kept:,} rows")))
        return target, kept

    def _record_sample(self, path: str, sample: dict[str, Any], run_id: int | None) -> None:
        """Put a sample taken of ``path`` in the workspace: the source's fingerprint (size,
        mtime, hash of the content or of sampled blocks), method, size and seed."""
        from thrifty_tui.core.tasks import loading

        fingerprint = self._wait(self.pool.submit(loading.fingerprint, path))
        self.ws.add_sample(fingerprint, sample["method"], int(sample["rows"]),
                           int(sample["seed"]), run_id=run_id)

    def _manifest(self, run_id: int) -> tuple[str, dict[str, Any]]:
        """The refit model's file and the manifest of run ``run_id`` (everything but hashes,
        versions and contents, which the bundle writer adds)."""
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
        row = self.ws.db.execute("SELECT started_at, finished_at FROM runs WHERE id=?",
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
        extra = self.ws.run_extra(run_id)
        manifest = {
            "model": best.model, "params": dict(best.params), "task": run.task,
            "target": run.target, "metric": run.metric, "classes": list(problem["classes"]),
            "cv_scores": list(best.fold_scores), "cv_mean": best.mean, "cv_std": best.std,
            "n_folds": run.n_folds, "n_rows": run.n_rows, "seed": problem["seed"],
            "fit_rows": extra.get("fit_rows") or run.n_rows,  # rows the exported model saw
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

    def _export(self, job: Export) -> None:
        from thrifty_tui.core.tasks import fits as tasks
        from thrifty_tui.core.events import ExportProgress

        run_id = job.run_id or self.ws.latest_finished_run_id()
        if run_id is None:
            raise DataError("nothing to export yet: screen some models first")
        model_path, manifest = self._manifest(run_id)
        run_dir = self.ws.run_dir(run_id)
        progress = self.ws.artifacts / f"export-{time.time_ns()}.progress"
        self.emit(ExportStarted(path=job.path))
        future = self.pool.submit(tasks.export_bundle, model_path, manifest, job.path,
                                  str(run_dir / "diagnostics"), str(progress))
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
                        self.emit(ExportProgress(path=job.path, stage=str(stage),
                                                 step=int(step), total=int(total)))
                    except (ValueError, TypeError):
                        pass
                if done:
                    break
                if self._cancel.is_set():
                    self.pool.kill()  # the bundle's temporary file is left; never the bundle
                    raise Cancelled
            path, n_files, n_bytes = future.result()
        finally:
            progress.unlink(missing_ok=True)
            Path(f"{progress}.tmp").unlink(missing_ok=True)
        self.emit(ExportFinished(path=path, n_files=n_files, n_bytes=n_bytes))

    def _predict(self, job: Predict) -> None:
        from thrifty_tui.core.tasks import fits as tasks

        run_id = job.run_id or self.ws.latest_finished_run_id()
        if run_id is None:
            raise DataError("no fitted model yet: screen some models first")
        model_path, manifest = self._manifest(run_id)
        n_rows = self._wait(self.pool.submit(tasks.predict_with_model, model_path, manifest,
                                             job.path, job.out_path))
        self.emit(Predicted(path=job.path, out_path=job.out_path, n_rows=n_rows))

    def _restore(self) -> None:
        from thrifty_tui.engine.restore import restore_workspace

        restore_workspace(self.ws, self.emit)
