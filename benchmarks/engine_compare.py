"""Engine refactor: thrifty-tui at an old git revision against a new one, in one run (issue 18).

Run: python benchmarks/engine_compare.py --compare OLD_REV [--compare-new NEW_REV]
     [--only NAME ...] [--budgets 10 30] [--repeats N] [--max-load L] [--write]

Each revision runs from its own ``git worktree`` (detached, under benchmarks/_data/
engine_compare/revs/<sha>/tree, gitignored) with its own venv (``pip install -e`` of that
worktree, constrained to the versions of this interpreter's libraries, so scikit-learn, pandas
and numpy are the same on both sides). Both are kept for the next run while the commit is the
same. Without --compare-new the new side is this working tree as it is (uncommitted edits
included; its SHA is then marked "+dirty"), run by this interpreter from this tree.

Only the command line is used (``python -m thrifty_tui run`` and ``predict`` from each
revision's own interpreter, started in its own tree): package internals move between the two.

For each budget B (10 and 30 s by default), each data set (movies, gss, cars, births: the
tuning benchmark's 80/20 split, the same files for both sides) and each repeat, the two sides run
one after the other, alternating which goes first from one pair to the next, so that the
machine's noise falls on both alike. A run is the tuning benchmark's thrifty-tui run: wall from
the process's start to the ``run_finished`` line, holdout score (balanced accuracy or R²) from
``predict`` with the exported bundle, OMP_WAIT_POLICY=PASSIVE. The final model's fit rows are
read from the bundle's manifest.json (``fit_rows`` of ``n_rows``), or from the stream where a
revision reports them there. The machine is shared: the 1-minute load average before each run
is printed beside it.

Goal (issue 18, acceptance 3): the new engine's holdout score at or above the old one's on every
set and budget (the mean over repeats; a run that ends without a model counts below any score),
and wall <= 1.05 x B on every run of both sides.

--write replaces (or adds) the "## Engine refactor: old vs new (issue 18)" section of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import screening as sb
import tuning

REPO = sb.REPO
WORK = REPO / "benchmarks" / "_data" / "engine_compare"
REVS = WORK / "revs"
STATE = WORK / "results.json"
HEADING = "## Engine refactor: old vs new (issue 18)"
DEFAULT_SETS = tuning.DEFAULT_SETS
WALL_LIMIT = 1.05  # x the budget


@dataclass(frozen=True)
class Side:
    """One revision as run: its interpreter and the tree ``python -m thrifty_tui`` starts in."""

    label: str  # old | new
    rev: str  # as given on the command line
    sha: str  # full commit; "+dirty" when uncommitted edits of thrifty_tui/ are run too
    python: str
    tree: str
    pinned: bool  # libraries constrained to this interpreter's versions


# ---------------------------------------------------------------------------------------------
# the revisions


def git(*args: str, cwd: Path = REPO) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=True).stdout.strip()


def pins() -> Path | None:
    """This interpreter's libraries as a pip constraints file (None if pip cannot say)."""
    found = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
                           capture_output=True, text=True, check=False)
    if found.returncode != 0:
        return None
    lines = sorted(x for x in found.stdout.splitlines()
                   if re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==\S+", x)
                   and not x.lower().startswith("thrifty"))
    path = WORK / "constraints.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def checked(side: Side) -> Side:
    """Fail early unless ``side``'s interpreter imports thrifty_tui from ``side.tree``."""
    probe = subprocess.run([side.python, "-c", "import thrifty_tui; print(thrifty_tui.__file__)"],
                           cwd=side.tree, capture_output=True, text=True, check=False)
    where = Path(probe.stdout.strip()).resolve() if probe.returncode == 0 else None
    if where is None or Path(side.tree).resolve() not in where.parents:
        sys.exit(f"{side.label} side ({side.rev}): {side.python} imports thrifty_tui from "
                 f"{where or probe.stderr.strip()[-400:]}, not from {side.tree}")
    return side


