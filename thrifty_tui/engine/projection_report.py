"""After screening: 'would more help?' for the leader, from its racing rungs (worker thread).

Only the standard library runs here (core/learn/projection.py is stdlib-only): this is the app's
process, which never imports pandas or scikit-learn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from thrifty_tui.core.events import ProjectionReady
from thrifty_tui.core.learn.projection import project
from thrifty_tui.core.records import ModelResult, ProblemSummary, best_result

if TYPE_CHECKING:
    from thrifty_tui.engine.screen_run import ScreenRun


def projection_event(run: ScreenRun, best: ModelResult | None, summary: ProblemSummary,
                     seed: int) -> ProjectionReady | None:
    """The projection of the leader's score and fit time at the full data size and at 2x.

    The leader is ``best`` if screening measured its curve, else the best screened model (a
    tuned configuration has no racing curve of its own)."""
    by_name = {c.spec.name: c for c in run.candidates}
    if best is None or best.model not in by_name:
        best = best_result([r for r in run.results if not r.baseline])
    if best is None or best.model not in by_name:
        return None
    cand = by_name[best.model]
    sample = summary.sample or {}
    full = int(sample.get("source_rows") or summary.n_rows)
    projection = project(best.model, best.learning_curve, best.std, len(best.fold_scores),
                         at=sorted({full, 2 * full}), fit_points=cand.per_fold_points(),
                         seed=seed)
    return ProjectionReady(run_id=run.run_id, metric=str(summary.metric),
                           screened_rows=int(summary.n_rows), source_rows=full,
                           projection=projection)
