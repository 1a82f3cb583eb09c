"""Regenerate ``screenshots/`` (and so the README's pictures) by driving the real app.

    python -m thrifty_tui.screenshots [--out DIR] [--size 80x24 ...]

A real screening of the bundled movies sample under a time budget, at each size: the Load
screen, the leaderboard live and done, the diagnostics, the export dialog, the budget
dashboard, the help, the runs view and the label screen. At 100x30 the files have no suffix
(the README shows them); other sizes add ``-WxH``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from thrifty_tui.config import SAMPLE_DIR, make_settings

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "screenshots"
DEFAULT_SIZES = ((100, 30), (80, 24), (120, 40), (200, 60))
RULES = "seconds=90 target_score=0.62 patience=60"


async def wait_for(pilot, condition: Callable[[], bool], timeout: float = 900.0) -> None:
    """Let the app run until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not get there in time")
        await pilot.pause(0.05)


async def shoot(size: tuple[int, int], out: Path) -> list[Path]:
    """Every screen at ``size`` from one real run; the files written."""
    from thrifty_tui.tui.app import create_app

    suffix = "" if size == (100, 30) else f"-{size[0]}x{size[1]}"
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(make_settings(str(Path(tmp) / "ws"),
                                       path=str(SAMPLE_DIR / "movies.csv"), target="Comedy",
                                       animations=False))

        def save(name: str) -> None:
            path = out / f"{name}{suffix}.svg"
            app.save_screenshot(str(path))
            written.append(path)

        async with app.run_test(size=size) as pilot:
            await wait_for(pilot, lambda: app.state.dataset is not None)
            await pilot.pause(0.3)
            save("load")
            await pilot.press("question_mark")
            await pilot.pause(0.2)
            save("help")
            await pilot.press("escape")
            await pilot.press("d", "r")  # define done first: a budget and a target
            app.screen.query_one("#rules-input").value = ""
            await pilot.press(*RULES, "enter")
            await pilot.press("s")
            await wait_for(pilot, lambda: len(app.state.results) >= 2)
            save("leaderboard-live")
            await wait_for(pilot, lambda: app.state.finished is not None)
            await pilot.pause(0.3)
            save("leaderboard")
            best = app.state.finished.best_model
            await wait_for(pilot, lambda: best in app.state.diagnostics, 120)
            table = app.screen.query_one("#board")
            table.move_cursor(row=table.get_row_index(best))
            await pilot.press("enter")
            await pilot.pause(0.5)
            save("diagnostics")
            await pilot.press("right", "right")
            await pilot.pause(0.5)
            save("diagnostics-pr")
            await pilot.press("escape", "e")
            await pilot.pause(0.3)
            save("export")
            await pilot.press("escape", "d")
            await wait_for(pilot, lambda: app.state.budget.projection is not None, 60)
            await pilot.pause(0.5)
            save("budget")
            await pilot.press("u")
            await wait_for(pilot, lambda: bool(app.state.runs), 30)
            await pilot.pause(0.3)
            save("runs")
            await pilot.press("escape", "a")
            await wait_for(pilot, lambda: app.state.labeling is not None
                           and app.state.labeling.saved is not None, 60)
            await pilot.press(*"comedy:funny,drama,other", "enter")
            await wait_for(pilot, lambda: any(app.state.labeling.saved.labels), 30)
            await pilot.pause(0.3)
            save("label")
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
                    "sample (a real run under a 90 s budget at each size).",
        epilog="example: python -m thrifty_tui.screenshots --size 80x24 --out /tmp/shots")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="the folder to write to (default: the repository's screenshots/)")
    parser.add_argument("--size", type=parse_size, action="append",
                        help="a terminal size WxH; repeat for more (default: 100x30, 80x24, "
                             "120x40 and 200x60)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for size in args.size or DEFAULT_SIZES:
        written += asyncio.run(shoot(size, args.out))
    print("wrote", ", ".join(p.name for p in written))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
