"""Record every zoo model's fold fits on the 24 suite sets (issue 20), for replaying the policy.

Run: nice -n 19 python benchmarks/record_suite.py [--only NAME ...] [--cap S] [--workers N]
     [--until HH:MM]

Each set of benchmarks/suite.py is split as suite.py splits it (its TRAIN.csv, made once under
benchmarks/_data/suite/NAME/), prepared as the engine prepares it (core/tasks/fits.
prepare_problem: roles, folds, racing rungs), and every model of the default zoo that applies is
fitted on every fold of every racing rung, in child processes (``--workers``, 2 as the engine),
smallest rung first. A model whose slowest fold took longer than ``--cap`` seconds is not fitted
on larger rungs (a replay sees those fits as failed). Each model that reached the last rung is
then refit on every training row and scored on the suite's holdout (TEST.csv; plain
``predict``, without the bundle's calibration or threshold). The trace (benchmarks/traces.py:
a superset of ``core/policy/recording.Recording``) is written to benchmarks/traces/NAME.json.gz.

Resumable: a set whose trace exists is skipped; while a set is recorded, each finished model is
kept in NAME.partial.json.gz, so a killed run starts again at the model it was on. Sets are
taken smallest first. Timings taken on a loaded machine are inflated: the load average at the
start and end of each set is in its trace.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import traces  # noqa: E402

TRACES = Path(__file__).resolve().parent / "traces"


@dataclass(frozen=True)
class Job:
    """One data set to record: its training and holdout files."""

    name: str
    train: str
    test: str  # the holdout's features ("" : no holdout scores)
    test_y: str  # the holdout's target, one column named like the target
    target: str
    task: str
    metric: str


# -- in the children -----------------------------------------------------------------------------


def fold_task(problem_file: str, spec: Any, rung: int, fold: int, keep_oof: bool) -> dict:
    """One fold fit, timed as ``screening.evaluate_fold`` times it, with fit and predict apart."""
    from thrifty_tui.core.errors import describe_error
    from thrifty_tui.core.learn.screening import (
        _peak_mb,
        build_model,
        get_scorer,
        rung_folds,
        split_features,
    )
    from thrifty_tui.core.tasks.fits import _problem, feature_cache_dir

    problem = _problem(problem_file)
    train_idx, test_idx = rung_folds(problem, rung)[fold]
    out: dict[str, Any] = {"rows": len(train_idx) + len(test_idx), "fold": fold}
    started = time.perf_counter()
    try:
        model = build_model(spec, problem)
        if hasattr(model, "steps") and len(model.steps) > 1:
            from joblib import Memory

            model.set_params(memory=Memory(feature_cache_dir(problem_file), verbose=0))
        model.fit(problem.X.iloc[train_idx], problem.y.iloc[train_idx])
        fitted = time.perf_counter()
        final, X_final = split_features(model, problem.X.iloc[test_idx])
        score = float(get_scorer(problem.metric)(final, X_final, problem.y.iloc[test_idx]))
        ended = time.perf_counter()
    except Exception as err:  # noqa: BLE001 - a failing model is a row, not a crash
        return {**out, "status": "failed", "error": describe_error(err)[:300]}
    out.update(status="done", score=score, fit_s=fitted - started, predict_s=ended - fitted,
               peak_mb=round(_peak_mb(), 1), test_idx=None, oof=None)
    if keep_oof:
        out["test_idx"] = test_idx
        out["oof"] = _predictions(final, X_final, problem)
    return out


def _predictions(final: Any, X: Any, problem: Any) -> Any:
    """Class probabilities in the problem's class order (or, without them, class indices) for
    classification; predictions for regression."""
    import numpy as np

    if problem.task != "classification":
        return np.asarray(final.predict(X), dtype=float)
    classes = [str(c) for c in problem.classes]
    if hasattr(final, "predict_proba"):
        try:
            proba = np.asarray(final.predict_proba(X), dtype=float)
            own = [str(c) for c in final.classes_]
            full = np.zeros((len(proba), len(classes)))
            for j, c in enumerate(own):
                full[:, classes.index(c)] = proba[:, j]
            return full
        except (AttributeError, ValueError):
            pass
    pred = np.asarray(final.predict(X)).astype(str)
    return np.array([classes.index(p) if p in classes else -1 for p in pred], dtype=float)


def holdout_task(problem_file: str, spec: Any, job: Job) -> dict:
    """``spec`` refit on every training row (timed), scored on the holdout."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import accuracy_score, r2_score

    from thrifty_tui.core.data.tables import load_table
    from thrifty_tui.core.learn.screening import refit
    from thrifty_tui.core.store.predict import check_input
    from thrifty_tui.core.tasks.fits import _problem

    problem = _problem(problem_file)
    started = time.perf_counter()
    model = refit(spec, problem)
    fit_s = time.perf_counter() - started
    if not job.test:
        return {"fit_s": fit_s, "holdout": math.nan}
    columns = [{"name": c.name, "role": str(getattr(c.role, "value", c.role)), "dtype": c.dtype}
               for c in problem.schema if c.name in problem.X.columns]
    X = check_input(load_table(job.test).frame, {"columns": columns})
    pred = np.asarray(model.predict(X))
    y = pd.read_csv(job.test_y)[job.target]
    if job.task == "classification":
        import suite

        score = accuracy_score(suite.labels(y), suite.labels(pred))
    else:
        score = r2_score(y.to_numpy(float), pred.astype(float))
    return {"fit_s": fit_s, "holdout": float(score)}


