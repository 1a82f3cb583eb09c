"""Every run of a workspace, summarised (the Runs view, `thrifty-tui runs`), and what a
reopened app needs to show the last run as it was: its ≈ marks and its budget."""

from __future__ import annotations

import json
import math
from typing import Any

from thrifty_tui.core.policy.stats import indistinguishable
from thrifty_tui.core.records import ModelResult, RunSummary
from thrifty_tui.core.store.workspace import Workspace

RULE_FIELDS = (("wall_s", "seconds"), ("max_fits", "max_fits"),
               ("target_score", "target_score"), ("min_improvement", "min_improvement"),
               ("patience", "patience"), ("noise_floor", "noise_floor"),
               ("price_per_cpu_hour", "price_per_cpu_hour"))


def rules_line(budget: dict[str, Any]) -> str:
    """A stored budget as the dashboard's rules line: ``seconds=60 target_score=0.7``."""
    parts = []
    for field, key in RULE_FIELDS:
        value = budget.get(field)
        if value is None or value is False:
            continue
        parts.append(f"{key}={'true' if value is True else format(value, 'g')}")
    return " ".join(parts)


def _fingerprint(ws: Workspace, run_id: int) -> str:
    problem = ws.run_dir(run_id) / "problem.json"
    try:
        return str(json.loads(problem.read_text()).get("fingerprint") or "")
    except (OSError, ValueError, AttributeError):
        return ""


def run_summaries(ws: Workspace) -> list[RunSummary]:
    """Every run of the workspace, newest first."""
    rows = ws.db.execute(
        "SELECT id, path, target, task, metric, n_rows, status, best_model, best_score,"
        " elapsed_s, stop_reason, model_path, extra, started_at FROM runs ORDER BY id DESC"
    ).fetchall()
    out = []
    for (run_id, path, target, task, metric, n_rows, status, best, score, elapsed, reason,
         model_path, extra, started) in rows:
        extra = json.loads(extra or "{}")
        budget = extra.get("budget") or {}
        cost = extra.get("cost") or {}
        std = math.nan
        if best:
            result = next((r for r in ws.results(run_id) if r.model == best), None)
            std = result.std if result is not None else math.nan
        out.append(RunSummary(
            run_id=run_id, path=path, fingerprint=_fingerprint(ws, run_id), target=target,
            task=task, metric=metric, n_rows=n_rows, budget_s=budget.get("wall_s"),
            rules=rules_line(budget), status=status or "running", best_model=best or "",
            cv_mean=score if score is not None else math.nan, cv_std=std,
            stop_reason=reason or "", elapsed_s=elapsed or 0.0,
            cpu_s=float(cost.get("cpu_s") or 0.0), money=cost.get("money"),
            model_path=model_path or "", started_at=started or 0.0))
    return out


def restored_ties(results: tuple[ModelResult, ...], n_folds: int) -> tuple[str, tuple[str, ...]]:
    """The leader of a finished run's results and the models that cannot be told apart from
    it, as the run marked them (the same test on the same folds)."""
    done = [r for r in results if r.status == "done" and r.fold_scores]
    if not done:
        return "", ()
    leader = max(done, key=lambda r: r.mean)
    fraction = 1.0 / max(2, n_folds)
    return leader.model, tuple(
        r.model for r in done if r is not leader and len(r.fold_scores) == len(
            leader.fold_scores) and indistinguishable(leader.fold_scores, r.fold_scores,
                                                      fraction))
