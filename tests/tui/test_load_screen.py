"""The Load screen driven by keys: bad input, progress and cancel, picker, roles, sample size."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import pytest
from textual.widgets import DirectoryTree, Footer, Input, OptionList, ProgressBar
from textual.widgets._footer import FooterKey
from tui_helpers import SIZE, wait_for

from thrifty_tui.config import SAMPLE_DIR
from thrifty_tui.core.events import RunFinished, RunStarted
from thrifty_tui.core.store.workspace import Workspace
from thrifty_tui.engine.jobs import Screen as ScreenJob

REPO = Path(__file__).resolve().parents[2]
BAD = REPO / "tests" / "fixtures" / "bad"

# fixture -> words of the notification it must give (the file is refused, or opens with a note)
BAD_INPUT = {
    "empty.csv": "is empty",
    "blank_lines.csv": "is empty",
    "header_only.csv": "has a header but no rows",
    "binary.csv": "binary file",
    "table.xyz": "unsupported file type .xyz",
    "ragged_all.csv": "no row of ragged_all.csv matches its header's 3 fields",
    "ragged_some.csv": "skipped 3 malformed row(s)",
    "wrong_encoding.csv": "neither UTF-8 nor Windows-1252",
    "utf16_no_bom.csv": "UTF-16 text without a byte-order mark",
    "latin1.csv": "read it as Windows-1252",
    "duplicate_names.csv": "column name 'id' is used twice (columns 1 and 3)",
    "empty_name.csv": "column 2 has no name",
    "one_class.csv": "'x' has a single class ('same'); nothing to learn",
    "all_missing_target.csv": "'x' has no values",
    "many_columns.csv": "many_columns.csv has 3,001 columns",
    "too_many_columns.csv.gz": "has 25,000 columns; thrifty-tui reads at most 20,000",
    "huge_field.csv.gz": "huge text fields ('text': up to 6,000,000 characters)",
    "huge_line.csv.gz": "1 with a row over 16 MB",
    "bad_lines.jsonl": "skipped 2 malformed line(s) (not a JSON object)",
    "a_directory.csv": "is a directory",
    "secret.csv": "permission denied",  # made by the test: no read permission
}


def _messages(app) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


async def _type_path(pilot, path: str) -> None:
    """Open the picker with `o`, type the path like a person, Enter."""
    await pilot.press("o")
    field = pilot.app.screen.query_one("#path", Input)
    assert field.has_focus
    field.value = ""
    await pilot.press(*path)
    await pilot.press("enter")


async def _answers_keys(pilot) -> None:
    """The app still runs and reacts: `o` focuses the path, Escape goes back to the columns."""
    app = pilot.app
    assert app.is_running and app.current_mode == "load"
    await pilot.press("o")
    assert app.screen.query_one("#path", Input).has_focus
    await pilot.press("escape")
    assert app.screen.query_one("#columns", OptionList).has_focus


@pytest.mark.parametrize("group", range(3))
async def test_bad_input_gives_its_message_and_the_app_goes_on(make_app, tmp_path, monkeypatch,
                                                               group):
    """The bad files in turn, a third of them per app (its start and the sample's load are
    paid once, and the two test workers share the three): each gives its notification, the
    load ends, and the app still answers keys."""
    secret = tmp_path / "secret.csv"  # root reads anything: deny it the way the OS would
    secret.write_text("a,b\n1,2\n")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(secret)
                        else real_access(p, mode, **kw))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for name in sorted(BAD_INPUT)[group::3]:
            app.clear_notifications()
            await _type_path(pilot, str(secret if name == "secret.csv" else BAD / name))
            try:
                await wait_for(pilot, lambda: any(BAD_INPUT[name] in m  # noqa: B023
                                                  for m in _messages(app)))
            except AssertionError:
                raise AssertionError(f"{name}: no {BAD_INPUT[name]!r} in {_messages(app)}"
                                     ) from None
            await wait_for(pilot, lambda: app.state.loading is None)
            await _answers_keys(pilot)


async def test_after_a_bad_file_a_good_one_opens(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _type_path(pilot, str(BAD / "binary.csv"))
        await wait_for(pilot, lambda: any("binary file" in m for m in _messages(app)))
        await _type_path(pilot, str(SAMPLE_DIR / "car_prices.csv"))
        await wait_for(pilot, lambda: app.state.dataset is not None)
        assert app.state.dataset.n_rows == 804 and app.state.target == "wagon"  # the last column


def _big_csv(path: Path, rows: int = 4_000_000) -> Path:
    """About 135 MB, so the file is streamed (DuckDB samples it: seconds, with a known share
    done), written by DuckDB itself in a couple of seconds."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"COPY (SELECT i AS id, i * 0.25 AS amount, 'word' || (i % 97) || ' other' "
                    f"|| (i % 13) AS words, ['x', 'y', 'z'][i % 3 + 1] AS label "
                    f"FROM range({rows}) t(i)) TO '{path}' (HEADER)")
    finally:
        con.close()
    return path


