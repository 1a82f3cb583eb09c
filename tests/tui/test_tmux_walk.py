"""What a new user saw in tmux at 80x24, 120x40 and 200x60 (issue 21, acceptance 4) that the
earlier fixes left: each fault held by recorded events posted to the app (no fitting)."""

from __future__ import annotations

import snapshot_states as states
from rich.cells import cell_len
from tui_helpers import fixed_workspace, wait_for

from thrifty_tui.config import make_settings
from thrifty_tui.core.events import BudgetUpdate, RunFinished, RunStarted
from thrifty_tui.core.policy.budget import NOT_YET, OFF, RuleState, RunCost
from thrifty_tui.tui.app import create_app


def _app(tmp_path):
    return create_app(make_settings(str(fixed_workspace(tmp_path / "ws")), max_procs=1,
                                    animations=False))


def _drawn(widget) -> list[str]:
    return ["".join(seg.text for seg in line).rstrip()
            for line in widget.render_lines(widget.region.reset_offset)]


LONG_BEST = "logistic regression (on 1,000 rows)"
WALL_STOP = "budget of 12 s spent — best 0.699 after 37 fits in 12 s"


async def test_budget_at_80x24_after_a_time_stop_the_table_agrees_and_nothing_is_cut(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.state.finished is not None)
        await pilot.press("d")
        await pilot.pause(0.1)
        rules = (RuleState("target", OFF, ""), RuleState("min_improvement", OFF, ""),
                 RuleState("max_fits", OFF, "37 fits"), RuleState("wall", NOT_YET, "11 of 12 s"),
                 RuleState("patience", NOT_YET, "5 of 30 fits without a gain of 0"),
                 RuleState("noise_floor", OFF, ""))
        cost = RunCost(cpu_s=8.8, fits_cpu_s=8.0, wall_s=11.5, peak_mb=287.0, money=0.000122,
                       price_per_cpu_hour=0.05)
        states.post(app, RunStarted(run_id=2, path="sample_data/movies.csv", target="Comedy",
                                    task="classification", metric="balanced_accuracy",
                                    n_rows=3000, n_folds=5, models=(LONG_BEST,), rungs=(3000,)),
                    BudgetUpdate(run_id=2, phase="done", elapsed_s=11.5, wall_s=12.0, fits=37,
                                 fits_started=37, max_fits=None, best_model=LONG_BEST,
                                 best_score=0.6985, baseline_score=0.5,
                                 trace=((7.5, 0.5), (11.0, 0.6985)), rules=rules,
                                 stop_reason=WALL_STOP, cost=cost, final=True),
                    RunFinished(run_id=2, status="done", best_model=LONG_BEST, best_score=0.6985,
                                metric="balanced_accuracy", elapsed_s=11.5,
                                stop_reason=WALL_STOP, model_path="m.joblib"))
        await wait_for(pilot, lambda: app.state.budget.finished is not None)
        await pilot.pause(0.2)
        screen = app.screen
        table = screen.query_one("#rules")
        # The verdict says the time budget stopped the run: so does the table ("not met").
        assert table.get_cell("wall", "state").plain == "met"
        assert table.get_cell("patience", "state").plain == "not met"
        title = screen.query_one("#budget-title")
        drawn = _drawn(title)[0]
        assert "best 0.699 " in drawn and drawn.endswith("…"), drawn  # the score was cut
        cost_lines = " ".join(_drawn(screen.query_one("#cost")))
        assert "0.0001 (8.8 CPU-s at 0.05/CPU-h)" in cost_lines, cost_lines
        plot = "\n".join(_drawn(screen.query_one("#best-plot")))
        assert "best (target green, baseline gray)" in plot  # no title (too long) before
        await pilot.press("b")
        await pilot.pause(0.2)
        status = " ".join(_drawn(app.screen.query_one("#run-status")))
        assert "11.5 s · 9 CPU-s · 0.00012 · budget of 12 s spent" in status, status  # "0.000"


async def test_the_label_card_is_as_tall_as_its_record_at_200x60_and_scrolls_at_80x24(tmp_path):
    from thrifty_tui.config import SAMPLE_DIR

    app = create_app(make_settings(str(tmp_path / "ws"), path=str(SAMPLE_DIR / "movies.csv"),
                                   labels=("yes", "no"), target="liked", max_procs=1,
                                   animations=False))
    async with app.run_test(size=(200, 60)) as pilot:
        await wait_for(pilot, lambda: app.state.labeling is not None
                       and app.state.labeling.saved is not None)
        await wait_for(pilot, lambda: app.screen._shown is not None)
        await pilot.pause(0.2)
        card, record = app.screen.query_one("#label-card"), app.screen.query_one("#label-record")
        assert record.region.height >= 14  # the movie's title, a rule and its 13 fields
        assert card.region.height == record.region.height + 2, card.region  # 30 empty lines
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.3)
        below = app.screen.query_one("#label-next")
        assert card.region.bottom <= below.region.y  # the card shrinks, the lines below stay
        assert card.max_scroll_y > 0


