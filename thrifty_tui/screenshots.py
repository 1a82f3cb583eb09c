"""Regenerate ``screenshots/`` (and so the README's pictures) by driving the real app.

    python -m thrifty_tui.screenshots [--out DIR] [--size 80x24 ...]

One real screening of the bundled movies sample (seed 0, done rules set on the Budget screen
first), and every screen at every size from it, the terminal resized between the shots: the
Load screen, the help, the leaderboard live and done, the diagnostics, the export dialog, the
budget dashboard, the runs view and the label screen. At 100x30 the files have no suffix (the
README shows them); other sizes add ``-WxH``. A few minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from thrifty_tui.config import SAMPLE_DIR, make_settings

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "screenshots"
README_SIZE = (100, 30)
DEFAULT_SIZES = (README_SIZE, (80, 24), (120, 40), (200, 60))
# Rules that do not stop the run early: a rule that stops it (time, target, patience) kills
# the fits in flight and, with them, the best model's diagnostics (see the report of issue 21),
# and the pictures need them. A fit limit it does not reach and the cost meter's price.
RULES = "max_fits=400 price_per_cpu_hour=0.05"


async def wait_for(pilot, condition: Callable[[], bool], timeout: float = 600.0,
                   required: bool = True) -> None:
    """Let the app run until ``condition()`` holds (or ``timeout`` s pass: an error when
    ``required``, else a line on stderr)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            if required:
                raise TimeoutError(f"the app did not get there in {timeout:.0f} s")
            print(f"waited {timeout:.0f} s; going on", file=sys.stderr)
            return
        await pilot.pause(0.05)


async def shoot(sizes: Sequence[tuple[int, int]], out: Path) -> list[Path]:
    """Every screen at each of ``sizes`` from one real run; the files written."""
    from thrifty_tui.tui.app import create_app

    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        # The sample by its path in the repository: the pictures show no local folder.
        os.chdir(REPO)
        app = create_app(make_settings(str(Path(tmp) / "ws"),
                                       path=str(SAMPLE_DIR.relative_to(REPO) / "movies.csv"),
                                       target="Comedy", seed=0, animations=False))

        async def save(pilot, name: str) -> None:
            """``name`` at every size (the app laid out again at each), then the first size."""
            for size in sizes:
                await pilot.resize_terminal(*size)
                await pilot.pause(0.3)
                app.clear_notifications()  # toasts of the moment, not of the screen
                await pilot.pause(0.05)
                suffix = "" if size == README_SIZE else f"-{size[0]}x{size[1]}"
                path = out / f"{name}{suffix}.svg"
                app.save_screenshot(str(path))
                written.append(path)
            await pilot.resize_terminal(*sizes[0])

        async with app.run_test(size=sizes[0]) as pilot:
            await wait_for(pilot, lambda: app.state.dataset is not None)
            await pilot.press("z", "z")  # a seeded sample of 1,000 rows: minutes, not 15
            await pilot.pause(0.3)
            await save(pilot, "load")
            await pilot.press("question_mark")
            await save(pilot, "help")
            await pilot.press("escape")
            await pilot.press("d", "r")  # define done first: a budget and a target
            app.screen.query_one("#rules-input").value = ""
            await pilot.press(*RULES, "enter")
            await pilot.press("s")
            await wait_for(pilot, lambda: len(app.state.results) >= 3)
            await save(pilot, "leaderboard-live")
            await wait_for(pilot, lambda: app.state.finished is not None, 1500)
            best = app.state.finished.best_model
            # Diagnostics come after the run; on a loaded machine they may be late (the
            # screens then say so, as they would for anyone).
            await wait_for(pilot, lambda: best in app.state.diagnostics, 300, required=False)
            await save(pilot, "leaderboard")
            table = app.screen.query_one("#board")
            table.move_cursor(row=table.get_row_index(best))
            await pilot.press("enter")
            await save(pilot, "diagnostics")
            await pilot.press("right", "right")
            await save(pilot, "diagnostics-pr")
            await pilot.press("escape", "e")
            await save(pilot, "export")
            await pilot.press("escape", "d")
            await wait_for(pilot, lambda: app.state.budget.projection is not None, 60)
            await save(pilot, "budget")
            await pilot.press("u")
            await wait_for(pilot, lambda: bool(app.state.runs), 30)
            await save(pilot, "runs")
            await pilot.press("escape", "a")
            await wait_for(pilot, lambda: app.state.labeling is not None
                           and app.state.labeling.saved is not None, 60)
            await pilot.press(*"comedy:funny,drama,other", "enter")
            await wait_for(pilot, lambda: any(app.state.labeling.saved.labels), 30)
            await save(pilot, "label")
    return written


def parse_size(text: str) -> tuple[int, int]:
    """``80x24`` -> (80, 24)."""
    width, _, height = text.lower().partition("x")
    return int(width), int(height)


def main(argv: list[str] | None = None) -> int:
    """Write the screenshots; print their names."""
    parser = argparse.ArgumentParser(
        prog="python -m thrifty_tui.screenshots",
        description="Regenerate the SVG screenshots by driving the real app on the bundled "
                    "sample: one real run on 1,000 sampled rows (at most 400 fits), every "
                    "screen shot at every size.",
        epilog="example: python -m thrifty_tui.screenshots --size 80x24 --out /tmp/shots")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="the folder to write to (default: the repository's screenshots/)")
    parser.add_argument("--size", type=parse_size, action="append",
                        help="a terminal size WxH; repeat for more (default: 100x30, 80x24, "
                             "120x40 and 200x60)")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()  # before shoot() moves to the repository
    args.out.mkdir(parents=True, exist_ok=True)
    written = asyncio.run(shoot(args.size or DEFAULT_SIZES, args.out))
    print("wrote", ", ".join(p.name for p in written))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
