"""Load screen: pick a file, see a sample and its profile, choose target, task, roles, sample size.

Every read happens in the worker (``OpenDataset``): the screen renders the latest
``DatasetOpened`` snapshot and the ``LoadProgress`` events, and Escape or ``x`` cancels a load.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    DataTable,
    DirectoryTree,
    Input,
    OptionList,
    Static,
)
from textual.widgets.option_list import Option

from thrifty_tui.core.roles import Role
from thrifty_tui.tui.footer_fit import FittedFooter, SteadyFooter
from thrifty_tui.tui.widgets.column_list import ColumnList
from thrifty_tui.tui.widgets.load_view import (
    PathSuggester,
    chosen_roles,
    column_label,
    column_role,
    estimate_text,
    next_role,
    profile_text,
    sample_choices,
    serious_warnings,
    usable_columns,
)

if TYPE_CHECKING:
    from textual.widgets import ProgressBar

    from thrifty_tui.core.events import Event

TASKS = (None, "classification", "regression")
PREVIEW_COLUMNS = 60  # a preview of thousands of columns helps no one and costs a lot


def _short(name: str, width: int) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


class LoadScreen(FittedFooter, Screen):
    """Pick the data and what to predict; `s` then screens models on it."""

    # At 80 columns not every key fits while a load or a run can be cancelled (x) or a model
    # exported (e): greyed keys leave the footer first, then these (they still work).
    FOOTER_DROP = ("runs", "budget", "label", "board", "sample-size")
    # Keys the widgets handle, for the help (its rows for the bindings come from BINDINGS).
    HELP_KEYS = (("↑ ↓ ⏎", "choose the target: the highlighted column (its profile shows "
                  "on the right)", "run … --target COL"),
                 ("tab", "move between the path, the column list and the folder tree", ""))
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open_picker", "Open", id="open"),
        Binding("t", "cycle_task", "Task", id="task"),
        Binding("r", "cycle_role", "Role", id="role"),
        Binding("z", "cycle_sample", "Size", id="sample-size"),
        Binding("escape", "cancel_load", "Cancel load", id="cancel-load", show=False),
        Binding("escape", "leave_input", "Back", id="back"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("[b]Load data[/b]", id="load-title", classes="screen-title")
        yield Input(placeholder="o: type a path (→ completes) or pick below; Enter opens",
                    id="path", suggester=PathSuggester())
        with Horizontal(id="load-body"):
            with Vertical(id="columns-pane"):
                yield Static("  column     role      miss   uniq", classes="pane-title",
                             id="columns-title")
                yield ColumnList(id="columns")
            with Vertical(id="preview-pane"):
                yield Static("Preview", classes="pane-title", id="preview-title")
                yield DataTable(id="preview", zebra_stripes=True, cursor_type="none")
                yield Static("Profile", classes="pane-title", id="profile-title")
                with VerticalScroll(id="profile-scroll"):
                    yield Static("", id="profile")
        # The load's progress row (bar, phase, Esc) is mounted above #load-sample by the first
        # load: it is hidden until then, and its widgets cost ~15 ms of the first frame.
        yield Static("", id="load-sample")
        yield Static("", id="load-status")
        yield SteadyFooter(show_command_palette=False)

    _noted_path = ""
    _progress_row: tuple[Horizontal, ProgressBar, Static] | None = None

    def on_mount(self) -> None:
        if not self.app.settings.animations:
            for widget in self.query(Input):
                widget.cursor_blink = False
        self.app.engine_signal.subscribe(self, self.on_engine)
        self.render_state()
        self.query_one("#columns", OptionList).focus()

    _name_width = 10

    def on_resize(self, event: events.Resize) -> None:
        self._fit_preview()
        # Past 100 columns the column list widens, so long names show whole (up to 30).
        extra = max(0, min(20, (event.size.width - 100) // 3))
        if 10 + extra != self._name_width:
            self._name_width = 10 + extra
            self.query_one("#columns-pane").styles.width = 36 + extra
            for tree in self.query("#tree"):
                tree.styles.width = 36 + extra
            if self.app.state.dataset is not None and self.app.state.dataset.profile:
                self._render_columns()

    def _fit_preview(self) -> None:
        """The preview grows with the terminal (all its sampled rows at 40 lines and more);
        the profile below takes the rest."""
        dataset = self.app.state.dataset
        rows = len(dataset.preview) if dataset is not None else 8
        room = self.size.height - 15  # titles, path, sample, status, footer, the profile's 8
        self.query_one("#preview", DataTable).styles.height = max(9, min(rows + 1, room))

    # -- rendering from the app's state -----------------------------------------------------
    def render_state(self) -> None:
        state = self.app.state
        dataset = state.dataset
        self._render_progress()
        if dataset is None or dataset.profile is None:
            self._status("loading…" if state.loading else "no data yet: press o to open a file")
            return
        self.query_one("#path", Input).value = dataset.path
        self.query_one("#load-title", Static).update(
            f"[b]Load data[/b]  {_short(Path(dataset.path).name, 30)} · [b]Enter[/b] target · "
            f"[b]s[/b] screens · [b]?[/b] help")
        self._render_columns()
        self._render_preview()
        self._fit_preview()
        self._render_profile()
        self._render_sample()
        self._status_dataset()

    def _render_columns(self) -> None:
        state = self.app.state
        assert state.dataset is not None and state.dataset.profile is not None
        columns = self.query_one("#columns", OptionList)
        names = [c.name for c in state.dataset.profile.columns]
        highlighted = columns.highlighted
        if columns.option_count != len(names) or highlighted is None:
            highlighted = names.index(state.target) if state.target in names else 0
        columns.clear_options()
        self.query_one("#columns-title", Static).update(
            f"  {'column':<{self._name_width}} role      miss   uniq")
        columns.add_options([Option(column_label(c, state.roles, state.target,
                                                 self._name_width), id=c.name)
                             for c in state.dataset.profile.columns])
        columns.highlighted = min(highlighted, len(names) - 1)

    def _render_preview(self) -> None:
        state = self.app.state
        dataset = state.dataset
        assert dataset is not None
        preview = self.query_one("#preview", DataTable)
        preview.clear(columns=True)
        shown = dataset.columns[:PREVIEW_COLUMNS]
        rows = [tuple(v if len(v) <= 24 else v[:23] + "…" for v in row[:len(shown)])
                for row in dataset.preview]
        for i, col in enumerate(shown):
            # Explicit widths: a cleared table does not size its columns to new rows.
            width = max([len(col.name[:24]), *(len(row[i]) for row in rows if i < len(row))])
            preview.add_column(Text(col.name[:24], style="bold green"
                                    if col.name == state.target else ""), key=col.name,
                               width=width)
        preview.add_rows(rows)
        more = f", first {len(shown)} of {len(dataset.columns):,} columns" \
            if len(dataset.columns) > len(shown) else ""
        self.query_one("#preview-title", Static).update(
            f"Preview: {len(dataset.preview)} sampled of {dataset.n_rows:,} rows{more}")

    def _render_profile(self) -> None:
        state = self.app.state
        assert state.dataset is not None
        columns = self.query_one("#columns", OptionList)
        option = (columns.get_option_at_index(columns.highlighted)
                  if columns.highlighted is not None else None)
        self.query_one("#profile", Static).update(profile_text(
            state.dataset, state.target, state.task, state.roles,
            option.id if option is not None else None))

    def _render_sample(self) -> None:
        state = self.app.state
        dataset = state.dataset
        assert dataset is not None and dataset.profile is not None
        usable = usable_columns(dataset.profile, state.roles, state.target)
        self.query_one("#load-sample", Static).update(
            f"[b]z[/b] {estimate_text(dataset, state.sample_rows, usable, self._measured())}")

    def _measured(self) -> tuple[int, int, float] | None:
        """(rows, usable columns, seconds) of the last finished run on this file, if any."""
        state = self.app.state
        run, finished = state.run, state.finished
        if (run is None or finished is None or state.dataset is None
                or run.path != state.dataset.path or finished.status != "done"):
            return None
        usable = len([c for c in state.dataset.columns if c.name != run.target])
        return run.n_rows, usable, finished.elapsed_s

    def _render_progress(self) -> None:
        state = self.app.state
        if state.loading is None:
            if self._progress_row is not None:
                self._progress_row[0].display = False
            return
        if self._progress_row is None:  # the first load: its row is made now (see compose)
            from textual.widgets import ProgressBar

            bar, text = ProgressBar(id="load-progress", show_eta=False), Static(
                "", id="load-progress-text")
            row = Horizontal(bar, text, id="load-progress-row")
            self.mount(row, before="#load-sample")
            self._progress_row = (row, bar, text)
        row, bar, text = self._progress_row
        row.display = True
        progress = state.load_progress
        if progress is None or progress.fraction is None:
            bar.update(total=None)
        else:
            bar.update(total=100, progress=100 * progress.fraction)
        what = progress.phase if progress is not None else "starting"
        seconds = f" {progress.elapsed_s:.1f} s" if progress is not None else ""
        text.update(f" {what} {Path(state.loading).name}{seconds} · [b]Esc[/b] cancels")

    def _status_dataset(self) -> None:
        state = self.app.state
        dataset = state.dataset
        assert dataset is not None and dataset.profile is not None
        profile = dataset.profile.with_roles(state.roles)  # warnings as the roles leave them
        tp = profile.target if profile.target is not None and \
            profile.target.name == state.target else None
        task = state.task or (f"{tp.task or '?'} (auto)" if tp else "auto")
        usable = usable_columns(profile, state.roles, state.target)
        chosen = chosen_roles(dataset.profile, state.roles, state.target)
        changed = (" · " + ", ".join(f"{_short(n, 12)}→{r}" for n, r in chosen[:2])
                   + (f" +{len(chosen) - 2}" if len(chosen) > 2 else "")) if chosen else ""
        warned = f" · [yellow]⚠ {len(profile.warnings)}[/]" if profile.warnings else ""
        self._status(f"target [b green]{state.target}[/] · task [b]{task}[/b] · "
                     f"{usable} features{changed}{warned}")

    def _status(self, text: str) -> None:
        self.query_one("#load-status", Static).update(text)

    def on_engine(self, event: Event) -> None:
        # Imported here: the first frame does not wait for the events module (see app.py).
        from thrifty_tui.core.events import DatasetOpened, JobFailed, LoadProgress, RunStarted

        if isinstance(event, DatasetOpened):
            self.render_state()
            for message in serious_warnings(event):
                self.notify(message, title="Target", severity="warning", timeout=8)
            if len(event.columns) > PREVIEW_COLUMNS and event.path != self._noted_path:
                self.notify(f"{Path(event.path).name} has {len(event.columns):,} columns; the "
                            f"preview shows the first {PREVIEW_COLUMNS}", title="Note")
            self._noted_path = event.path
        elif isinstance(event, LoadProgress):
            self._render_progress()
            if self.app.state.dataset is None and self.app.state.loading:
                self._status(f"opening {self.app.state.loading}…")
        elif isinstance(event, JobFailed) and event.job == "OpenDataset":
            self._render_progress()
            if not event.cancelled:
                self._status(f"[b red]{event.message}[/]")
            elif self.app.state.dataset is not None:
                self._status_dataset()
            else:
                self._status(event.message)
        elif isinstance(event, JobFailed) and event.job == "Screen":
            self._status(f"[b red]{event.message}[/]")
        elif (isinstance(event, RunStarted) and event.notices
              and self.app.state.dataset is not None
              and event.path == self.app.state.dataset.path):
            # A run of another file (a label set, a restored run) says nothing about this one.
            self._status("; ".join(event.notices))

    # -- input --------------------------------------------------------------------------------
    def on_input_submitted(self, message: Input.Submitted) -> None:
        path = message.value.strip()
        if not path:
            self.notify("Type a path first.", severity="warning")
            return
        self._open(path)

    def _open(self, path: str) -> None:
        self.app.open_path(path)
        self._render_progress()
        self._status(f"opening {path}…")
        self._close_picker()

    def on_directory_tree_file_selected(self, message: DirectoryTree.FileSelected) -> None:
        self._open(str(message.path))

    def on_option_list_option_highlighted(self, message: OptionList.OptionHighlighted) -> None:
        if self.app.state.dataset is not None and self.app.state.dataset.profile is not None:
            self._render_profile()

    def on_option_list_option_selected(self, message: OptionList.OptionSelected) -> None:
        state = self.app.state
        if message.option.id == state.target or state.dataset is None:
            return
        state.target, state.task = message.option.id, None
        state.roles.pop(state.target or "", None)
        self.render_state()
        # The target's balance, dropped rows and leakage suspects need a new profile: the
        # worker's child still holds the table, so this is quick.
        self.app.open_path(state.dataset.path, state.target)
        self._render_progress()

    def action_open_picker(self) -> None:
        """The file picker: a directory tree beside the path input (Tab moves between them)."""
        dataset = self.app.state.dataset
        root = Path(dataset.path).parent if dataset is not None else Path.cwd()
        trees = self.query("#tree")
        if trees:
            tree = trees.first(DirectoryTree)
            if Path(tree.path) != root:  # follow the open file's folder
                tree.path = root
        else:
            tree = DirectoryTree(str(root), id="tree")
            self.query_one("#load-body").mount(tree, before=0)
        tree.display = True
        self.query_one("#columns-pane").display = False
        self.query_one("#path", Input).focus()

    def action_leave_input(self) -> None:
        self._close_picker()

    def _close_picker(self) -> None:
        for tree in self.query("#tree"):
            tree.display = False
        self.query_one("#columns-pane").display = True
        self.query_one("#columns", OptionList).focus()

    def action_cancel_load(self) -> None:
        self.app.cancel_load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        loaded = self.app.state.dataset is not None and self.app.state.dataset.profile is not None
        in_picker = self.query_one("#path", Input).has_focus or any(
            t.display and t.has_focus for t in self.query("#tree"))
        if action == "cancel_load":  # inside the picker Escape first leaves it
            return self.app.state.loading is not None and not in_picker
        if action == "leave_input":  # shown (and needed) only inside the file picker
            return in_picker
        if action in ("cycle_role", "cycle_sample", "cycle_task"):
            return True if loaded else None
        return True

    def action_cycle_task(self) -> None:
        state = self.app.state
        state.task = TASKS[(TASKS.index(state.task) + 1) % len(TASKS)]
        if state.dataset is not None and state.dataset.profile is not None:
            self._render_profile()
            self._status_dataset()

    def action_cycle_role(self) -> None:
        state = self.app.state
        dataset = state.dataset
        columns = self.query_one("#columns", OptionList)
        if dataset is None or dataset.profile is None or columns.highlighted is None:
            return
        column = dataset.profile.columns[columns.highlighted]
        if column.name == state.target:
            self.notify("That is the target; choose another column to give it a role.",
                        severity="warning")
            return
        role = next_role(column_role(column, state.roles, state.target))
        if role == column_role(column, {}, state.target):
            state.roles.pop(column.name, None)  # back to what was inferred
        else:
            state.roles[column.name] = role.value
        if role == Role.ID:
            self.notify(f"{column.name!r} will not be used as a feature", timeout=3)
        self.render_state()

    def action_cycle_sample(self) -> None:
        state = self.app.state
        if state.dataset is None or state.dataset.profile is None:
            return
        choices = sample_choices(state.dataset.n_rows)
        index = choices.index(state.sample_rows) if state.sample_rows in choices else 0
        state.sample_rows = choices[(index + 1) % len(choices)]
        self._render_sample()
