"""The 24-set benchmark (issue 20): thrifty-tui against FLAML and a default HistGradientBoosting
on the six development sets and the eighteen of ../shared/data/suite, in one run.

Run: python benchmarks/suite.py [--budgets 6 30] [--only NAME ...] [--skip-flaml] [--write]
Needs FLAML in this interpreter (benchmark-only): pip install 'flaml[automl]'

Each set gets one fixed, seeded 75/25 split (stratified for classification; rows without a
target dropped), written once under benchmarks/_data/suite/NAME/ and used by every tool:

1. thrifty-tui: ``python -m thrifty_tui run TRAIN.csv --target T --task K --metric M --budget B
   --json --export BUNDLE`` (M: accuracy or r2). Its wall is from the process's start to the
   ``run_finished`` line (the final model fitted); the export's time is beside it (the
   process's end). Holdout score from ``predict`` with the bundle; its CV estimate from
   ``run_finished``.
2. FLAML AutoML, ``time_budget=B``, the same metric, seed 0 (its ``fit`` call timed).
3. scikit-learn's HistGradientBoosting with defaults and native categoricals (once per set).

Per budget, a table with thrifty's holdout score beside its CV estimate, FLAML's and HGB's, and
a summary of the acceptance counts: at 30 s, at or above max(FLAML, HGB) - 0.5 pt (and how many
1 pt above, how many more than 1 pt below); at 6 s, within 0.5 pt of FLAML at 30 s; wall <= 1.05
x B; |CV - holdout| <= 2 pt; runs without a model. Results are kept in results.json (a set and
budget already measured is not run again unless --again); --write replaces the "## Suite
(issue 20)" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import screening as sb  # noqa: E402
import tuning  # noqa: E402

REPO = sb.REPO
DATA = sb.DATA
WORK = REPO / "benchmarks" / "_data" / "suite"
STATE = WORK / "results.json"
HEADING = "## Suite (issue 20)"
SEED = 0


@dataclass(frozen=True)
class SuiteSet:
    name: str
    file: str  # under ../shared/data (the development sets) or ../shared/data/suite
    target: str
    task: str
    drop: tuple[str, ...] = ()  # columns that are ids or give the target away
    group: str = "suite"  # "dev" | "suite"

    @property
    def metric(self) -> str:
        return "accuracy" if self.task == "classification" else "r2"


DEV = (
    SuiteSet("pets", "openintro_seattlepets.csv.gz", "species", "classification",
             ("license_issue_date", "license_number", "zip_code"), "dev"),
    SuiteSet("movies", "ggplot2movies_movies.csv.gz", "Comedy", "classification",
             ("Action", "Animation", "Drama", "Documentary", "Romance", "Short",
              "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10"), "dev"),
    SuiteSet("nafld", "survival_nafld2.csv.gz", "value", "regression", ("id",), "dev"),
    SuiteSet("births", "mosaicData_Birthdays.csv.gz", "births", "regression", (), "dev"),
    SuiteSet("gss", "stevedata_gss_wages.csv.gz", "gender", "classification", (), "dev"),
    SuiteSet("cars", "modeldata_car_prices.csv.gz", "Price", "regression", (), "dev"),
)


def suite_sets() -> tuple[SuiteSet, ...]:
    listed = json.loads((DATA / "suite" / "suite.json").read_text())
    return DEV + tuple(SuiteSet(d["name"], f"suite/{d['file']}", d["target"], d["task"])
                       for d in listed)


# -- data ----------------------------------------------------------------------------------------


def prepare(ds: SuiteSet) -> dict[str, Any]:
    """The set's split (made once): TRAIN.csv, TEST.csv and TEST_y.csv."""
    import pandas as pd
    from sklearn.model_selection import train_test_split

    folder = WORK / ds.name
    info_file = folder / "split.json"
    if info_file.exists():
        return json.loads(info_file.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.read_csv(DATA / ds.file)
    frame = frame.drop(columns=[c for c in (*ds.drop, "rownames", "Unnamed: 0")
                                if c in frame.columns and c != ds.target])
    frame = frame[frame[ds.target].notna()].reset_index(drop=True)
    strat = None
    if ds.task == "classification":
        counts = frame[ds.target].astype(str).value_counts()
        frame = frame[frame[ds.target].astype(str).isin(counts[counts >= 2].index)]
        strat = frame[ds.target].astype(str)
    train, test = train_test_split(frame, test_size=0.25, random_state=SEED, stratify=strat)
    train.to_csv(folder / "TRAIN.csv", index=False)
    test.drop(columns=[ds.target]).to_csv(folder / "TEST.csv", index=False)
    test[[ds.target]].to_csv(folder / "TEST_y.csv", index=False)
    info = {"rows": len(frame), "train": len(train), "test": len(test),
            "columns": frame.shape[1] - 1}
    info_file.write_text(json.dumps(info))
    return info


def labels(values: Any) -> Any:
    """Class labels as text, with numbers that are whole written without ".0": a target read
    as floats (0.0/1.0: it had missing values) and a model's "0"/"1" are the same classes."""
    import numpy as np
    import pandas as pd

    text = pd.Series(np.asarray(values)).astype(str)
    numbers = pd.to_numeric(text, errors="coerce")
    whole = numbers.notna() & (numbers == numbers.round())
    text[whole] = numbers[whole].astype("int64").astype(str)
    return text.to_numpy()


def holdout(ds: SuiteSet, pred: Any) -> float:
    """The holdout score of predictions ``pred`` (accuracy or R²)."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import accuracy_score, r2_score

    y = pd.read_csv(WORK / ds.name / "TEST_y.csv")[ds.target]
    if ds.task == "classification":
        return float(accuracy_score(labels(y), labels(pred)))
    return float(r2_score(y.to_numpy(float), np.asarray(pred, dtype=float)))


# -- the tools -----------------------------------------------------------------------------------


def run_thrifty(ds: SuiteSet, budget: float) -> dict[str, Any]:
    import pandas as pd

    folder = WORK / ds.name
    out = folder / f"thrifty-{budget:g}"
    out.mkdir(parents=True, exist_ok=True)
    bundle = out / "best.thrifty.zip"
    bundle.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "thrifty_tui", "--workspace", str(out / "ws"), "run",
           str(folder / "TRAIN.csv"), "--target", ds.target, "--task", ds.task,
           "--metric", ds.metric, "--json", "--budget", f"{budget:g}", "--export", str(bundle)]
    load = sb.load()
    code, wall, lines, err = sb.stream_process(cmd, budget * 3 + 300, cwd=REPO)
    res: dict[str, Any] = {"process_wall": round(wall, 2), "code": code, "load": load}
    events = []
    for at, line in lines:
        try:
            events.append({**json.loads(line), "_at": at})
        except json.JSONDecodeError:
            pass
    finished = [e for e in events if e.get("event") == "run_finished"]
    if finished:
        res["wall"] = round(finished[0]["_at"], 2)
        res["stop_reason"] = finished[0].get("stop_reason", "")
        res["best"] = finished[0].get("best_model", "")
        res["cv"] = finished[0].get("best_score")
    if not finished or code != 0 or not bundle.exists():
        res["error"] = f"exit {code}; stderr: {err.strip()[-600:]}"
        return res
    preds = out / "P.csv"
    pcode, _, _, perr = sb.run_process([sys.executable, "-m", "thrifty_tui", "predict",
                                        str(bundle), str(folder / "TEST.csv"), "-o", str(preds)],
                                       900, cwd=REPO)
    if pcode != 0:
        res["error"] = f"predict exit {pcode}: {perr.strip()[-600:]}"
        return res
    res["holdout"] = holdout(ds, pd.read_csv(preds)["prediction"])
    return res


def child_flaml(a: argparse.Namespace) -> None:
    import pandas as pd
    from flaml import AutoML

    folder = WORK / a.name
    train = pd.read_csv(folder / "TRAIN.csv")
    y = train.pop(a.target)
    if a.task == "classification":
        y = y.astype(str)
    automl = AutoML()
    started = time.perf_counter()
    automl.fit(train, y, task=a.task, time_budget=a.budget, metric=a.metric, seed=SEED,
               verbose=0)
    wall = time.perf_counter() - started
    pred = automl.predict(pd.read_csv(folder / "TEST.csv"))
    ds = SuiteSet(a.name, "", a.target, a.task)
    Path(a.out).write_text(json.dumps({"wall": wall, "best": automl.best_estimator,
                                       "holdout": holdout(ds, pred)}))


def child_hgb(a: argparse.Namespace) -> None:
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    folder = WORK / a.name
    train = pd.read_csv(folder / "TRAIN.csv")
    y = train.pop(a.target)
    if a.task == "classification":
        y = y.astype(str)
    started = time.perf_counter()
    X_train, X_test, _ = sb.hgb_frames(train, pd.read_csv(folder / "TEST.csv"))
    cls = (HistGradientBoostingClassifier if a.task == "classification"
           else HistGradientBoostingRegressor)
    model = cls(random_state=SEED, categorical_features="from_dtype").fit(X_train, y)
    wall = time.perf_counter() - started
    ds = SuiteSet(a.name, "", a.target, a.task)
    Path(a.out).write_text(json.dumps({"wall": wall,
                                       "holdout": holdout(ds, model.predict(X_test))}))


def run_child(kind: str, ds: SuiteSet, budget: float | None) -> dict[str, Any]:
    out = WORK / ds.name / f"{kind}-{budget or 0:g}.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--name", ds.name,
           "--target", ds.target, "--task", ds.task, "--metric", ds.metric,
           "--budget", f"{budget or 0:g}", "--out", str(out)]
    code, wall, _, err = sb.run_process(cmd, (budget or 0) * 3 + 600)
    if code != 0 or not out.exists():
        return {"error": f"exit {code}: {err.strip()[-600:]}", "process_wall": round(wall, 2)}
    return {**json.loads(out.read_text()), "process_wall": round(wall, 2)}


# -- the report ----------------------------------------------------------------------------------


def _pt(x: float | None) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:+.1f}"


def _s(x: Any) -> str:
    return "—" if not isinstance(x, (int, float)) or math.isnan(x) else f"{x:.4f}"


def render(state: dict[str, Any], sets: tuple[SuiteSet, ...], budgets: list[float]) -> str:
    lines = [HEADING, "", f"Machine: {state.get('machine', '?')}. Runs: {state.get('when', '?')}.",
             "Holdout accuracy (classification) or R² (regression) on one seeded 75/25 split "
             "per set, the same for every tool. Δ: thrifty minus the better of FLAML at the same "
             "budget and the default HGB, in points. Wall: thrifty's process start to its final "
             "model fitted, over the budget.", ""]
    hgb = state.get("hgb", {})
    for budget in budgets:
        key = f"{budget:g}"
        runs = state.get("thrifty", {}).get(key, {})
        flaml = state.get("flaml", {}).get(key, {})
        flaml30 = state.get("flaml", {}).get("30", {})
        lines += [f"### {key} s", "",
                  "| set | rows | thrifty | CV | model | wall/B | FLAML | HGB | Δ | load |",
                  "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
        counts = {"sets": 0, "ok": 0, "above1": 0, "below1": 0, "near30": 0, "wall": 0,
                  "cv": 0, "empty": 0}
        for ds in sets:
            r = runs.get(ds.name)
            if r is None:
                continue
            counts["sets"] += 1
            t = r.get("holdout")
            f = flaml.get(ds.name, {}).get("holdout")
            h = hgb.get(ds.name, {}).get("holdout")
            rivals = [x for x in (f, h) if isinstance(x, (int, float))]
            delta = t - max(rivals) if t is not None and rivals else None
            wall = r.get("wall")
            ratio = wall / budget if wall else None
            if t is None:
                counts["empty"] += 1
            if delta is not None:
                counts["ok"] += delta >= -0.005
                counts["above1"] += delta >= 0.01
                counts["below1"] += delta < -0.01
            f30 = flaml30.get(ds.name, {}).get("holdout")
            if t is not None and f30 is not None:
                counts["near30"] += t >= f30 - 0.005
            if ratio is not None and ratio <= 1.05:
                counts["wall"] += 1
            cv = r.get("cv")
            if t is not None and isinstance(cv, (int, float)) and abs(cv - t) <= 0.02:
                counts["cv"] += 1
            rows = state.get("splits", {}).get(ds.name, {}).get("rows", 0)
            lines.append(
                f"| {ds.name} | {rows:,} | {_s(t)} | {_s(cv)} | {r.get('best', r.get('error', ''))[:40]} "
                f"| {ratio:.2f} | {_s(f)} | {_s(h)} | {_pt(delta)} | {r.get('load', '')} |"
                if ratio is not None else
                f"| {ds.name} | {rows:,} | {_s(t)} | {_s(cv)} | {r.get('error', '')[:40]} | — "
                f"| {_s(f)} | {_s(h)} | {_pt(delta)} | {r.get('load', '')} |")
        n = counts["sets"]
        lines += ["", f"At {key} s on {n} sets: at or above max(FLAML, HGB) − 0.5 pt on "
                      f"{counts['ok']}, ≥ 1 pt above on {counts['above1']}, more than 1 pt below "
                      f"on {counts['below1']}; within 0.5 pt of FLAML at 30 s (or above) on "
                      f"{counts['near30']}; wall ≤ 1.05 × B on {counts['wall']}; |CV − holdout| "
                      f"≤ 2 pt on {counts['cv']}; no model on {counts['empty']}.", ""]
    return "\n".join(lines)


# -- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", nargs="*", type=float, default=[6.0, 30.0])
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--skip-flaml", action="store_true")
    parser.add_argument("--again", action="store_true", help="run measured sets again")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--render", action="store_true", help="only print the last figures")
    parser.add_argument("--child", choices=("flaml", "hgb"))
    for name in ("--name", "--target", "--task", "--metric", "--out"):
        parser.add_argument(name)
    parser.add_argument("--budget", type=float)
    a = parser.parse_args()
    if a.child:
        (child_flaml if a.child == "flaml" else child_hgb)(a)
        return
    sets = tuple(s for s in suite_sets() if not a.only or s.name in a.only)
    WORK.mkdir(parents=True, exist_ok=True)
    state = json.loads(STATE.read_text()) if STATE.exists() else {}
    if not a.render:
        state["machine"] = sb.machine()
        state["when"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        for ds in sets:
            state.setdefault("splits", {})[ds.name] = prepare(ds)
            if a.again or ds.name not in state.setdefault("hgb", {}):
                state["hgb"][ds.name] = run_child("hgb", ds, None)
            for budget in a.budgets:
                key = f"{budget:g}"
                done = state.setdefault("thrifty", {}).setdefault(key, {})
                if a.again or ds.name not in done:
                    done[ds.name] = run_thrifty(ds, budget)
                    r = done[ds.name]
                    print(f"{ds.name} {key} s thrifty: {_s(r.get('holdout'))} (CV {_s(r.get('cv'))}) "
                          f"wall {r.get('wall')} {r.get('best', r.get('error', ''))[:60]} "
                          f"load {r.get('load')}", flush=True)
                flaml = state.setdefault("flaml", {}).setdefault(key, {})
                if not a.skip_flaml and (a.again or ds.name not in flaml):
                    flaml[ds.name] = run_child("flaml", ds, budget)
                    print(f"{ds.name} {key} s FLAML: {_s(flaml[ds.name].get('holdout'))}",
                          flush=True)
                STATE.write_text(json.dumps(state, indent=1, default=str))
    text = render(state, sets if a.only else suite_sets(), a.budgets)
    print(text)
    if a.write:
        tuning.write_section(text, HEADING)


if __name__ == "__main__":
    main()
