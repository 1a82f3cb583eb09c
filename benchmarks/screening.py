"""Screening: thrifty-tui's full leaderboard vs LazyPredict, FLAML and a default HistGradientBoosting.

Run: python benchmarks/screening.py [--only NAME ...] [--write]

Needs the benchmark-only dependencies in the same interpreter (not runtime dependencies of
thrifty-tui):  pip install lazypredict 'flaml[automl]'

For each data set of /work/shared/data (or $THRIFTY_BENCH_DATA), in one run:

1. Read the .csv.gz, keep the chosen feature columns and the target, drop rows without a target,
   split 80/20 (stratified for classification, seed 0) and write TRAIN.csv / TEST.csv under
   benchmarks/_data/screening/<name>/ (gitignored). Every tool reads these same two files.
2. thrifty-tui, the subject: ``python -m thrifty_tui --workspace W run TRAIN.csv --target T
   --task TASK --json --export B.zip`` with the default (full) zoo, then ``python -m thrifty_tui
   predict B.zip TEST.csv -o P.csv``; its wall time is the whole ``run`` process (interpreter
   start, CSV load, screening, refit of the best, bundle export).
3. LazyPredict (LazyClassifier / LazyRegressor, defaults) in a child process with an address-
   space cap (--lp-memory-gb) and a wall cap of 5x thrifty's time + 30 s (at most --lp-cap s):
   if it is not done by then it is stopped and reported as "did not finish", with the best
   holdout score among the models it had finished. Note LazyPredict ranks its models on the
   test set you give it (here the holdout), so its top-1 holdout score is picked on the
   holdout itself: an optimistic figure. Its wall time is the ``fit`` call.
4. FLAML AutoML with time_budget = thrifty's wall time on that set (balanced accuracy as a
   custom metric for classification, r2 for regression), seed 0; wall time is ``fit``.
5. A default HistGradientBoosting (random_state 0): string columns with <= 255 levels as
   pandas categories (native categorical support), longer ones (free text) ordinal-encoded,
   as FLAML / LazyPredict see them.

Every process runs with OMP_WAIT_POLICY=PASSIVE: on a busy shared machine OpenMP's spinning
threads (HGB, LightGBM, XGBoost) otherwise slow small fits 10-20x. Timings are one run each.

Metric: balanced accuracy for classification, R^2 for regression (accuracy / RMSE also shown).
Goals (issue 4): thrifty time <= 1/5 of LazyPredict's; thrifty top-1 within 1 pt of
LazyPredict's; thrifty >= max(FLAML, HGB) - 0.5 pt; clearly above FLAML where text matters.
--write appends (or replaces) the "## Screening (issue 4)" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("THRIFTY_BENCH_DATA", "/work/shared/data"))
WORK = REPO / "benchmarks" / "_data" / "screening"
RESULTS = REPO / "benchmarks" / "RESULTS.md"
HEADING = "## Screening (issue 4)"
SEED = 0
PY = sys.executable
# Every tool's process gets this environment. OMP_WAIT_POLICY=PASSIVE: on a shared, busy 2-core
# machine OpenMP's spin-waiting threads (HGB, LightGBM, XGBoost) otherwise slow small fits 10-20x.
# PYTHONDONTWRITEBYTECODE is dropped: with it set (as in some CI shells) every start compiles
# thrifty-tui's own modules from source in each of its processes, which a user's second start
# never does (scikit-learn's and FLAML's came from pip's caches either way).
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
       "OMP_WAIT_POLICY": "PASSIVE"}


@dataclass(frozen=True)
class DataSet:
    name: str
    file: str
    target: str
    task: str
    features: tuple[str, ...]
    text: bool = False  # has a free-text column: where thrifty should clearly beat FLAML
    note: str = ""
    default: bool = True  # in the default run (the others: --only NAME)


DATASETS = (
    DataSet("pets", "openintro_seattlepets.csv.gz", "species", "classification",
            ("animal_name", "primary_breed", "secondary_breed"), text=True, default=False,
            note="species (Dog/Cat/Goat/Pig) from the free-text animal_name and the two breeds"),
    DataSet("movies", "ggplot2movies_movies.csv.gz", "Comedy", "classification", ("title",),
            text=True, note="Comedy (0/1) from the free-text title alone"),
    DataSet("movies+", "ggplot2movies_movies.csv.gz", "Comedy", "classification",
            ("title", "year", "length", "budget", "rating", "votes", "mpaa"), text=True,
            default=False, note="Comedy (0/1) from the free-text title and numbers"),
    DataSet("gss", "stevedata_gss_wages.csv.gz", "gender", "classification",
            ("year", "realrinc", "age", "occ10", "occrecode", "prestg10", "childs", "wrkstat",
             "educcat", "maritalcat"),
            note="gender from survey answers (many missing values, categoricals)"),
    DataSet("cars", "modeldata_car_prices.csv.gz", "Price", "regression",
            ("Mileage", "Cylinder", "Doors", "Cruise", "Sound", "Leather", "Buick", "Cadillac",
             "Chevy", "Pontiac", "Saab", "Saturn", "convertible", "coupe", "hatchback", "sedan",
             "wagon"),
            note="small regression, one-hot columns"),
    DataSet("births", "mosaicData_Birthdays.csv.gz", "births", "regression",
            ("state", "year", "month", "day", "date", "wday"),
            note="372 k rows: births per state and day"),
)


# ---------------------------------------------------------------------------------------------
# data


def prepare(ds: DataSet) -> dict[str, Any]:
    """Write TRAIN.csv and TEST.csv (+ TEST_y.csv) for ``ds``; the same files for every tool."""
    import pandas as pd
    from sklearn.model_selection import train_test_split

    folder = WORK / ds.name
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.read_csv(DATA / ds.file)
    frame = frame[[*ds.features, ds.target]]
    frame = frame[frame[ds.target].notna()].reset_index(drop=True)
    strat = frame[ds.target].astype(str) if ds.task == "classification" else None
    train, test = train_test_split(frame, test_size=0.2, random_state=SEED, stratify=strat)
    train.to_csv(folder / "TRAIN.csv", index=False)
    test.drop(columns=[ds.target]).to_csv(folder / "TEST.csv", index=False)
    test[[ds.target]].to_csv(folder / "TEST_y.csv", index=False)
    info = {"rows": len(frame), "train": len(train), "test": len(test),
            "columns": len(ds.features)}
    if ds.task == "classification":
        info["classes"] = {str(k): int(v) for k, v in frame[ds.target].value_counts().items()}
    return info


def load_split(folder: Path, target: str, task: str):
    """(X_train, y_train, X_test, y_test) as pandas reads them; classes label-encoded."""
    import numpy as np
    import pandas as pd

    train = pd.read_csv(folder / "TRAIN.csv")
    X_test = pd.read_csv(folder / "TEST.csv")
    y_test = pd.read_csv(folder / "TEST_y.csv")[target]
    y_train = train.pop(target)
    classes = None
    if task == "classification":
        classes = sorted(set(y_train.astype(str)))
        code = {c: i for i, c in enumerate(classes)}
        y_train = y_train.astype(str).map(code).astype(int).to_numpy()
        y_test = y_test.astype(str).map(code).astype(int).to_numpy()
    else:
        y_train, y_test = y_train.to_numpy(dtype=float), y_test.to_numpy(dtype=float)
    return train, y_train, X_test, np.asarray(y_test), classes


def score(task: str, y_true, y_pred) -> dict[str, float]:
    import numpy as np
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        mean_squared_error,
        r2_score,
    )

    if task == "classification":
        return {"score": float(balanced_accuracy_score(y_true, y_pred)),
                "accuracy": float(accuracy_score(y_true, y_pred))}
    return {"score": float(r2_score(y_true, y_pred)),
            "rmse": float(np.sqrt(mean_squared_error(y_true, y_pred)))}


# ---------------------------------------------------------------------------------------------
# children: each competitor runs in its own interpreter


def child_lazypredict(a: argparse.Namespace) -> None:
    """Run LazyPredict; one JSON line per finished model, then a 'done' line (flushed)."""
    if a.memory_gb:
        cap = int(a.memory_gb * 1024 ** 3)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    X_train, y_train, X_test, y_test, _ = load_split(Path(a.folder), a.target, a.task)
    from lazypredict.Supervised import LazyClassifier, LazyRegressor

    out = open(a.out, "a", buffering=1)  # noqa: SIM115 - kept open while LazyPredict calls back
    started = time.perf_counter()
    last = [started]
    cls = LazyClassifier if a.task == "classification" else LazyRegressor
    lazy = cls(verbose=0, ignore_warnings=True, random_state=SEED)

    def progress(name, current, total, metrics):
        now = time.perf_counter()
        line: dict[str, Any] = {"model": name, "i": current, "n": total,
                                "t": round(now - started, 2), "dt": round(now - last[0], 2)}
        last[0] = now
        if metrics is None:
            err = lazy.errors.get(name)
            line["error"] = f"{type(err).__name__}: {str(err)[:160]}" if err else "failed"
        elif a.task == "classification":
            line.update(score=metrics["balanced_accuracy"], accuracy=metrics["accuracy"])
        else:
            line.update(score=metrics["r_squared"], adj=metrics["adjusted_r_squared"],
                        rmse=metrics["rmse"])
        out.write(json.dumps(line, default=float) + "\n")

    lazy.progress_callback = progress
    scores, _ = lazy.fit(X_train, X_test, y_train, y_test)
    wall = time.perf_counter() - started
    top = scores.index[0]
    row = scores.iloc[0]
    done = {"event": "done", "wall": wall, "top": top, "n_models": len(scores)}
    if a.task == "classification":
        done.update(score=float(row["Balanced Accuracy"]), accuracy=float(row["Accuracy"]))
    else:
        done.update(score=float(row["R-Squared"]), rmse=float(row["RMSE"]))
    out.write(json.dumps(done) + "\n")


def child_flaml(a: argparse.Namespace) -> None:
    X_train, y_train, X_test, y_test, _ = load_split(Path(a.folder), a.target, a.task)
    from flaml import AutoML

    settings: dict[str, Any] = {"task": a.task, "time_budget": a.budget, "seed": SEED,
                                "verbose": 0}
    if a.task == "classification":
        from sklearn.metrics import balanced_accuracy_score

        def balanced(X_val, y_val, estimator, labels, X_train, y_train, *args, **kwargs):
            ba = balanced_accuracy_score(y_val, estimator.predict(X_val))
            return 1.0 - ba, {"balanced_accuracy": ba}

        settings["metric"] = balanced
    else:
        settings["metric"] = "r2"
    automl = AutoML()
    started = time.perf_counter()
    automl.fit(X_train, y_train, **settings)
    wall = time.perf_counter() - started
    result = {"wall": wall, "best": automl.best_estimator,
              "best_config": automl.best_config, **score(a.task, y_test, automl.predict(X_test))}
    Path(a.out).write_text(json.dumps(result, default=str))


def hgb_frames(X_train, X_test):
    """Strings: <= 255 levels -> category (native support); more (free text) -> ordinal codes."""
    import numpy as np
    import pandas as pd

    X_train, X_test = X_train.copy(), X_test.copy()
    encoded = {}
    for col in X_train.columns:
        if pd.api.types.is_numeric_dtype(X_train[col]) or pd.api.types.is_bool_dtype(X_train[col]):
            continue
        levels = sorted(X_train[col].dropna().astype(str).unique())
        if len(levels) <= 255:
            dtype = pd.CategoricalDtype(levels)
            X_train[col] = X_train[col].astype(str).where(X_train[col].notna()).astype(dtype)
            X_test[col] = X_test[col].astype(str).where(X_test[col].notna()).astype(dtype)
            encoded[col] = f"category ({len(levels)})"
        else:
            code = {v: float(i) for i, v in enumerate(levels)}
            for X in (X_train, X_test):
                X[col] = X[col].map(lambda v, code=code: code.get(str(v), np.nan)
                                    if pd.notna(v) else np.nan).astype(float)
            encoded[col] = f"ordinal ({len(levels)} levels)"
    return X_train, X_test, encoded


def child_hgb(a: argparse.Namespace) -> None:
    X_train, y_train, X_test, y_test, _ = load_split(Path(a.folder), a.target, a.task)
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    started = time.perf_counter()
    X_train, X_test, encoded = hgb_frames(X_train, X_test)
    cls = (HistGradientBoostingClassifier if a.task == "classification"
           else HistGradientBoostingRegressor)
    model = cls(random_state=SEED, categorical_features="from_dtype")
    model.fit(X_train, y_train)
    wall = time.perf_counter() - started
    result = {"wall": wall, "encoded": encoded, **score(a.task, y_test, model.predict(X_test))}
    Path(a.out).write_text(json.dumps(result))


# ---------------------------------------------------------------------------------------------
# the parent


def run_process(cmd: list[str], timeout: float | None, **kw) -> tuple[int | None, float, str, str]:
    """(returncode or None on timeout, wall s, stdout, stderr); the child's group is killed."""
    started = time.perf_counter()
    kw.setdefault("env", ENV)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **kw)
    try:
        out, err = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        code = None
    return code, time.perf_counter() - started, out, err


