"""HistGradientBoosting's L2 default in the zoo, chosen on half the suite and checked on the
other half (issue 20).

Run: python benchmarks/hgb_defaults.py [--only NAME ...] [--l2 0 0.1 1] [--write]

Why: on pets (species; 4 classes, 5 pigs and 28 goats among 39 k rows) the zoo's boosting
model (200 rounds, learning rate 0.1, no L2 on the leaf values) scored 0.989 on 13 k rows and
0.545 on all 39 k, below the baseline's 0.670: a Newton leaf value is gradient / hessian, and
a leaf holding a few rows of a class predicted with near-certainty has a hessian near zero, so
its value explodes. L2 on the leaf values (LightGBM's ``lambda_l2``, XGBoost's ``reg_lambda``,
default 1) bounds it. Whether it costs score elsewhere is measured here, not assumed.

For every suite set (benchmarks/suite.py's split; the problem prepared as thrifty-tui prepares
it: benchmarks/record_suite.py's ``_head``), the zoo's HGB with each ``l2_regularization``
value is fitted on every training row and scored on the holdout (accuracy or R²;
record_suite's ``holdout_task``). The sets fall into benchmarks/replay_suite.py's halves: the
value with the best mean holdout on half A is checked against today's on half B, and the swap.
Results are kept in benchmarks/_data/hgb_defaults.json (a set measured is not fitted again).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import record_suite  # noqa: E402
import replay_suite  # noqa: E402

STATE = Path(__file__).resolve().parent / "_data" / "hgb_defaults.json"
HEADING = "## Boosting's L2 default, chosen on half the suite (issue 20)"
MODEL = "hist gradient boosting"


def variant(spec: Any, l2: float) -> Any:
    """``spec`` with ``l2_regularization`` set to ``l2`` (whatever the zoo says)."""
    params = dict(spec.build.keywords["params"])
    params["l2_regularization"] = l2
    build = functools.partial(spec.build.func, **{**spec.build.keywords,
                                                  "params": tuple(sorted(params.items()))})
    return dataclasses.replace(spec, build=build)


def measure(job: record_suite.Job, values: list[float], state: dict[str, Any]) -> None:
    done = state.setdefault("sets", {}).setdefault(job.name, {})
    todo = [v for v in values if f"{v:g}" not in done]
    if not todo or "skipped" in done:
        return
    with tempfile.TemporaryDirectory(prefix="hgb-defaults-") as tmp:
        problem_file = str(Path(tmp) / "problem.joblib")
        head, specs = record_suite._head(job, problem_file)
        spec = next((s for s in specs if s.name == MODEL), None)
        if spec is None:
            done["skipped"] = "no boosting model for this set"
            return
        for value in todo:
            started = time.perf_counter()
            got = record_suite.holdout_task(problem_file, variant(spec, value), job)
            done[f"{value:g}"] = {"holdout": got["holdout"], "fit_s": round(got["fit_s"], 2)}
            print(f"{job.name} ({head['n_rows']:,} rows) l2={value:g}: "
                  f"{got['holdout']:.4f} (fit {got['fit_s']:.1f} s, "
                  f"{time.perf_counter() - started:.1f} s)", flush=True)
            save(state)


def save(state: dict[str, Any]) -> None:
    STATE.parent.mkdir(parents=True, exist_ok=True)
    STATE.write_text(json.dumps(state, indent=1))


def score(state: dict[str, Any], name: str, value: float) -> float:
    return state["sets"][name][f"{value:g}"]["holdout"]


def mean_of(state: dict[str, Any], names: list[str], value: float) -> float:
    scores = [score(state, n, value) for n in names]
    scores = [s for s in scores if not math.isnan(s)]
    return statistics.fmean(scores) if scores else math.nan


def report(state: dict[str, Any], values: list[float]) -> str:
    sets = sorted(n for n, d in state.get("sets", {}).items()
                  if all(f"{v:g}" in d for v in values))
    half = replay_suite.halves(sets)
    lines = [f"Machine: {state.get('machine', '?')}; {state.get('when', '?')}. Holdout score "
             "(accuracy or R²) of the zoo's boosting model fitted on every training row; the "
             "best of a row in bold.", "",
             "| set | half | " + " | ".join(f"l2={v:g}" for v in values) + " |",
             "| --- | --- | " + " | ".join("---:" for _ in values) + " |"]
    for name in sets:
        best = max(score(state, name, v) for v in values)
        cells = [f"**{score(state, name, v):.4f}**" if score(state, name, v) == best
                 else f"{score(state, name, v):.4f}" for v in values]
        lines.append(f"| {name} | {half[name]} | " + " | ".join(cells) + " |")
    lines.append("")
    today = values[0]
    for chosen_on, checked_on in (("A", "B"), ("B", "A")):
        on = [n for n in sets if half[n] == chosen_on]
        off = [n for n in sets if half[n] == checked_on]
        pick = max(values, key=lambda v: mean_of(state, on, v))
        gain_on = mean_of(state, on, pick) - mean_of(state, on, today)
        gain_off = mean_of(state, off, pick) - mean_of(state, off, today)
        wins = sum(score(state, n, pick) > score(state, n, today) + 0.005 for n in off)
        losses = sum(score(state, n, pick) < score(state, n, today) - 0.005 for n in off)
        lines.append(
            f"- Chosen on half {chosen_on} ({len(on)} sets): l2={pick:g}, mean holdout "
            f"{gain_on * 100:+.2f} pt over l2={today:g} there. Checked on half {checked_on} "
            f"({len(off)} sets): {gain_off * 100:+.2f} pt; more than 0.5 pt better on {wins}, "
            f"more than 0.5 pt worse on {losses}.")
    return "\n".join(lines)


def write(text: str) -> None:
    results = Path(__file__).resolve().parent / "RESULTS.md"
    body = results.read_text()
    section = f"{HEADING}\n\n{text}\n"
    start = body.find(HEADING)
    if start < 0:
        body = body.rstrip("\n") + "\n\n" + section
    else:
        end = body.find("\n## ", start + len(HEADING))
        body = body[:start] + section + (body[end + 1:] if end >= 0 else "")
    results.write_text(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--l2", nargs="*", type=float, default=[0.0, 0.1, 1.0],
                        help="values to compare; the first is today's")
    parser.add_argument("--write", action="store_true")
    a = parser.parse_args()
    state = json.loads(STATE.read_text()) if STATE.exists() else {}
    before = json.dumps(state.get("sets"), sort_keys=True)
    machine = (f"{record_suite._machine()}; load at the start "
               + "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for job in record_suite.suite_jobs():
        if a.only and job.name not in a.only:
            continue
        measure(job, a.l2, state)
    if json.dumps(state.get("sets"), sort_keys=True) != before:  # the figures are this run's
        state["machine"], state["when"] = machine, when
    save(state)
    text = report(state, a.l2)
    print(text)
    if a.write:
        write(text)


if __name__ == "__main__":
    main()