async def test_a_long_load_shows_progress_answers_keys_and_cancels(make_app, tmp_path):
    big = _big_csv(tmp_path / "big.csv")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _type_path(pilot, str(big))
        row = app.screen.query_one("#load-progress-row")
        bar = app.screen.query_one("#load-progress", ProgressBar)
        text = app.screen.query_one("#load-progress-text")
        assert row.display
        # The child reports its phase and DuckDB's share done; the bar follows it.
        await wait_for(pilot, lambda: app.state.load_progress is not None
                       and app.state.load_progress.phase == "sampling"
                       and app.state.load_progress.fraction is not None)
        await pilot.pause()
        assert "sampling big.csv" in str(text.render()) and bar.total == 100
        await _answers_keys(pilot)  # the UI answers keys while the child reads
        await pilot.press("r")  # nothing loaded yet: a greyed key, no crash
        await pilot.press("escape")  # cancels the load
        await wait_for(pilot, lambda: any("stopped loading big.csv" in m
                                          for m in _messages(app)))
        await wait_for(pilot, lambda: app.state.loading is None)
        assert app.state.dataset is None and not row.display
        # The worker goes on: the next file opens.
        await _type_path(pilot, str(SAMPLE_DIR / "car_prices.csv"))
        await wait_for(pilot, lambda: app.state.dataset is not None)


async def test_picker_completes_paths_and_browses(make_app, monkeypatch):
    monkeypatch.chdir(REPO)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        field = app.screen.query_one("#path", Input)
        field.value = ""
        await pilot.press(*"sample_data/car")
        await wait_for(pilot, lambda: field._suggestion == "sample_data/car_prices.csv")
        await pilot.press("right", "enter")  # → takes the completion
        await wait_for(pilot, lambda: app.state.dataset is not None)
        assert app.state.dataset.path.endswith("car_prices.csv")
        # The tree beside the input (root: the open file's folder), Tab then arrows and Enter.
        await pilot.press("o")
        tree = app.screen.query_one("#tree", DirectoryTree)
        assert tree.display
        await pilot.press("tab")
        assert tree.has_focus
        await wait_for(pilot, lambda: tree.root.children)
        names = [n.data.path.name for n in tree.root.children]
        for _ in range(names.index("gss_wages.csv") + 1):
            await pilot.press("down")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.state.dataset.path.endswith("gss_wages.csv"))
        assert not tree.display and app.screen.query_one("#columns", OptionList).has_focus


