"""The Restore job: the workspace's last run, read back for the screens on reopen."""

from __future__ import annotations

import json

from thrifty_tui.core.events import BoardRestored, ModelDiagnosed, Notice
from thrifty_tui.core.store.bundle_report import diagnostics_path
from thrifty_tui.engine.context import JobContext
from thrifty_tui.engine.jobs.requests import Restore


def run_restore(ctx: JobContext, job: Restore) -> None:
    """The last run's leaderboard and diagnostics, read back from the workspace."""
    from thrifty_tui.core.learn.diagnostics import diagnostics_from_dict

    run_id = ctx.ws.last_run_id()
    if run_id is None:
        ctx.emit(Notice(message="new workspace: no runs yet"))
        return
    results = ctx.ws.results(run_id)
    ctx.emit(BoardRestored(run=ctx.ws.run_started(run_id), results=results,
                            finished=ctx.ws.run_finished(run_id)))
    run_dir = ctx.ws.run_dir(run_id)
    for result in results:
        path = diagnostics_path(run_dir, result.model)
        if path.is_file():
            try:
                diag = diagnostics_from_dict(json.loads(path.read_text()))
            except (ValueError, TypeError, KeyError):
                continue  # an unreadable file costs the plot, not the board
            ctx.emit(ModelDiagnosed(run_id=run_id, model=result.model, diagnostics=diag))
