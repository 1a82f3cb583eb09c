"""The final fit of a Screen job's best model: on all rows, or, for a model the time budget
cut short, on as many rows as the time left allows while a fit on all rows (and larger
racing sizes) run beside it on the other core; the largest that ends in time is kept. The
ladder's decisions are ``core/policy/final_fit.next_final_fit_decisions``; this module
carries them out (fits, kills, files)."""

from __future__ import annotations

import os
import time
from concurrent.futures import BrokenExecutor, Future, wait
from dataclasses import replace
from pathlib import Path
from typing import Any

from thrifty_tui.core.errors import describe_error
from thrifty_tui.core.events import Notice
from thrifty_tui.core.policy.final_fit import next_final_fit_decisions
from thrifty_tui.core.policy.snapshot import Done, FinalFit, GiveUp, Keep
from thrifty_tui.engine.context import POLL_SECONDS, Cancelled, JobContext


def final_fit(ctx: JobContext, guard: Any, problem_file: str, spec: Any, run_dir: Path,
              n_rows: int) -> tuple[str, int]:
    """Fit the best model for export; returns its file and the rows it was fitted on.

    ``guard.final_fit_snapshot(spec)`` (``BudgetGuard``'s) is what the policy reads: the
    budget, the clock, the model's measured fits and whether a fit on all rows may run beside
    the sure fit (``spec.fit_rows``: as many rows as its fit is predicted to finish on in
    time); this function adds the fits' states and carries out what the policy answers.
    """
    from thrifty_tui.core.tasks import fits as tasks

    target = str(run_dir / "model.joblib")
    whole = str(run_dir / "model-all-rows.joblib")
    step_file = str(run_dir / "model-step.joblib")
    files = {"sure": target, "all": whole, "step": step_file}
    futures: dict[str, Future] = {}
    for d in next_final_fit_decisions(guard.final_fit_snapshot(spec)):
        assert isinstance(d, FinalFit)
        futures[d.role] = ctx.executor.submit(tasks.refit_model, problem_file,
                                              replace(spec, fit_rows=d.rows), files[d.role])
        if d.role == "all":
            began = time.monotonic()  # the sure fit's wall: from here (it is submitted next)
    full = futures.get("all")
    if full is None:
        path = ctx.wait(futures["sure"])
        return path, spec.fit_rows or n_rows

    def drop(*names: str) -> None:
        for file in names:
            Path(file).unlink(missing_ok=True)
            Path(file + ".tmp").unlink(missing_ok=True)

    try:
        ctx.wait(futures["sure"])
    except Exception:
        if not full.done():
            ctx.executor.kill()  # the fit on all rows must not hold a child after the run
        drop(whole)
        raise
    state: dict[str, Any] = {"started": True, "all_rows": "running", "step": "",
                             "kept_rows": int(spec.fit_rows),
                             "kept_s": time.monotonic() - began}
    step: Future | None = None
    step_began = 0.0
    full_error: BaseException | None = None
    try:
        while True:
            snap = replace(guard.final_fit_snapshot(spec), **state)
            decisions = next_final_fit_decisions(snap)
            for d in decisions:
                if isinstance(d, Keep) and d.role == "all":
                    if step is not None and not step.done():
                        ctx.executor.kill()  # all rows beat any smaller fit still running
                    drop(step_file)
                    os.replace(whole, target)
                    return target, n_rows
                if isinstance(d, Keep):
                    os.replace(step_file, target)
                    state.update(kept_rows=d.rows, kept_s=state["step_s"], step="")
                elif isinstance(d, GiveUp):
                    raise TimeoutError
                elif isinstance(d, FinalFit):
                    step_began = time.monotonic()
                    step = ctx.executor.submit(tasks.refit_model, problem_file,
                                               replace(spec, fit_rows=d.rows), step_file)
                    state.update(step="running", step_rows=d.rows)
            if any(isinstance(d, Done) for d in decisions):
                break
            if ctx.checkpoint():
                ctx.executor.kill()
                raise Cancelled
            waiting = [f for f in (full if state["all_rows"] == "running" else None,
                                   step if state["step"] == "running" else None) if f]
            timeout = max(0.0, min(POLL_SECONDS, guard.deadline() - time.monotonic()))
            done, _ = wait(waiting, timeout=timeout)
            if full in done and state["all_rows"] == "running":
                try:
                    full.result()
                except Exception as err:  # noqa: BLE001 - the surer fit stands
                    full_error = err
                    state["all_rows"] = "failed"
                    if isinstance(err, BrokenExecutor):
                        ctx.executor.kill()  # (the fit on all rows ran out of memory, say)
                        if state["step"] == "running":
                            state["step"] = "failed"
                    drop(whole)
                else:
                    state["all_rows"] = "done"
            if step is not None and step in done and state["step"] == "running":
                try:
                    step.result()
                except Exception as err:  # noqa: BLE001 - the last fit that ended stands
                    if isinstance(err, BrokenExecutor):
                        ctx.executor.kill()  # (the fit on all rows died with it)
                        full_error = full_error or err
                        if state["all_rows"] == "running":
                            state["all_rows"] = "failed"
                    drop(step_file)
                    state["step"] = "failed"
                else:
                    state.update(step="done", step_s=time.monotonic() - step_began)
    except Cancelled:
        drop(whole, step_file)
        raise
    except TimeoutError:
        ctx.executor.kill()  # past the budget: the fits still running are given up
        drop(whole, step_file)
    why = ("did not finish within the budget" if full_error is None
           else f"failed ({describe_error(full_error)})")
    ctx.emit(Notice(message=(f"{spec.name}: the fit on all {n_rows:,} rows {why}; the "
                              f"model is fitted on {state['kept_rows']:,} rows")))
    return target, state["kept_rows"]
