"""The replay of the traces with issue 20's cost model off (before) and on (after), by half
(replay_suite.halves) and budget: mean regret and max wall/B. With the model on, each set's
machine factor is its load factor and its coefficients are fitted on
the other half only (benchmarks/cost_model.load_factor): what a calibration fit
at the recording's start would have measured, approximately.

    nice -n 19 .venv/bin/python benchmarks/cost_replay.py
"""

from __future__ import annotations

import json
import os
import math
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks import traces  # noqa: E402
from benchmarks import cost_model  # noqa: E402
from benchmarks.cost_model import SHAPES, load_factor  # noqa: E402
from thrifty_tui.core.policy import decide  # noqa: E402
from thrifty_tui.core.policy.costs import Costs  # noqa: E402
from benchmarks.replay_suite import BUDGETS, halves, trace_files  # noqa: E402
from thrifty_tui.core.policy.budget import Budget  # noqa: E402
from thrifty_tui.core.policy.costs import Shape  # noqa: E402
from thrifty_tui.core.policy.replay import replay  # noqa: E402


def held_out_costs(shapes: dict[str, Shape]) -> dict[str, Costs]:
    """Per half, the coefficients fitted on the other half (as benchmarks/cost_model.py)."""
    fits, names = [], []
    for path in trace_files():
        data = traces.load(path)
        names.append(data["set"])
        fits += cost_model.fits_of(data, shapes[data["set"]])
    half = halves(sorted(names))
    margin = float(os.environ.get("MARGIN", "1.0"))  # try the scheduler's margin
    return {h: Costs(cost_model.fit([r for r in fits if half[r["set"]] != h]), margin=margin)
            for h in "AB"}


def main() -> None:
    shapes = {k: Shape(**{f: v for f, v in s.items() if f != "task"})
              for k, s in json.loads(SHAPES.read_text()).items()}
    other = held_out_costs(shapes)
    rows = []
    for path in trace_files():
        data = traces.load(path)
        h = halves(sorted(shapes))[data["set"]]
        decide.load_costs = lambda h=h: other[h]  # the held-back half's own coefficients
        rec = traces.recording(data)
        oracle = max((float(m["holdout"]) for m in data["models"]
                      if not math.isnan(float(m["holdout"]))), default=math.nan)
        for budget in BUDGETS:
            for mode, shape in (("before", None), ("after", shapes[data["set"]])):
                out = replay(rec, Budget(wall_s=budget), shape=shape,
                             machine_factor=load_factor(data))
                holdout = traces.holdout_of(data, out.best) if out.best else math.nan
                rows.append({"set": data["set"], "budget": budget, "mode": mode,
                             "regret": oracle - holdout, "wall": out.wall_s / budget,
                             "pick": out.best})
    half = halves(sorted({r["set"] for r in rows}))
    for b, a in zip(rows[::2], rows[1::2], strict=True):  # (before, after) of one set, budget
        if (b["pick"], round(b["wall"], 2)) != (a["pick"], round(a["wall"], 2)):
            print(f"{b['set']} ({half[b['set']]}) at {b['budget']:g} s: {b['pick']} "
                  f"(regret {100 * b['regret']:.1f} pt, wall/B {b['wall']:.2f}) -> {a['pick']} "
                  f"({100 * a['regret']:.1f} pt, {a['wall']:.2f})")
    print("| half | B | mean regret pt before → after | max wall/B before → after "
          "| no model before → after |")
    print("|---|---:|---|---|---|")
    for h in "AB":
        for b in BUDGETS:
            cell = {}
            for mode in ("before", "after"):
                at = [r for r in rows if half[r["set"]] == h and r["budget"] == b
                      and r["mode"] == mode]
                reg = [r["regret"] for r in at if not math.isnan(r["regret"])]
                cell[mode] = (100 * statistics.fmean(reg), max(r["wall"] for r in at),
                              sum(not r["pick"] for r in at))
            bf, af = cell["before"], cell["after"]
            print(f"| {h} | {b:g} | {bf[0]:.2f} → {af[0]:.2f} | {bf[1]:.2f} → {af[1]:.2f} "
                  f"| {bf[2]} → {af[2]} |")


if __name__ == "__main__":
    main()
