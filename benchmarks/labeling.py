"""Labeling benchmark (issue 6): key -> next item latency through the real label screen with
durable writes, and an oracle simulation of labels needed, uncertainty order vs random order.

    python benchmarks/labeling.py [--labels 300] [--seeds 5] [--quick] [--write]

Latency: the real app (headless driver, 80x24, the real worker thread writing to SQLite with
WAL + synchronous=FULL) labels ``--labels`` items of sample_data/movies.csv with the true
Comedy flag. Two clocks per key, both the screen's own: key -> next item painted
(``latencies_ms``) and key -> its "saved ✓" painted (``ack_ms``: Label job -> commit ->
LabelSaved -> render -> refresh done). The labeling model refits in a child meanwhile.

Oracle simulation: the app's policy, replayed without the UI: 10 random items first, then a
refit after every max(5, 10 %) new labels, the queue ordered by margin with every 10th item
random (the control slice), the same cheap model (core.active). A held-out test set scores the
model after each refit (balanced accuracy); "labels needed" is the first count whose score
reaches 95 % of the score of the model trained on the whole pool. Random order = the same model
on labels in random order.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from thrifty_tui.config import SAMPLE_DIR, make_settings
from thrifty_tui.core.tasks import active
from thrifty_tui.core.store.labels import LabelStore
from thrifty_tui.core.store.workspace import Workspace

RESULTS = REPO / "benchmarks" / "RESULTS.md"
HEADING = "## Labeling (issue 6)"
SHARED = Path("/work/shared/data")
CAP = 3000  # labels at most per simulated run


# -- latency through the real screen ----------------------------------------------------------
async def screen_latency(n_labels: int) -> dict:
    from thrifty_tui.tui.app import create_app

    truth = pd.read_csv(SAMPLE_DIR / "movies.csv").Comedy
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(make_settings(tmp, path=str(SAMPLE_DIR / "movies.csv"),
                                       labels=("comedy", "other"), max_procs=1,
                                       animations=False))
        async with app.run_test(size=(80, 24)) as pilot:
            while app.state.labeling is None or app.state.labeling.saved is None \
                    or app.screen._shown is None:
                await pilot.pause(0.05)
            screen = app.screen
            started = time.monotonic()
            refits = 0
            for i in range(n_labels):
                item = screen.current()
                await pilot.press("1" if truth[item] else "2")
                while len(screen.latencies_ms) <= i or len(screen.ack_ms) <= i:
                    await pilot.pause(0.001)
                await pilot.pause(0.02)  # a (very) fast human: ~40 labels per second at most
            elapsed = time.monotonic() - started
            learning = app.state.labeling.learning
            refits = learning.n_labels if learning else 0
            lat = sorted(screen.latencies_ms)
            ack = sorted(screen.ack_ms)
            cpu = sorted(screen.paint_cpu_ms)
    return {"n": len(lat), "p50": pct(lat, 50), "p95": pct(lat, 95), "p99": pct(lat, 99),
            "max": lat[-1], "ack_p50": pct(ack, 50), "ack_p95": pct(ack, 95),
            "ack_p99": pct(ack, 99), "ack_max": ack[-1], "cpu_p50": pct(cpu, 50),
            "cpu_p95": pct(cpu, 95), "cpu_p99": pct(cpu, 99), "cpu_max": cpu[-1],
            "elapsed": elapsed,
            "learning": learning, "last_refit_n": refits}


def commit_latency(n: int = 500) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws")
        store = LabelStore(ws.db)
        info = store.create_set("x", "label", "", 1000, 1000, 0, "s")
        times = []
        for i in range(n):
            t = time.perf_counter()
            store.append(info.id, "label", i, "yes", "random")
            times.append((time.perf_counter() - t) * 1000)
        ws.close()
    times.sort()
    return {"p50": pct(times, 50), "p95": pct(times, 95), "max": times[-1]}


def wait_for_quiet(below: float, patience: float) -> float:
    """The 1-minute load average once it is below ``below`` (or after ``patience`` s)."""
    deadline = time.monotonic() + patience
    while os.getloadavg()[0] >= below and time.monotonic() < deadline:
        time.sleep(5)
    return os.getloadavg()[0]


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


# -- oracle simulation ------------------------------------------------------------------------
def features(frame: pd.DataFrame):
    from thrifty_tui.core.learn.features import linear_features
    from thrifty_tui.core.records import USABLE_ROLES
    from thrifty_tui.core.data.schema import infer_schema

    schema = [c for c in infer_schema(frame) if c.role in USABLE_ROLES]
    return linear_features(schema).fit_transform(frame[[c.name for c in schema]])


def simulate(X, y, pool: list[int], test, order: str, seed: int, target: float,
             start: int = 10, cap: int = 3000) -> tuple[int | None, list[tuple[int, float]]]:
    """Labels needed to reach ``target`` when labeling in the app's order (or randomly)."""
    from sklearn.metrics import balanced_accuracy_score

    rng = np.random.default_rng(seed)
    shuffled = [pool[i] for i in rng.permutation(len(pool))]
    labeled, rest = shuffled[:start], shuffled[start:]
    curve = []
    while True:
        model = active.fit(X[labeled], y[labeled], seed)
        score = balanced_accuracy_score(y[test], model.predict(X[test])) if model else 0.0
        curve.append((len(labeled), score))
        if score >= target:
            return len(labeled), curve
        if not rest or len(labeled) >= cap:
            return None, curve
        batch = max(5, len(labeled) // 10)  # the app refits after max(5, 10 %) new labels
        if order == "uncertainty" and model is not None:
            margin, _, _ = active.margins(model, X[rest])
            pick, _ = active.uncertainty_order(margin, rest, seed + len(labeled), top=batch)
        else:
            pick = rest[:batch]
        chosen = set(pick)
        labeled += pick
        rest = [r for r in rest if r not in chosen]


def oracle(name: str, X, y, seeds: int, n_pool: int, n_test: int) -> dict:
    from sklearn.metrics import balanced_accuracy_score

    y = np.asarray(y).astype(str)
    rows = []
    for seed in range(seeds):
        idx = np.random.default_rng(100 + seed).permutation(len(y))
        pool, test = [int(i) for i in idx[:n_pool]], idx[n_pool:n_pool + n_test]
        full = balanced_accuracy_score(y[test], active.fit(X[pool], y[pool], seed).predict(X[test]))
        target = 0.95 * full
        t = time.monotonic()
        unc, _ = simulate(X, y, pool, test, "uncertainty", seed, target)
        rnd, _ = simulate(X, y, pool, test, "random", seed, target)
        rows.append((full, unc, rnd))
        print(f"  {name} seed {seed}: full-pool {full:.3f}, labels to 95 %: uncertainty {unc}, "
              f"random {rnd}  ({time.monotonic() - t:.0f} s)", flush=True)
    return {"name": name, "rows": rows, "n_pool": n_pool, "n_test": n_test}


def datasets(quick: bool):
    """(name, description, X, y, pool, test): one free-text set, one tabular, and the weak ones."""
    from sklearn.datasets import load_digits

    pets = pd.read_csv(SHARED / "openintro_seattlepets.csv.gz")
    pets = pets[pets.species.isin(["Dog", "Cat"])].reset_index(drop=True)
    text = (pets.animal_name.fillna("") + " " + pets.primary_breed.fillna("") + " "
            + pets.secondary_breed.fillna(""))
    yield ("seattle pets (text)", ("free text: a licence's pet name + breeds, as one TF-IDF "
           "text column → Dog / Cat (51,496 rows)"), features(pd.DataFrame({"text": text})),
           pets.species.values, 4000, 5000)
    digits = load_digits(as_frame=True).frame
    yield ("digits (tabular)", ("tabular: scikit-learn's digits, 64 numeric columns → 10 "
           "classes (1,797 rows)"), features(digits.drop(columns=["target"])), digits.target.values,
           1200, 597)
    if quick:
        return
    gss = pd.read_csv(SHARED / "stevedata_gss_wages.csv.gz")
    gss = gss[gss.gender.notna()].reset_index(drop=True)
    yield ("gss wages (tabular, weak)", ("tabular: GSS wages survey, 10 mixed columns → "
           "gender (61,697 rows)"), features(gss.drop(columns=["gender", "rownames"])),
           gss.gender.values, 4000, 5000)
    movies = pd.read_csv(SHARED / "ggplot2movies_movies.csv.gz")
    yield ("movie titles (text, weak)", "free text: ggplot2movies title → Drama (58,788 rows)",
           features(movies[["title"]]), movies.Drama.values, 3000, 5000)


# -- report -----------------------------------------------------------------------------------
def machine() -> str:
    model = "?"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True,
                                   check=False).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import sklearn
    import textual

    return (f"{os.cpu_count()} cores, {model}, {ram:.0f} GiB RAM; Python "
            f"{platform.python_version()}, Textual {textual.__version__}, scikit-learn "
            f"{sklearn.__version__}, SQLite {__import__('sqlite3').sqlite_version}")


