"""Event-loop lag of thrifty-tui while it writes the bundle of a big model (issue 7, item 4).

Run: python benchmarks/bundle_lag.py [--rows 200000] [--trees 100] [--quick]

A random forest (in a thrifty-tui feature Pipeline) is fitted on a synthetic table of
``--rows`` rows and recorded in a fresh workspace as a finished run. The real app then runs
headless; the 5 ms probe of benchmarks/responsiveness.py records how late the event loop
wakes while:

1. the app idles (the floor);
2. the worker exports the bundle in its child process, the first time (cold child: the pool
   starts and imports) and again (warm child);
3. the same export runs in a plain thread of the app's own process (the alternative the
   architecture avoids: skops and joblib dumps hold the GIL).

Goal (issue 2's responsiveness goal): p99 <= 16 ms, max <= 50 ms while exporting.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import tempfile
import threading
import time
from pathlib import Path

from responsiveness import LagProbe, machine, summary

TARGET = "label"


def make_data(rows: int, seed: int = 0):
    """Numbers with signal, two categorical columns, a string label with some noise."""
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=rows, n_features=14, n_informative=8, n_redundant=2,
                               n_classes=3, flip_y=0.05, random_state=seed)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    rng = np.random.default_rng(seed)
    frame["region"] = pd.cut(frame["x0"], 6, labels=list("abcdef")).astype(str)
    frame["channel"] = rng.choice(["web", "store", "phone", "partner"], size=rows)
    frame[TARGET] = np.array(["low", "mid", "high"])[y]
    return frame


def fit_forest(frame, trees: int, min_leaf: int):
    """A RandomForest behind thrifty-tui's tree features, fitted on every row."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline

    from thrifty_tui.core.learn.features import tree_features
    from thrifty_tui.core.records import USABLE_ROLES
    from thrifty_tui.core.data.schema import infer_schema

    schema = tuple(c for c in infer_schema(frame, target=TARGET) if c.role in USABLE_ROLES)
    model = Pipeline([("features", tree_features(schema)), ("model", RandomForestClassifier(
        n_estimators=trees, min_samples_leaf=min_leaf, n_jobs=-1, random_state=0))])
    X = frame[[c.name for c in schema]]
    model.fit(X, frame[TARGET])
    model.named_steps["model"].n_jobs = 1
    return model, schema


def record_run(ws: Path, data: Path, frame, model, schema) -> int:
    """The workspace of a finished run whose refit model is ``model``, as the worker leaves it."""
    import joblib

    from thrifty_tui.core.data.tables import fingerprint_file
    from thrifty_tui.core.events import RunFinished
    from thrifty_tui.core.records import ModelResult
    from thrifty_tui.core.store.workspace import Workspace

    store = Workspace(ws)
    run_id = store.start_run(str(data), TARGET, "classification", "balanced_accuracy",
                             len(frame), 5, ("random forest",), 0)
    run_dir = store.run_dir(run_id)
    model_file = run_dir / "model.joblib"
    joblib.dump(model, model_file, compress=3)
    classes = sorted(frame[TARGET].unique())
    (run_dir / "problem.json").write_text(json.dumps({
        "task": "classification", "metric": "balanced_accuracy", "n_rows": len(frame),
        "n_folds": 5, "classes": classes, "fingerprint": fingerprint_file(str(data)),
        "source": str(data), "seed": 0, "target": TARGET, "path": str(data),
        "columns": [{"name": c.name, "dtype": c.dtype, "role": c.role.value} for c in schema],
    }))
    store.add_result(run_id, ModelResult("random forest", "done", (0.9, 0.91, 0.9, 0.92, 0.9),
                                         60.0))
    store.finish_run(RunFinished(run_id=run_id, status="done", best_model="random forest",
                                 best_score=0.906, metric="balanced_accuracy", elapsed_s=60.0,
                                 stop_reason="all models screened", model_path=str(model_file)))
    store.close()
    return run_id


