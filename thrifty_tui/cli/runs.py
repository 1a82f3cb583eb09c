"""`thrifty-tui runs [--json]`: every run of the workspace, newest first (the app's Runs view)."""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict
from pathlib import Path


def list_runs(workspace: str | None, as_json: bool) -> int:
    """Print the runs (a table, or one JSON object a line); 0, or DataError without any."""
    from thrifty_tui.core.errors import DataError
    from thrifty_tui.core.store.runs import run_summaries
    from thrifty_tui.core.store.workspace import Workspace, resolve_workspace

    root = resolve_workspace(workspace)
    if not (root / "thrifty.sqlite").is_file():
        raise DataError(f"no workspace at {root} (--workspace DIR or $THRIFTY_WORKSPACE)")
    ws = Workspace(root)
    try:
        runs = run_summaries(ws)
    finally:
        ws.close()
    for run in runs:
        if as_json:
            row = asdict(run)
            row["exportable"] = run.exportable
            row = {k: (None if isinstance(v, float) and math.isnan(v) else v)
                   for k, v in row.items()}
            print(json.dumps(row), flush=True)
        else:
            score = "-" if math.isnan(run.cv_mean) else f"{abs(run.cv_mean):.4f}"
            std = "" if math.isnan(run.cv_std) else f" ± {run.cv_std:.4f}"
            budget = f"{run.budget_s:g} s" if run.budget_s else "no budget"
            print(f"run {run.run_id}: {Path(run.path).name} → {run.target} ({run.task}, "
                  f"{run.metric}), {run.n_rows:,} rows, {budget}; {run.status}: best "
                  f"{run.best_model or '-'} {score}{std}; {run.elapsed_s:.1f} s, "
                  f"{run.cpu_s:.0f} CPU-s; stopped: {run.stop_reason or '-'}"
                  + ("" if run.exportable else "; nothing to export"), flush=True)
    if not runs and not as_json:
        print("no runs yet", file=sys.stderr)
    return 0
