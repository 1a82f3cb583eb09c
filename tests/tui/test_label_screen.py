"""The label screen driven by keys: one key labels and advances, undo, skip, search, resume.

Every assertion on labels reads the workspace database, as a user's next session would.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from textual.widgets import Static
from tui_helpers import SIZE, wait_for

from thrifty_tui.config import SAMPLE_DIR, make_settings
from thrifty_tui.core.store.labels import SKIP_GAP, LabelStore, pool_rows, replay
from thrifty_tui.tui.app import create_app
from thrifty_tui.tui.screens.label import LabelScreen

MOVIES = str(SAMPLE_DIR / "movies.csv")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    # Shared: the first test reads the file in a child, the others reuse the cached records.
    return tmp_path_factory.mktemp("label-screen") / "ws"


def label_app(workspace: Path, name: str, labels=("yes", "no")):
    return create_app(make_settings(str(workspace), path=MOVIES, labels=labels, target=name,
                                    max_procs=1, animations=False))


def stored(workspace: Path, name: str):
    """The label set ``name`` as the store has it (replayed from the log, like a restart)."""
    db = sqlite3.connect(workspace / "thrifty.sqlite")
    try:
        store = LabelStore.__new__(LabelStore)
        store.db = db
        info = next(s for s in store.sets() if s.name == name)
        return replay(store.events(info.id), pool_rows(info.n_rows, info.pool_cap, info.seed),
                      info.seed)
    finally:
        db.close()


async def ready(pilot) -> LabelScreen:
    app = pilot.app
    await wait_for(pilot, lambda: app.state.labeling is not None
                   and app.state.labeling.saved is not None)
    assert app.current_mode == "label" and isinstance(app.screen, LabelScreen)
    # The screen hears of events through a signal, a message later than the app's state.
    await wait_for(pilot, lambda: app.screen._shown is not None)
    return app.screen


async def press(pilot, screen: LabelScreen, *keys: str) -> None:
    """Press keys like a person and wait until each one is acknowledged (saved)."""
    for key in keys:
        await pilot.press(key)
        await wait_for(pilot, lambda: screen.pending == 0)


def shown(screen: LabelScreen, widget: str) -> str:
    return str(screen.query_one(widget, Static).render())


async def test_one_key_labels_and_advances(workspace):
    app = label_app(workspace, "one-key")
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        head = app.state.labeling.saved.head
        assert screen.current() == head[0]
        title = app.state.labeling.record(head[0])[0]
        assert title in shown(screen, "#label-record")
        assert " 1  yes 0" in shown(screen, "#label-keys")
        await press(pilot, screen, "1")
        assert screen.current() == head[1]
        assert f"saved ✓ 1 · row {head[0]} → yes" in shown(screen, "#label-status")
        await press(pilot, screen, "2", "2")
        assert screen.current() == head[3]
        assert " 1  yes 1" in shown(screen, "#label-keys") and " 2  no 2" in shown(
            screen, "#label-keys")
        # Keys pressed faster than the disk answers each label the item on screen then.
        for key in "121":
            await pilot.press(key)
        await wait_for(pilot, lambda: screen.pending == 0)
        assert len(screen.latencies_ms) == len(screen.ack_ms) == 6
        assert f"saved ✓ 6 · row {head[5]} → yes" in shown(screen, "#label-status")
        # Past the six items the screen knows, keys wait for the next answer; all are saved.
        keys = "2121221112"
        for key in keys:
            await pilot.press(key)
        await wait_for(pilot, lambda: screen.pending == 0)
        assert app.state.labeling.saved.n_labeled == 16
    book = stored(workspace, "one-key")
    assert [book.item_state(i) for i in head[:6]] == [
        ("label", "yes"), ("label", "no"), ("label", "no"), ("label", "yes"), ("label", "no"),
        ("label", "yes")]
    assert [lab for _, lab, _, _, _ in book.labeled()][6:] == [
        {"1": "yes", "2": "no"}[k] for k in keys]


async def test_undo_restores_the_previous_item_and_its_label(workspace):
    app = label_app(workspace, "undo")
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        first, second = app.state.labeling.saved.head[:2]
        await press(pilot, screen, "1", "2")
        await press(pilot, screen, "u")
        assert screen.current() == second  # back in front of the user, unlabeled
        assert stored(workspace, "undo").item_state(second) == ("", "")
        await press(pilot, screen, "u")
        assert screen.current() == first
        assert stored(workspace, "undo").item_state(first) == ("", "")
        # Relabel a labeled item found by search, then undo: the old label is back.
        await press(pilot, screen, "1")
        title = app.state.labeling.record(first)[0]
        await pilot.press("slash")
        screen.query_one("#label-input").value = title  # typed, as far as the screen knows
        await pilot.press("enter")
        assert screen.current() == first and "labeled yes" in screen.item_note[1]
        await press(pilot, screen, "2")
        assert stored(workspace, "undo").item_state(first) == ("label", "no")
        await press(pilot, screen, "backspace")
        assert stored(workspace, "undo").item_state(first) == ("label", "yes")
        assert screen.current() == first


async def test_skipped_items_return(workspace):
    app = label_app(workspace, "skip")
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        skipped = screen.current()
        await press(pilot, screen, "space")
        assert screen.current() != skipped
        await press(pilot, screen, *("1" * SKIP_GAP))
        assert screen.current() == skipped
        assert "skipped earlier" in screen.item_note[1]
        await press(pilot, screen, "question_mark")
        await press(pilot, screen, "exclamation_mark")
        assert "· 1 unsure · 1 flagged" in shown(screen, "#label-keys")
    book = stored(workspace, "skip")
    assert book.item_state(skipped) == ("unsure", "") and book.n_outcome("label") == SKIP_GAP


async def test_resume_after_restart_lands_on_the_same_item(workspace):
    app = label_app(workspace, "resume")
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await press(pilot, screen, "1", "2", "space", "1")
        here = screen.current()
        upcoming = app.state.labeling.saved.head
        await pilot.press("q")
    again = label_app(workspace, "resume")
    async with again.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        assert screen.current() == here and again.state.labeling.saved.head == upcoming
        assert "resumed: 3 labels on disk" in shown(screen, "#label-status")
        await press(pilot, screen, "u")  # undo reaches back into the previous session
        assert stored(workspace, "resume").n_outcome("label") == 2


async def test_from_the_load_screen_the_labels_are_set_on_screen(workspace):
    app = create_app(make_settings(str(workspace), path=MOVIES, max_procs=1, animations=False))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.dataset is not None)
        assert app.current_mode == "load"
        await pilot.press("a")  # the footer's "Label"
        screen = await ready(pilot)
        box = screen.query_one("#label-input")
        assert box.display and box.has_focus  # the screen asks for the labels
        await pilot.press(*"cat,dog", "enter")
        await wait_for(pilot, lambda: app.state.labeling.saved.labels == ("cat", "dog"))
        await press(pilot, screen, "2")
        await pilot.press("r")
        await pilot.press(*"dog=puppy", "enter")
        await wait_for(pilot, lambda: app.state.labeling.saved.labels == ("cat", "puppy"))
        assert " 2  puppy 1" in shown(screen, "#label-keys")
        await press(pilot, screen, "u")  # the rename is undone, not the label
        assert app.state.labeling.saved.labels == ("cat", "dog")
    assert stored(workspace, "label").counts() == {"cat": 0, "dog": 1}


def test_label_screen_snapshot(snap_compare, tmp_path):
    """The screen a new user sees at 80x24: the record, the keys, what to press, the panel."""
    app = label_app(tmp_path / "ws", "snapshot", labels=("comedy:funny", "drama", "other"))

    async def ready_to_label(pilot):
        await ready(pilot)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready_to_label)