def child_cmd(kind: str, ds: DataSet, out: Path, **extra: Any) -> list[str]:
    cmd = [PY, str(Path(__file__).resolve()), "--child", kind, "--folder", str(WORK / ds.name),
           "--target", ds.target, "--task", ds.task, "--out", str(out)]
    for key, value in extra.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    return cmd


def stream_process(cmd: list[str], timeout: float, **kw) -> tuple[int | None, float, list, str]:
    """Like run_process, but each stdout line comes back with the second it arrived at."""
    import tempfile
    import threading

    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err_file:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err_file, text=True,
                                start_new_session=True, **kw)
        lines: list[tuple[float, str]] = []

        def read() -> None:
            for line in proc.stdout:
                lines.append((time.perf_counter() - started, line))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            code: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = None
        wall = time.perf_counter() - started
        reader.join(10)
        err_file.seek(0)
        err = err_file.read()
    return code, wall, lines, err


def run_thrifty(ds: DataSet, cap: float) -> dict[str, Any]:
    import pandas as pd

    folder = WORK / ds.name
    workspace = folder / "workspace"
    shutil.rmtree(workspace, ignore_errors=True)
    bundle = folder / "best.thrifty.zip"
    bundle.unlink(missing_ok=True)
    env = {k: v for k, v in ENV.items() if k != "THRIFTY_ZOO"}  # the full, default zoo
    cmd = [PY, "-m", "thrifty_tui", "--workspace", str(workspace), "run", str(folder / "TRAIN.csv"),
           "--target", ds.target, "--task", ds.task, "--json", "--export", str(bundle)]
    res: dict[str, Any] = {"cmd": " ".join(cmd)}
    code, wall, out, err = stream_process(cmd, cap, env=env, cwd=REPO)
    res["wall"], res["code"] = wall, code
    events = []
    for at, line in out:
        try:
            events.append({**json.loads(line), "_at": round(at, 1)})
        except json.JSONDecodeError:
            res.setdefault("junk", []).append(line[:200])
    res["timeline"] = [(e["_at"], e["event"], (e.get("result") or {}).get("model")
                        or e.get("model") or "") for e in events
                       if e["event"] not in ("progress", "export_progress")]
    res["models"] = [{**e["result"], "at": e["_at"]} for e in events if e.get("event") == "model"]
    started = [e for e in events if e.get("event") == "run_started"]
    if started:
        res["run_started"] = {k: started[0].get(k) for k in
                              ("n_rows", "n_folds", "rungs", "models", "excluded", "notices",
                               "metric", "task")}
    res["notices"] = [e.get("message") for e in events if e.get("event") == "notice"]
    done = [e for e in events if e.get("event") == "done"]
    if code != 0 or not done:
        res["error"] = (f"exit {code}" if code is not None else f"killed after {cap:.0f} s") + \
                       f"; stderr: {err.strip()[-1500:]}"
        return res
    res["best"], res["elapsed_s"] = done[0]["best"], done[0].get("elapsed_s")
    preds = folder / "P.csv"
    pcmd = [PY, "-m", "thrifty_tui", "predict", str(bundle), str(folder / "TEST.csv"), "-o",
            str(preds)]
    pcode, pwall, _, perr = run_process(pcmd, 600, env=env, cwd=REPO)
    res["predict_wall"] = pwall
    if pcode != 0:
        res["error"] = f"predict exit {pcode}: {perr.strip()[-1500:]}; command: {' '.join(pcmd)}"
        return res
    if perr.strip():
        res["predict_notes"] = perr.strip()[-600:]
    pred = pd.read_csv(preds)["prediction"]
    y = pd.read_csv(folder / "TEST_y.csv")[ds.target]
    if ds.task == "classification":
        res.update(score(ds.task, y.astype(str).to_numpy(), pred.astype(str).to_numpy()))
    else:
        res.update(score(ds.task, y.to_numpy(float), pred.to_numpy(float)))
    return res