def prepared_revision(label: str, rev: str, constraints: Path | None) -> Side:
    """A worktree and venv for ``rev`` under benchmarks/_data (reused for the same commit)."""
    sha = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    base = REVS / sha[:12]
    tree, venv, ready = base / "tree", base / "venv", base / "ready.json"
    python = venv / "bin" / "python"
    digest = hashlib.sha256(constraints.read_bytes()).hexdigest() if constraints else ""
    made = json.loads(ready.read_text()) if ready.exists() else {}
    if made and python.exists() and (tree / ".git").exists() and \
            git("rev-parse", "HEAD", cwd=tree) == sha:
        if made.get("constraints") == digest:
            print(f"{label}: {rev} = {sha[:12]}, reusing {base}", flush=True)
            return checked(Side(label, rev, sha, str(python), str(tree), made["pinned"]))
        print(f"{label}: {rev} = {sha[:12]}, reusing {base}; this interpreter's libraries "
              "changed: reinstalling with its versions", flush=True)
    else:
        print(f"{label}: {rev} = {sha[:12]}, making a worktree and a venv in {base} "
              "(about 1-2 minutes)", flush=True)
        if tree.exists():
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO,
                           capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)
        git("worktree", "prune")
        base.mkdir(parents=True)
        git("worktree", "add", "--detach", str(tree), sha)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pinned = install(label, python, tree, constraints)
    side = checked(Side(label, rev, sha, str(python), str(tree), pinned))
    ready.write_text(json.dumps({"sha": sha, "constraints": digest, "pinned": pinned,
                                 "made": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}))
    return side


def install(label: str, python: Path, tree: Path, constraints: Path | None) -> bool:
    """``pip install -e tree`` into ``python``'s venv, pinned to ``constraints`` if it can be;
    whether it was."""
    command = [str(python), "-m", "pip", "install", "-q", "-e", str(tree)]
    pinned = constraints is not None
    done = subprocess.run(command + (["-c", str(constraints)] if pinned else []),
                          capture_output=True, text=True, check=False)
    if done.returncode != 0 and pinned:  # that revision needs other versions than this one's
        print(f"{label}: pip could not install with this interpreter's versions "
              f"({done.stderr.strip()[-300:]}); installing unpinned", flush=True)
        pinned = False
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{label}: pip install -e {tree} failed: {done.stderr.strip()[-1500:]}")
    # Bytecode now, so that neither side's first run pays for compiling thrifty_tui.
    subprocess.run([str(python), "-m", "compileall", "-q", str(tree / "thrifty_tui")],
                   check=False, capture_output=True)
    return pinned


def current_side() -> Side:
    """This working tree, run by this interpreter from the tree (``python -m`` prefers it)."""
    sha = git("rev-parse", "HEAD")
    if git("status", "--porcelain", "--", "thrifty_tui", "pyproject.toml"):
        sha += "+dirty"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "thrifty_tui")],
                   check=False, capture_output=True)
    return checked(Side("new", "working tree", sha, sys.executable, str(REPO), True))


def forget_revisions() -> None:
    """Remove every cached worktree and venv (--clean)."""
    for tree in REVS.glob("*/tree"):
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO,
                       check=False)
    shutil.rmtree(REVS, ignore_errors=True)
    git("worktree", "prune")


# ---------------------------------------------------------------------------------------------
# the runs


def final_fit(res: dict[str, Any]) -> tuple[str, int | None, int | None]:
    """(final model, rows it was fitted on, rows of the training data) of one run."""
    finished = res.get("run_finished") or {}
    model = finished.get("best_model") or ""
    fit_rows = next((finished[k] for k in ("fit_rows", "final_rows", "final_fit_rows")
                     if isinstance(finished.get(k), int)), None)
    n_rows = finished.get("n_rows") if isinstance(finished.get("n_rows"), int) else None
    try:
        with zipfile.ZipFile(res["bundle"]) as bundle:
            manifest = json.loads(bundle.read("manifest.json"))
        model = manifest.get("model") or model
        fit_rows = manifest.get("fit_rows", fit_rows)
        n_rows = manifest.get("n_rows", n_rows)
    except (KeyError, OSError, ValueError, zipfile.BadZipFile):
        pass  # no bundle (a failed run): what the stream said
    return model, fit_rows, n_rows


def run_one(side: Side, ds: sb.DataSet, budget: float, repeat: int) -> dict[str, Any]:
    out = WORK / ds.name / f"{side.label}-{budget:g}-{repeat}"
    before = sb.load()
    try:
        res = tuning.run_thrifty(ds, budget, python=side.python, cwd=Path(side.tree), out=out)
    except (KeyError, TypeError, ValueError, OSError) as err:  # a field missing: a failed run
        res = {"error": f"{type(err).__name__}: {err}"}
    model, fit_rows, n_rows = final_fit(res)
    return {**res, "load_before": before, "final_model": model, "fit_rows": fit_rows,
            "n_rows": n_rows}


