"""What keeps the event loop free: a steady footer, no CSS re-parse per screen, a frozen heap.

Each was a measured lag spike (benchmarks/responsiveness.py): the footer rebuilt on every
binding refresh, Textual re-parsing all CSS on the first switch to each screen, and the
garbage collector's full passes over Textual's objects. These tests pin the behaviour, not
the timing (timings belong in the benchmark).
"""

from __future__ import annotations

import gc
import re

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from thrifty_tui.tui.footer_fit import SteadyFooter
from tui_helpers import wait_for, with_cheap_zoo


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


class BoardApp(App[None]):
    """The same rows in a BoardTable and a plain DataTable, to compare what they draw."""

    def compose(self) -> ComposeResult:
        from textual.widgets import DataTable

        from thrifty_tui.tui.widgets.board_table import BoardTable

        yield BoardTable(id="board", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="plain", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        from rich.text import Text

        for table in (self.query_one("#board"), self.query_one("#plain")):
            table.add_column("model", key="model", width=12)
            table.add_column("score", key="score", width=8)
            for i, name in enumerate(("ridge", "tree", "forest", "boost")):
                table.add_row(Text(name), Text(f"0.{70 + i}", style="dim"), key=name)


def _lines(table) -> list[str]:
    return ["".join(seg.text for seg in table.render_line(y)) for y in range(table.size.height)]


def _styles(table) -> list[list[str]]:
    return [[str(seg.style) for seg in table.render_line(y)] for y in range(table.size.height)]


async def test_the_board_table_redraws_only_the_cell_that_changed_and_draws_as_datatable():
    """A leaderboard update re-rendered all 80-odd cells through Rich (20-40 ms); the board's
    table renders a cell again only when its text, style, place or the cursor change, and
    draws exactly what Textual's DataTable draws."""
    from rich.text import Text
    from textual.widgets import DataTable

    app = BoardApp()
    async with app.run_test(size=(40, 14)) as pilot:
        board, plain = app.query_one("#board"), app.query_one("#plain")
        app.set_focus(None)  # neither focused: the same pseudo-classes, the same styles
        await pilot.pause()
        assert _lines(board) == _lines(plain)
        assert _styles(board) == _styles(plain)

        rendered: list[tuple[int, int]] = []
        original = DataTable._render_cell

        def counting(self, row_index, column_index, *args, **kwargs):
            if self is board and row_index >= 0 and column_index >= 0:
                rendered.append((row_index, column_index))
            return original(self, row_index, column_index, *args, **kwargs)

        DataTable._render_cell = counting  # type: ignore[method-assign]
        try:
            for table in (board, plain):
                table.update_cell("tree", "score", Text("0.99", style="bold green"))
            await pilot.pause()
            text = _lines(board)
            assert any("0.99" in line for line in text)
            assert text == _lines(plain) and _styles(board) == _styles(plain)
            assert rendered == [(1, 1)]  # only the changed cell went through Rich again

            rendered.clear()
            for table in (board, plain):
                table.move_cursor(row=2)
            await pilot.pause()
            assert _lines(board) == _lines(plain) and _styles(board) == _styles(plain)
            # the rows the cursor left and entered are redrawn, no other
            assert rendered and {row for row, _ in rendered} <= {0, 2}
        finally:
            DataTable._render_cell = original  # type: ignore[method-assign]

        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await pilot.pause()
        assert _styles(board) == _styles(plain)  # a new theme is not drawn from stale cells


async def test_the_boards_status_lines_update_without_a_layout_pass(make_app, movies,
                                                                     tmp_path):
    """The run's status line (every event and twice a second) and the row detail have fixed
    sizes: updating them must not re-lay out the screen (a reflow per update was most of the
    board's frames). Two cheap models: a live board is the point, not the zoo."""
    app = make_app(path=with_cheap_zoo(movies, tmp_path / "data"), target="Comedy")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.state.dataset is not None)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LeaderboardScreen"
                       and len(app.state.results) >= 2, timeout=120)
        screen = app.screen
        await pilot.pause(0.1)
        status, detail = screen.query_one("#run-status"), screen.query_one("#row-detail")
        status._layout_required = detail._layout_required = False
        screen._render_progress()
        screen._show_detail()
        assert not status._layout_required and not detail._layout_required
        assert re.search(r"\d+/\d+ models · \d+ s|done in \d", str(status.render()))
        await pilot.press("x")
        await wait_for(pilot, lambda: app.state.finished is not None, timeout=60)
