"""What keeps the event loop free: a steady footer, no CSS re-parse per screen, a frozen heap.

Each was a measured lag spike (benchmarks/responsiveness.py): the footer rebuilt on every
binding refresh, Textual re-parsing all CSS on the first switch to each screen, and the
garbage collector's full passes over Textual's objects. These tests pin the behaviour, not
the timing (timings belong in the benchmark).
"""

from __future__ import annotations

import gc

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from thrifty_tui.tui.footer_fit import SteadyFooter
from tui_helpers import wait_for


class KeysScreen(Screen):
    BINDINGS = [Binding("a", "alpha", "Alpha"), Binding("b", "beta", "Beta"),
                Binding("c", "gamma", "Gamma")]

    def __init__(self) -> None:
        super().__init__()
        self.beta_on = True
        self.hide_gamma = False

    def compose(self) -> ComposeResult:
        yield Static("keys")
        yield SteadyFooter(show_command_palette=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "beta" and not self.beta_on:
            return None  # shown, greyed
        return True

    @property
    def active_bindings(self):
        bindings = super().active_bindings
        if self.hide_gamma:
            return {k: v for k, v in bindings.items() if v.binding.action != "gamma"}
        return bindings

    def action_alpha(self) -> None: ...
    def action_beta(self) -> None: ...
    def action_gamma(self) -> None: ...


class KeysApp(App[None]):
    def on_mount(self) -> None:
        self.push_screen(KeysScreen())


def _keys(screen: Screen) -> dict[str, FooterKey]:
    return {key.action: key for key in screen.query(FooterKey)}


async def test_a_key_turning_off_is_greyed_in_place_and_a_new_set_rebuilds():
    app = KeysApp()
    async with app.run_test(size=(80, 10)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: len(_keys(screen)) == 3)
        first = _keys(screen)
        assert not first["beta"].has_class("-disabled")

        screen.beta_on = False
        screen.refresh_bindings()
        await wait_for(pilot, lambda: _keys(screen)["beta"].has_class("-disabled"))
        after = _keys(screen)
        assert all(after[action] is first[action] for action in first)  # same widgets
        assert after["beta"]._disabled is True

        screen.beta_on = True
        screen.refresh_bindings()
        await wait_for(pilot, lambda: not _keys(screen)["beta"].has_class("-disabled"))
        assert _keys(screen)["beta"] is first["beta"]

        screen.hide_gamma = True  # the set shown changes: the keys are rebuilt
        screen.refresh_bindings()
        await wait_for(pilot, lambda: "gamma" not in _keys(screen))
        rebuilt = _keys(screen)
        assert set(rebuilt) == {"alpha", "beta"}
        assert rebuilt["alpha"] is not first["alpha"]


async def test_a_later_screen_does_not_reparse_the_apps_css(make_app, movies):
    app = make_app(path=movies, target="Comedy")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.state.dataset is not None)
        reparsed: list[int] = []
        original = app.stylesheet.reparse

        def counting_reparse() -> None:
            reparsed.append(1)
            original()

        app.stylesheet.reparse = counting_reparse  # type: ignore[method-assign]
        await pilot.press("b")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LeaderboardScreen")
        await pilot.pause(0.2)
        assert reparsed == []
        assert app.screen._css_update_count == app._css_update_count
        # ...and it is styled all the same: the board's title takes the app's CSS class rule.
        title = app.screen.query_one("#run-info")
        assert title.has_class("screen-title")
        assert title.styles.text_style.bold or title.styles.background.a > 0


async def test_the_heap_is_frozen_while_the_app_runs_and_released_after(make_app, movies):
    app = make_app(path=movies, target="Comedy")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.state.dataset is not None)
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        from textual.widgets import DataTable

        yield DataTable(id="t")


async def test_an_unchanged_board_cell_is_not_updated():
    """Any cell update makes Textual's DataTable re-render every cell; skip the no-ops."""
    from rich.text import Text
    from textual.widgets import DataTable

    from thrifty_tui.tui.screens.leaderboard import LeaderboardScreen

    app = TableApp()
    async with app.run_test(size=(60, 10)):
        table = app.query_one("#t", DataTable)
        table.add_column("model", key="model")
        table.add_row(Text("ridge"), key="ridge")
        before = table._update_count
        LeaderboardScreen._put_cell(table, "ridge", "model", Text("ridge"))
        assert table._update_count == before  # same text, same style: nothing to redraw
        LeaderboardScreen._put_cell(table, "ridge", "model", Text("ridge", style="bold green"))
        assert table._update_count > before  # the best turns bold: redrawn
        assert table.get_cell("ridge", "model").style == "bold green"