async def test_target_roles_task_and_sample_size_reach_the_screening(make_app, movies):
    submitted: list = []
    app = make_app(path=movies, target="Comedy")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.dataset is not None)
        real_submit = app.worker.submit
        app.worker.submit = lambda job: (submitted.append(job), real_submit(job))
        columns = app.screen.query_one("#columns", OptionList)
        names = [c.name for c in app.state.dataset.profile.columns]
        await wait_for(pilot, lambda: columns.option_count == len(names))
        # Target: Drama (Enter), which profiles the file again for it.
        columns.highlighted = names.index("Drama")
        await pilot.press("enter")
        profile = app.screen.query_one("#profile")
        await wait_for(pilot, lambda: "target Drama → classification" in str(profile.render()))
        assert app.state.dataset.target == "Drama"
        # Roles: year numeric → category; title text → date → id-like (not used).
        columns.highlighted = names.index("year")
        await pilot.press("r")
        columns.highlighted = names.index("title")
        await pilot.press("r", "r")
        assert app.state.roles == {"year": "categorical", "title": "id-like"}
        assert "category*" in str(columns.get_option_at_index(names.index("year")).prompt)
        await pilot.press("t")  # task: classification, chosen
        await pilot.press("z")  # sample size: 2,000 of 3,000 rows
        assert app.state.sample_rows == 2000
        assert "sample of 2,000 rows" in str(app.screen.query_one("#load-sample").render())
        await pilot.press("s")
        await wait_for(pilot, lambda: app.state.run is not None
                       and isinstance(app.state.run, RunStarted))
        await pilot.press("x")
        await wait_for(pilot, lambda: app.state.finished is not None, timeout=120)
    (job,) = [j for j in submitted if isinstance(j, ScreenJob)]
    assert job.target == "Drama" and job.task == "classification" and job.sample_rows == 2000
    assert dict(job.roles) == {"year": "categorical", "title": "id-like"}
    ws = Workspace(app.settings.workspace)
    try:
        problem = json.loads((ws.run_dir(app.state.run.run_id) / "problem.json").read_text())
        (sample,) = ws.samples()
    finally:
        ws.close()
    roles = {c["name"]: c["role"] for c in problem["columns"]}
    assert roles["year"] == "categorical" and "title" not in roles
    assert sample["method"] == "stratified" and sample["rows"] == 2000
    assert sample["source"].endswith("movies.csv") and sample["hashed"] == "content"


def _footer_keys(app) -> list[tuple[str, int, bool]]:
    """The footer's keys as drawn: (key, right edge, greyed)."""
    footer = app.screen.query_one(Footer)
    return [(k.key, k.region.right, k.has_class("-disabled")) for k in footer.query(FooterKey)]


async def test_every_key_of_the_footer_fits_80_columns_in_every_state(make_app):
    """Loaded or not, a load running, a run running, a model to export, the picker open: the
    footer's keys all fit 80 columns, the one to cancel with is among them, and a key left
    out of the footer still works."""
    app = make_app(path=str(SAMPLE_DIR / "car_prices.csv"), target="Price")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.dataset is not None and not app.state.loading)
        state, dataset = app.state, app.state.dataset
        done = RunFinished(run_id=1, status="done", best_model="linear", best_score=0.9,
                           metric="r2", elapsed_s=1.0, stop_reason="all models screened",
                           model_path="model.joblib")
        for loaded, loading, running, exportable, picker in itertools.product((True, False),
                                                                             repeat=5):
            state.dataset = dataset if loaded else None
            state.loading = "/data/big.csv" if loading else None
            state.screen_pending = running
            state.finished = done if exportable else None
            if picker:
                await pilot.press("o")
            app.refresh_bindings()
            await pilot.pause(0.05)
            keys = _footer_keys(app)
            where = {"loaded": loaded, "loading": loading, "running": running,
                     "exportable": exportable, "picker": picker, "keys": keys}
            assert keys and max(right for _, right, _ in keys) <= SIZE[0], where
            if picker:
                # In the path input `?` is text: F1 still opens the help.
                assert [k for k, _, _ in keys] == ["escape", "f1"], where
                await pilot.press("escape")
                continue
            assert "o" in {k for k, _, _ in keys}, where
            if loading or running:
                assert "x" in {k for k, _, _ in keys}, where
        # Loaded, a load running, a model to export: Budget and Label left the footer...
        state.dataset, state.loading, state.screen_pending = dataset, "/data/big.csv", False
        state.finished = done
        app.refresh_bindings()
        await pilot.pause(0.05)
        shown = {k for k, _, _ in _footer_keys(app)}
        assert {"o", "t", "r", "z", "s", "x", "e"} <= shown and not {"a", "d"} & shown
        palette = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Budget dashboard", "Label data"} <= palette  # ...are in the palette...
        await pilot.press("d")  # ...and still work
        assert app.current_mode == "budget"
        state.loading, state.finished = None, None
        app.switch_mode("load")
        await pilot.pause(0.05)
        # Room for all but the Budget (d), which the help (?) and the palette list.
        assert {k for k, _, _ in _footer_keys(app)} == {"o", "t", "r", "z", "q", "b", "s", "a",
                                                         "question_mark"}


