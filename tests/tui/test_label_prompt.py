"""The in-app label prompt reads ``name:description`` like the CLI's --labels (issue 21)."""

from __future__ import annotations

from pathlib import Path

from tui_helpers import SIZE, wait_for

from thrifty_tui.config import SAMPLE_DIR, make_settings
from thrifty_tui.tui.app import create_app
from thrifty_tui.tui.screens.label import LabelScreen

MOVIES = str(SAMPLE_DIR / "movies.csv")


async def test_the_prompt_keeps_the_name_and_stores_the_description(tmp_path: Path):
    app = create_app(make_settings(str(tmp_path / "ws"), path=MOVIES, labels=(),
                                   target="genre", max_procs=1, animations=False))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.labeling is not None
                       and app.state.labeling.saved is not None)
        screen = app.screen
        assert isinstance(screen, LabelScreen)
        await wait_for(pilot, lambda: screen.query_one("#label-input").display)
        await pilot.press(*"funny:a comedy,sad", "enter")
        await wait_for(pilot, lambda: app.state.labeling.saved is not None
                       and "funny" in app.state.labeling.saved.labels)
        saved = app.state.labeling.saved
        assert saved.labels[:2] == ("funny", "sad")
        assert dict(zip(saved.labels, saved.descriptions))["funny"] == "a comedy"
        # `+` then the same syntax adds one more, described.
        await pilot.press("plus")
        await pilot.press(*"meh:neither", "enter")
        await wait_for(pilot, lambda: "meh" in app.state.labeling.saved.labels)
        saved = app.state.labeling.saved
        assert not any(":" in name for name in saved.labels), saved.labels
        assert dict(zip(saved.labels, saved.descriptions))["meh"] == "neither"
        # The add is one undoable step, description and all (the set was opened again
        # before, which undo could not take back).
        await pilot.press("u")
        await wait_for(pilot, lambda: "meh" not in app.state.labeling.saved.labels)
        assert app.state.labeling.saved.labels[:2] == ("funny", "sad")
