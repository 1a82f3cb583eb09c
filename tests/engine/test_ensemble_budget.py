"""The mean of the leaders under a time budget: used only when its members' refit fits."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from engine_helpers import CAR_PRICES, Recorder, of_type

from thrifty_tui.core.events import ModelScored, Notice, RunFinished
from thrifty_tui.core.learn.zoo import load_zoo, spec_by_name
from thrifty_tui.engine.budget_guard import BudgetGuard
from thrifty_tui.core.policy.mean import refit_makespan
from thrifty_tui.engine.jobs import Screen
from thrifty_tui.engine.worker import Worker

FULL = load_zoo("full")
ZOO = tuple(spec_by_name(n, FULL) for n in ("baseline (mean)", "extra trees", "RBF SVM",
                                               "random forest"))


def _screen(tmp_path, zoo, budget_s: float, started: float | None = None
            ) -> tuple[list, RunFinished, dict]:
    """A time-budgeted screening of car prices without tuning: (events, the run's end, rows
    by model)."""
    recorder = Recorder()
    worker = Worker(tmp_path / "ws", recorder, max_procs=2).start()
    try:
        worker.submit(Screen(path=CAR_PRICES, target="Price", zoo=zoo, budget_s=budget_s,
                             tune=False, started_at=started))
        events = recorder.wait_for_end(timeout=90)
    finally:
        worker.shutdown(timeout=30)
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.status == "done"
    return events, finished, {e.result.model: e.result for e in of_type(events, ModelScored)}


def test_refit_makespan_puts_the_longest_fits_first_on_the_free_child():
    assert refit_makespan([3.0, 1.0, 1.0, 1.0], 2) == 3.0
    assert refit_makespan([2.0, 2.0, 1.0], 2) == 3.0
    assert refit_makespan([2.0, 2.0, 1.0], 1) == 5.0


def test_a_mean_whose_refit_cannot_fit_the_budget_falls_back_to_the_best_single_model(
        tmp_path, monkeypatch):
    real = BudgetGuard.refit_seconds

    def dear(self, model):  # the members' fits on all rows, as if measured on far more rows
        return 1e6 + real(self, model)

    monkeypatch.setattr(BudgetGuard, "refit_seconds", dear)
    events, finished, rows = _screen(tmp_path, ZOO, 60.0)
    mean = rows["mean of extra trees + RBF SVM + random forest"]
    singles = [rows[m] for m in ("extra trees", "RBF SVM", "random forest")]
    # It scored best, but its row says why it was not used, and the best single model is.
    assert mean.mean > max(r.mean for r in singles)
    assert mean.status == "skipped" and "do not fit in the" in mean.error
    best = max(singles, key=lambda r: r.mean)
    assert finished.best_model == best.model and finished.best_score == best.mean
    stamp = Path(finished.model_path + ".stamp").read_text()
    assert json.loads(stamp)[1] == best.model  # fitted during screening, kept as it was
    assert "was not fitted" in finished.stop_reason
    assert any("the best single model is used" in n.message for n in of_type(events, Notice))
    assert finished.elapsed_s < 60
    # Reopened, the board shows the row as it was reported.
    from thrifty_tui.core.store.workspace import Workspace

    stored = {r.model: r for r in Workspace(tmp_path / "ws").results(finished.run_id)}
    assert stored[mean.model].status == "skipped"
    assert stored[mean.model].fold_scores == pytest.approx(mean.fold_scores)


def test_members_refit_past_the_deadline_is_stopped_and_the_best_single_model_kept(
        tmp_path, monkeypatch):
    """A member that takes a minute on all rows (its folds took milliseconds): the mean is
    predicted in time, its fits are stopped just past the budget's end and the best single
    model, fitted on all rows during the screening, is kept with no new child process."""
    from final_fit_helpers import SLOW_ON_ALL

    # The quick zoo's boosting and tree tie with a ridge (SLOW_ON_ALL on its folds) here.
    quick = load_zoo("quick")
    zoo = (spec_by_name("baseline (mean)", FULL),
           *(spec_by_name(n, quick) for n in ("hist gradient boosting", "decision tree")),
           SLOW_ON_ALL)
    # The budget ends 1 s after the final fit starts, however long the screening took on a
    # busy machine (only the final fit asks for the deadline here: no model is cut short).
    ends: list[float] = []

    def deadline(self):
        ends.append(time.monotonic() + 1.0)
        return ends[-1]

    monkeypatch.setattr(BudgetGuard, "deadline", deadline)
    budget, started = 30.0, time.monotonic()
    _, finished, rows = _screen(tmp_path, zoo, budget, started)
    name = "mean of hist gradient boosting + decision tree + slow on all rows"
    assert name in rows, ([(r.model, r.status, r.error) for r in rows.values()], finished)
    assert rows[name].status == "done" and rows[name].mean > rows["hist gradient boosting"].mean
    assert finished.best_model == "hist gradient boosting"
    assert "ran past the budget" in finished.stop_reason
    assert Path(finished.model_path).name == "model.joblib"
    # Stopped at the end plus 2 % of the budget (0.6 s), then no new children (~2 s) for the
    # fallback: the run ends within the 5 % allowance.
    assert len(ends) == 1 and started + finished.elapsed_s - ends[0] <= 0.05 * budget
