"""Responsiveness of thrifty-tui: time to first paint and event-loop lag while models train.

Run: python benchmarks/responsiveness.py [--quick]

1. First paint: `thrifty-tui` and a bare Textual app are each started in a pseudo-terminal;
   the time from spawn to the first frame that shows their title is the first-paint time
   (median of N interleaved starts, after one warm-up start of each; bytecode caches on, as
   a user's Python has them). Goal: thrifty-tui <= 1.3x the bare app.
2. Event-loop lag: the real app runs headless; a probe coroutine sleeps 5 ms in a loop and
   records how late it wakes while a screening run trains (fits in loky child processes).
   The same probe is run while idle (the floor) and while the same fits run in a plain thread
   of the app's own process (the alternative the architecture avoids). Goal: p99 <= 16 ms,
   max <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BARE_APP = '''
from textual.app import App
from textual.widgets import Footer, Static
class Bare(App):
    def compose(self):
        yield Static("bare textual app ready")
        yield Footer()
Bare().run()
'''


def first_paint_seconds(argv: list[str], marker: bytes, timeout: float = 30.0,
                        env: dict[str, str] | None = None) -> float:
    """Seconds from spawn until ``marker`` appears on the pseudo-terminal."""
    pid, fd = pty.fork()
    if pid == 0:  # child
        # As a user's Python runs it: bytecode is cached (pip compiles what it installs, and an
        # editable project's modules are compiled on their first import). A shell that sets
        # PYTHONDONTWRITEBYTECODE would make thrifty's own modules compile from source on
        # every start (~40 ms) while Textual's come from pip's caches.
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ.update(env or {})
        os.environ["COLUMNS"], os.environ["LINES"] = "100", "30"
        os.execvp(argv[0], argv)
    started = time.perf_counter()
    seen = b""
    try:
        while time.perf_counter() - started < timeout:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    seen += os.read(fd, 65536)
                except OSError:
                    break
                if marker in seen:
                    return time.perf_counter() - started
        raise RuntimeError(f"{argv} did not paint {marker!r} in {timeout} s")
    finally:
        # The app's session holds child processes it may have started (the worker's pool);
        # kill them all and let them go, so no start-up overlaps the next measurement.
        try:
            os.killpg(pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
        _wait_until_gone(pid)


def _wait_until_gone(pgid: int, timeout: float = 10.0) -> None:
    """Wait until no process of group ``pgid`` is left (orphans are reaped by init)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        alive = False
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[2]) == pgid and fields[0] != "Z":
                    alive = True
                    break
        if not alive:
            return
        time.sleep(0.05)


def measure_first_paint(repeats: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE_APP)
        sample = str(REPO / "sample_data" / "movies.csv")
        thrifty = [sys.executable, "-m", "thrifty_tui", "--workspace", str(Path(tmp) / "ws"),
                   "open", sample, "--target", "Comedy"]
        out: dict[str, list[float]] = {"bare textual": [], "thrifty-tui": []}
        # One start of each first, not counted: it writes the bytecode caches and warms the
        # file cache, as any earlier start on a user's machine has.
        first_paint_seconds([sys.executable, str(bare)], b"bare textual app ready")
        first_paint_seconds(thrifty, b"Load data")
        for _ in range(repeats):  # interleaved, so drift hits both alike
            out["bare textual"].append(first_paint_seconds([sys.executable, str(bare)],
                                                           b"bare textual app ready"))
            out["thrifty-tui"].append(first_paint_seconds(thrifty, b"Load data"))
        return out


class LagProbe:
    """Sleeps ``interval`` in a loop on the app's event loop and records each late wake-up."""

    def __init__(self, interval: float = 0.005):
        self.interval = interval
        self.samples: list[float] = []
        self.recording = False

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(self.interval)
            late = time.perf_counter() - before - self.interval
            if self.recording:
                self.samples.append(max(late, 0.0) * 1000)


def summary(samples: list[float]) -> str:
    if not samples:
        return "no samples"
    ordered = sorted(samples)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return (f"p50 {p(0.50):6.2f} ms  p99 {p(0.99):6.2f} ms  max {ordered[-1]:6.2f} ms  "
            f"(n={len(samples)})")


