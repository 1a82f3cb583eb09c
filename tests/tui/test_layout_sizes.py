"""Screens checked at 80x24, 120x40 and 200x60 (issue 21, acceptance 4): what a new user saw
cut or wasted in tmux, each fixed and held here."""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from tui_helpers import fixed_workspace, wait_for

from thrifty_tui.config import make_settings
from thrifty_tui.tui.app import create_app
from thrifty_tui.tui.screens.runs import column_widths


def _app(tmp_path):
    return create_app(make_settings(str(fixed_workspace(tmp_path / "ws")), max_procs=1,
                                    animations=False))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_runs_view_uses_its_width_and_its_title_fits(tmp_path, size):
    app = _app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.state.finished is not None)
        await pilot.press("u")
        await wait_for(pilot, lambda: bool(app.state.runs)
                       and type(app.screen).__name__ == "RunsScreen")
        await pilot.pause(0.1)
        title = app.screen.query_one("#runs-title")
        assert cell_len(str(title.render())) <= title.size.width  # "· Esc closes" was cut
        table = app.screen.query_one("#runs")
        cells = [str(c) for c in table.get_row_at(0)]
        assert "0.775±0.004" in cells[3]  # the std to three places, as the mean
        if size[0] >= 120:  # whole names, not "gss_wages.csv ·…", "balanced…", "hist gr…"
            assert cells[1].strip() == "gss_wages.csv · gender"
            assert cells[2].strip() == "balanced_accuracy"
            assert cells[3].startswith("hist gradient boosting ")


def test_runs_columns_take_the_room_past_80_columns():
    assert sum(column_widths(76).values()) == 76 == sum(column_widths(40).values())
    wide = column_widths(116)
    assert sum(wide.values()) == 116 and wide["metric"] == 18
    assert wide["data"] > 15 and wide["best"] > 20
    assert wide["cost"] >= len("123 CPU-s") + 1  # "17 CPU…" was cut


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_the_help_box_is_as_tall_as_its_keys_and_scrolls_to_the_last(tmp_path, size):
    app = _app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.state.finished is not None)
        await pilot.press("b", "question_mark")
        await pilot.pause(0.2)
        box, scroll = app.screen.query_one("#help-box"), app.screen.query_one("#help-scroll")
        assert box.region.bottom <= size[1] and scroll.region.bottom <= box.region.bottom - 1
        if size == (200, 60):  # 10 empty lines under the keys before
            assert scroll.size.height == sum(c.outer_size.height for c in scroll.children)
            assert box.region.height == scroll.size.height + 3  # border and title
        else:  # the keys scroll, and the last line can be reached
            assert scroll.max_scroll_y == scroll.virtual_size.height - scroll.size.height > 0


async def test_from_110_columns_the_board_says_why_a_row_was_dropped_or_failed(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.state.finished is not None)
        await pilot.press("b")
        await pilot.pause(0.2)
        table = app.screen.query_one("#board")
        assert [c.value for c in table.columns][-1] == "why"
        assert str(table.get_cell("decision tree", "why")) == "ValueError: example failure"
        assert str(table.get_cell("linear", "why")) == ""
        order = [key.value for key in table.rows]
        await pilot.resize_terminal(80, 24)  # back to 80 columns: no room, no column
        await pilot.pause(0.2)
        assert "why" not in [c.value for c in table.columns]
        assert table.get_row("linear")[1].plain == "linear"
        assert [key.value for key in table.rows] == order  # a resize keeps the rows' order


async def test_a_resize_keeps_the_live_boards_order(tmp_path):
    import snapshot_states as states

    app = _app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("b")
        await states.live_run(pilot, app)
        # The last model started finishes first: the board keeps the order they started in.
        from thrifty_tui.core.events import ModelScored
        from thrifty_tui.core.records import ModelResult

        states.post(app, ModelScored(run_id=2, result=ModelResult(
            "random forest", "done", (0.7,) * 5, 0.9, rows=3000), done=4, total=5))
        await wait_for(pilot, lambda: "random forest" in app.state.results)
        await pilot.pause(0.2)
        table = app.screen.query_one("#board")
        order = [table.get_row_at(i)[1].plain for i in range(table.row_count)]
        assert order[-1] == "random forest"
        await pilot.resize_terminal(120, 40)
        await pilot.pause(0.2)
        assert [table.get_row_at(i)[1].plain for i in range(table.row_count)] == order
        why = [str(table.get_row_at(i)[-1]) for i in range(table.row_count)]
        assert "clearly worse than the leader at 500 rows" in why


async def test_the_runs_detail_shows_its_last_words_at_80x24(tmp_path):
    from dataclasses import replace

    app = _app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.state.finished is not None)
        await pilot.press("u")
        await wait_for(pilot, lambda: bool(app.state.runs)
                       and type(app.screen).__name__ == "RunsScreen")
        # A run with rules and a long verdict, as the screenshots' run has: six lines at 80.
        app.state.runs = [replace(app.state.runs[0], fingerprint="151138-dab27ed17",
                                  rules="seconds=300 target_score=0.62 patience=60",
                                  stop_reason="target 0.620 reached — 0.685 after 50 fits "
                                              "in 191 s", model_path="m.joblib")]
        app.screen.render_runs()
        await pilot.pause(0.2)
        detail = app.screen.query_one("#runs-detail")
        lines = detail.render_lines(detail.region.reset_offset)  # what is drawn
        drawn = " ".join("".join(seg.text for seg in line) for line in lines)
        assert "Enter exports its best" in drawn, drawn


async def test_the_rules_line_shows_its_enter_and_escape_in_the_footer(tmp_path):
    from textual.widgets._footer import FooterKey

    app = _app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.state.finished is not None)
        await pilot.press("d", "r")
        await pilot.pause(0.3)
        shown = {key.description for key in app.screen.query(FooterKey)}
        assert {"Set rules", "Back"} <= shown, shown  # only "Help" was shown
        await pilot.press(*"seconds=60", "enter")
        await pilot.pause(0.2)
        assert not app.screen.query_one("#rules-input").display
        assert app.state.rules.wall_s == 60
        await pilot.press("r", "escape")
        await pilot.pause(0.2)
        assert not app.screen.query_one("#rules-input").display


async def test_a_reason_too_long_for_the_why_column_ends_in_an_ellipsis(tmp_path):
    import snapshot_states as states

    app = _app(tmp_path)
    async with app.run_test(size=(112, 30)) as pilot:
        await pilot.press("b")
        await states.live_run(pilot, app)  # "clearly worse than the leader at 500 rows"
        await pilot.pause(0.2)
        table = app.screen.query_one("#board")
        drawn = ["".join(s.text for s in line)
                 for line in table.render_lines(table.region.reset_offset)]
        row = next(line for line in drawn if "decision tree" in line)
        assert "clearly worse than the leader…" in row, row  # cut with no sign before


async def test_the_first_labels_prompt_says_what_enter_does_and_the_keys_line_reads(tmp_path):
    from thrifty_tui.config import SAMPLE_DIR

    app = create_app(make_settings(str(tmp_path / "ws"), path=str(SAMPLE_DIR / "movies.csv"),
                                   labels=(), target="genre", max_procs=1, animations=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.state.labeling is not None
                       and app.state.labeling.saved is not None)
        screen = app.screen
        await wait_for(pilot, lambda: screen.query_one("#label-input").display)
        assert screen.query_one("#label-input").placeholder.endswith("— Enter sets them")
        keys = str(screen.query_one("#label-keys").render())
        assert "add one · 3,000 left" in keys, keys  # "add one· 3,000 left" before