def report(latency: dict, commit: dict, studies: list[dict], load: tuple[float, float]) -> str:
    lines = [f"Machine: {machine()}.",
             (f"1-minute load average: {load[0]:.2f} before the latency run, {load[1]:.2f} at "
              f"the end (a shared machine: other developers' tests were running)."), "",
             "### Key → next item, through the real screen",
             "",
             (f"{latency['n']} labels of sample_data/movies.csv at 80x24 (headless driver, "
              f"real screen, real worker and SQLite with WAL + synchronous=FULL; the model "
              f"refit in a child meanwhile). Clocks are the screen's own: from the key's "
              f"action to the frame that shows the next item, and to the \"saved ✓\" for it. "
              f"The next item is shown at once from the queue head the worker sent; the key's "
              f"label is committed by the worker and only then marked saved."),
             "",
             "| | p50 | p95 | p99 | max |", "| --- | ---: | ---: | ---: | ---: |",
             (f"| key → next item painted (ms) | {latency['p50']:.1f} | {latency['p95']:.1f} | "
              f"{latency['p99']:.1f} | {latency['max']:.1f} |"),
             (f"| of which the UI thread's own CPU, submit → paint (ms) | "
              f"{latency['cpu_p50']:.1f} | {latency['cpu_p95']:.1f} | {latency['cpu_p99']:.1f} | "
              f"{latency['cpu_max']:.1f} |"),
             (f"| key → its label committed and \"saved ✓\" rendered (ms) | "
              f"{latency['ack_p50']:.1f} | {latency['ack_p95']:.1f} | {latency['ack_p99']:.1f} | "
              f"{latency['ack_max']:.1f} |"),
             (f"| one label commit alone, 500 in a row (ms) | {commit['p50']:.2f} | "
              f"{commit['p95']:.2f} | | {commit['max']:.2f} |"),
             "",
             (f"Goal p95 ≤ 16 ms key → next item: {'met' if latency['p95'] <= 16 else 'NOT met'}"
              f" ({latency['p95']:.1f} ms); the acknowledgement p95 is "
              f"{latency['ack_p95']:.1f} ms.")]
    lu = latency["learning"]
    if lu is not None:
        lines.append(f"Model after the run: {lu.metric} {lu.score:.2f} at {lu.n_labels} labels "
                     f"({lu.estimate}); advice: {lu.advice}.")
    lines += ["", "### Labels needed to reach 95 % of the full-pool score",
              "",
              ("| data set | pool / test rows | full-pool score | uncertainty order | random "
               "order | fewer labels |"), "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for study in studies:
        fulls = [r[0] for r in study["rows"]]
        unc = [r[1] for r in study["rows"]]
        rnd = [r[2] for r in study["rows"]]
        fewer = 1 - median_labels(unc) / median_labels(rnd)
        lines.append(f"| {study['name']} | {study['n_pool']:,} / {study['n_test']:,} | "
                     f"{statistics.median(fulls):.3f} | {show_labels(unc)} | "
                     f"{show_labels(rnd)} | "
                     f"{f'{fewer:.0%}' if fewer >= 0 else f'none ({-fewer:.0%} more)'} |")
    lines += ["", ("Medians over seeds (each seed: its own pool/test split and random order); "
                   "in brackets, each seed; a run that never got there counts as the cap "
                   f"({CAP:,}). Goal: ≥ 40 % fewer labels with uncertainty order."),
              "", "Data sets:"]
    lines += [f"- {s['name']}: {s['description']}" for s in studies]
    lines += ["", NOTES]
    return "\n".join(lines)


NOTES = """How a key is made durable without waiting for the disk: the screen already holds the
queue head the worker sent (the next six items), so a key shows the next item at once and hands
a Label job, naming the item that was on screen, to the worker thread; the worker appends the
event to SQLite (WAL, synchronous=FULL, its own transaction) and only then emits LabelSaved, and
only that makes the status line say "saved ✓ N · row R → label". A kill -9 loses at most the
keys still shown as "saving n…", never one that was acknowledged (tests/tui/test_label_kill.py).
The other design, committing before showing the next item, was built first and measured (same
day, same machine): p50 about 10 ms, p95 21-26 ms, the commit alone 4-11 ms at p95 under disk
contention; and with it a key typed ahead labels an item the user has not seen yet.

Where a key's time goes: the frame that shows the next item (Textual's compositor: the card's
~15 lines are most of it; a layout pass is avoided unless the card's height changes); the card's
border title is not used for the per-item note because changing it repaints the whole card.
gc.freeze() after opening keeps up to 100,000 records out of the collector's full passes (one
took 96 ms before). The UI thread's own CPU time (in the table) is the part that does not depend
on the machine's load: at a load of 6-8 the same run gave p50 14-17 ms, p95 23-28 ms. (The
latency run labels movies.csv with its own Comedy column, which is also a feature: hence the
perfect model score; it measures keys, not learning.)

Oracle simulation caveat: "95 % of the full-pool score" is a low bar when the full-pool score is
near chance (movie titles → Drama: 0.54 balanced accuracy), and there the first noisy model that
crosses it decides; uncertainty order does not help on such weak signals (nor on GSS gender
here). It pays where the cheap model learns the task: the first two data sets above."""


def median_labels(values: list[int | None]) -> float:
    return statistics.median(v if v is not None else CAP for v in values)


def show_labels(values: list[int | None]) -> str:
    each = ", ".join(str(v) if v is not None else f">{CAP}" for v in values)
    return f"{median_labels(values):.0f} ({each})"


def write_results(text: str) -> None:
    """Replace (or add) this benchmark's section of RESULTS.md, leaving the others alone."""
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    section = (f"{HEADING}\n\nRun: `python benchmarks/labeling.py --write` "
               f"({time.strftime('%Y-%m-%d')}).\n\n{text}\n")
    if HEADING in old:
        head, rest = old.split(HEADING, 1)
        tail = rest[rest.find("\n## "):] if "\n## " in rest else ""
        new = head + section + tail
    else:
        new = old.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(new)
    print(f"wrote {RESULTS}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=300, help="labels for the latency run")
    parser.add_argument("--seeds", type=int, default=5, help="seeds of the oracle simulation")
    parser.add_argument("--quick", action="store_true", help="skip the weak-signal data sets")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    parser.add_argument("--quiet-load", type=float, default=1.5,
                        help="before the latency run wait for a 1-minute load average below this …")
    parser.add_argument("--patience", type=float, default=300, help="… for at most this (s)")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # as in the app's children
    load_before = wait_for_quiet(args.quiet_load, args.patience)
    print(f"latency through the real screen (load {load_before:.2f}) …", flush=True)
    latency = asyncio.run(screen_latency(args.labels))
    commit = commit_latency()
    print(f"  key -> next item: p50 {latency['p50']:.1f} ms, p95 {latency['p95']:.1f} ms, "
          f"max {latency['max']:.1f} ms; key -> saved: p50 {latency['ack_p50']:.1f} ms, p95 "
          f"{latency['ack_p95']:.1f} ms; commit p50 {commit['p50']:.2f} ms", flush=True)
    studies = []
    for name, description, X, y, n_pool, n_test in datasets(args.quick):
        print(f"oracle simulation: {name} …", flush=True)
        study = oracle(name, X, y, args.seeds if "weak" not in name else min(3, args.seeds),
                       n_pool, n_test)
        study["description"] = description
        studies.append(study)
    text = report(latency, commit, studies, (load_before, os.getloadavg()[0]))
    print("\n" + text)
    if args.write:
        write_results(text)


if __name__ == "__main__":
    main()
