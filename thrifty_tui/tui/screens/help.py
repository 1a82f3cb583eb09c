"""Help (``?`` or F1): every key of the screen below, what it does, and the CLI's equivalent."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from thrifty_tui.tui.footer_fit import SteadyFooter
from thrifty_tui.tui.help_text import COMMANDS, key_help

SCREEN_NAMES = {"LoadScreen": "Load", "LeaderboardScreen": "Leaderboard",
                "BudgetScreen": "Budget", "LabelScreen": "Label",
                "DiagnosticsScreen": "Diagnostics", "RunsScreen": "Runs",
                "ExportDialog": "Export"}


def key_rows(screen: Screen) -> list[tuple[str, str, str, bool]]:
    """(keys, what, CLI, available now) for each binding with an id on ``screen`` (its own keys
    first, then the app's), also those hidden now: the help says they exist. The keys its
    widgets handle (arrows, Enter in a list, Tab) come first, from the screen's ``HELP_KEYS``."""
    app = screen.app
    active = screen.active_bindings
    keys: dict[str, list[str]] = {}
    info: dict[str, tuple[Binding, bool]] = {}
    shadowed = set()  # keys the screen takes for itself (`?` on the Label screen)
    for _node, bindings in screen._modal_binding_chain:  # Textual is pinned exactly
        for key, binding in bindings:
            if not binding.id or binding.system or key in shadowed:
                continue
            shown = app.get_key_display(binding)
            if shown not in keys.setdefault(binding.id, []):
                keys[binding.id].append(shown)
            enabled = key in active and active[key].binding.id == binding.id \
                and active[key].enabled
            was = info.get(binding.id)
            info[binding.id] = (binding, enabled or (was is not None and was[1]))
        # Only keys the help lists shadow the app's (a DataTable's own Enter does not hide the
        # board's "diagnose": the table hands the key on as a row selection).
        shadowed.update(key for key, b in bindings if b.id and not b.system)
    rows = [(k, what, cli, True) for k, what, cli in getattr(screen, "HELP_KEYS", ())]
    for binding_id, shown_keys in keys.items():
        binding, enabled = info[binding_id]
        what, cli = key_help(binding_id, binding.description)
        rows.append((" ".join(shown_keys), what, cli, enabled))
    return rows


def settings_text(data_path: str | None) -> Text:
    """Where the settings come from (a new user found no word of thrifty.toml in the app)."""
    from thrifty_tui.config import settings_files, user_settings_file

    used = settings_files(data_path)
    user = user_settings_file()
    text = Text.from_markup("\n[b]Settings[/b]  [dim]thrifty.toml: budget and rules, metric, "
                            "theme, \\[keymap], screenshot_dir (README: Settings)[/dim]\n")
    text.append(f"{user}" + (" (read)" if user in used else " (none yet)"), style="cyan")
    for path in used:
        if path != user:
            text.append(f"\n{path} (read, beside the data)", style="cyan")
    return text


class HelpScreen(ModalScreen[None]):
    """The keys of one screen; Escape (or ?, F1, q) closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,f1,q", "close", "Close", id="help-close"),
    ]

    def __init__(self, below: Screen):
        super().__init__()
        self.below = below
        self.rows = key_rows(below)

    def compose(self) -> ComposeResult:
        name = SCREEN_NAMES.get(type(self.below).__name__, type(self.below).__name__)
        table = Table(box=None, expand=True, show_edge=False, pad_edge=False,
                      header_style="bold")
        table.add_column("key", no_wrap=True, style="bold cyan", max_width=14)
        table.add_column("what it does", ratio=3)
        table.add_column("command line", ratio=2, style="dim")
        for keys, what, cli, enabled in self.rows:
            table.add_row(keys, Text(what, style="" if enabled else "dim"), cli)
        commands = Table(box=None, expand=True, show_header=False, pad_edge=False)
        commands.add_column(no_wrap=False, style="cyan", ratio=3)
        commands.add_column(ratio=2, style="dim")
        for command, what in COMMANDS:
            commands.add_row(command, what)
        with Vertical(id="help-box"):
            yield Static(f"[b]Help · {name}[/b]  [dim]Esc closes · greyed: not now · "
                         f"^p: all actions[/dim]", id="help-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(table, id="help-keys")
                yield Static("\n[b]Headless[/b]  [dim]every command has --help with an "
                             "example[/dim]", id="help-cli-title")
                yield Static(commands, id="help-commands")
                data = self.app.state.dataset
                yield Static(settings_text(data.path if data else self.app.settings.path),
                             id="help-settings")
        # A modal's own keys at the bottom, over the screen below's footer (its keys do
        # nothing while the modal is open).
        yield SteadyFooter(compact=True)

    def on_resize(self, event: events.Resize) -> None:
        # The box is as tall as the keys up to the screen's height less the footer; past it the
        # keys scroll (3 lines: the border and the title; 1: the footer).
        self.query_one("#help-scroll").styles.max_height = max(3, event.size.height - 4)

    def action_close(self) -> None:
        self.dismiss(None)