def quiet(max_load: float | None, max_wait: float) -> float:
    """Wait until the 1-minute load average is below ``max_load`` (at most ``max_wait`` s);
    the seconds waited."""
    started = time.time()
    while (max_load is not None and os.getloadavg()[0] >= max_load
           and time.time() - started < max_wait):
        time.sleep(5)
    return time.time() - started


def run_all(old: Side, new: Side, sets: list[sb.DataSet], budgets: list[float], repeats: int,
            state: dict[str, Any], max_load: float | None = None, max_wait: float = 0) -> None:
    pair = 0
    for budget in budgets:  # budget by budget: a run cut short still covers every set
        for ds in sets:
            for repeat in range(repeats):
                waited = quiet(max_load, max_wait)
                if waited >= 1:
                    print(f"waited {waited:.0f} s for the load average ({sb.load()})", flush=True)
                runs = {}
                for side in (old, new) if pair % 2 == 0 else (new, old):
                    runs[side.label] = run_one(side, ds, budget, repeat)
                    r = runs[side.label]
                    print(f"{ds.name} {budget:g} s #{repeat + 1} {side.label}: "
                          f"{score_text(r)} wall/B {ratio_text(r, budget)} "
                          f"{model_text(r)} (load {r['load_before'].split()[0]})"
                          + (f" {r.get('stop_reason', '')[:100]}" if "score" in r else ""),
                          flush=True)
                pair += 1
                state["runs"].append({"set": ds.name, "budget": budget, "repeat": repeat,
                                      "first": next(iter(runs)), "waited": waited, **runs})
                save(state)


# ---------------------------------------------------------------------------------------------
# the report


def save(state: dict[str, Any]) -> None:
    STATE.parent.mkdir(parents=True, exist_ok=True)
    STATE.write_text(json.dumps(state, indent=1, default=str))


def score_text(r: dict[str, Any]) -> str:
    return f"{r['score']:.4f}" if "score" in r else "failed"


def ratio_text(r: dict[str, Any], budget: float) -> str:
    return f"{r['wall'] / budget:.2f}" if r.get("wall") is not None else "-"


def model_text(r: dict[str, Any]) -> str:
    if "score" not in r:
        return (r.get("stop_reason") or r.get("error") or "?")[:80]
    rows = ""
    if r.get("fit_rows") is not None:
        rows = f" ({r['fit_rows']:,}" + (f" of {r['n_rows']:,}" if r.get("n_rows") else "") + \
               " rows)"
    return f"{r['final_model']}{rows}"


def walls_ok(r: dict[str, Any], budget: float) -> bool:
    return r.get("wall") is not None and r["wall"] <= WALL_LIMIT * budget