def _names(table) -> list[str]:
    return [table.get_row_at(i)[1].plain for i in range(table.row_count)]


async def test_arrival_order_is_the_start_order_after_sorting_and_a_tuned_row_has_its_name(
        tmp_path):
    from thrifty_tui.core.events import ModelScored
    from thrifty_tui.core.records import ModelResult

    app = _app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("b")
        await states.live_run(pilot, app)  # started: baseline, linear, tree, hgb, forest
        # The forest, started last, finishes before the boosting; then the tuned boosting.
        states.post(app, ModelScored(run_id=2, result=ModelResult(
            "random forest", "done", (0.7,) * 5, 0.9, rows=3000), done=4, total=5))
        states.post(app, ModelScored(run_id=2, result=ModelResult(
            states.BEST, "done", (0.77,) * 5, 1.3, rows=3000), done=5, total=5))
        states.post(app, ModelScored(run_id=2, result=ModelResult(
            f"{states.BEST} (tuned)", "done", (0.78,) * 5, 1.5, rows=3000), done=5, total=5))
        await wait_for(pilot, lambda: f"{states.BEST} (tuned)" in app.state.results)
        await pilot.pause(0.2)
        table = app.screen.query_one("#board")
        live = _names(table)
        assert live == ["baseline (dummy)", "linear", "decision tree", states.BEST,
                        "random forest", "hist gradient… (tuned)"], live
        await pilot.press("o", "o", "o")  # score, fit time, and back to arrival
        await pilot.pause(0.2)
        assert app.screen.sort_by == "arrival"
        assert _names(table) == live  # it was the order they finished in


async def test_the_finished_boards_line_says_why_no_mean_to_its_last_word_at_80x24(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.state.finished is not None)
        await pilot.press("b")
        await pilot.pause(0.1)
        app.state.ties = ("linear",)
        app.state.notices = ["no mean of hist gradient boosting + linear + RBF SVM: every "
                             "member needs class probabilities"]
        app.screen._render_progress()
        await pilot.pause(0.2)
        widget = app.screen.query_one("#run-status")
        lines = [line for line in _drawn(widget) if line.strip()]
        assert " ".join(lines).endswith("class probabilities"), lines
        shown = app.screen.query_one("#run-progress-row").region
        assert shown.height >= len(lines) == 3, (shown, lines)  # the row showed 2 of 3 lines


async def test_from_150_columns_the_board_shows_whole_model_names(tmp_path):
    from thrifty_tui.core.events import ModelScored
    from thrifty_tui.core.records import ModelResult

    app = _app(tmp_path)
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.press("b")
        await states.live_run(pilot, app)
        states.post(app, ModelScored(run_id=2, result=ModelResult(
            LONG_BEST, "done", (0.7,) * 5, 0.9, rows=1000), done=4, total=5))
        await wait_for(pilot, lambda: LONG_BEST in app.state.results)
        await pilot.pause(0.2)
        table = app.screen.query_one("#board")
        drawn = "\n".join(_drawn(table))
        assert f" {LONG_BEST}   0.7000" in drawn, drawn  # "logistic regression (…" at 200
        order = _names(table)
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.2)
        assert "logistic regression (…" in "\n".join(_drawn(table))
        assert len(_names(table)) == len(order)
        assert [name[:10] for name in _names(table)] == [name[:10] for name in order]


async def test_help_says_where_the_settings_are_read_from(tmp_path, monkeypatch):
    config = tmp_path / "config" / "thrifty.toml"
    config.parent.mkdir()
    config.write_text("[budget]\nseconds = 30\n")
    monkeypatch.setenv("THRIFTY_CONFIG", str(config))
    app = _app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.state.finished is not None)
        await pilot.press("b", "question_mark")
        await pilot.pause(0.2)
        settings = app.screen.query_one("#help-settings")
        text = str(settings.render())
        assert "thrifty.toml" in text and f"{config} (read)" in text, text
        scroll = app.screen.query_one("#help-scroll")
        scroll.scroll_end(animate=False)
        await pilot.pause(0.1)
        assert settings.region.bottom <= scroll.region.bottom  # reachable at 80x24


