"""Regenerate the SVG screenshots in this folder by driving the real app with Pilot.

Run from the repository root: python screenshots/make_screenshots.py
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

from thrifty_tui.config import make_settings
from thrifty_tui.tui.app import create_app

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


async def wait_for(pilot, condition, timeout: float = 900.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not get there in time")
        await pilot.pause(0.05)


async def main(size: tuple[int, int]) -> None:
    os.chdir(REPO)
    suffix = "" if size == (100, 30) else f"-{size[0]}x{size[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(make_settings(str(Path(tmp) / "ws"), path="sample_data/movies.csv",
                                       target="Comedy", animations=False))
        async with app.run_test(size=size) as pilot:
            await wait_for(pilot, lambda: app.state.dataset is not None)
            await pilot.pause(0.3)
            app.save_screenshot(str(HERE / f"load{suffix}.svg"))
            # Define done first: a time budget and a target on the budget dashboard.
            await pilot.press("d", "r")
            app.screen.query_one("#rules-input").value = ""
            await pilot.press(*"seconds=90 target_score=0.62 patience=60", "enter")
            await pilot.press("s")
            await wait_for(pilot, lambda: len(app.state.results) >= 2)
            app.save_screenshot(str(HERE / f"leaderboard-live{suffix}.svg"))
            await wait_for(pilot, lambda: app.state.finished is not None)
            await pilot.pause(0.3)
            app.save_screenshot(str(HERE / f"leaderboard{suffix}.svg"))
            best = app.state.finished.best_model
            await wait_for(pilot, lambda: best in app.state.diagnostics)
            table = app.screen.query_one("#board")
            table.move_cursor(row=table.get_row_index(best))
            await pilot.press("enter")
            await pilot.pause(0.5)
            app.save_screenshot(str(HERE / f"diagnostics{suffix}.svg"))
            await pilot.press("right", "right")
            await pilot.pause(0.5)
            app.save_screenshot(str(HERE / f"diagnostics-pr{suffix}.svg"))
            await pilot.press("escape")
            await pilot.press("e")
            await pilot.pause(0.3)
            app.save_screenshot(str(HERE / f"export{suffix}.svg"))
            await pilot.press("escape")
            await pilot.press("d")
            await wait_for(pilot, lambda: app.state.budget.projection is not None, 30)
            await pilot.pause(0.5)
            app.save_screenshot(str(HERE / f"budget{suffix}.svg"))


if __name__ == "__main__":
    asyncio.run(main((100, 30)))
    asyncio.run(main((80, 24)))
    print("wrote", ", ".join(sorted(p.name for p in HERE.glob("*.svg"))))