def run_lazypredict(ds: DataSet, cap: float, memory_gb: float) -> dict[str, Any]:
    out = WORK / ds.name / "lazypredict.jsonl"
    out.unlink(missing_ok=True)
    code, wall, _, err = run_process(child_cmd("lazypredict", ds, out, memory_gb=memory_gb), cap)
    lines = [json.loads(x) for x in out.read_text().splitlines()] if out.exists() else []
    models = [x for x in lines if "model" in x]
    done = [x for x in lines if x.get("event") == "done"]
    res: dict[str, Any] = {"models": models, "cap": cap, "process_wall": wall}
    if done:
        res.update(finished=True, wall=done[0]["wall"], top=done[0]["top"],
                   score=done[0]["score"], n_models=done[0]["n_models"],
                   **{k: done[0][k] for k in ("accuracy", "rmse") if k in done[0]})
        return res
    res.update(finished=False, wall=wall)
    if code not in (None, 0):
        res["error"] = f"exit {code}: {err.strip()[-800:]}"
    ok = [m for m in models if "score" in m]
    if ok:  # the best it had found when it was stopped
        key = "adj" if ds.task == "regression" else "score"
        best = max(ok, key=lambda m: m[key])
        res.update(top=best["model"], score=best["score"],
                   **{k: best[k] for k in ("accuracy", "rmse") if k in best})
    res["running"] = _next_model(ds, models)
    return res