# -- in the parent -------------------------------------------------------------------------------


def _config(spec: Any) -> dict[str, Any]:
    build = spec.build
    keywords = getattr(build, "keywords", {}) or {}
    return {"build": getattr(getattr(build, "func", build), "__name__", str(build)),
            **{k: repr(v) for k, v in keywords.items()},
            "cost_exponent": spec.cost_exponent, "max_rows": spec.max_rows,
            "fit_rows": spec.fit_rows}


def _record_model(pool: ProcessPoolExecutor, problem_file: str, spec: Any, job: Job,
                  head: dict[str, Any], cap_s: float) -> dict[str, Any]:
    import numpy as np

    rungs, folds_at = head["rungs"], head["folds_at"]
    last = len(rungs) - 1
    fits, details, failures, oof = [], [], [], None
    for rung in range(len(rungs)):
        futures = [pool.submit(fold_task, problem_file, spec, rung, k, rung == last)
                   for k in range(folds_at[rung])]
        results = [f.result() for f in futures]
        for r in results:
            if r["status"] != "done":
                failures.append([rung, r["fold"], r["status"], r.get("error", "")])
                continue
            seconds = r["fit_s"] + r["predict_s"]
            fits.append([rung, r["fold"], r["rows"], round(seconds, 4), round(r["score"], 6)])
            details.append([rung, r["fold"], r["rows"], round(r["fit_s"], 4),
                            round(r["predict_s"], 4), r["peak_mb"]])
            if r["oof"] is not None:
                values = np.asarray(r["oof"])
                if oof is None:
                    oof = np.full((head["n_rows"], *values.shape[1:]), np.nan)
                oof[r["test_idx"]] = values
        slowest = max((r.get("fit_s", 0) + r.get("predict_s", 0) for r in results), default=0)
        done = sum(r["status"] == "done" for r in results)
        print(f"  {spec.name:<28} rung {rung} ({rungs[rung]:>7,} rows): {slowest:6.2f} s max, "
              f"{done}/{len(results)} done", flush=True)
        if slowest > cap_s or done < len(results):
            break
    complete = sum(f[0] == last for f in fits) == folds_at[last]
    refit = pool.submit(holdout_task, problem_file, spec, job).result() if complete else {}
    kind = "float16" if head["task"] == "classification" and oof is not None and oof.ndim == 2 \
        else "float32"
    return {"name": spec.name, "tier": spec.tier, "baseline": spec.baseline,
            "growth": spec.growth, "memory": spec.memory, "config": _config(spec),
            "refit_s": round(refit.get("fit_s", math.nan), 4), "diagnose_s": math.nan,
            "holdout": refit.get("holdout", math.nan),
            "holdout_fit_s": round(refit.get("fit_s", math.nan), 4),
            "fits": fits, "details": details, "failures": failures,
            "oof": traces.pack(oof, kind) if complete and oof is not None else None}


