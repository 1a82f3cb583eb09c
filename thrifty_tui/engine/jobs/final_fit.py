"""The final fit of a Screen job's best model: on all rows, or, for a model the time budget
cut short, on as many rows as the time left allows while a fit on all rows (and larger
racing sizes) run beside it on the other core; the largest that ends in time is kept."""

from __future__ import annotations

import os
import time
from concurrent.futures import BrokenExecutor, Future, wait
from dataclasses import replace
from pathlib import Path
from typing import Any

from thrifty_tui.core.errors import describe_error
from thrifty_tui.core.events import Notice
from thrifty_tui.engine.context import POLL_SECONDS, Cancelled, JobContext


def final_fit(ctx: JobContext, guard: Any, problem_file: str, spec: Any, run_dir: Path,
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
        path = ctx.wait(ctx.executor.submit(tasks.refit_model, problem_file, spec, target))
        return path, spec.fit_rows or n_rows
    deadline = guard.deadline()
    whole = str(run_dir / "model-all-rows.joblib")
    step_file = str(run_dir / "model-step.joblib")
    full = ctx.executor.submit(tasks.refit_model, problem_file, replace(spec, fit_rows=None),
                            whole)
    began = time.monotonic()
    sure = ctx.executor.submit(tasks.refit_model, problem_file, spec, target)

    def drop(*files: str) -> None:
        for file in files:
            Path(file).unlink(missing_ok=True)
            Path(file + ".tmp").unlink(missing_ok=True)

    try:
        ctx.wait(sure)
    except Exception:
        if not full.done():
            ctx.executor.kill()  # the fit on all rows must not hold a child after the run
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
                step = ctx.executor.submit(tasks.refit_model, problem_file,
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
                        ctx.executor.kill()  # (the fit on all rows ran out of memory, say)
                        step = None
                    drop(whole)
                else:
                    if step is not None and not step.done():
                        ctx.executor.kill()  # all rows beat any smaller fit still running
                    drop(step_file)
                    os.replace(whole, target)
                    return target, n_rows
            if step is not None and step in done:
                try:
                    step.result()
                except Exception as err:  # noqa: BLE001 - the last fit that ended stands
                    if isinstance(err, BrokenExecutor):
                        ctx.executor.kill()  # (the fit on all rows died with it)
                        full_error = full_error or err
                    drop(step_file)
                else:
                    os.replace(step_file, target)
                    kept = step_rows
                    next_rows = guard.next_final_size(kept, time.monotonic() - step_began)
                step = None
            if time.monotonic() >= deadline and (step is not None or full_error is None):
                raise TimeoutError
            if ctx.checkpoint():
                ctx.executor.kill()
                raise Cancelled
    except Cancelled:
        drop(whole, step_file)
        raise
    except TimeoutError:
        ctx.executor.kill()  # past the budget: the fits still running are given up
        drop(whole, step_file)
    if full_error is None:
        why = "did not finish within the budget"
    else:
        why = f"failed ({describe_error(full_error)})"
    ctx.emit(Notice(message=(f"{spec.name}: the fit on all {n_rows:,} rows {why}; the "
                              f"model is fitted on {kept:,} rows")))
    return target, kept