def _cpu_seconds() -> float:
    """CPU time of this (the app's) process, all threads: what the UI's process itself spent."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(ws: Path, run_id: int, out_dir: Path, idle_seconds: float) -> dict:
    from thrifty_tui.config import make_settings
    from thrifty_tui.core.events import ExportFinished, JobFailed
    from thrifty_tui.engine.jobs import Export
    from thrifty_tui.tui.app import create_app

    results: dict[str, object] = {}
    app = create_app(make_settings(str(ws), animations=False))
    failures: list[str] = []
    probe = LagProbe()

    def on_engine(event: object) -> None:
        if isinstance(event, JobFailed):
            failures.append(event.message)
        if isinstance(event, ExportFinished):
            # Stop here: what follows is the "Bundle written" notification being drawn.
            probe.recording = False

    async with app.run_test(size=(100, 30)) as pilot:
        app.engine_signal.subscribe(app, on_engine)
        stop = asyncio.Event()
        task = asyncio.create_task(probe.run(stop))
        app.notify("warm-up")  # the first toast of an app costs more than the write
        await pilot.pause(1.0)  # start-up settles
        app.clear_notifications()
        await pilot.pause(0.5)
        probe.recording = True
        await asyncio.sleep(idle_seconds)
        probe.recording = False
        results["idle (floor)"] = probe.samples
        after: list[float] = []

        for label in ("export in the worker's child, cold", "export in the worker's child, warm"):
            probe.samples = []
            app.state.last_export = None
            started, cpu = time.perf_counter(), _cpu_seconds()
            probe.recording = True
            app.submit(Export(path=str(out_dir / label.split(", ")[-1]), run_id=run_id))
            while app.state.last_export is None and not failures:
                await pilot.pause(0.05)
            probe.recording = False
            if failures:
                raise SystemExit(f"export failed: {failures[0]}")
            results[label] = probe.samples
            results[f"_{label} seconds"] = (time.perf_counter() - started, _cpu_seconds() - cpu)
            results["_bundle"] = app.state.last_export
            # The notification appearing, then (cleared) going: the UI's own cost, apart.
            probe.samples = []
            probe.recording = True
            await pilot.pause(0.5)
            app.clear_notifications()
            await pilot.pause(0.5)
            probe.recording = False
            after += probe.samples
        results["'Bundle written' toast shown, cleared"] = after

        # The alternative: the same write in a thread of the app's own process.
        from thrifty_tui.core.store.bundle import read_bundle
        from thrifty_tui.core.tasks.fits import export_bundle

        manifest, _ = read_bundle(results["_bundle"].path)
        model_file = str(ws / "artifacts" / "runs" / str(run_id) / "model.joblib")
        writer = threading.Thread(target=export_bundle, args=(model_file, manifest,
                                                              str(out_dir / "thread")))
        probe.samples = []
        started, cpu = time.perf_counter(), _cpu_seconds()
        probe.recording = True
        writer.start()
        while writer.is_alive():
            await pilot.pause(0.05)
        probe.recording = False
        label = "same export in a thread of the app"
        results[label] = probe.samples
        results[f"_{label} seconds"] = (time.perf_counter() - started, _cpu_seconds() - cpu)
        stop.set()
        await task
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--min-leaf", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="20k rows, 20 trees")
    args = parser.parse_args()
    rows, trees = (20_000, 20) if args.quick else (args.rows, args.trees)
    print(f"machine: {machine()}")
    print("load average before: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        frame = make_data(rows)
        data = root / "big.csv"
        frame.to_csv(data, index=False)
        t = time.perf_counter()
        model, schema = fit_forest(frame, trees, args.min_leaf)
        fit_s = time.perf_counter() - t
        run_id = record_run(root / "ws", data, frame, model, schema)
        model_mb = (root / "ws" / "artifacts" / "runs" / str(run_id) / "model.joblib"
                    ).stat().st_size / 2**20
        nodes = sum(t.tree_.node_count for t in model.named_steps["model"].estimators_)
        print(f"model: random forest, {trees} trees, min_samples_leaf {args.min_leaf}, fitted "
              f"on {rows:,} rows x {frame.shape[1] - 1} columns in {fit_s:.0f} s; "
              f"{nodes:,} nodes; joblib {model_mb:.0f} MiB")
        del model
        out = root / "bundles"
        out.mkdir()
        lag = asyncio.run(measure(root / "ws", run_id, out, idle_seconds=2.0))
    bundle = lag.pop("_bundle")
    print(f"bundle: {bundle.n_files} files, {bundle.n_bytes / 2**20:.0f} MiB")
    timings = {k: v for k, v in lag.items() if k.startswith("_")}
    print("event-loop lag (5 ms probe)  [wall time of the export; CPU time of the app's process]:")
    for name, samples in lag.items():
        if name.startswith("_"):
            continue
        took = timings.get(f"_{name} seconds")
        extra = f"  [{took[0]:.1f} s; app CPU {took[1]:.1f} s]" if took else ""
        print(f"  {name:<38} {summary(samples)}{extra}")
    print("load average after: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    print("goal: exporting in the child, p99 <= 16 ms, max <= 50 ms")


if __name__ == "__main__":
    main()
