"""Starting the app from the CLI: a terminal is required, thrifty.toml is read first."""

from __future__ import annotations

import sys
from typing import Any, TextIO

HEADLESS = "run, predict, profile, sample, inspect, runs, labels export"


def no_terminal(stdin: TextIO | None = None, stdout: TextIO | None = None) -> str | None:
    """Why the app cannot start here (stdin or stdout not a terminal), else None.

    Without this, `thrifty-tui > log` drew escape codes into the file at full CPU for as long
    as it was left running."""
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    for name, stream in (("stdout", stdout), ("stdin", stdin)):
        try:
            if stream is None or not stream.isatty():
                return (f"the app needs a terminal ({name} is not one); headless commands: "
                        f"{HEADLESS} (thrifty-tui COMMAND --help)")
        except (AttributeError, ValueError):  # a closed or odd stream
            return f"the app needs a terminal ({name} is not one); headless: {HEADLESS}"
    return None


def app_settings(workspace: str | None, **kwargs: Any) -> Any:
    """The app's settings: the command line's, over thrifty.toml and the environment.

    DataError (one line, exit 2) when there is no terminal, or a setting is wrong (the line
    names the file and the field)."""
    from thrifty_tui.config import SettingsError, make_settings, with_user_settings
    from thrifty_tui.core.errors import DataError

    why = no_terminal()
    if why is not None:
        raise DataError(why)
    try:
        return with_user_settings(make_settings(workspace, **kwargs))
    except SettingsError as err:
        raise DataError(str(err)) from None