async def test_a_long_class_name_in_the_profile_is_cut_with_a_sign(tmp_path):
    import pandas as pd

    data = tmp_path / "status.csv"
    statuses = ["Married", "Never Married", "Divorced", "Widowed", "Separated from spouse"]
    pd.DataFrame({"age": range(100), "status": [statuses[i % 5] for i in range(100)]}).to_csv(
        data, index=False)
    app = create_app(make_settings(str(tmp_path / "ws"), path=str(data), target="status",
                                   max_procs=1, animations=False))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.state.dataset is not None
                       and app.state.dataset.profile is not None)
        await pilot.pause(0.2)
        profile = str(app.screen.query_one("#profile").render())
        assert "Never Married 20%" in profile, profile  # "Never Marrie" before
        assert "Separated fr… 20%" in profile or "+1 more" in profile


async def test_the_boards_title_is_whole_at_80_and_120_columns(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("b")
        await states.live_run(pilot, app)  # racing 500 → 1,500 → 3,000
        await pilot.pause(0.2)
        for size in ((120, 40), (80, 24)):
            await pilot.resize_terminal(*size)
            await pilot.pause(0.2)
            title = app.screen.query_one("#run-info")
            lines = [line for line in _drawn(title) if line.strip()]
            assert " ".join(lines).endswith("racing 500 → 1,500 → 3,000"), lines
            assert title.region.height == len(lines)  # at 80: cut after "3,000 rows" before


async def test_label_pressed_while_the_load_screen_still_opens_its_file_opens_it(tmp_path):
    from thrifty_tui.config import SAMPLE_DIR

    app = create_app(make_settings(str(tmp_path / "ws"), path=str(SAMPLE_DIR / "movies.csv"),
                                   max_procs=1, animations=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.state.loading is not None)
        await pilot.press("a")  # at start-up, before the file is open
        await pilot.pause(0.05)
        assert app.current_mode == "label" and app.state.dataset is None
        record = app.screen.query_one("#label-record")
        assert "opening the file" in str(record.render())  # "no data yet: open a file…"
        # Once the file is open the label set opens too (it stayed on "opening…" for good).
        await wait_for(pilot, lambda: app.state.labeling is not None
                       and app.state.labeling.saved is not None)


async def test_the_runs_box_is_as_tall_as_its_runs_at_200x60_and_scrolls_at_80x24(tmp_path):
    from dataclasses import replace

    app = _app(tmp_path)
    async with app.run_test(size=(200, 60)) as pilot:
        await wait_for(pilot, lambda: app.state.finished is not None)
        await pilot.press("u")
        await wait_for(pilot, lambda: bool(app.state.runs)
                       and type(app.screen).__name__ == "RunsScreen")
        await pilot.pause(0.2)
        table, box = app.screen.query_one("#runs"), app.screen.query_one("#runs-box")
        assert table.region.height == table.row_count + 1  # its header and one run
        detail = app.screen.query_one("#runs-detail")
        assert box.region.bottom == detail.region.bottom + 1  # no empty lines (30 before)
        many = tuple(replace(app.state.runs[0], run_id=i) for i in range(30, 0, -1))
        app.state.runs = many
        app.screen.render_runs()
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.3)
        assert box.region.bottom <= 24 and detail.region.bottom <= box.region.bottom - 1
        assert table.max_scroll_y > 0  # the runs scroll; the detail stays in sight


async def test_a_modal_shows_its_own_keys_at_the_bottom_not_the_screens_below(tmp_path):
    """Runs and help opened over the board: the bottom line names the modal's keys
    (the board's 'l Load' or 'o Sort' did nothing while it was open, seen in tmux at 200x60)."""
    from textual.widgets import Footer
    from textual.widgets._footer import FooterKey

    app = _app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.state.finished is not None)
        await pilot.press("b")
        for key, closes in (("u", "Close"), ("question_mark", "Close")):
            await pilot.press(key)
            await pilot.pause(0.2)
            modal = app.screen
            footer = modal.query_one(Footer)
            keys = [f"{k.key_display or k.key} {k.description}" for k in footer.query(FooterKey)]
            line = " · ".join(keys)
            assert closes in line, (type(modal).__name__, line)
            assert "Sort" not in line and "Load" not in line, (type(modal).__name__, line)
            await pilot.press("escape")
            await pilot.pause(0.1)
