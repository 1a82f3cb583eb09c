"""Help on every screen, screenshots without ~/Downloads, thrifty.toml settings and keymap."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_helpers import SIZE, fixed_workspace, wait_for

from thrifty_tui.config import SettingsError, make_settings, with_user_settings
from thrifty_tui.tui.app import create_app
from thrifty_tui.tui.screens.help import HelpScreen


def _app(workspace: Path, **kwargs):
    return create_app(make_settings(str(workspace), max_procs=1, animations=False, **kwargs))


def _help_text(app) -> str:
    return "\n".join(str(w.render()) for w in app.screen.query("Static"))


async def test_help_lists_every_key_of_each_screen_with_the_cli(tmp_path):
    app = _app(fixed_workspace(tmp_path / "ws"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.finished is not None)
        for mode, own_ids in (("load", {"open", "task", "role", "sample-size"}),
                              ("board", {"diagnose", "sort", "weak"}),
                              ("budget", {"budget-rules", "budget-accept"})):
            app.switch_mode(mode)
            await pilot.pause()
            below = app.screen
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen), mode
            keys = {row[0] for row in app.screen.rows}
            whats = " ".join(row[1] for row in app.screen.rows)
            ids = {b.id for b in below.BINDINGS if b.id} | {"quit", "screen", "export"}
            assert own_ids <= ids
            assert {"q", "s", "e", "?"} <= {k.split()[0] for k in keys}, keys
            assert "screen the model zoo" in whats
            assert "thrifty-tui run PATH --target COL" in {row[2] for row in app.screen.rows}
            await pilot.press("escape")
            assert app.screen is below
        await pilot.press("f1")  # F1 opens it too
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")


async def test_ctrl_s_and_the_palette_save_a_screenshot_without_downloads(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # no ~/Downloads
    monkeypatch.chdir(tmp_path)
    shots = tmp_path / "shots"
    app = _app(tmp_path / "ws", screenshot_dir=shots)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: shots.is_dir() and any(shots.glob("*.svg")), 10)
        app.action_command_palette()
        await pilot.pause()
        await pilot.press(*"Screenshot")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(list(shots.glob("*.svg"))) == 2, 10)
    assert "<svg" in next(shots.glob("*.svg")).read_text()
    # No setting and no ~/Downloads: the current folder.
    app = _app(tmp_path / "ws2")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: any(tmp_path.glob("*.svg")), 10)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_thrifty_toml_user_then_data_folder_then_env(tmp_path, monkeypatch):
    user = _write(tmp_path / "config" / "thrifty.toml",
                  '[app]\ntheme = "nord"\nmetric = "accuracy"\nseed = 3\n'
                  '[keymap]\nquit = "ctrl+q"\n[budget]\nseconds = 20\n')
    data = _write(tmp_path / "data" / "thrifty.toml", '[app]\nmetric = "f1_macro"\n')
    (tmp_path / "data" / "d.csv").write_text("a,b\n1,2\n")
    monkeypatch.setenv("THRIFTY_CONFIG", str(user))
    settings = with_user_settings(make_settings(str(tmp_path / "ws"),
                                                path=str(tmp_path / "data" / "d.csv")),
                                  environ={"THRIFTY_THEME": "gruvbox"})
    assert settings.theme == "gruvbox"  # env over both files
    assert settings.metric == "f1_macro"  # the data's folder over the user's
    assert settings.seed == 3 and dict(settings.keymap) == {"quit": "ctrl+q"}
    assert dict(settings.rules) == {"seconds": 20}
    assert settings.sources == (str(user), str(data))
    flagged = with_user_settings(make_settings(str(tmp_path / "ws"), seed=9), environ={})
    assert flagged.seed == 9  # a flag wins over the file


@pytest.mark.parametrize("text, field", [
    ('[app]\nmetric = "speed"\n', "[app] metric"),
    ('[app]\nseed = -1\n', "[app] seed"),
    ('[app]\ncolour = "red"\n', "[app] colour"),
    ('[budget]\nmax_fits = 2.5\n', "[budget] max_fits"),
    ('[keymap]\nquit = 3\n', "[keymap] quit"),
    ('[app\n', "not valid TOML"),
])
def test_a_bad_setting_is_one_line_naming_the_file_and_field(tmp_path, monkeypatch, text, field):
    user = _write(tmp_path / "thrifty.toml", text)
    monkeypatch.setenv("THRIFTY_CONFIG", str(user))
    with pytest.raises(SettingsError) as err:
        with_user_settings(make_settings(str(tmp_path / "ws")), environ={})
    message = str(err.value)
    assert "\n" not in message and str(user) in message and field in message, message


async def test_keymap_theme_and_rules_from_settings_reach_the_app(tmp_path):
    app = _app(tmp_path / "ws", keymap=(("budget", "g"),), theme="nord",
               rules=(("max_fits", 30),))
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == "nord"
        await pilot.press("g")
        assert app.current_mode == "budget"
        await pilot.press("question_mark")
        assert "g" in {row[0] for row in app.screen.rows}
        await pilot.press("escape")
        assert app.state.rules.max_fits == 30
