"""Load screen: open a file, look at a preview, choose the target column and the task."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from thrifty_tui.core.events import DatasetOpened, Event, JobFailed, RunStarted
from thrifty_tui.core.records import Role

TASKS = (None, "classification", "regression")


class LoadScreen(Screen):
    """Pick the data and what to predict; `s` then screens models on it."""

    BINDINGS = [
        Binding("o", "focus_path", "Open file", id="open"),
        Binding("t", "cycle_task", "Task", id="task"),
        Binding("escape", "leave_input", "Back", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Static("[b]Load data[/b]  choose the column to predict, then press [b]s[/b]",
                     id="load-title", classes="screen-title")
        yield Input(placeholder="path to a data file (CSV, TSV, .gz …) — press Enter to open",
                    id="path")
        with Horizontal(id="load-body"):
            with Vertical(id="columns-pane"):
                yield Static("Target column (Enter)", classes="pane-title")
                yield OptionList(id="columns")
            with Vertical(id="preview-pane"):
                yield Static("Preview", classes="pane-title", id="preview-title")
                yield DataTable(id="preview", zebra_stripes=True, cursor_type="none")
        yield Static("", id="load-status")
        yield Footer()

    def on_mount(self) -> None:
        if not self.app.settings.animations:
            for widget in self.query(Input):
                widget.cursor_blink = False
        self.app.engine_signal.subscribe(self, self.on_engine)
        self.render_state()
        self.query_one("#columns", OptionList).focus()

    # -- rendering from the app's state -----------------------------------------------------
    def render_state(self) -> None:
        state = self.app.state
        dataset = state.dataset
        columns = self.query_one("#columns", OptionList)
        preview = self.query_one("#preview", DataTable)
        if dataset is None:
            self._status("loading…" if state.loading else "no data yet: press o and type a path")
            return
        self.query_one("#path", Input).value = dataset.path
        highlighted = columns.highlighted
        columns.clear_options()
        for col in dataset.columns:
            mark = "▶ " if col.name == state.target else "  "
            label = Text.assemble((mark, "bold green"), (col.name[:18], "bold" if mark.strip() else ""),
                                  (f" {col.role.value}", "dim"))
            columns.add_option(Option(label, id=col.name))
        names = [c.name for c in dataset.columns]
        if highlighted is None and state.target in names:
            highlighted = names.index(state.target)
        if highlighted is not None and highlighted < len(names):
            columns.highlighted = highlighted
        preview.clear(columns=True)
        for col in dataset.columns:
            preview.add_column(Text(col.name, style="bold green" if col.name == state.target else ""),
                               key=col.name)
        preview.add_rows([tuple(v if len(v) <= 24 else v[:23] + "…" for v in row)
                          for row in dataset.preview])
        self.query_one("#preview-title", Static).update(
            f"Preview: first {len(dataset.preview)} of {dataset.n_rows:,} rows")
        self._status_dataset()

    def _status_dataset(self) -> None:
        state = self.app.state
        dataset = state.dataset
        assert dataset is not None
        task = state.task or f"{dataset.suggested_task if state.target == dataset.suggested_target else 'auto'} (auto)"
        usable = sum(1 for c in dataset.columns if c.name != state.target
                     and c.role in (Role.NUMERIC, Role.CATEGORICAL, Role.TEXT))
        self._status(f"[b]{Path(dataset.path).name}[/b] · {dataset.n_rows:,} rows × "
                     f"{len(dataset.columns)} cols ({usable} features) · target [b green]"
                     f"{state.target}[/] · task [b]{task}[/b]")

    def _status(self, text: str) -> None:
        self.query_one("#load-status", Static).update(text)

    def on_engine(self, event: Event) -> None:
        if isinstance(event, DatasetOpened):
            self.render_state()
        elif isinstance(event, JobFailed) and event.job in ("OpenDataset", "Screen"):
            self._status(f"[b red]{event.message}[/]")
        elif isinstance(event, RunStarted) and event.notices:
            self._status("; ".join(event.notices))

    # -- input --------------------------------------------------------------------------------
    def on_input_submitted(self, message: Input.Submitted) -> None:
        path = message.value.strip()
        if not path:
            self.notify("Type a path first.", severity="warning")
            return
        self.app.open_path(path)
        self._status(f"opening {path}…")
        self.query_one("#columns", OptionList).focus()

    def on_option_list_option_selected(self, message: OptionList.OptionSelected) -> None:
        self.app.state.target = message.option.id
        self.app.state.task = None
        self.render_state()

    def action_focus_path(self) -> None:
        self.query_one("#path", Input).focus()

    def action_leave_input(self) -> None:
        self.query_one("#columns", OptionList).focus()

    def action_cycle_task(self) -> None:
        state = self.app.state
        state.task = TASKS[(TASKS.index(state.task) + 1) % len(TASKS)]
        if state.dataset is not None:
            self._status_dataset()
