"""Seeded random keys across every screen: no exception, no stuck worker, and the app still
answers at the end (issue 21). A tiny file and the quick zoo keep the runs short.

The suite presses the issue's 10,000 keys (the app spends ~13 ms of CPU a key, most of it
drawing: about 2 minutes on a quiet 2-core machine, on one of the two test workers);
THRIFTY_MASH_KEYS=N presses N instead. It found an OptionList crash on PageUp (see
load.ColumnList)."""

from __future__ import annotations

import asyncio
import os
import random
import time
import unicodedata

from textual import events
from textual.app import _get_unicode_name_from_key
from textual.keys import _character_to_key
from tui_helpers import CHEAP_ZOO, wait_for

from thrifty_tui.config import make_settings
from thrifty_tui.tui.app import create_app
from thrifty_tui.tui.screens.help import HelpScreen

SEED = 21
N_KEYS = int(os.environ.get("THRIFTY_MASH_KEYS", "10000"))
# Every key the screens bind, moves, dialogs' keys and some text; not q (quit) nor ^p (the
# palette can quit): leaving the app is not mashing it.
KEYS = (list("lbsxeaduorztwnp+!?/ 123456789") + ["enter", "escape", "tab", "up", "down",
        "left", "right", "backspace", "f1", "ctrl+s", "home", "end", "pageup", "pagedown"])
SCREENS = ("l", "b", "d", "a", "u", "f1")


async def mash(app, keys: list[str]) -> None:
    """Send keys as a fast typist would, all to the app's queue, and return once the app has
    handled them (Pilot.press waits up to 2 s a key for the process to look idle)."""
    for key in keys:
        if len(key) == 1 and not key.isalnum():
            key = _character_to_key(key)
        try:
            char = unicodedata.lookup(_get_unicode_name_from_key(key))
        except KeyError:
            char = key if len(key) == 1 else None
        event = events.Key(key, char)
        event.set_sender(app)
        app.post_message(event)
    handled = asyncio.Event()
    app.call_later(handled.set)  # queued after the keys: set once they are handled
    await asyncio.wait_for(handled.wait(), 60)


def _tiny_csv(path):
    rng = random.Random(0)
    lines = ["size,colour,note,label"]
    for i in range(80):
        lines.append(f"{rng.randint(1, 50)},{rng.choice('rgb')},word{i % 7} w{i % 3},"
                     f"{'yes' if rng.random() < 0.5 else 'no'}")
    path.write_text("\n".join(lines) + "\n")
    # Beside the data, the two cheap models of CHEAP_ZOO: every `s` the keys press still
    # screens for real, in a child process, without the quick zoo's trees and boosting.
    (path.parent / "thrifty-zoo.toml").write_text(CHEAP_ZOO)
    return str(path)


async def test_ten_thousand_random_keys(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the export dialog's default folder
    monkeypatch.setenv("THRIFTY_ZOO", "quick")
    app = create_app(make_settings(str(tmp_path / "ws"), path=_tiny_csv(tmp_path / "t.csv"),
                                   target="label", max_procs=1, animations=False,
                                   screenshot_dir=tmp_path / "shots"))
    rng = random.Random(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.state.dataset is not None)
        started = time.monotonic()
        for i in range(0, N_KEYS, 50):
            # Every 50 keys, jump to a screen first, so every screen gets its share.
            keys = [rng.choice(SCREENS)] + [rng.choice(KEYS) for _ in range(49)]
            if os.environ.get("THRIFTY_MASH_LOG"):
                with open(os.environ["THRIFTY_MASH_LOG"], "a") as log:
                    log.write(f"{i} {app.current_mode} {type(app.screen).__name__} "
                              f"{[len(s) for s in app._screen_stacks.values()]} {keys}\n")
            await mash(app, keys)
            assert app.is_running and app._exception is None, f"the app stopped at key {i}: {keys}"
        mashed = time.monotonic() - started
        # Back to a calm state: close what is open, stop what runs.
        await mash(app, ["escape"] * 6)
        await pilot.pause(0.2)
        app.action_cancel_run()
        await wait_for(pilot, lambda: not app.state.run_active and app.state.exporting is None
                       and app.state.loading is None, 120)
        # The worker still takes jobs: a fresh load of the file answers.
        app.switch_mode("load")
        before = app.state.dataset
        app.open_path(before.path, "label")
        await wait_for(pilot, lambda: app.state.dataset is not before, 60)
        assert app.worker is not None and app.worker._thread.is_alive()
        # The UI answers at once: help opens and closes.
        await mash(app, ["escape"] * 3)
        await pilot.pause(0.2)
        t0 = time.monotonic()
        await mash(app, ["f1"])
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), 2.0)
        await mash(app, ["escape"])
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), 2.0)
        assert time.monotonic() - t0 < 2.0
        assert app._exception is None, "after the checks"
        await pilot.pause(1.0)  # keys still bubbling through widgets when the app ends: Textual errors
    print(f"{N_KEYS} keys in {mashed:.1f} s")