def _head(job: Job, problem_file: str) -> tuple[dict[str, Any], list[Any]]:
    import numpy as np

    from thrifty_tui.core.learn.zoo import models_for
    from thrifty_tui.core.tasks import fits
    from thrifty_tui.core.tasks.fits import _problem

    began = time.perf_counter()
    summary = fits.prepare_problem(job.train, job.target, job.task, job.metric, 0, problem_file)
    prepare_s = time.perf_counter() - began
    problem = _problem(problem_file)
    classes = [str(c) for c in problem.classes]
    if summary.task == "classification":
        y = traces.pack(problem.y.astype(str).map({c: i for i, c in enumerate(classes)}), "int16")
    else:
        y = traces.pack(np.asarray(problem.y, dtype=float), "float32")
    rungs = list(summary.rungs)
    head = {"name": job.name, "set": job.name, "task": summary.task, "metric": summary.metric,
            "n_rows": summary.n_rows, "classes": classes, "y": y, "rungs": rungs,
            "folds_at": [int(summary.rung_folds.get(r, summary.n_folds))
                         for r in range(len(rungs))],
            "prepare_s": round(prepare_s, 3)}
    return head, list(models_for(summary.task, None, summary.n_rows, summary.schema))


def _machine() -> str:
    import platform

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def record(job: Job, out: Path, cap_s: float = 10.0, workers: int = 2,
           deadline: float | None = None, models: tuple[str, ...] = ()) -> bool:
    """Record ``job`` into ``out`` (skipped when it exists); False when ``deadline`` (a
    time.time()) came first, with the finished models kept for the next run. ``models``: only
    these zoo models (all that apply when empty)."""
    import sklearn

    from thrifty_tui.core.tasks.fits import init_child

    if out.exists():
        return True
    partial = out.with_name(out.name.replace(".json.gz", ".partial.json.gz"))
    tmp = Path(tempfile.mkdtemp(prefix="record-suite-"))
    problem_file = str(tmp / "problem.joblib")
    head, specs = _head(job, problem_file)
    specs = [s for s in specs if not models or s.name in models]
    kept = traces.load(partial) if partial.exists() else {}
    recorded = kept.get("models", []) if kept.get("rungs") == head["rungs"] else []
    done = {m["name"] for m in recorded}
    load_start = kept.get("load_start") or "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    print(f"{job.name}: {head['n_rows']:,} rows, rungs {head['rungs']}, folds "
          f"{head['folds_at']}, {len(specs)} models ({len(done)} kept); load {load_start}",
          flush=True)
    with ProcessPoolExecutor(workers, initializer=init_child) as pool:
        for spec in specs:
            if spec.name in done:
                continue
            if deadline is not None and time.time() > deadline:
                return False
            recorded.append(_record_model(pool, problem_file, spec, job, head, cap_s))
            traces.save({**head, "load_start": load_start, "models": recorded}, partial)
    data = {**head, "machine": _machine(), "load_start": load_start,
            "load_end": "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cap_s": cap_s,
            "workers": workers, "versions": {"python": sys.version.split()[0],
                                             "sklearn": sklearn.__version__},
            "models": recorded}
    data["machine"] += f"; load {load_start} at the start, {data['load_end']} at the end; " \
                       f"{data['date']}"
    traces.save(data, out)
    partial.unlink(missing_ok=True)
    return True


def suite_jobs() -> list[Job]:
    """Every suite set as a Job, smallest first (its split made if missing)."""
    import suite

    jobs = []
    for ds in suite.suite_sets():
        info = suite.prepare(ds)
        folder = suite.WORK / ds.name
        jobs.append((info["train"] * max(1, info["columns"]), Job(
            ds.name, str(folder / "TRAIN.csv"), str(folder / "TEST.csv"),
            str(folder / "TEST_y.csv"), ds.target, ds.task, ds.metric)))
    return [j for _, j in sorted(jobs, key=lambda x: x[0])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--cap", type=float, default=10.0,
                        help="no larger rungs for a model whose fit took longer (seconds)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--until", help="UTC HH:MM: start no model after it")
    a = parser.parse_args()
    deadline = None
    if a.until:
        h, m = map(int, a.until.split(":"))
        now = time.gmtime()
        minutes = ((h * 60 + m) - (now.tm_hour * 60 + now.tm_min)) % (24 * 60)
        deadline = time.time() + minutes * 60 - now.tm_sec
    for job in suite_jobs():
        if a.only and job.name not in a.only:
            continue
        out = TRACES / f"{job.name}.json.gz"
        began = time.perf_counter()
        if not record(job, out, a.cap, a.workers, deadline):
            print(f"{job.name}: stopped at the deadline; run again to resume", flush=True)
            break
        print(f"{job.name}: {out} ({out.stat().st_size:,} bytes) in "
              f"{time.perf_counter() - began:.0f} s", flush=True)


if __name__ == "__main__":
    main()