def _next_model(ds: DataSet, models: list[dict]) -> str:
    """The model LazyPredict was fitting when it was stopped (its list is fixed and ordered)."""
    try:
        from lazypredict.Supervised import CLASSIFIERS, REGRESSORS
    except ImportError:
        return "?"
    names = [n for n, _ in (CLASSIFIERS if ds.task == "classification" else REGRESSORS)]
    return names[len(models)] if len(models) < len(names) else "?"


def run_json_child(kind: str, ds: DataSet, cap: float, **extra: Any) -> dict[str, Any]:
    out = WORK / ds.name / f"{kind}.json"
    out.unlink(missing_ok=True)
    code, wall, _, err = run_process(child_cmd(kind, ds, out, **extra), cap)
    if code == 0 and out.exists():
        return {**json.loads(out.read_text()), "process_wall": wall}
    why = f"killed after {cap:.0f} s" if code is None else f"exit {code}"
    return {"error": f"{why}: {err.strip()[-800:]}", "wall": wall}


def machine() -> str:
    model = "?"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024 ** 3
    import pandas
    import sklearn

    def version(name: str) -> str:  # the tuning benchmark needs FLAML only
        try:
            return __import__(name).__version__
        except ImportError:
            return "not installed"

    return (f"{os.cpu_count()} cores, {model}, {ram:.0f} GiB RAM; Python "
            f"{platform.python_version()}, scikit-learn {sklearn.__version__}, pandas "
            f"{pandas.__version__}, LazyPredict {version('lazypredict')}, FLAML "
            f"{version('flaml')}")


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