async def lag_during_screening(data: str, target: str, idle_seconds: float) -> dict[str, list[float]]:
    from thrifty_tui.config import make_settings
    from thrifty_tui.tui.app import create_app

    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(make_settings(str(Path(tmp) / "ws"), path=data, target=target,
                                       animations=False))
        async with app.run_test(size=(100, 30)) as pilot:
            probe = LagProbe()
            stop = asyncio.Event()
            task = asyncio.create_task(probe.run(stop))
            while app.state.dataset is None:
                await pilot.pause(0.05)
            await pilot.pause(1.0)  # let start-up imports in the worker settle
            probe.recording = True
            await asyncio.sleep(idle_seconds)
            probe.recording = False
            results["idle (floor)"] = probe.samples
            probe.samples = []
            await pilot.press("s")
            probe.recording = True
            while app.state.finished is None:
                await pilot.pause(0.05)
            probe.recording = False
            results["screening in child processes"] = probe.samples
            elapsed = app.state.finished.elapsed_s

            # The alternative: the same fits in a thread of this process (GIL shared with UI).
            probe.samples = []
            from thrifty_tui.core.data.tables import load_table
            from thrifty_tui.core.learn.screening import evaluate, make_problem
            from thrifty_tui.core.learn.zoo import models_for

            problem = make_problem(load_table(data).frame, target)
            fits = threading.Thread(
                target=lambda: [evaluate(s, problem) for s in models_for(problem.task)])
            probe.recording = True
            fits.start()
            while fits.is_alive():
                await pilot.pause(0.05)
            probe.recording = False
            results["same fits in a thread of the app"] = probe.samples
            stop.set()
            await task
    results["_elapsed"] = [elapsed]
    return results


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller data")
    parser.add_argument("--starts", type=int, default=None,
                        help="interleaved starts of each app for first paint (default 7; 3 quick)")
    parser.add_argument("--paint-only", action="store_true", help="first paint only, no lag")
    parser.add_argument("--data", default=None, help="CSV to screen (default: a 20k-row slice "
                                                       "of the shared movies set or the sample)")
    parser.add_argument("--target", default="Comedy")
    parser.add_argument("--bundle", action="store_true",
                        help="also measure the lag while a big model's bundle is written "
                             "(runs benchmarks/bundle_lag.py: a random forest on 200k rows)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    repeats = args.starts or (3 if args.quick else 7)
    paint = measure_first_paint(repeats)
    bare, ours = statistics.median(paint["bare textual"]), statistics.median(paint["thrifty-tui"])
    print(f"first paint, median of {repeats}: bare textual {bare * 1000:.0f} ms, "
          f"thrifty-tui {ours * 1000:.0f} ms, ratio {ours / bare:.2f}x (goal <= 1.3x)")
    pairs = sorted(t / b for t, b in zip(paint["thrifty-tui"], paint["bare textual"], strict=True))
    print(f"  ratio of each interleaved pair: min {pairs[0]:.2f}, median "
          f"{statistics.median(pairs):.2f}, max {pairs[-1]:.2f}")
    if args.paint_only:
        return

    data = args.data
    if data is None:
        shared = REPO.parent / "shared" / "data" / "ggplot2movies_movies.csv.gz"
        data = str(REPO / "sample_data" / "movies.csv")
        if shared.exists() and not args.quick:
            import pandas as pd

            cols = ["title", "year", "length", "budget", "rating", "votes", "mpaa", "Action",
                    "Animation", "Drama", "Documentary", "Romance", "Short", "Comedy"]
            out = Path(tempfile.gettempdir()) / "thrifty-bench-movies-20k.csv"
            pd.read_csv(shared)[cols].sample(20_000, random_state=0).to_csv(out, index=False)
            data = str(out)
    lag = asyncio.run(lag_during_screening(data, args.target, idle_seconds=2.0))
    elapsed = lag.pop("_elapsed")[0]
    print(f"event-loop lag (5 ms probe) on {Path(data).name}, screening took {elapsed:.1f} s:")
    for name, samples in lag.items():
        print(f"  {name:<34} {summary(samples)}")
    print("goal: screening in child processes p99 <= 16 ms, max <= 50 ms")
    if args.bundle:
        subprocess.run([sys.executable, str(Path(__file__).with_name("bundle_lag.py"))]
                       + (["--quick"] if args.quick else []), check=True)


if __name__ == "__main__":
    main()
