"""Choose the policy's settings by replay on half the suite, check them on the other (issue 20).

Run: nice -n 19 python benchmarks/choose_defaults.py [--budgets 3 6 10 30 120] [--md FILE]
     [--json FILE]

The settings are ``core/policy/settings.PolicySettings`` (shipped: thrifty_tui/data/policy.toml).
A coordinate search over a small grid of the knobs a replay can vary (the first-look tier, the
drop margin, the two reserve shares of the final refit, and the budgets on which the first-rung
leader goes to all rows first: ``GRID``) starts at today's settings and, knob by knob, tries
each value with the others held at the best so far (two passes, or until nothing changes); each
candidate is scored by replaying every trace of half A (``replay_suite.halves``) at each budget
with ``benchmarks/replay_suite.replay_set`` (the full grid, 162 candidates, takes ~10 min a half
on this machine; the search ~40 candidates). ``--full`` tries the whole grid; ``--halves A``
chooses on A only (two processes, one a half, then share the two cores). A candidate's score is its mean regret over
those sets and budgets (the best recorded holdout score minus the pick's, in points); it is
rejected when it ends over 1.05 x B on more replays than today's settings do, or leaves more
picks without a recorded holdout score. The best of A is then replayed on half B, beside
today's settings on B: the held-back figures. Then the same with the halves swapped.

The rung sizes (``racing`` in policy.toml) are the recordings' own: trying others needs the sets
recorded again, so they are not in the grid. Nor is the zoo's order (``Recording.models``; the
fold order sorts by tier before it).

policy.toml is changed only when both choices are the same settings and each improves the
half held back from it (mean regret lower, no more walls over 1.05 x B); this script only
reports, the file is edited by hand. The traces were recorded on a loaded machine (load 2-13):
their seconds are inflated, so a conclusion about the time rules holds less well than one
about regret at a given budget.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import replay_suite  # noqa: E402
import traces  # noqa: E402

from thrifty_tui.core.policy.settings import PolicySettings, shipped  # noqa: E402

GRID: dict[str, tuple[Any, ...]] = {
    "look_tier": (1, 2, 3),
    "drop_margin": (0.0025, 0.005, 0.01),
    "max_reserve_share": (0.1, 0.2, 0.3),
    "looked_reserve_share": (0.3, 0.5),
    "ahead_up_to_s": (0.0, 10.0, 1e9),
}


def evaluate(settings: PolicySettings, sets: list[dict[str, Any]],
             budgets: tuple[float, ...]) -> dict[str, Any]:
    rows = [r for data in sets for r in replay_suite.replay_set(data, budgets, settings)]
    regrets = [r["regret"] for r in rows if not math.isnan(r["regret"])]
    by_budget = {}
    for b in budgets:
        at = [r["regret"] for r in rows if r["budget"] == b and not math.isnan(r["regret"])]
        by_budget[f"{b:g}"] = 100 * statistics.fmean(at) if at else math.nan
    return {"regret": 100 * statistics.fmean(regrets) if regrets else math.nan,
            "by_budget": by_budget,
            "over": sum(r["wall"] > 1.05 * r["budget"] for r in rows),
            "unscored": sum(math.isnan(r["regret"]) for r in rows),
            "within": sum(r["regret"] <= 0.005 for r in rows if not math.isnan(r["regret"])),
            "n": len(rows),
            "rows": {f"{r['set']}@{r['budget']:g}": r["regret"] for r in rows}}


def changed(s: PolicySettings, base: PolicySettings) -> str:
    diff = [f"{k} {getattr(base, k):g} -> {getattr(s, k):g}" for k in GRID
            if getattr(s, k) != getattr(base, k)]
    return ", ".join(diff) or "today's settings"


def grid(base: PolicySettings) -> list[PolicySettings]:
    """Every candidate of ``GRID`` (``--full``)."""
    keys = list(GRID)
    return [replace(base, **dict(zip(keys, values, strict=True)))
            for values in itertools.product(*(GRID[k] for k in keys))]


def choose_full(on: list[dict[str, Any]], budgets: tuple[float, ...], base: PolicySettings
                ) -> tuple[PolicySettings, dict[str, Any], int]:
    """The candidate of least mean regret on ``on`` over the whole grid (today's wins ties)."""
    today = evaluate(base, on, budgets)
    best, best_fig = base, today
    pool = grid(base)
    for cand in pool:
        fig = evaluate(cand, on, budgets) if cand != base else today
        if fig["over"] <= today["over"] and fig["unscored"] <= today["unscored"] and (
                fig["regret"] < best_fig["regret"] - 1e-9):
            best, best_fig = cand, fig
    return best, best_fig, len(pool)


def choose(on: list[dict[str, Any]], budgets: tuple[float, ...], base: PolicySettings
           ) -> tuple[PolicySettings, dict[str, Any], int]:
    """The candidate of least mean regret on ``on`` found by the coordinate search (the
    current best wins ties, so today's settings stay unless beaten); and how many were tried."""
    today = evaluate(base, on, budgets)
    best, best_fig = base, today
    tried = {base}
    for _ in range(2):
        moved = False
        for key, values in GRID.items():
            for value in values:
                cand = replace(best, **{key: value})
                if cand in tried:
                    continue
                tried.add(cand)
                fig = evaluate(cand, on, budgets)
                if fig["over"] > today["over"] or fig["unscored"] > today["unscored"]:
                    continue
                if fig["regret"] < best_fig["regret"] - 1e-9:
                    best, best_fig, moved = cand, fig, True
        if not moved:
            break
    return best, best_fig, len(tried)


def compare(chosen: dict[str, Any], today: dict[str, Any]) -> tuple[int, int]:
    """(set x budget replays where the choice has less regret, where more), by 0.05 pt."""
    wins = sum(chosen["rows"][k] < today["rows"][k] - 0.0005 for k in chosen["rows"]
               if not math.isnan(chosen["rows"][k]) and not math.isnan(today["rows"][k]))
    losses = sum(chosen["rows"][k] > today["rows"][k] + 0.0005 for k in chosen["rows"]
                 if not math.isnan(chosen["rows"][k]) and not math.isnan(today["rows"][k]))
    return wins, losses


def line(label: str, fig: dict[str, Any], budgets: tuple[float, ...]) -> str:
    cells = " | ".join(f"{fig['by_budget'][f'{b:g}']:.2f}" for b in budgets)
    return (f"| {label} | {fig['regret']:.2f} | {cells} | {fig['within']}/{fig['n']} "
            f"| {fig['over']} |")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", nargs="*", type=float, default=list(replay_suite.BUDGETS))
    parser.add_argument("--traces", default=str(replay_suite.TRACES))
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--full", action="store_true",
                        help="the whole grid instead of the coordinate search")
    parser.add_argument("--halves", default="AB", help="choose on these halves (AB, A or B)")
    a = parser.parse_args(argv)
    budgets = tuple(a.budgets)
    files = replay_suite.trace_files(Path(a.traces))
    names = [p.name.removesuffix(".json.gz") for p in files]
    half = replay_suite.halves(names)
    data = {n: traces.load(p) for n, p in zip(names, files, strict=True)}
    sets = {h: [data[n] for n in names if half[n] == h] for h in "AB"}
    base = shipped()
    head = ("| settings | mean regret pt | " + " | ".join(f"{b:g} s" for b in budgets)
            + " | within 0.5 pt | wall > 1.05 B |")
    out: dict[str, Any] = {"halves": {h: sorted(n for n in names if half[n] == h) for h in "AB"},
                           "grid": {k: list(v) for k, v in GRID.items()}, "folds": {}}
    lines = []
    for chose_on, check_on in (("A", "B"), ("B", "A")):
        if chose_on not in a.halves:
            continue
        pick, fig_in, tried = (choose_full if a.full else choose)(sets[chose_on], budgets, base)
        today_in = evaluate(base, sets[chose_on], budgets)
        held = evaluate(pick, sets[check_on], budgets)
        today_held = evaluate(base, sets[check_on], budgets)
        wins, losses = compare(held, today_held)
        better = held["regret"] < today_held["regret"] - 1e-9 and held["over"] <= today_held["over"]
        out["folds"][chose_on] = {"pick": asdict(pick), "changed": changed(pick, base),
                                  "tried": tried, "chosen_half": fig_in,
                                  "today_chosen_half": today_in, "held_back": held,
                                  "today_held_back": today_held, "improves_held_back": better,
                                  "held_back_wins": wins, "held_back_losses": losses}
        lines += [f"Chosen on half {chose_on} ({len(sets[chose_on])} sets, {tried} candidates): "
                  f"{changed(pick, base)}.", "", head,
                  "| --- | ---: | " + " | ".join("---:" for _ in budgets) + " | ---: | ---: |",
                  line(f"today, half {chose_on} (chosen on)", today_in, budgets),
                  line(f"chosen, half {chose_on} (chosen on)", fig_in, budgets),
                  line(f"today, half {check_on} (held back)", today_held, budgets),
                  line(f"chosen, half {check_on} (held back)", held, budgets), "",
                  f"Held back (half {check_on}): less regret on {wins} replays, more on "
                  f"{losses} (of {held['n']}); "
                  f"{'improves' if better else 'does not improve'} the held-back half.", ""]
    folds = out["folds"]
    if len(folds) < 2:
        print("\n".join(lines))
        if a.json:
            Path(a.json).write_text(json.dumps(out, indent=1, default=str))
        return out
    same = folds["A"]["pick"] == folds["B"]["pick"]
    ship = same and folds["A"]["improves_held_back"] and folds["B"]["improves_held_back"]
    out["ship"] = ship
    lines.append("Verdict: " + (f"ship {folds['A']['changed']} (the same choice on both halves, "
                                "and it improves both held-back halves)." if ship else
                                "keep today's settings (" + (
                                    "the two halves chose different settings" if not same else
                                    "the choice does not improve both held-back halves")
                                + ")."))
    text = "\n".join(lines)
    print(text)
    out["markdown"] = text
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1, default=str))
    return out


if __name__ == "__main__":
    main()
