"""Compare drop rules by replay on the two halves of the suite (issue 20): today's rule, the
best of each family racing on, no drop on the first rung, a wider first-rung margin.

Run: python benchmarks/drop_rules.py [--budgets 3 6 10 30 120] [--json FILE]

Each variant sets the knobs of ``core/policy/schedule.py``'s drop rule (``dropped_by``,
``family_keeps``, FIRST_RUNG_MARGIN, FAMILY_GUARD_TOP) for this process only, then replays every
trace in benchmarks/traces/ at each budget (``replay_suite.replay_set``: the real policy, a
simulated clock, 2 workers). Printed per variant and half (``replay_suite.halves``): the mean
regret in points by budget (best recorded holdout minus the pick's), its mean over the budgets,
and the runs whose replayed wall is over 1.05 x B. Choose on one half, check on the other.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import replay_suite  # noqa: E402
import traces  # noqa: E402

from thrifty_tui.core.policy import schedule  # noqa: E402

# variant -> (family guard on, FAMILY_GUARD_TOP, FIRST_RUNG_MARGIN)
VARIANTS: dict[str, tuple[bool, int, float]] = {
    "(d) today": (False, 0, schedule.DROP_MARGIN),
    "(a) family best races on": (True, 0, schedule.DROP_MARGIN),
    "(a1) family best, not before all rows": (True, 1, schedule.DROP_MARGIN),
    "(b) no drop on the first rung": (False, 0, math.inf),
    "(c) first-rung margin 0.02": (False, 0, 0.02),
    "(c) first-rung margin 0.05": (False, 0, 0.05),
}


def use(variant: str) -> None:
    guard, top, margin = VARIANTS[variant]
    schedule.FAMILY_GUARD_TOP = top
    schedule.FIRST_RUNG_MARGIN = margin
    schedule.family_keeps = KEEPS if guard else (lambda *a, **k: False)


KEEPS = schedule.family_keeps


def summary(rows: list[dict[str, Any]], budgets: tuple[float, ...]) -> dict[str, Any]:
    by_budget = {}
    for b in budgets:
        regrets = [r["regret"] for r in rows if r["budget"] == b and not math.isnan(r["regret"])]
        by_budget[b] = 100 * statistics.fmean(regrets) if regrets else math.nan
    over = [f"{r['set']}@{r['budget']:g} {r['wall'] / r['budget']:.2f}" for r in rows
            if r["wall"] > 1.05 * r["budget"]]
    return {"by_budget": by_budget, "mean": statistics.fmean(by_budget.values()),
            "over": over, "no_model": sum(not r["pick"] for r in rows)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", nargs="*", type=float, default=list(replay_suite.BUDGETS))
    parser.add_argument("--only", nargs="*", help="variants to run (default: all)")
    parser.add_argument("--json", help="write every replayed row here")
    a = parser.parse_args(argv)
    budgets = tuple(a.budgets)
    files = replay_suite.trace_files()
    names = [p.name.removesuffix(".json.gz") for p in files]
    half = replay_suite.halves(names)
    data = {n: traces.load(p) for p, n in zip(files, names, strict=True)}
    out: dict[str, Any] = {}
    head = " | ".join(f"{b:g} s" for b in budgets)
    print(f"| variant | half | {head} | mean | wall > 1.05 x B | no model |")
    print("| --- | --- |" + " ---: |" * (len(budgets) + 1) + " --- | ---: |")
    for variant in a.only or VARIANTS:
        use(variant)
        rows = [r for n in names for r in replay_suite.replay_set(data[n], budgets)]
        out[variant] = rows
        for h in "AB":
            s = summary([r for r in rows if half[r["set"]] == h], budgets)
            cells = " | ".join(f"{s['by_budget'][b]:.2f}" for b in budgets)
            print(f"| {variant} | {h} | {cells} | {s['mean']:.2f} | "
                  f"{', '.join(s['over']) or 'none'} | {s['no_model']} |", flush=True)
    use("(d) today")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
