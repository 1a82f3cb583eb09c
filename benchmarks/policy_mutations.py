"""Each scheduling rule has a test that fails without it: remove the rules one at a time and
run the fast policy tests.

Run: python benchmarks/policy_mutations.py [--tests PATH ...]

For every rule below, a fresh pytest process replaces the rule, where its caller looks it up,
by a neutral stand-in (what the scheduler would do without that rule: never drop, never skip,
keep nothing for the final fit, ...), then runs the policy tests (tests/core/test_policy_*.py
and tests/engine/test_budget_schedule.py: hand-made values and replays, no processes). A rule
whose removal no test notices is printed as SURVIVED; the script exits 1 if any survives.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = ["tests/core/test_policy_decide.py", "tests/core/test_policy_schedule.py",
         "tests/core/test_policy_final.py", "tests/core/test_policy_tune.py",
         "tests/core/test_policy_final_fit.py", "tests/core/test_policy_mean.py",
         "tests/engine/test_budget_schedule.py", "tests/core/test_policy_drop.py"]

# rule -> (modules whose name is replaced, the stand-in as Python source)
MUTATIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "fold_priority (the leader goes ahead)": (
        ("thrifty_tui.core.policy.decide",),
        "lambda rung, model, order, fold, leader, *_: (0, rung, model.tier, order, fold)"),
    "first_rung_leader": (("thrifty_tui.core.policy.decide",), "lambda models: None"),
    "dropped_by (drop the clearly worse)": (
        ("thrifty_tui.core.policy.decide",), "lambda *a, **k: None"),
    "family_keeps (the best of each family races on)": (
        ("thrifty_tui.core.policy.schedule",), "lambda *a, **k: False"),
    "rung_skip (cap, time, memory)": (
        ("thrifty_tui.core.policy.decide",), "lambda *a, **k: None"),
    "baseline_may_overrun": (
        ("thrifty_tui.core.policy.decide", "thrifty_tui.core.policy.schedule"),
        "lambda *a, **k: False"),
    "predicted_fit_seconds (unmeasured = dearest)": (
        ("thrifty_tui.core.policy.decide",),
        "lambda model, rows, timed, restart_s, dearest: __import__("
        "'thrifty_tui.core.policy.racing', fromlist=['x']).predict_seconds("
        "model.points, rows, model.growth)"),
    "diagnostics_fit": (("thrifty_tui.core.policy.decide",), "lambda *a, **k: True"),
    "refit_reserve": (("thrifty_tui.core.policy.decide",
                       "thrifty_tui.engine.budget_guard"), "lambda *a, **k: 0.0"),
    "worth_killing": (("thrifty_tui.core.policy.decide", "thrifty_tui.core.policy.schedule"),
                      "lambda *a, **k: False"),
    "past_deadline": (("thrifty_tui.core.policy.decide",), "lambda *a, **k: False"),
    "refit_early (speculative refit)": (
        ("thrifty_tui.core.policy.decide",), "lambda *a, **k: None"),
    "task_cap": (("thrifty_tui.core.policy.decide",), "lambda *a, **k: None"),
    "may_start_fit (budget admission)": (
        ("thrifty_tui.core.policy.decide",), "lambda *a, **k: ''"),
    "met_rule (done rules)": (("thrifty_tui.core.policy.decide",),
                              "lambda budget, history: ''"),
    "lead_on_shared_rows": (
        ("thrifty_tui.core.policy.decide", "thrifty_tui.core.policy.final",
         "thrifty_tui.engine.budget_guard"),
        "lambda items, curve_of: next((i for i in items if curve_of(i)), None)"),
    "drop_beaten": (("thrifty_tui.engine.jobs.after_screening",
                     "thrifty_tui.core.policy.replay"), "lambda *a, **k: []"),
    "partial_fit_rows": (
        ("thrifty_tui.engine.budget_guard", "thrifty_tui.core.policy.replay"),
        "lambda *a, **k: __import__('thrifty_tui.core.policy.final', fromlist=['x'])"
        ".FinalRows(None, False)"),
    "next_final_size": (("thrifty_tui.core.policy.final_fit",), "lambda *a, **k: None"),
    # Tuning (core/policy/tune.py)
    "promote (tuning: the best third goes on)": (
        ("thrifty_tui.core.policy.tune",), "lambda scores, n, eta=3: [i for i, _ in scores]"),
    "another_bracket (tuning: only while a first fit fits)": (
        ("thrifty_tui.core.policy.tune",),
        "lambda snap, leader: __import__('thrifty_tui.core.policy.snapshot', fromlist=['x'])"
        ".NewBracket(leader)"),
    "UNBOUNDED_BRACKETS (tuning without a limit)": (("thrifty_tui.core.policy.tune",), "10**6"),
    "_can_advance (tuning: a rung completes first)": (
        ("thrifty_tui.core.policy.tune",),
        "lambda snap, b, outs=(): b.position < len(snap.rungs) and any("
        "t.finished(snap.rungs[b.position]) for t in b.trials)"),
    "trial_priority (tuning: bracket, rung, cost)": (
        ("thrifty_tui.core.policy.tune",), "lambda bracket, trial, fold: (trial.cost, fold)"),
    "may_start_fit (tuning admission)": (("thrifty_tui.core.policy.tune",),
                                         "lambda *a, **k: ''"),
    "met_rule (tuning's done rules)": (("thrifty_tui.core.policy.tune",),
                                       "lambda budget, history: ''"),
    "worth_killing (tuning)": (("thrifty_tui.core.policy.tune",), "lambda *a, **k: False"),
    "past_deadline (tuning)": (("thrifty_tui.core.policy.tune",), "lambda *a, **k: False"),
    # The final fit (core/policy/final_fit.py)
    "tries_all_rows (final fit: all rows beside)": (("thrifty_tui.core.policy.final_fit",),
                                                    "lambda snap: False"),
    "gives_up (final fit: the deadline)": (("thrifty_tui.core.policy.final_fit",),
                                           "lambda snap, step: False"),
    # The mean of the leaders (core/policy/mean.py)
    "tied_with_best (mean: only the leaders join)": (
        ("thrifty_tui.core.policy.mean",),
        "lambda results, f: sorted([r for r in results if r.fold_scores], key=lambda r: -r.mean)"),
    "full_size (mean: members on all rows and folds)": (("thrifty_tui.core.policy.mean",),
                                                         "lambda snap, result: True"),
    "tuned_stands_in (mean: a tuned model for its row)": (("thrifty_tui.core.policy.mean",),
                                                           "lambda results: list(results)"),
    "has_oof (mean: out-of-fold files saved)": (("thrifty_tui.core.policy.mean",),
                                                "lambda snap, model: True"),
    "MAX_MEMBERS (mean: at most three)": (("thrifty_tui.core.policy.mean",), "10**6"),
    "MIN_MEMBERS (mean: none of one)": (("thrifty_tui.core.policy.mean",), "1"),
    "refit_makespan (mean: members side by side)": (("thrifty_tui.core.policy.mean",),
                                                    "lambda seconds, workers: sum(seconds)"),
    "mean_reserve (tuning keeps time for the mean)": (("thrifty_tui.core.policy.mean",),
                                                      "lambda snap: 0.0"),
    "may_score_mean (mean: the best model's fit first)": (("thrifty_tui.core.policy.mean",),
                                                          "lambda *a, **k: True"),
    "single_refit_left (mean: the best model's fit to come)": (
        ("thrifty_tui.core.policy.mean",), "lambda snap: 0.0"),
    "mean_fits_in_time (mean: members' fits end in time)": (
        ("thrifty_tui.core.policy.mean",), "lambda *a, **k: True"),
    "scores_better (mean: only a better mean is skipped)": (
        ("thrifty_tui.core.policy.mean",), "lambda *a, **k: True"),
    "MEMBER_FIT_ALLOWANCE (mean: past the deadline)": (("thrifty_tui.core.policy.mean",),
                                                       "0.0"),
    "single_fallback (mean: the best single model)": (
        ("thrifty_tui.core.policy.mean",),
        "lambda results, mean: __import__('thrifty_tui.core.records', fromlist=['x'])"
        ".best_result(list(results))"),
}

RUNNER = """
import importlib, sys, pytest
name, modules, source = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
attr = name.split(" ")[0]
class Mutate:
    def pytest_configure(self, config):
        stand_in = eval(source)
        for module in modules:
            setattr(importlib.import_module(module), attr, stand_in)
sys.exit(pytest.main(["-q", "-x", "-n", "0", "-p", "no:cacheprovider", "-p", "no:randomly",
                      *sys.argv[4:]],
                     plugins=[Mutate()]))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", nargs="*", default=TESTS)
    a = parser.parse_args()
    survived = []
    for name, (modules, source) in MUTATIONS.items():
        proc = subprocess.run([sys.executable, "-c", RUNNER, name, ",".join(modules), source,
                               *a.tests], cwd=REPO, capture_output=True, text=True)
        failed = [line.split(" ")[1].split("::")[-1] for line in proc.stdout.splitlines()
                  if line.startswith("FAILED")]
        verdict = "caught by " + ", ".join(failed) if proc.returncode == 1 and failed else (
            "SURVIVED" if proc.returncode == 0 else f"error (pytest exit {proc.returncode})")
        if proc.returncode == 0:
            survived.append(name)
        print(f"{name:<54} {verdict}", flush=True)
    print(f"{len(MUTATIONS) - len(survived)} of {len(MUTATIONS)} rules caught"
          + (f"; survived: {', '.join(survived)}" if survived else ""))
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
