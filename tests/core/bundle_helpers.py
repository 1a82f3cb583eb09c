"""Shared by the bundle tests: real fitted pipelines on the samples, and bundle surgery.

Pipelines are built from thrifty-tui's own feature sets and plain scikit-learn estimators
(not looked up in the zoo by name), so the tests follow the features, not the zoo's names.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from thrifty_tui.config import SAMPLE_DIR
from thrifty_tui.core.data.tables import load_table
from thrifty_tui.core.learn.features import linear_features, tree_features
from thrifty_tui.core.learn.screening import Problem, make_problem

MANIFEST = "manifest.json"


@dataclass
class Fitted:
    """A model fitted on all rows of a sample, as the app's refit leaves it."""

    frame: pd.DataFrame
    problem: Problem
    model: Pipeline
    manifest: dict[str, Any]


def columns_of(problem: Problem) -> list[dict[str, str]]:
    return [{"name": c.name, "dtype": c.dtype, "role": c.role.value} for c in problem.schema]


def manifest_for(problem: Problem, model_name: str, source: str,
                 scores: tuple[float, ...] = (0.8, 0.82, 0.81)) -> dict[str, Any]:
    """The manifest fields the worker provides, for a model fitted outside the worker."""
    mean = sum(scores) / len(scores)
    return {
        "model": model_name, "params": {}, "task": problem.task, "target": problem.target,
        "metric": problem.metric, "classes": list(problem.classes), "cv_scores": list(scores),
        "cv_mean": mean, "cv_std": 0.01, "n_folds": len(scores), "n_rows": len(problem.y),
        "seed": problem.seed, "columns": columns_of(problem), "run_id": 1,
        "data": {"path": source, "fingerprint": "sha256:test", "n_rows": len(problem.y),
                 "sample": None},
        "labels": None,
        "cv": {"splitter": "KFold", "folds": [{"fold": i + 1, "score": s}
                                             for i, s in enumerate(scores)]},
        "leaderboard": [{"model": model_name, "status": "done", "mean": mean, "std": 0.01,
                         "fit_seconds": 0.5}],
        "budget": {"budget_s": None, "spent_s": 1.0, "stop_reason": "all models screened"},
        "timings": {"run_elapsed_s": 1.0},
    }


def fit_sample(file: str, target: str, estimator: Any, features: str = "linear",
               rows: int | None = None) -> Fitted:
    """``estimator`` behind thrifty-tui's ``features`` set, fitted on a sample's rows."""
    frame = load_table(SAMPLE_DIR / file).frame
    if rows:
        frame = frame.head(rows).reset_index(drop=True)
    problem = make_problem(frame, target, seed=0)
    build = linear_features if features == "linear" else tree_features
    model = Pipeline([("features", build(problem.schema)), ("model", estimator)])
    with threadpool_limits(1):  # as in the app's children; OpenMP crawls on a busy box
        model.fit(problem.X, problem.y)
    name = type(estimator).__name__
    return Fitted(frame, problem, model, manifest_for(problem, name, str(SAMPLE_DIR / file)))


def members_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def rewrite(src: Path, dst: Path, change: Callable[[dict[str, bytes]], dict[str, bytes]],
            rehash: bool = False) -> Path:
    """Copy a bundle member by member through ``change``.

    With ``rehash`` the manifest's hashes are made to match the changed members, as a careful
    attacker would: then only the checks beyond hashes can catch the change.
    """
    members = change(members_of(src))
    if rehash:
        manifest = json.loads(members[MANIFEST])
        manifest["files"] = {n: hashlib.sha256(d).hexdigest() for n, d in members.items()
                             if n != MANIFEST}
        members[MANIFEST] = json.dumps(manifest).encode()
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in members.items():
            zout.writestr(name, data)
    return dst


def edit_manifest(src: Path, dst: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """Copy a bundle with its manifest changed by ``edit`` (hashes of the others still match)."""
    def change(members: dict[str, bytes]) -> dict[str, bytes]:
        manifest = json.loads(members[MANIFEST])
        edit(manifest)
        return {**members, MANIFEST: json.dumps(manifest).encode()}

    return rewrite(src, dst, change)
