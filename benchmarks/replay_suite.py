"""Replay the current default policy over every recorded suite set (issue 20), in seconds.

Run: python benchmarks/replay_suite.py [--budgets 3 6 10 30 120] [--only NAME ...]
     [--half A|B] [--json FILE] [--settings policy.toml]

For each trace in benchmarks/traces/ (benchmarks/record_suite.py writes them) and each budget B,
``core/policy/replay.replay`` drives the real policy (``policy.decide.next_decisions`` with its
current defaults) against the recorded fits with a simulated clock and 2 workers, and this
prints the pick, its CV estimate, its holdout score, the replayed wall over B, and the regret:
the best holdout score of any recorded model minus the pick's, in points.

The holdout score is the one recorded at record time: the picked model refit on every training
row of the suite's split and scored on its holdout (plain ``predict``). When the replayed run
would fit its pick on fewer rows (a budget too short for all rows; column ``rows`` below the
set's), that score is the all-rows one, marked ``*``: an optimistic stand-in. A pick followed
by "(N unrecorded)" comes from a replay where N models reached a rung the recorder did not fit
(their fits took longer than its ``--cap`` on a smaller rung): the replay counts them as failed,
so on large sets and long budgets such a row says little.

Choosing defaults on half the suite and checking on the other half (issue 20's later steps):

1. Record the sets (record_suite.py); a trace holds each model's fits, so a change to the
   policy (decide.py and its settings block) needs no new recording. A change to the zoo's
   order or tiers can be tried on traces by reordering ``Recording.models``; a new model or
   configuration, or new rung sizes, needs the sets recorded again.
2. ``--half A`` replays the sets of half A only (a fixed, seeded split of the set names,
   ``halves()``); ``--json`` writes the figures. Change a default, replay half A, and keep the
   change if the mean regret over the budgets falls and no wall goes over 1.05 x B.
3. Check on ``--half B`` with the same command: report both halves' figures side by side
   (the summary lines). Then swap: choose on B, check on A. A change that only helps the half
   it was chosen on does not count.
4. Confirm with real runs (benchmarks/suite.py) on at least 8 sets x 2 budgets: replayed and
   real picks agree or their holdout scores are within 0.5 pt, replayed wall within 10 %.
   Where suite.py's results.json (``--real``) holds a run of a set at a budget, its pick,
   holdout and wall are printed beside the replayed row, with what disagrees. Compare only
   runs made on a quiet machine: the traces and the real runs both carry their load.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import traces  # noqa: E402

TRACES = Path(__file__).resolve().parent / "traces"
REAL = Path(__file__).resolve().parent / "_data" / "suite" / "results.json"  # suite.py's runs
BUDGETS = (3.0, 6.0, 10.0, 30.0, 120.0)


def halves(names: list[str]) -> dict[str, str]:
    """A fixed split of set names into halves A and B (by a hash of the name, balanced)."""
    ranked = sorted(names, key=lambda n: hashlib.sha256(f"issue-20:{n}".encode()).hexdigest())
    return {n: "AB"[i % 2] for i, n in enumerate(ranked)}


def trace_files(folder: Path = TRACES) -> list[Path]:
    return sorted(p for p in folder.glob("*.json.gz") if not p.name.endswith(".partial.json.gz"))


def replay_set(data: dict[str, Any], budgets: tuple[float, ...],
               settings: Any = None) -> list[dict[str, Any]]:
    """One row per budget: the replayed pick, its CV and holdout scores, wall and regret
    (``settings``: the policy's, a ``core/policy/settings.PolicySettings``; None: shipped)."""
    from thrifty_tui.core.policy.budget import Budget
    from thrifty_tui.core.policy.replay import replay

    rec = traces.recording(data)
    scores = [float(m["holdout"]) for m in data["models"]
              if not math.isnan(float(m["holdout"]))]
    oracle = max(scores, default=math.nan)
    rows = []
    for budget in budgets:
        out = replay(rec, Budget(wall_s=budget), settings=settings)
        holdout = traces.holdout_of(data, out.best) if out.best else math.nan
        rows.append({"set": data["set"], "budget": budget, "pick": out.best, "cv": out.cv,
                     "rows": out.rows, "n_rows": data["n_rows"], "holdout": holdout,
                     "partial": bool(out.best) and out.rows < data["n_rows"],
                     "wall": out.wall_s, "oracle": oracle, "regret": oracle - holdout,
                     "stop": out.stop_rule,
                     # models the replay wanted on a rung the recorder did not fit (its --cap)
                     "unrecorded": sum(x.error == "no recorded fit" for x in out.results)})
    return rows


def add_real(rows: list[dict[str, Any]], real_file: Path = REAL) -> None:
    """Beside each replayed row, benchmarks/suite.py's real run of that set and budget, if any:
    its pick, holdout score and wall, and whether the two agree as issue 20 asks (same pick or
    holdout within 0.5 pt; replayed wall within 10 % of the real one)."""
    state = json.loads(real_file.read_text()) if real_file.exists() else {}
    for r in rows:
        real = state.get("thrifty", {}).get(f"{r['budget']:g}", {}).get(r["set"])
        if not real or real.get("holdout") is None:
            continue
        pick = str(real.get("best", "")).split(" (on ")[0]
        r["real"] = {"pick": pick, "holdout": real["holdout"], "wall": real.get("wall"),
                     "load": real.get("load")}
        r["agree"] = pick == r["pick"] or abs(real["holdout"] - r["holdout"]) <= 0.005
        r["wall_ok"] = bool(real.get("wall")) and abs(r["wall"] - real["wall"]) <= 0.1 * real["wall"]


def _f(x: float, pt: bool = False) -> str:
    if x is None or math.isnan(x):
        return "—"
    return f"{100 * x:.1f}" if pt else f"{x:.4f}"


def render(rows: list[dict[str, Any]], budgets: tuple[float, ...]) -> str:
    lines = ["| set | B | pick | CV | holdout | rows | wall/B | regret pt |"
             + (" real run |" if any("real" in r for r in rows) else ""),
             "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    if any("real" in r for r in rows):
        lines[1] += " --- |"
    for r in rows:
        mark = "*" if r["partial"] else ""
        lost = f" ({r['unrecorded']} unrecorded)" if r["unrecorded"] else ""
        real = r.get("real")
        beside = (f" {real['pick']}, {_f(real['holdout'])}, wall {real['wall']} s"
                  f"{'' if r['agree'] else ', picks disagree'}"
                  f"{'' if r['wall_ok'] else ', wall off by > 10 %'}" if real else "")
        lines.append(f"| {r['set']} | {r['budget']:g} | {r['pick'] or '(none)'}{lost} | {_f(r['cv'])} "
                     f"| {_f(r['holdout'])}{mark} | {r['rows']:,}/{r['n_rows']:,} "
                     f"| {r['wall'] / r['budget']:.2f} | {_f(r['regret'], True)} |"
                     + (f"{beside} |" if beside else ""))
    lines.append("")
    for b in budgets:
        at = [r for r in rows if r["budget"] == b]
        regrets = [r["regret"] for r in at if not math.isnan(r["regret"])]
        lines.append(
            f"B = {b:g} s on {len(at)} sets: mean regret "
            f"{100 * statistics.fmean(regrets) if regrets else math.nan:.2f} pt, within 0.5 pt "
            f"of the best recorded model on {sum(x <= 0.005 for x in regrets)}, wall > 1.05 x B "
            f"on {sum(r['wall'] > 1.05 * b for r in at)}, no model on "
            f"{sum(not r['pick'] for r in at)}, |CV - holdout| > 2 pt on "
            f"{sum(abs(r['cv'] - r['holdout']) > 0.02 for r in at if r['pick'])}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", nargs="*", type=float, default=list(BUDGETS))
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--half", choices=("A", "B"))
    parser.add_argument("--traces", default=str(TRACES))
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--settings", help="a policy.toml to decide with (default: shipped)")
    parser.add_argument("--real", default=str(REAL),
                        help="benchmarks/suite.py's results.json, to set real runs beside")
    a = parser.parse_args(argv)
    files = trace_files(Path(a.traces))
    names = [p.name.removesuffix(".json.gz") for p in files]
    half = halves(names)
    budgets = tuple(a.budgets)
    rows: list[dict[str, Any]] = []
    settings = None
    if a.settings:
        from thrifty_tui.core.policy.settings import loads

        settings = loads(Path(a.settings).read_text())
    for path, name in zip(files, names, strict=True):
        if (a.only and name not in a.only) or (a.half and half[name] != a.half):
            continue
        rows += replay_set(traces.load(path), budgets, settings)
    rows.sort(key=lambda r: (r["set"], r["budget"]))
    add_real(rows, Path(a.real))
    print(render(rows, budgets))
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
