"""The mean of the leaders in a child process: its scores and diagnostics from the members'
out-of-fold files, and the exported model assembled from the members' refit files."""

from __future__ import annotations

import os
from collections.abc import Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from thrifty_tui.core.learn.importances import importances_file
from thrifty_tui.core.tasks.fits import _problem, diagnose_task

if TYPE_CHECKING:  # (numpy, joblib and scikit-learn are imported in the child, when called)
    from thrifty_tui.core.learn.diagnostics import Diagnostics


def score_mean(problem_file: str, member_files: Sequence[Sequence[str]], out_files: Sequence[str],
               name: str, out_json: str) -> tuple[tuple[float, ...], Diagnostics] | None:
    """Per-fold scores of the mean of the members (``member_files[m][k]``: member m's OOF file
    of fold k), its averaged OOF files written to ``out_files``, and its diagnostics (saved to
    ``out_json``); None when the mean cannot be formed (see ``_mean_fold``)."""
    import numpy as np

    from thrifty_tui.core.learn.ensemble import _mean_fold, fold_score

    problem = _problem(problem_file)
    means = [_mean_fold([files[k] for files in member_files], problem)
             for k in range(len(out_files))]
    folds = [f for f in means if f is not None]
    if len(folds) < len(means):
        return None
    scores = tuple(fold_score(problem, f) for f in folds)
    for path, fold in zip(out_files, folds, strict=True):
        tmp = path + ".tmp.npz"
        np.savez(tmp, **fold)
        os.replace(tmp, path)
    # Saved like a fold's importances, so the diagnostics do not refit a model for them.
    np.savez(importances_file(out_files[0]), names=np.array([], dtype=str),
             values=np.array([], dtype=float),
             note=np.array(f"not computed: the mean of {len(member_files)} models has no "
                           "single model to shuffle columns for"))
    # Diagnostics read only a spec's name and baseline flag once importances are saved.
    spec: Any = SimpleNamespace(name=name, baseline=False)
    diag = diagnose_task(problem_file, spec, list(out_files), (), out_json)
    return scores, diag


def assemble(member_files: Sequence[str], names: Sequence[str], task: str,
             model_file: str) -> str:
    """Load the members' refit models, save their mean (``mean_of_fitted``) to
    ``model_file``; returns the file written."""
    import joblib

    from thrifty_tui.core.learn.ensemble import mean_of_fitted

    model = mean_of_fitted([joblib.load(f) for f in member_files], names, task)
    tmp = model_file + ".tmp"
    joblib.dump(model, tmp, compress=3)
    os.replace(tmp, model_file)
    return model_file
