"""Budgeted tuning: thrifty-tui vs FLAML vs scikit-learn's HalvingRandomSearchCV (issue 5).

Run: python benchmarks/tuning.py [--only NAME ...] [--budgets 10 30 120] [--write]
(Two revisions of thrifty-tui against each other on these runs: benchmarks/engine_compare.py.)

Needs FLAML in the same interpreter (a benchmark-only dependency): pip install 'flaml[automl]'

For each data set of benchmarks/screening.py (movies: free text; gss; cars; births: 372 k
rows), the same 80/20 split as the screening benchmark (stratified, seed 0; TRAIN.csv /
TEST.csv under benchmarks/_data/tuning/<name>/, gitignored), and each budget B:

1. thrifty-tui: ``python -m thrifty_tui run TRAIN.csv --target T --budget B --json --export``
   with the full zoo (screening, then tuning of the leaders in the time left, then the refit
   of the best). Its **wall** is from the process's start to the ``run_finished`` line (the
   interpreter's start, loading the CSV, screening, tuning, refit); the bundle's export after
   it is outside the budget. Holdout score from ``thrifty-tui predict`` with the bundle.
2. FLAML AutoML with ``time_budget=B`` (balanced accuracy as a custom metric, or r2), seed 0;
   its wall is the ``fit`` call (FLAML's own process start and data loading are not counted).
   Also with 5 x B for B <= 30 s: "the same answer for a fifth of the compute".
3. Once per data set: HalvingRandomSearchCV over the zoo's HistGradientBoosting and its search
   space (thrifty's own tree features), factor 3, 5-fold CV, n_candidates="exhaust", 2 jobs;
   it has no time budget, so its wall is reported as it is (capped at --halving-cap s).
4. Once per data set: a default HistGradientBoosting (as in the screening benchmark).

Every process runs with OMP_WAIT_POLICY=PASSIVE (see screening.py). One run each; the machine
is shared, so the load average is printed with each figure. --write replaces the
"## Tuning (issue 5)" section of benchmarks/RESULTS.md (only that section).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import screening as sb

REPO = sb.REPO
WORK = REPO / "benchmarks" / "_data" / "tuning"
RESULTS = REPO / "benchmarks" / "RESULTS.md"
STATE = WORK / "results.json"
HEADING = "## Tuning (issue 5)"
PY = sys.executable
ENV = sb.ENV
DEFAULT_SETS = ("movies", "gss", "cars", "births")


def folder_of(ds: sb.DataSet) -> Path:
    return WORK / ds.name


def prepare(ds: sb.DataSet) -> dict[str, Any]:
    """The screening benchmark's split (made if missing), copied to this benchmark's folder."""
    source = sb.WORK / ds.name
    if not (source / "TRAIN.csv").exists():
        sb.prepare(ds)
    folder = folder_of(ds)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("TRAIN.csv", "TEST.csv", "TEST_y.csv"):
        if not (folder / name).exists():
            shutil.copy(source / name, folder / name)
    import pandas as pd

    return {"train": len(pd.read_csv(folder / "TRAIN.csv", usecols=[ds.target])),
            "test": len(pd.read_csv(folder / "TEST_y.csv"))}


# ---------------------------------------------------------------------------------------------
# thrifty-tui


def run_thrifty(ds: sb.DataSet, budget: float, python: str = PY, cwd: Path = REPO,
                out: Path | None = None) -> dict[str, Any]:
    """thrifty-tui's run at ``budget`` s on ``ds`` and its holdout score.

    ``python -m thrifty_tui`` is started in ``cwd`` (so that tree's package is the one run:
    benchmarks/engine_compare.py passes another revision's interpreter and worktree); the
    workspace, bundle and predictions go to ``out`` (default: the set's folder).
    """
    import pandas as pd

    folder = folder_of(ds)
    out = out or folder
    out.mkdir(parents=True, exist_ok=True)
    workspace = out / f"ws-{budget:g}"
    shutil.rmtree(workspace, ignore_errors=True)
    bundle = out / f"best-{budget:g}.thrifty.zip"
    bundle.unlink(missing_ok=True)
    env = {k: v for k, v in ENV.items() if k != "THRIFTY_ZOO"}
    cmd = [python, "-m", "thrifty_tui", "--workspace", str(workspace), "run",
           str(folder / "TRAIN.csv"), "--target", ds.target, "--task", ds.task, "--json",
           "--budget", f"{budget:g}", "--export", str(bundle)]
    code, wall, lines, err = sb.stream_process(cmd, budget * 3 + 300, env=env, cwd=cwd)
    res: dict[str, Any] = {"process_wall": wall, "code": code, "load": sb.load(),
                           "bundle": str(bundle)}
    events = []
    for at, line in lines:
        try:
            events.append({**json.loads(line), "_at": at})
        except json.JSONDecodeError:
            pass
    finished = [e for e in events if e["event"] == "run_finished"]
    done = [e for e in events if e["event"] == "done"]
    res["notices"] = [e.get("message") for e in events if e["event"] == "notice"]
    if finished:  # also for a failed run: its wall and reason are part of the figures
        res["wall"] = finished[0]["_at"]
        res["run_finished"] = {k: v for k, v in finished[0].items() if k != "_at"}
        res["stop_reason"] = finished[0].get("stop_reason", "")
    if not finished or not done or code != 0:
        res["error"] = f"exit {code}; stderr: {err.strip()[-800:]}"
        return res
    res["elapsed_s"] = finished[0]["elapsed_s"]
    res["best"] = finished[0]["best_model"]
    res["cv"] = finished[0]["best_score"]
    spent = done[0].get("budget") or {}
    res["fits"] = spent.get("fits")
    res["cpu_s"] = (spent.get("cost") or {}).get("cpu_s")
    res["trials"] = sum(1 for e in events if e["event"] == "trial")
    tuned = [e for e in events if e["event"] == "tuning_started"]
    res["leaders"] = tuned[0]["leaders"] if tuned else []
    preds = out / "P.csv"
    pcode, _, _, perr = sb.run_process([python, "-m", "thrifty_tui", "predict", str(bundle),
                                        str(folder / "TEST.csv"), "-o", str(preds)], 900,
                                       env=env, cwd=cwd)
    if pcode != 0:
        res["error"] = f"predict exit {pcode}: {perr.strip()[-800:]}"
        return res
    pred = pd.read_csv(preds)["prediction"]
    y = pd.read_csv(folder / "TEST_y.csv")[ds.target]
    if ds.task == "classification":
        res.update(sb.score(ds.task, y.astype(str).to_numpy(), pred.astype(str).to_numpy()))
    else:
        res.update(sb.score(ds.task, y.to_numpy(float), pred.to_numpy(float)))
    return res


# ---------------------------------------------------------------------------------------------
# the competitors, each in its own interpreter


def screening_child(kind: str, ds: sb.DataSet, cap: float, **extra: Any) -> dict[str, Any]:
    """screening.py's FLAML / HGB child, on this benchmark's copy of the split."""
    out = folder_of(ds) / f"{kind}-{extra.get('budget', 0):g}.json"
    out.unlink(missing_ok=True)
    cmd = [PY, str(Path(sb.__file__).resolve()), "--child", kind, "--folder", str(folder_of(ds)),
           "--target", ds.target, "--task", ds.task, "--out", str(out)]
    for key, value in extra.items():
        cmd += [f"--{key}", str(value)]
    code, wall, _, err = sb.run_process(cmd, cap)
    if code == 0 and out.exists():
        return {**json.loads(out.read_text()), "process_wall": wall, "load": sb.load()}
    why = f"killed after {cap:.0f} s" if code is None else f"exit {code}"
    return {"error": f"{why}: {err.strip()[-600:]}", "wall": wall, "load": sb.load()}


def child_halving(a: argparse.Namespace) -> None:
    """HalvingRandomSearchCV over the zoo's HGB and its space, on thrifty's tree features."""
    from scipy.stats import loguniform, randint, uniform
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV, KFold, StratifiedKFold

    from thrifty_tui.core.data.schema import infer_schema
    from thrifty_tui.core.learn.zoo import load_zoo, spec_by_name

    X_train, y_train, X_test, y_test, _ = sb.load_split(Path(a.folder), a.target, a.task)
    spec = spec_by_name("hist gradient boosting", load_zoo("default"))
    schema = tuple(c for c in infer_schema(X_train.assign(**{a.target: y_train}),
                                           target=a.target)
                   if c.role.value in ("numeric", "categorical", "text", "datetime"))
    X_train, X_test = X_train[[c.name for c in schema]], X_test[[c.name for c in schema]]
    pipe = spec.build(a.task, schema, sb.SEED)
    dists: dict[str, Any] = {}
    for name, (kind, values) in spec.space:
        lo, hi = values[0], values[-1]
        dists[f"model__{name}"] = {"log": loguniform(lo, hi), "int": randint(lo, hi + 1),
                                   "uniform": uniform(lo, hi - lo)}.get(kind, list(values))
    classification = a.task == "classification"
    cv = (StratifiedKFold(5, shuffle=True, random_state=sb.SEED) if classification
          else KFold(5, shuffle=True, random_state=sb.SEED))
    if classification:
        pipe.set_params(model__class_weight="balanced")
    search = HalvingRandomSearchCV(pipe, dists, factor=3, cv=cv, random_state=sb.SEED,
                                   scoring="balanced_accuracy" if classification else "r2",
                                   n_jobs=2, n_candidates="exhaust")
    started = time.perf_counter()
    search.fit(X_train, y_train)
    wall = time.perf_counter() - started
    result = {"wall": wall, "n_candidates": int(sum(search.n_candidates_)),
              "n_iterations": int(search.n_iterations_), "cv": float(search.best_score_),
              **sb.score(a.task, y_test, search.predict(X_test))}
    Path(a.out).write_text(json.dumps(result))


def run_halving(ds: sb.DataSet, cap: float) -> dict[str, Any]:
    out = folder_of(ds) / "halving.json"
    out.unlink(missing_ok=True)
    cmd = [PY, str(Path(__file__).resolve()), "--child", "halving", "--folder",
           str(folder_of(ds)), "--target", ds.target, "--task", ds.task, "--out", str(out)]
    code, wall, _, err = sb.run_process(cmd, cap, cwd=REPO)
    if code == 0 and out.exists():
        return {**json.loads(out.read_text()), "process_wall": wall, "load": sb.load()}
    why = f"killed after {cap:.0f} s (did not finish)" if code is None else f"exit {code}"
    return {"error": f"{why}: {err.strip()[-600:]}", "wall": wall, "load": sb.load()}


# ---------------------------------------------------------------------------------------------
# the report


def _state() -> dict[str, Any]:
    return json.loads(STATE.read_text()) if STATE.exists() else {}


def _save(state: dict[str, Any]) -> None:
    STATE.parent.mkdir(parents=True, exist_ok=True)
    STATE.write_text(json.dumps(state, indent=1, default=str))


def _score(r: dict[str, Any] | None) -> str:
    if not r:
        return "not run"
    if "error" in r:
        return "failed: " + r["error"].split(":")[0]
    return f"{r['score']:.4f}"


def _ratio(r: dict[str, Any] | None, budget: float) -> str:
    if not r or "wall" not in r or r.get("wall") is None:
        return "-"
    return f"{r['wall'] / budget:.2f}"


# The "### Reading" under the figures in RESULTS.md is written by hand after each run, from
# the figures of that run: --write replaces the whole section, so no stale reading is kept.


def render(state: dict[str, Any]) -> str:
    lines = [HEADING, "", f"Run: `python benchmarks/tuning.py --write` ({state.get('date', '?')}).",
             "", f"Machine: {state.get('machine', '?')}.",
             "Load average (1, 5, 15 min) at the start: "
             f"{state.get('load_start', '?')}; at the end: {state.get('load_end', '?')} on 2 cores "
             "(a shared machine: other developers' tests and benchmarks were running).", "",
             "How (from the script's docstring):", "",
             "\n\n".join(__doc__.split("\n\n")[3:]).strip(), "",
             "Score: balanced accuracy (classification) or R² (regression) on the 20 % holdout. "
             "wall/B: wall seconds over the budget (thrifty: process start to `run_finished`; "
             "FLAML: its `fit`). Goal: thrifty's wall/B <= 1.05 everywhere; score >= FLAML's "
             "and >= the default HGB's; at B, within 0.5 pt of FLAML at 5 x B.", ""]
    for name, sets in state.get("sets", {}).items():
        info = sets.get("info", {})
        lines += [f"### {name} ({info.get('note', '')}; {info.get('train', '?'):,} train / "
                  f"{info.get('test', '?'):,} test rows)", "",
                  "| budget B | thrifty score | thrifty wall/B | stop reason | FLAML score | "
                  "FLAML wall/B | FLAML at 5 x B | thrifty - FLAML | thrifty - FLAML 5xB |",
                  "| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
        for budget_key, row in sorted(sets.get("budgets", {}).items(), key=lambda x: float(x[0])):
            budget = float(budget_key)
            t, f, f5 = row.get("thrifty"), row.get("flaml"), row.get("flaml5")
            diff = (f"{100 * (t['score'] - f['score']):+.1f} pt" if t and f and "score" in t
                    and "score" in f else "-")
            diff5 = (f"{100 * (t['score'] - f5['score']):+.1f} pt" if t and f5 and "score" in t
                     and "score" in f5 else "-")
            reason = (t or {}).get("stop_reason", (t or {}).get("error", "-"))
            lines.append(
                f"| {budget:g} s | {_score(t)} | {_ratio(t, budget)} | {reason[:90]} | "
                f"{_score(f)} | {_ratio(f, budget)} | {_score(f5) if f5 else 'not run'} | "
                f"{diff} | {diff5} |")
        h, g = sets.get("halving"), sets.get("hgb")
        lines += ["", f"HalvingRandomSearchCV (HGB, zoo space, once): score {_score(h)}, wall "
                      f"{h.get('wall', 0):.0f} s" + (f", {h['n_candidates']} candidate fits "
                                                      f"over {h['n_iterations']} rounds"
                                                      if h and "n_candidates" in h else "")
                  if h else "HalvingRandomSearchCV: not run",
                  f"Default HistGradientBoosting: score {_score(g)}" if g else
                  "Default HistGradientBoosting: not run", ""]
        details = []
        for budget_key, row in sorted(sets.get("budgets", {}).items(), key=lambda x: float(x[0])):
            t = row.get("thrifty") or {}
            if "score" in t:
                details.append(f"B={float(budget_key):g} s: best {t.get('best')} (CV "
                               f"{t.get('cv', float('nan')):.4f}), {t.get('fits')} fits, "
                               f"{t.get('trials')} trials, leaders {', '.join(t.get('leaders') or []) or 'none'}, "
                               f"{t.get('cpu_s')} CPU-s, load {t.get('load')}")
        if details:
            lines += ["thrifty details: " + "; ".join(details) + ".", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_section(text: str, heading: str = HEADING) -> None:
    """Replace the ``heading`` section of RESULTS.md with ``text`` (or add it at the end)."""
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if heading in current:
        start = current.index(heading)
        rest = current[start + len(heading):]
        nxt = rest.find("\n## ")
        end = start + len(heading) + nxt + 1 if nxt != -1 else len(current)
        current = current[:start] + text + ("\n" + current[end:] if nxt != -1 else "")
    else:
        current = current.rstrip() + "\n\n" + text
    RESULTS.write_text(current)


def run_all_halving(sets: list[sb.DataSet], state: dict[str, Any], cap: float) -> None:
    for ds in sets:
        entry = state["sets"][ds.name]
        entry["halving"] = run_halving(ds, cap)
        print(ds.name, "halving", _score(entry["halving"]), flush=True)
        _save(state)
    write_section(render(state))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", help="data set names (default: movies gss cars births)")
    parser.add_argument("--budgets", nargs="*", type=float, default=[10.0, 30.0, 120.0])
    parser.add_argument("--five-x-up-to", type=float, default=30.0,
                        help="run FLAML at 5 x B for budgets up to this many seconds")
    parser.add_argument("--halving-cap", type=float, default=240.0)
    parser.add_argument("--write", action="store_true", help="write the section of RESULTS.md")
    parser.add_argument("--render", action="store_true", help="only write what was measured")
    parser.add_argument("--thrifty-only", action="store_true",
                        help="re-run only thrifty-tui (after an engine change) for --budgets")
    parser.add_argument("--child", choices=["halving"])
    parser.add_argument("--folder")
    parser.add_argument("--target")
    parser.add_argument("--task")
    parser.add_argument("--out")
    a = parser.parse_args()
    if a.child == "halving":
        child_halving(a)
        return
    state = _state()
    if a.render:
        write_section(render(state))
        return
    names = a.only or list(DEFAULT_SETS)
    sets = [ds for ds in sb.DATASETS if ds.name in names]
    if a.thrifty_only:
        for budget in a.budgets:
            for ds in sets:
                row = state["sets"][ds.name].setdefault("budgets", {}).setdefault(str(budget), {})
                row["thrifty"] = run_thrifty(ds, budget)
                print(ds.name, budget, "thrifty", _score(row["thrifty"]),
                      _ratio(row["thrifty"], budget), row["thrifty"].get("stop_reason", ""),
                      flush=True)
                _save(state)
        state["load_end"] = sb.load()
        _save(state)
        write_section(render(state))
        return
    state.setdefault("sets", {})
    state.update(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), machine=sb.machine(),
                 load_start=sb.load())
    _save(state)
    for ds in sets:  # the one-off competitors first: they do not depend on the budget
        entry = state["sets"].setdefault(ds.name, {})
        entry["info"] = {**prepare(ds), "note": ds.note}
        if "score" not in entry.get("hgb", {}):
            entry["hgb"] = screening_child("hgb", ds, 900)
        print(ds.name, "hgb", _score(entry["hgb"]), flush=True)
        _save(state)
    halving_done = False
    for budget in a.budgets:  # budget by budget, so a cut-short run still covers every set
        if budget > 60 and not halving_done:  # the long budgets last: halving before them
            run_all_halving(sets, state, a.halving_cap)
            halving_done = True
        for ds in sets:
            row = state["sets"][ds.name].setdefault("budgets", {}).setdefault(str(budget), {})
            row["thrifty"] = run_thrifty(ds, budget)
            print(ds.name, budget, "thrifty", _score(row["thrifty"]),
                  _ratio(row["thrifty"], budget), row["thrifty"].get("stop_reason", ""),
                  flush=True)
            _save(state)
            row["flaml"] = screening_child("flaml", ds, budget * 3 + 300, budget=budget)
            print(ds.name, budget, "flaml", _score(row["flaml"]), flush=True)
            _save(state)
            if budget <= a.five_x_up_to:
                row["flaml5"] = screening_child("flaml", ds, budget * 15 + 300,
                                                budget=5 * budget)
                print(ds.name, budget, "flaml5", _score(row["flaml5"]), flush=True)
                _save(state)
            if a.write:
                write_section(render(state))
    if not halving_done:
        run_all_halving(sets, state, a.halving_cap)
    state["load_end"] = sb.load()
    _save(state)
    if a.write:
        write_section(render(state))


if __name__ == "__main__":
    main()