@dataclass
class Outcome:
    ds: DataSet
    info: dict[str, Any]
    thrifty: dict[str, Any] = field(default_factory=dict)
    lazy: dict[str, Any] = field(default_factory=dict)
    flaml: dict[str, Any] = field(default_factory=dict)
    hgb: dict[str, Any] = field(default_factory=dict)
    loads: dict[str, str] = field(default_factory=dict)


def pt(x: float) -> str:
    return f"{100 * x:+.1f} pt"


def fmt_score(task: str, r: dict[str, Any]) -> str:
    if "score" not in r:
        return "-"
    extra = (f"acc {r['accuracy']:.4f}" if task == "classification" and "accuracy" in r
             else f"RMSE {r['rmse']:.4g}" if "rmse" in r else "")
    return f"{r['score']:.4f}" + (f" ({extra})" if extra else "")


def report(o: Outcome) -> tuple[str, list[tuple[str, str, bool | None]]]:
    """Markdown for one data set and its goal checks (goal, figures, met?)."""
    ds, th, lp, fl, hg = o.ds, o.thrifty, o.lazy, o.flaml, o.hgb
    metric = "balanced accuracy" if ds.task == "classification" else "R²"
    lines = [f"### {ds.name}: {ds.file}, target `{ds.target}` ({ds.task})", "",
             f"{ds.note}. {o.info['rows']:,} rows → train {o.info['train']:,} / holdout "
             f"{o.info['test']:,}" + (f"; classes {o.info['classes']}" if "classes" in o.info
                                      else "") + f". Metric: {metric} on the holdout.", "",
             "| tool | wall s | holdout " + metric + " | model / notes |",
             "| --- | ---: | --- | --- |"]
    th_note = (th.get("best", {}).get("model", "") + (f"; cv {th['best']['cv_score']:.4f}"
                                                       if th.get("best") else "")
               if not th.get("error") else "ERROR: " + th["error"][:300])
    lines.append(f"| thrifty-tui (full zoo) | {th.get('wall', float('nan')):.1f} | "
                 f"{fmt_score(ds.task, th)} | {th_note} |")
    if lp.get("finished"):
        lp_note = f"top-1 {lp.get('top')} of {lp.get('n_models')} models (ranked on the holdout)"
        lp_wall = f"{lp['wall']:.1f}"
    else:
        lp_note = (f"did not finish in {lp.get('cap', 0):.0f} s (stopped while fitting "
                   f"{lp.get('running', '?')}, {len([m for m in lp.get('models', []) if 'score' in m])}"
                   f" models done); best so far: {lp.get('top', '-')}")
        if lp.get("error"):
            lp_note += f"; {lp['error'][:200]}"
        lp_wall = f"> {lp.get('cap', 0):.0f}"
    fails = [f"{m['model']} ({m['error'][:60]})" for m in lp.get("models", []) if "error" in m]
    if fails:
        lp_note += "; failed: " + ", ".join(fails)
    lines.append(f"| LazyPredict | {lp_wall} | {fmt_score(ds.task, lp)} | {lp_note} |")
    fl_note = (f"{fl.get('best')}; time_budget {th.get('wall', 0):.0f} s" if not fl.get("error")
               else "ERROR: " + fl["error"][:300])
    lines.append(f"| FLAML | {fl.get('wall', float('nan')):.1f} | {fmt_score(ds.task, fl)} | "
                 f"{fl_note} |")
    hg_note = ("default; " + ", ".join(f"{k}: {v}" for k, v in hg.get("encoded", {}).items())
               if not hg.get("error") else "ERROR: " + hg["error"][:300])
    lines.append(f"| HistGradientBoosting | {hg.get('wall', float('nan')):.1f} | "
                 f"{fmt_score(ds.task, hg)} | {hg_note} |")
    lines.append("")
    lines.append("1-minute load average before each tool: " + ", ".join(
        f"{k} {v.split()[0]}" for k, v in o.loads.items()) + ".")
    models = th.get("models", [])
    if models:
        lines.append("")
        lines.append("thrifty-tui leaderboard (JSON `model` events, in order of arrival): " + "; ".join(
            f"{m['model']} {m['status']}"
            + (f" {m['mean']:.4f}" if m.get("mean") is not None else "")
            + f" {m['fit_seconds']:.1f} s" + (f" on {m['rows']:,} rows" if m.get("rows") else "")
            + (f" [{m['error'][:80]}]" if m.get("error") else "")
            for m in models) + ".")
    marks = {}
    for at, event, _ in th.get("timeline", []):
        if event in ("dataset", "run_started", "run_finished", "exported", "done"):
            marks.setdefault(event, at)
        if event == "model":
            marks["last model"] = at
    if marks:
        lines.append("thrifty-tui timeline (s after the process started): " + ", ".join(
            f"{k} {v:.1f}" for k, v in marks.items()) + ".")
    excluded = th.get("run_started", {}).get("excluded")
    if excluded:
        lines.append(f"Not tried: {'; '.join(excluded)}.")

    checks: list[tuple[str, str, bool | None]] = []
    ths = th.get("score")
    if th.get("wall") is not None and lp:
        if lp.get("finished"):
            ratio = th["wall"] / lp["wall"]
            checks.append(("time ≤ 1/5 of LazyPredict",
                           f"{th['wall']:.0f} s vs {lp['wall']:.0f} s = 1/{1 / ratio:.1f}",
                           ratio <= 0.2))
        else:
            checks.append(("time ≤ 1/5 of LazyPredict",
                           f"{th['wall']:.0f} s vs > {lp['cap']:.0f} s (did not finish) = "
                           f"< 1/{lp['cap'] / th['wall']:.1f}"
                           + ("" if lp["cap"] >= 5 * th["wall"] else
                              "; its cap was below 5x thrifty's time, so this is open"),
                           True if lp["cap"] >= 5 * th["wall"] else None))
    if ths is not None and lp.get("score") is not None:
        d = ths - lp["score"]
        label = "top-1 within 1 pt of LazyPredict's" + ("" if lp.get("finished")
                                                         else " (its best so far)")
        checks.append((label, f"{ths:.4f} vs {lp['score']:.4f} ({pt(d)})", d >= -0.01))
    others = [(n, r["score"]) for n, r in (("FLAML", fl), ("HGB", hg)) if r.get("score") is not None]
    if ths is not None and others:
        name, best = max(others, key=lambda x: x[1])
        checks.append(("≥ max(FLAML, HGB) − 0.5 pt",
                       f"{ths:.4f} vs {name} {best:.4f} ({pt(ths - best)})", ths >= best - 0.005))
    if ds.text and ths is not None and fl.get("score") is not None:
        d = ths - fl["score"]
        checks.append(("clearly above FLAML (free text)", f"{pt(d)}", d >= 0.02))
    if ths is None:
        checks.append(("thrifty-tui produced a holdout score", th.get("error", "?")[:200], False))
    lines.append("")
    for goal, figures, met in checks:
        mark = "met" if met else "MISSED" if met is not None else "undecided"
        lines.append(f"- {goal}: {figures} — **{mark}**")
    return "\n".join(lines), checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="data set names (default: all)")
    parser.add_argument("--write", action="store_true", help="append to benchmarks/RESULTS.md")
    parser.add_argument("--lp-cap", type=float, default=240.0,
                        help="LazyPredict's wall cap per data set is min(5x thrifty + 30, this)")
    parser.add_argument("--lp-memory-gb", type=float, default=8.0,
                        help="address-space cap of the LazyPredict process")
    parser.add_argument("--thrifty-cap", type=float, default=900.0)
    parser.add_argument("--skip", nargs="*", default=[], choices=["lazypredict", "flaml", "hgb"])
    parser.add_argument("--lp-followup", action="store_true",
                        help="after a run: LazyPredict alone on the --only sets (default: those of "
                             "the last run), capped at exactly 5x thrifty's wall time from "
                             "outcome.json, to settle the time goals the --lp-cap left open")
    # child mode
    parser.add_argument("--child", choices=["lazypredict", "flaml", "hgb"])
    parser.add_argument("--folder")
    parser.add_argument("--target")
    parser.add_argument("--task")
    parser.add_argument("--out")
    parser.add_argument("--budget", type=float)
    parser.add_argument("--memory-gb", type=float)
    a = parser.parse_args()
    if a.child:
        {"lazypredict": child_lazypredict, "flaml": child_flaml, "hgb": child_hgb}[a.child](a)
        return

    if a.lp_followup:
        lp_followup(a)
        return
    started, start_load = time.time(), load()
    sources = {p: p.stat().st_mtime for p in (REPO / "thrifty_tui").rglob("*") if p.is_file()}
    header = (f"Machine: {machine()}.\nDate: {time.strftime('%Y-%m-%d %H:%M %Z')}; load average "
              f"at start (1, 5, 15 min): {start_load} on {os.cpu_count()} cores (a shared "
              "machine: other processes were running).")
    print(header, flush=True)
    sections, all_checks = [], []
    for ds in DATASETS:
        if (a.only and ds.name not in a.only) or (not a.only and not ds.default):
            continue
        print(f"\n== {ds.name}: preparing", flush=True)
        o = Outcome(ds, prepare(ds))
        print(f"   {o.info}", flush=True)
        o.loads["thrifty"] = load()
        o.thrifty = run_thrifty(ds, a.thrifty_cap)
        th_wall = o.thrifty.get("wall", 60.0)
        print(f"   thrifty: {th_wall:.1f} s {fmt_score(ds.task, o.thrifty)} "
              f"{o.thrifty.get('best', '')} {o.thrifty.get('error', '')}", flush=True)
        if "hgb" not in a.skip:
            o.loads["HGB"] = load()
            o.hgb = run_json_child("hgb", ds, 900)
            print(f"   hgb: {o.hgb.get('wall', 0):.1f} s {fmt_score(ds.task, o.hgb)} "
                  f"{o.hgb.get('error', '')}", flush=True)
        if "flaml" not in a.skip:
            o.loads["FLAML"] = load()
            budget = max(1.0, round(th_wall, 1))
            o.flaml = run_json_child("flaml", ds, budget * 3 + 120, budget=budget)
            print(f"   flaml: {o.flaml.get('wall', 0):.1f} s {fmt_score(ds.task, o.flaml)} "
                  f"{o.flaml.get('best', '')} {o.flaml.get('error', '')}", flush=True)
        if "lazypredict" not in a.skip:
            o.loads["LazyPredict"] = load()
            cap = min(5 * th_wall + 30, a.lp_cap)
            o.lazy = run_lazypredict(ds, cap, a.lp_memory_gb)
            print(f"   lazypredict: {o.lazy.get('wall', 0):.1f} s finished={o.lazy.get('finished')}"
                  f" {fmt_score(ds.task, o.lazy)} {o.lazy.get('top', '')} "
                  f"{o.lazy.get('error', '')}", flush=True)
        text, checks = report(o)
        print("\n" + text, flush=True)
        sections.append(text)
        all_checks += [(ds.name, *c) for c in checks]
        (WORK / ds.name / "outcome.json").write_text(json.dumps(
            {"info": o.info, "thrifty": o.thrifty, "lazypredict": o.lazy, "flaml": o.flaml,
             "hgb": o.hgb, "loads": o.loads}, indent=1, default=str))

    total = time.time() - started
    met = sum(1 for c in all_checks if c[3])
    open_ = sum(1 for c in all_checks if c[3] is None)
    summary = [f"Goals met: {met} of {len(all_checks)}" + (f" ({open_} undecided)." if open_
                                                          else ".")]
    missed = [f"{n}: {g} ({f})" for n, g, f, m in all_checks if m is False]
    if missed:
        summary.append("Missed: " + "; ".join(missed) + ".")
    summary.append(f"Whole benchmark: {total / 60:.1f} min; load average at the end: {load()}.")
    changed = sorted(str(p.relative_to(REPO)) for p in (REPO / "thrifty_tui").rglob("*")
                     if p.is_file() and p.suffix in (".py", ".toml")
                     and p.stat().st_mtime != sources.get(p))
    if changed:  # a shared working tree: other developers edit while this runs
        summary.append("thrifty-tui files edited by others during this run: "
                       + ", ".join(changed) + ".")
    body = "\n\n".join([header, *sections, " ".join(summary)])
    print("\n" + " ".join(summary))
    if a.write:
        write_results(body, a)


