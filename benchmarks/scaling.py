"""The same screening on this machine's children and on a Dask LocalCluster(2) (issue 22).

Run: python benchmarks/scaling.py [--data PATH --target COL] [--zoo quick|TOML] [--workers 2]
                                  [--repeat 2] [--json]

Both executors run the same Screen job (same seed, no time budget, no tuning) ``--repeat``
times, interleaved (local, cluster, local, cluster, ...), each in its own workspace; the first
run of each pays for starting its processes. Printed: the connect time of the cluster, each
run's wall (submit to RunFinished), the ratio cluster / local of the best walls, whether the
leaderboards are equal, and the bytes that crossed to and from the cluster (payloads: the
problem's broadcast, each fit's arguments, the fit records and out-of-fold files).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import sys
import tempfile
import time
from pathlib import Path

from responsiveness import machine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from thrifty_tui.config import SAMPLE_DIR  # noqa: E402

DEFAULT_DATA = (str(SAMPLE_DIR / "gss_wages.csv"), "gender")


def _wait(events: queue.Queue, kinds: tuple[str, ...], timeout: float = 600.0):
    """Every event up to the first whose name is in ``kinds``."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        event = events.get(timeout=max(0.1, deadline - time.monotonic()))
        seen.append(event)
        if event.name in kinds:
            return seen


def _board(events) -> dict:
    return {e.result.model: [e.result.status, [round(s, 10) for s in e.result.fold_scores]]
            for e in events if e.name == "model"}


def run(args: argparse.Namespace) -> dict:
    from thrifty_tui.engine.jobs import ConnectCluster, Screen
    from thrifty_tui.engine.worker import Worker

    job = Screen(path=args.data, target=args.target, seed=0, tune=False,
                 zoo_path=None if args.zoo == "quick" else args.zoo)
    if args.zoo == "quick":
        os.environ["THRIFTY_ZOO"] = "quick"  # what default_zoo() screens
    root = Path(tempfile.mkdtemp(prefix="thrifty-scaling-"))
    engines = {}
    for kind in ("local", "cluster"):
        events: queue.Queue = queue.Queue()
        worker = Worker(root / kind, events.put, max_procs=args.workers).start()
        engines[kind] = (worker, events)
    worker, events = engines["cluster"]
    began = time.monotonic()
    worker.submit(ConnectCluster(f"local:{args.workers}"))
    changed = _wait(events, ("executor", "error"))[-1]
    connect_s = time.monotonic() - began
    if changed.name == "error":
        raise SystemExit(f"cannot start the LocalCluster: {changed.message}")
    walls: dict[str, list[float]] = {"local": [], "cluster": []}
    boards: dict[str, dict] = {}
    best: dict[str, str] = {}
    for _ in range(args.repeat):
        for kind in ("local", "cluster"):
            worker, events = engines[kind]
            began = time.monotonic()
            worker.submit(job)
            seen = _wait(events, ("run_finished", "error"))
            walls[kind].append(round(time.monotonic() - began, 2))
            if seen[-1].name == "error":
                raise SystemExit(f"{kind} run failed: {seen[-1].message}")
            boards[kind], best[kind] = _board(seen), seen[-1].best_model
    cluster = engines["cluster"][0].executor
    sent, received = cluster.bytes_sent, cluster.bytes_received
    fits, problem = cluster.fits_sent, cluster.problem_bytes
    for worker, _ in engines.values():
        worker.shutdown(timeout=60)
    return {
        "data": f"{Path(args.data).name} ({args.target})", "zoo": args.zoo,
        "workers": args.workers, "connect_s": round(connect_s, 2), "walls": walls,
        "ratio_cluster_over_local": round(min(walls["cluster"]) / min(walls["local"]), 2),
        "same_leaderboard": boards["local"] == boards["cluster"]
        and best["local"] == best["cluster"], "best": best["cluster"],
        "models": len(boards["cluster"]), "bytes_sent": sent, "bytes_received": received,
        "bytes_per_run": round((sent + received) / args.repeat),
        "tasks_sent": fits, "problem_bytes": problem,
        "load_before": os.getloadavg()[0], "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA[0])
    parser.add_argument("--target", default=DEFAULT_DATA[1])
    parser.add_argument("--zoo", default="quick", help="quick (the default) or a zoo TOML")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    out = run(args)
    out["load_before"], out["load_after"] = round(load, 2), round(os.getloadavg()[0], 2)
    if args.json:
        print(json.dumps(out))
        return
    print(f"{out['machine']}; load average {out['load_before']} before, {out['load_after']} "
          "after")
    print(f"{out['data']}, zoo {out['zoo']}, {out['models']} models, no budget, no tuning")
    print(f"LocalCluster({out['workers']}) started and connected in {out['connect_s']} s")
    for kind in ("local", "cluster"):
        print(f"  {kind:<8} walls: {', '.join(f'{w:.2f} s' for w in out['walls'][kind])}")
    print(f"  ratio cluster / local (best walls): {out['ratio_cluster_over_local']}")
    print(f"  same leaderboard and best model: {out['same_leaderboard']} ({out['best']})")
    print(f"  over the wire: {out['bytes_sent']:,} B sent, {out['bytes_received']:,} B "
          f"received ({out['bytes_per_run']:,} B per run); {out['tasks_sent']} tasks (fits and "
          f"warm-ups) for a problem of {out['problem_bytes']:,} B")


if __name__ == "__main__":
    main()