def _roles_csv(path: Path) -> Path:
    """A row counter (id-like), a constant, a number, a leak of the target and the target."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    y = rng.choice(["yes", "no"], 400)
    pd.DataFrame({"row_id": np.arange(400), "site": ["lab"] * 400,
                  "dose": rng.integers(0, 50, 400), "code": np.where(y == "yes", "P", "N"),
                  "y": y}).to_csv(path, index=False)
    return path


async def test_a_role_change_redoes_the_warnings_without_reading_the_file(make_app, tmp_path):
    app = make_app(path=str(_roles_csv(tmp_path / "roles.csv")), target="y")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.dataset is not None
                       and app.state.dataset.profile is not None and not app.state.loading)
        columns = app.screen.query_one("#columns", OptionList)
        names = [c.name for c in app.state.dataset.profile.columns]
        await wait_for(pilot, lambda: columns.option_count == len(names))
        jobs: list = []
        real_submit = app.worker.submit
        app.worker.submit = lambda job: (jobs.append(job), real_submit(job))
        profile = app.screen.query_one("#profile")
        status = app.screen.query_one("#load-status")
        before = str(profile.render())
        assert "'row_id' looks like a row identifier" in before
        assert "'site' holds a single value" in before and "'code' predicts 'y'" in before
        assert "⚠ 3" in str(status.render())
        columns.highlighted = names.index("row_id")
        await pilot.press("r")  # id-like -> numeric
        columns.highlighted = names.index("site")
        await pilot.press("r")  # constant -> numeric
        columns.highlighted = names.index("code")
        await pilot.press("r", "r", "r")  # category -> text -> date -> id-like: not used
        await pilot.pause()
        assert app.state.roles == {"row_id": "numeric", "site": "numeric", "code": "id-like"}
        after = str(profile.render())
        assert "row identifier" not in after and "single value" not in after
        assert "predicts" not in after  # a leak kept out of the features is no longer one
        assert "'code' is set to id-like; it is not used as a feature" in after
        assert "code: id-like ·" in after  # the highlighted column's role
        assert "id-like*" in str(columns.get_option_at_index(names.index("code")).prompt)
        assert "numeric*" in str(columns.get_option_at_index(names.index("row_id")).prompt)
        assert "⚠ 1" in str(status.render())
        assert jobs == [] and app.state.loading is None  # nothing read again


async def test_a_long_column_list_keeps_one_line_a_column_beside_its_scrollbar(make_app, tmp_path):
    # 120 columns of 3-digit distinct counts: the list scrolls, and with Textual's 2-cell bar
    # each 33-cell line wrapped onto two (the count alone on the second).
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(300, 120)).round(3),
                         columns=[f"feature_{i}" for i in range(120)])
    frame["y"] = frame["feature_0"] > 0
    path = tmp_path / "wide.csv"
    frame.to_csv(path, index=False)
    app = make_app(str(path), "y")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.dataset is not None
                       and app.screen.query_one("#columns", OptionList).option_count == 121)
        await pilot.pause(0.2)
        columns = app.screen.query_one("#columns", OptionList)
        assert columns.max_scroll_y > 0  # it scrolls
        assert columns.virtual_size.height == 121  # one line per column
        words = columns.render_line(0).text.split()
        assert words[0].startswith("feature_") and words[1] == "numeric"
        assert words[-1].isdigit() and int(words[-1]) > 200  # the distinct count is shown


def test_class_shares_are_of_every_labelled_row_not_of_the_classes_shown():
    # 50 classes of 4 rows: each is 2% of the rows. The Load screen showed 3%: its shares were
    # of the 30 classes kept for display (120 rows).
    import numpy as np
    import pandas as pd

    from thrifty_tui.core.events import DatasetOpened
    from thrifty_tui.core.data.profile import profile
    from thrifty_tui.tui.widgets.load_view import profile_text

    frame = pd.DataFrame({"x": np.arange(200.0), "label": [f"c{i % 50:02d}" for i in range(200)]})
    result = profile(frame, target="label")
    assert result.target.n_classes == 50 and len(result.target.classes) == 30
    assert result.target.labelled == 200
    opened = DatasetOpened(path="f.csv", fingerprint="", n_rows=200, columns=(), preview=(),
                           suggested_target="label", suggested_task="classification",
                           profile=result, target="label")
    text = profile_text(opened, "label", None, {}, None).plain
    assert "50 classes: c00 2% · c01 2% · c02 2% · c03 2% · +46 more" in text