def table(state: dict[str, Any]) -> tuple[list[str], str]:
    """The markdown table (one row per pair of runs) and the summary line."""
    lines = [("| set | B | old score | new score | new − old | old wall/B | new wall/B | "
              "old final model (fit rows) | new final model (fit rows) | load before old / new |"),
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |"]
    cells: dict[tuple[str, float], list[tuple[float | None, float | None]]] = {}
    wall_ok = {"old": 0, "new": 0}
    for run in state["runs"]:
        old, new, budget = run["old"], run["new"], run["budget"]
        both = "score" in old and "score" in new
        diff = f"{100 * (new['score'] - old['score']):+.2f} pt" if both else "-"
        name = run["set"] + (f" #{run['repeat'] + 1}" if state.get("repeats", 1) > 1 else "")
        lines.append(f"| {name} | {budget:g} s | {score_text(old)} | {score_text(new)} | {diff} | "
                     f"{ratio_text(old, budget)} | {ratio_text(new, budget)} | "
                     f"{model_text(old)} | {model_text(new)} | "
                     f"{old['load_before'].split()[0]} / {new['load_before'].split()[0]} |")
        cells.setdefault((run["set"], budget), []).append((old.get("score"), new.get("score")))
        wall_ok["old"] += walls_ok(old, budget)
        wall_ok["new"] += walls_ok(new, budget)
    below = [f"{name} at {budget:g} s" for (name, budget), scores in cells.items()
             if not new_at_or_above(scores)]
    n_runs = len(state["runs"])
    summary = (f"New at or above old on {len(cells) - len(below)} of {len(cells)} (set, budget)"
               + (" (mean over repeats)" if state.get("repeats", 1) > 1 else "")
               + (f", not on {', '.join(below)}" if below else "")
               + f"; wall <= {WALL_LIMIT} x B: old {wall_ok['old']} of {n_runs} runs, new "
               f"{wall_ok['new']} of {n_runs}.")
    return lines, summary


def new_at_or_above(scores: list[tuple[float | None, float | None]]) -> bool:
    """Mean new score >= mean old score; a failed run (None) is below any score."""
    if any(n is None for _, n in scores):
        return False
    if any(o is None for o, _ in scores):
        return True
    return sum(n for _, n in scores) >= sum(o for o, _ in scores)  # type: ignore[misc]


def render(state: dict[str, Any]) -> str:
    old, new = state["old"], state["new"]
    rows, summary = table(state)
    pinned = ("the same library versions on both sides (the old venv constrained to the "
              "new side's)" if old["pinned"] and new["pinned"] else
              "library versions NOT pinned alike: pip could not install the old revision with "
              "the new side's versions")
    how = "\n\n".join(__doc__.split("\n\n")[2:6]).strip()
    return "\n".join([
        HEADING, "",
        f"Run: `python benchmarks/engine_compare.py {state['args']}` ({state['date']}).", "",
        f"Old: `{old['rev']}` = {old['sha']}. New: `{new['rev']}` = {new['sha']}; {pinned}.",
        "", f"Machine: {state['machine']}.",
        (f"Load average (1, 5, 15 min) at the start: {state['load_start']}; at the end: "
         f"{state.get('load_end', '?')} (a shared machine: other developers' tests and "
         "benchmarks were running)."), "", how, "", *rows, "", summary, ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--compare", metavar="OLD_REV", help="the old revision (e.g. main~3)")
    parser.add_argument("--compare-new", metavar="NEW_REV",
                        help="the new revision (default: this working tree, as it is)")
    parser.add_argument("--only", nargs="*", help="data sets (default: movies gss cars births)")
    parser.add_argument("--budgets", nargs="*", type=float, default=[10.0, 30.0])
    parser.add_argument("--repeats", type=int, default=1, help="runs of each side per set and B")
    parser.add_argument("--max-load", type=float,
                        help="before each pair, wait until the 1-minute load average is below "
                             "this (a shared machine; at most --max-wait s)")
    parser.add_argument("--max-wait", type=float, default=300.0)
    parser.add_argument("--write", action="store_true", help="write the section of RESULTS.md")
    parser.add_argument("--render", action="store_true",
                        help="only print (and with --write, write) the last run's table")
    parser.add_argument("--clean", action="store_true", help="remove the cached worktrees/venvs")
    a = parser.parse_args()
    if a.clean:
        forget_revisions()
        return
    if a.render:
        state = json.loads(STATE.read_text())
    else:
        if not a.compare:
            parser.error("--compare OLD_REV is needed")
        names = a.only or list(DEFAULT_SETS)
        sets = [ds for ds in sb.DATASETS if ds.name in names]
        constraints = pins()
        old = prepared_revision("old", a.compare, constraints)
        new = (prepared_revision("new", a.compare_new, constraints) if a.compare_new
               else current_side())
        for ds in sets:
            tuning.prepare(ds)
        state = {"args": " ".join(sys.argv[1:]), "old": asdict(old), "new": asdict(new),
                 "repeats": a.repeats, "machine": sb.machine(), "load_start": sb.load(),
                 "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "runs": []}
        save(state)
        started = time.time()
        run_all(old, new, sets, a.budgets, a.repeats, state, a.max_load, a.max_wait)
        state["load_end"] = sb.load()
        state["minutes"] = round((time.time() - started) / 60, 1)
        save(state)
    text = render(state)
    print("\n" + text + (f"\nWhole comparison: {state['minutes']} min." if "minutes" in state
                         else ""))
    if a.write:
        tuning.write_section(text, HEADING)
        print(f"wrote {tuning.RESULTS}")


if __name__ == "__main__":
    main()