def lp_followup(a: argparse.Namespace) -> None:
    """LazyPredict capped at 5x thrifty's time: done before it = its time; else the goal is met."""
    for ds in DATASETS:
        outcome = WORK / ds.name / "outcome.json"
        if (a.only and ds.name not in a.only) or not outcome.exists():
            continue
        th = json.loads(outcome.read_text())["thrifty"]
        cap, before = 5 * th["wall"], load()
        r = run_lazypredict(ds, cap, a.lp_memory_gb)
        r["load_before"] = before
        (WORK / ds.name / "lazypredict_followup.json").write_text(json.dumps(r, default=str))
        slow = ", ".join(f"{m['model']} {m['dt']:.0f} s" for m in
                         sorted(r["models"], key=lambda m: -m["dt"])[:3])
        verdict = (f"finished in {r['wall']:.0f} s = {r['wall'] / th['wall']:.1f}x thrifty"
                   if r["finished"] else f"did not finish in 5x thrifty ({cap:.0f} s; stopped at"
                                         f" {r['running']})")
        print(f"{ds.name}: thrifty {th['wall']:.0f} s {th.get('score', float('nan')):.4f}; "
              f"LazyPredict {verdict}; top-1 {r.get('top')} {r.get('score', float('nan')):.4f}; "
              f"slowest: {slow}; load before {before}", flush=True)


def write_results(text: str, a: argparse.Namespace) -> None:
    """Replace (or add) this benchmark's section of RESULTS.md, leaving the others alone."""
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    args = " ".join(sys.argv[1:])
    method = __doc__.split("\n\n", 2)[2].strip()  # without the title and the "Run:" line
    section = (f"{HEADING}\n\nRun: `python benchmarks/screening.py {args}` "
               f"({time.strftime('%Y-%m-%d')}); LazyPredict's cap was min(5x thrifty + 30 s, "
               f"{a.lp_cap:.0f} s).\n\n{method}\n\n{text}\n")
    section = section.replace("\n# ", "\n#### ")
    if HEADING in old:
        head, rest = old.split(HEADING, 1)
        tail = rest[rest.find("\n## "):] if "\n## " in rest else ""
        new = head + section + tail
    else:
        new = old.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(new)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
