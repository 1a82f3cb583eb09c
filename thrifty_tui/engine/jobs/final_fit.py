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
    time); ``_Ladder`` adds the fits' states and carries out what the policy answers.
    """
    from thrifty_tui.core.tasks import fits as tasks

    ladder = _Ladder(ctx, guard, problem_file, spec, run_dir)
    for d in next_final_fit_decisions(guard.final_fit_snapshot(spec)):
        assert isinstance(d, FinalFit)
        ladder.futures[d.role] = ctx.executor.submit(
            tasks.refit_model, problem_file, replace(spec, fit_rows=d.rows), ladder.files[d.role])
        if d.role == "all":
            began = time.monotonic()  # the sure fit's wall: from here (it is submitted next)
    full = ladder.futures.get("all")
    if full is None:
        path = ctx.wait(ladder.futures["sure"])
        return path, spec.fit_rows or n_rows
    try:
        ctx.wait(ladder.futures["sure"])
    except Exception:
        if not full.done():
            ctx.executor.kill()  # the fit on all rows must not hold a child after the run
        _drop(ladder.files["all"])
        raise
    ladder.state.update(kept_rows=int(spec.fit_rows), kept_s=time.monotonic() - began)
    try:
        while not ladder.turn():
            waiting = [f for f, role in ((full, "all_rows"), (ladder.step, "step"))
                       if f is not None and ladder.state[role] == "running"]
            timeout = max(0.0, min(POLL_SECONDS, guard.deadline() - time.monotonic()))
            ladder.settle(wait(waiting, timeout=timeout)[0])
    except Cancelled:
        _drop(ladder.files["all"], ladder.files["step"])
        raise
    except TimeoutError:
        ctx.executor.kill()  # past the budget: the fits still running are given up
        _drop(ladder.files["all"], ladder.files["step"])
    if ladder.state["all_rows"] == "done":
        return ladder.files["sure"], n_rows
    error = ladder.full_error
    why = ("did not finish within the budget" if error is None
           else f"failed ({describe_error(error)})")
    kept = ladder.state["kept_rows"]
    ctx.emit(Notice(message=(f"{spec.name}: the fit on all {n_rows:,} rows {why}; the "
                              f"model is fitted on {kept:,} rows")))
    return ladder.files["sure"], kept


def _drop(*files: str) -> None:
    for file in files:
        Path(file).unlink(missing_ok=True)
        Path(file + ".tmp").unlink(missing_ok=True)


class _Ladder:
    """The fits of a model cut short once its sure fit ended: their states for the policy, and
    the policy's decisions carried out (fits started, files kept, fits given up)."""

    def __init__(self, ctx: JobContext, guard: Any, problem_file: str, spec: Any,
                 run_dir: Path) -> None:
        self.ctx, self.guard, self.problem_file, self.spec = ctx, guard, problem_file, spec
        self.files = {"sure": str(run_dir / "model.joblib"),
                      "all": str(run_dir / "model-all-rows.joblib"),
                      "step": str(run_dir / "model-step.joblib")}
        self.futures: dict[str, Future] = {}
        self.step: Future | None = None
        self.step_began = 0.0
        self.full_error: BaseException | None = None
        self.state: dict[str, Any] = {"started": True, "all_rows": "running", "step": ""}

    def turn(self) -> bool:
        """Ask the policy and carry out its decisions; True when the ladder is over (a fit on
        all rows kept, or nothing left); raises TimeoutError when it gives up, Cancelled."""
        from thrifty_tui.core.tasks import fits as tasks

        decisions = next_final_fit_decisions(replace(self.guard.final_fit_snapshot(self.spec),
                                                     **self.state))
        for d in decisions:
            if isinstance(d, Keep) and d.role == "all":
                if self.step is not None and not self.step.done():
                    self.ctx.executor.kill()  # all rows beat any smaller fit still running
                _drop(self.files["step"])
                os.replace(self.files["all"], self.files["sure"])
                self.state["all_rows"] = "done"
                return True
            if isinstance(d, Keep):
                os.replace(self.files["step"], self.files["sure"])
                self.state.update(kept_rows=d.rows, kept_s=self.state["step_s"], step="")
            elif isinstance(d, GiveUp):
                raise TimeoutError
            elif isinstance(d, FinalFit):
                self.step_began = time.monotonic()
                self.step = self.ctx.executor.submit(
                    tasks.refit_model, self.problem_file, replace(self.spec, fit_rows=d.rows),
                    self.files["step"])
                self.state.update(step="running", step_rows=d.rows)
        if any(isinstance(d, Done) for d in decisions):
            return True
        if self.ctx.checkpoint():
            self.ctx.executor.kill()
            raise Cancelled
        return False

    def settle(self, done: set[Future]) -> None:
        """The fits that ended: their states (a failed fit's file is dropped)."""
        full, state = self.futures["all"], self.state
        if full in done and state["all_rows"] == "running":
            try:
                full.result()
            except Exception as err:  # noqa: BLE001 - the surer fit stands
                self.full_error, state["all_rows"] = err, "failed"
                if isinstance(err, BrokenExecutor):
                    self.ctx.executor.kill()  # (the fit on all rows ran out of memory, say)
                    if state["step"] == "running":
                        state["step"] = "failed"
                _drop(self.files["all"])
            else:
                state["all_rows"] = "done"
        if self.step is not None and self.step in done and state["step"] == "running":
            try:
                self.step.result()
            except Exception as err:  # noqa: BLE001 - the last fit that ended stands
                if isinstance(err, BrokenExecutor):
                    self.ctx.executor.kill()  # (the fit on all rows died with it)
                    self.full_error = self.full_error or err
                    if state["all_rows"] == "running":
                        state["all_rows"] = "failed"
                _drop(self.files["step"])
                state["step"] = "failed"
            else:
                state.update(step="done", step_s=time.monotonic() - self.step_began)
