"""Record every zoo model's fold fits on one data set, for replaying the scheduler.

Run: python benchmarks/record_fits.py NAME [--out FILE] [--cap SECONDS] [--workers N]

NAME is a data set of benchmarks/screening.py (movies, gss, cars, births, ...); its tuning
split's TRAIN.csv is used (made if missing), so a replay can be compared with a real run of
benchmarks/tuning.py. The problem is prepared as the engine prepares it (core/tasks/loading),
then each model of the default zoo is fitted on every fold of every racing rung in child
processes (``--workers``, 2 by default, as the engine runs them), smallest rung first; a model
whose fit took longer than ``--cap`` seconds is not fitted on larger rungs (a replay treats
those folds as fits that failed), and its fit on all rows is timed once. The recording
(``core/policy/replay.Recording``, gzip JSON) notes the machine and the load.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import screening as sb  # noqa: E402
import tuning  # noqa: E402

from thrifty_tui.core.policy.replay import RecordedModel, Recording  # noqa: E402


def _fit(problem_file: str, spec, rung: int, fold: int):  # noqa: ANN001, ANN202
    from thrifty_tui.core.tasks import fits

    return fits.evaluate_fold_task(problem_file, spec, rung, fold)


def _refit(problem_file: str, spec, out: str) -> float:  # noqa: ANN001
    from thrifty_tui.core.tasks import fits

    began = time.perf_counter()
    fits.refit_model(problem_file, spec, out)
    return time.perf_counter() - began


def record(name: str, cap_s: float, workers: int) -> Recording:
    from thrifty_tui.core.learn.zoo import models_for
    from thrifty_tui.core.tasks import loading

    ds = next(d for d in sb.DATASETS if d.name == name)
    tuning.prepare(ds)
    train = tuning.folder_of(ds) / "TRAIN.csv"
    tmp = Path(tempfile.mkdtemp(prefix="record-"))
    problem_file = str(tmp / "problem.joblib")
    began = time.perf_counter()
    summary = loading.prepare_problem(str(train), ds.target, ds.task, None, 0, problem_file)
    prepare_s = time.perf_counter() - began
    specs = models_for(summary.task, None, summary.n_rows, summary.schema)
    rungs = tuple(summary.rungs)
    folds_at = tuple(int(summary.rung_folds.get(r, summary.n_folds)) for r in range(len(rungs)))
    print(f"{name}: {summary.n_rows:,} rows, rungs {rungs}, folds {folds_at}, "
          f"{len(specs)} models; prepared in {prepare_s:.1f} s", flush=True)
    models = []
    from thrifty_tui.core.tasks.fits import init_child

    with ProcessPoolExecutor(workers, initializer=init_child) as pool:
        for spec in specs:
            fits: dict[tuple[int, int], tuple[int, float, float]] = {}
            for rung in range(len(rungs)):
                futures = [pool.submit(_fit, problem_file, spec, rung, k)
                           for k in range(folds_at[rung])]
                results = [f.result() for f in futures]
                for r in results:
                    if r.status == "done":
                        fits[(rung, r.fold)] = (r.rows, round(r.fit_seconds, 4),
                                                round(r.score, 6))
                slowest = max((r.fit_seconds for r in results), default=0.0)
                print(f"  {spec.name:<28} rung {rung} ({rungs[rung]:>7,} rows): "
                      f"{slowest:6.2f} s max, "
                      f"{sum(r.status == 'done' for r in results)}/{len(results)} done",
                      flush=True)
                if slowest > cap_s or not results or any(r.status != "done" for r in results):
                    break
            last = len(rungs) - 1
            refit_s = (pool.submit(_refit, problem_file, spec, str(tmp / f"model-{len(models)}.joblib")).result()
                       if all((last, k) in fits for k in range(folds_at[last])) else math.nan)
            models.append(RecordedModel(
                name=spec.name, tier=spec.tier, baseline=spec.baseline, growth=spec.growth,
                memory=spec.memory, fits=fits, refit_s=round(refit_s, 4)))
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
               f"load {os.getloadavg()[0]:.2f} at the end, {time.strftime('%Y-%m-%d %H:%M')}")
    return Recording(name=name, rungs=rungs, folds_at=folds_at, models=tuple(models),
                     prepare_s=round(prepare_s, 3), machine=machine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("--out", help="default: benchmarks/traces/NAME.json.gz")
    parser.add_argument("--cap", type=float, default=10.0,
                        help="no larger rungs for a model whose fit took longer (seconds)")
    parser.add_argument("--workers", type=int, default=2)
    a = parser.parse_args()
    out = Path(a.out or Path(__file__).resolve().parent / "traces" / f"{a.name}.json.gz")
    out.parent.mkdir(parents=True, exist_ok=True)
    rec = record(a.name, a.cap, a.workers)
    rec.save(out)
    print(f"wrote {out} ({out.stat().st_size:,} bytes); {rec.machine}")


if __name__ == "__main__":
    main()
