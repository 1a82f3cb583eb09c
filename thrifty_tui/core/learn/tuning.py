"""Budgeted search over the best few: who gets tuned, which configurations, in what order.

Pure functions on the standard library (the worker thread in the app's process plans the
search; the fits run in child processes): leaders from screening, configurations sampled from
each zoo entry's ``[model.space]``, cheap ones first, successive-halving brackets, and the key
under which a finished trial is stored so that a restarted run does not fit it again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from thrifty_tui.core.records import ModelResult, ProblemSummary
from thrifty_tui.core.policy.mean import tied_with_best
from thrifty_tui.core.policy.tune import ETA, UNBOUNDED_BRACKETS, promote  # noqa: F401 - its words
from thrifty_tui.core.learn.zoo import ModelSpec

MAX_LEADERS = 3
MAX_TUNING_RUNGS = 3
# Parameters whose larger values cost more time (and the ones whose larger values cost less).
DEARER_WHEN_LARGER = ("max_iter", "n_estimators", "max_leaf_nodes", "max_depth", "num_leaves",
                      "n_neighbors", "C", "max_features", "max_bins", "degree")
CHEAPER_WHEN_LARGER = ("min_samples_leaf", "min_samples_split", "tol", "alpha", "learning_rate")


def tunable(spec: ModelSpec) -> bool:
    """A zoo entry with a search space and parameters we can change (built by the zoo)."""
    keywords = getattr(spec.build, "keywords", None)
    return bool(spec.space) and not spec.baseline and isinstance(keywords, dict) and (
        "params" in keywords)


def base_params(spec: ModelSpec) -> dict[str, Any]:
    """The zoo entry's own parameters (what screening fitted)."""
    return dict(getattr(spec.build, "keywords", {}).get("params", ()))


def with_params(spec: ModelSpec, params: Mapping[str, Any], name: str) -> ModelSpec:
    """``spec`` with ``params`` over its own, under another name (picklable, like the zoo's)."""
    build = spec.build
    assert isinstance(build, functools.partial), spec.name
    merged = {**base_params(spec), **params}
    new_build = functools.partial(build.func, *build.args,
                                  **{**build.keywords, "params": tuple(sorted(merged.items()))})
    return replace(spec, name=name, build=new_build)


def leaders(results: Sequence[ModelResult], test_fraction: float, specs: Sequence[ModelSpec],
            max_leaders: int = MAX_LEADERS) -> tuple[ModelSpec, ...]:
    """The best tunable model and those that cannot be told apart from it (best first)."""
    by_name = {s.name: s for s in specs}
    out = [by_name[r.model] for r in tied_with_best(results, test_fraction)
           if r.model in by_name and tunable(by_name[r.model])]
    return tuple(out[:max_leaders])


def sample_value(kind: str, values: Sequence[Any], rng: random.Random) -> Any:
    """One draw from a zoo space entry: log, int, uniform or choice."""
    if kind == "choice":
        return rng.choice(list(values))
    lo, hi = values[0], values[-1]
    if kind == "log":
        return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    if kind == "int":
        if lo > 0 and hi / lo >= 10:  # wide integer ranges are searched on a log scale
            drawn = round(math.exp(rng.uniform(math.log(lo), math.log(hi + 0.5))))
            return min(int(hi), max(int(lo), drawn))
        return rng.randint(int(lo), int(hi))
    if kind == "uniform":
        return float(rng.uniform(lo, hi))
    raise ValueError(f"unknown space kind {kind!r}")


def _round(value: Any) -> Any:
    return float(f"{value:.4g}") if isinstance(value, float) else value


def sample_configs(spec: ModelSpec, n: int, seed: int, skip: int = 0) -> list[dict[str, Any]]:
    """``n`` configurations from ``spec``'s space, after the first ``skip`` draws (seeded).

    The same (spec, seed) always gives the same sequence, so a restarted run asks for the very
    configurations it had finished before.
    """
    digest = hashlib.sha256(f"{spec.name}|{seed}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    out: list[dict[str, Any]] = []
    for i in range(skip + n):
        config = {name: _round(sample_value(kind, values, rng)) for name, (kind, values)
                  in spec.space}
        if i >= skip:
            out.append(config)
    return out


def cost_proxy(params: Mapping[str, Any], spec: ModelSpec) -> float:
    """A unitless guess of a configuration's cost from where it sits in each range (0..n)."""
    total = 0.0
    for name, (kind, values) in spec.space:
        if name not in params or kind == "choice":
            continue
        lo, hi, value = float(values[0]), float(values[-1]), float(params[name])
        if hi <= lo:
            continue
        if lo > 0 and kind in ("log", "int") and hi / lo >= 10:
            where = (math.log(value) - math.log(lo)) / (math.log(hi) - math.log(lo))
        else:
            where = (value - lo) / (hi - lo)
        if name in DEARER_WHEN_LARGER:
            total += where
        elif name in CHEAPER_WHEN_LARGER:
            total += 1.0 - where
    return total


def cheap_first(configs: Sequence[dict[str, Any]], spec: ModelSpec) -> list[dict[str, Any]]:
    """The configurations ordered by ``cost_proxy``, cheapest first (stable)."""
    return sorted(configs, key=lambda c: cost_proxy(c, spec))


def tuning_rungs(n_rungs: int) -> tuple[int, ...]:
    """Indices of the screening rungs that tuning halves over: the last (up to) three."""
    return tuple(range(max(0, n_rungs - MAX_TUNING_RUNGS), n_rungs))


def bracket_size(n_tuning_rungs: int) -> int:
    """Configurations entering a bracket: ETA^(rungs-1), at least 4 (9 with three rungs)."""
    return max(4, ETA ** max(0, n_tuning_rungs - 1))


@dataclass(frozen=True)
class TrialRecord:
    """One finished trial as stored: a configuration cross-validated at one rung."""

    key: str
    run_id: int
    model: str
    trial: int
    params: tuple[tuple[str, Any], ...]
    rung: int
    rows: int
    fold_scores: tuple[float, ...]
    status: str  # done | failed
    fit_seconds: float
    cpu_seconds: float
    peak_mb: float
    error: str = ""

    @property
    def mean(self) -> float:
        return sum(self.fold_scores) / len(self.fold_scores) if self.fold_scores else math.nan


def problem_key(summary: ProblemSummary, target: str, seed: int, racing: bool,
                label_set: int | None) -> str:
    """What makes two runs' trials interchangeable: same data, target, folds and metric."""
    fields = {"fingerprint": summary.fingerprint, "target": target,
              "task": summary.task, "metric": summary.metric, "seed": seed,
              "rows": summary.n_rows, "folds": summary.n_folds,
              "rungs": list(summary.rungs) if racing else [summary.n_rows],
              "sample": summary.sample, "label_set": label_set}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def trial_key(problem: str, model: str, params: Mapping[str, Any], rung: int) -> str:
    """The storage key of one trial: the problem, the model, its parameters and the rung."""
    text = json.dumps([problem, model, sorted(params.items()), rung], default=str)
    return hashlib.sha256(text.encode()).hexdigest()
