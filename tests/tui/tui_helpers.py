"""Shared by the TUI tests: the terminal size and a wait that lets the worker report."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

SIZE = (80, 24)

# Two cheap models, for tests where screening must run for real but the zoo is not the point:
# the app uses a thrifty-zoo.toml it finds beside the data (the quick zoo's trees and boosting
# cost most of a screening's time, e.g. text features for the trees).
CHEAP_ZOO = """
[[model]]
name = "baseline (dummy)"
tier = 0
estimator = "@dummy"
features = "none"
baseline = true

[[model]]
name = "linear"
tier = 1
estimator = "@linear"
features = "linear"
params = { }
"""


def with_cheap_zoo(data: str | Path, folder: Path) -> str:
    """A copy of ``data`` in ``folder`` with CHEAP_ZOO beside it; the copy's path."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / Path(data).name
    shutil.copyfile(data, copy)
    (folder / "thrifty-zoo.toml").write_text(CHEAP_ZOO)
    return str(copy)


async def wait_for(pilot, condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Let the app run until ``condition()`` holds (the worker reports asynchronously)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.05)


def fixed_workspace(root: Path, model_path: str = "") -> Path:
    """A workspace holding one finished run with known results (no fitting, no timings)."""
    from thrifty_tui.core.events import RunFinished
    from thrifty_tui.core.records import ModelResult
    from thrifty_tui.core.store.workspace import Workspace

    ws = Workspace(root)
    run_id = ws.start_run("sample_data/gss_wages.csv", "gender", "classification",
                          "balanced_accuracy", 3000, 5,
                          ("baseline (dummy)", "linear", "decision tree", "hist gradient boosting"),
                          0)
    rows = [
        ModelResult("baseline (dummy)", "done", (0.5,) * 5, 0.2, baseline=True),
        ModelResult("linear", "done", (0.74, 0.75, 0.73, 0.76, 0.745), 0.4),
        ModelResult("decision tree", "failed", (), 0.1, error="ValueError: example failure"),
        ModelResult("hist gradient boosting", "done", (0.77, 0.78, 0.775, 0.77, 0.78), 1.3),
    ]
    for row in rows:
        ws.add_result(run_id, row)
    ws.finish_run(RunFinished(run_id=run_id, status="done", best_model="hist gradient boosting",
                              best_score=0.775, metric="balanced_accuracy", elapsed_s=3.2,
                              stop_reason="all models screened", model_path=model_path))
    ws.close()
    return root


def fixed_diagnostics(model: str, importances: bool = True):
    """A classification model's diagnostics with known numbers (no fitting)."""
    from thrifty_tui.core.learn.diagnostics import ClassScore, Curve, Diagnostics
    from thrifty_tui.core.learn.explain import Dependence, RowExplanation

    ages = tuple(float(a) for a in range(20, 80, 5))
    counts = tuple((t, int(1500 * (1 - t) ** 0.5), int(1500 * (1 - t) ** 2),
                    1500 - int(1500 * (1 - t) ** 2), 1500 - int(1500 * (1 - t) ** 0.5))
                   for t in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9))

    curve = Curve("male", (0.0, 0.2, 0.5, 1.0), (0.0, 0.6, 0.85, 1.0), 0.81)
    return Diagnostics(
        model=model, task="classification",
        metrics=(("balanced_accuracy", 0.775), ("accuracy", 0.79), ("roc_auc", 0.81)),
        labels=("female", "male"), confusion=((1100, 400), (230, 1270)),
        roc=(curve,), pr=(Curve("male", (0.0, 0.5, 1.0), (1.0, 0.8, 0.5), 0.78),),
        per_class=(ClassScore("female", 0.83, 0.73, 0.78, 1500),
                   ClassScore("male", 0.76, 0.85, 0.80, 1500)),
        importances=(("education", 0.061), ("occupation", 0.044), ("age", 0.012))
        if importances else (),
        importance_kind="permutation importance (3 shuffles per column)" if importances else
        "not computed: 30 columns, about 2.4 s (over 1.0 s)",
        learning_curve=((500, 0.71), (1000, 0.75), (3000, 0.775)),
        positive="male", threshold_counts=counts,
        reliability=((0.1, 0.15, 300), (0.3, 0.33, 300), (0.5, 0.48, 300), (0.7, 0.64, 300),
                     (0.9, 0.8, 300)),
        calibration=(("method", "isotonic"), ("log_loss_before", 0.52),
                     ("log_loss_after", 0.47), ("improved", True), ("rows", 3000)),
        dependence=(Dependence("age", "numeric", ages,
                               tuple(0.3 + 0.005 * (a - 20) for a in ages),
                               tuple(tuple(0.2 + 0.1 * k + 0.004 * (a - 20) for a in ages)
                                     for k in range(4)), "P(male)"),
                    Dependence("occupation", "categorical", ("clerical", "craft", "service"),
                               (0.35, 0.7, 0.45), (), "P(male)")),
        explained=(RowExplanation(0, "male", (("occupation", 1.2), ("education", -0.4),
                                              ("age", 0.1)), -0.2, "exact (linear coefficients)"),
                   RowExplanation(1, "female", (("education", -0.9), ("age", -0.3),
                                                ("occupation", 0.05)), -0.2,
                                  "exact (linear coefficients)")))
