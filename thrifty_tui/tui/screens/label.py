"""Label screen: one key labels and advances; "saved ✓" only once the label is on disk.

A key submits a Label job naming the item on screen, and the next item (known from the queue
head the worker sent) is shown at once; the worker commits the event (WAL, synchronous=FULL)
and answers LabelSaved, and only then does the status line say "saved ✓ N · row R → label".
Keys never wait for the disk and a key always labels the item that was on screen when it was
pressed; what was acknowledged survives kill -9. Undo waits for its answer (the worker knows
what it restores). The queue head comes from the worker, so a restart shows what was next.
"""

from __future__ import annotations

import gc
import time
from collections import deque
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Input, Static

from thrifty_tui.tui.footer_fit import FittedFooter, SteadyFooter
from thrifty_tui.core.events import Event, JobFailed, LabelingOpened, LabelSaved, LearningUpdated
from thrifty_tui.core.store.labels import LABEL_KEYS, LabelError
from thrifty_tui.engine.jobs import EditLabels, Label, OpenLabeling
from thrifty_tui.engine.jobs import Screen as ScreenJob
from thrifty_tui.tui.widgets.label_view import (
    ACTIONS, ADVANCING, HOW_TEXT, ITEM_ACTIONS, PROMPTS, STATE_TEXT, InFlight, LabelingState,
    add_job, card_text, keys_text, learning_text, status_text, wrapped_lines,
)

class LabelScreen(FittedFooter, Screen):
    """Label the rows of a file with single keys; undo, skip, search; learn while labeling."""

    # Keys left out of the footer first when it would not fit 80 columns (they still work).
    FOOTER_DROP = ("runs", "budget", "board", "load", "export")
    FOOTER_COMPACT = True
    FOOTER_RESERVE = 14  # ^p palette

    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(key, f"label({i})", f"Label {i + 1}", show=False, id=f"label-{i + 1}")
          for i, key in enumerate(LABEL_KEYS)),
        Binding("u,backspace", "act('undo')", "Undo", show=False, id="label-undo"),
        Binding("space", "act('skip')", "Skip", show=False, id="label-skip"),
        Binding("question_mark", "act('unsure')", "Unsure", show=False, id="label-unsure"),
        Binding("exclamation_mark", "act('flag')", "Flag", show=False, id="label-flag"),
        Binding("n", "next_unlabeled", "Next unlabeled", show=False, id="label-next"),
        Binding("slash", "prompt('search')", "Search", show=False, id="label-search"),
        Binding("t", "prompt('goal')", "Goal", show=False, id="label-goal"),
        Binding("plus", "prompt('add')", "Add label", show=False, id="label-add"),
        Binding("r", "prompt('edit')", "Edit labels", show=False, id="label-edit"),
        Binding("s", "train", "Screen labels", id="label-screen"),
        Binding("escape", "clear", "Clear", show=False, id="label-clear"),
        # `?` marks an item unsure here: help is F1 on this screen.
        Binding("f1", "app.help", "Help", id="label-help"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._token = 0
        self._inflight: deque[InFlight] = deque()  # submitted, not yet saved, in order
        self._typeahead: deque[tuple[str, int, float]] = deque()  # keys waiting for an undo
        self._focus: int | None = None  # an item shown instead of the queue head (after undo)
        self._matches: list[int] = []
        self._match_pos = 0
        self._term = ""
        self._prompt = ""
        self._requested: str | None = None  # the file whose label set was asked for
        self._shown: int | None = None  # the item on the card
        self._undone: tuple[int, str] | None = None  # the last undo: (item, what it took back)
        self._heights: dict[str | None, int] = {}  # wrapped lines shown per widget
        self.item_note: tuple[str, str] = ("", "")  # the card's top line: (where from, state)
        self.latencies_ms: list[float] = []  # key -> next item painted (the benchmark reads it)
        self.ack_ms: list[float] = []  # key -> its "saved ✓" rendered
        self.paint_cpu_ms: list[float] = []  # UI-thread CPU from submit to next item painted

    def compose(self) -> ComposeResult:
        yield Static("[b]Label[/b]  opening…", id="label-title", classes="screen-title")
        with Vertical(id="label-top"), VerticalScroll(id="label-card"):
            yield Static("", id="label-record")
        yield Static("", id="label-next")
        yield Static("", id="label-keys")
        yield Static(ACTIONS, id="label-actions")
        yield Input(id="label-input")
        yield Static("", id="label-status")
        yield Static("", id="label-learn")
        yield SteadyFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one("#label-input", Input).display = False
        if not self.app.settings.animations:
            self.query_one("#label-input", Input).cursor_blink = False
        self.app.engine_signal.subscribe(self, self.on_engine)
        self.render_all()

    def on_screen_resume(self) -> None:
        self.app.call_later(self._open_if_needed)  # after the app's mount has started the worker
        self.render_all()

    def _open_if_needed(self) -> None:
        """Open the file given on the command line, else the one loaded on the Load screen."""
        if self.app.worker is None:
            self.set_timer(0.05, self._open_if_needed)
            return
        settings = self.app.settings
        if settings.labels is not None and settings.path:
            job = OpenLabeling(path=settings.path, labels=tuple(settings.labels),
                               text_column=settings.text_column, seed=settings.seed,
                               name=settings.target or "label")
        elif self.app.state.dataset is not None:
            job = OpenLabeling(path=self.app.state.dataset.path, seed=settings.seed)
        else:  # the Load screen may still be opening its file (`a` at start-up): try again
            if self.app.state.loading is not None and self.is_current:
                self.set_timer(0.2, self._open_if_needed)
            return
        path = str(Path(job.path).expanduser().resolve())
        if path == self._requested or (self.state is not None
                                       and self.state.opened.path == path):
            return
        self._requested = path
        self.app.submit(job)

    @property
    def state(self) -> LabelingState | None:
        return self.app.state.labeling

    # -- which item is in front of the user ------------------------------------------------
    def current(self) -> int | None:
        state = self.state
        if state is None or state.saved is None:
            return None
        if self._matches:
            return self._matches[self._match_pos]
        if self._focus is not None:
            return self._focus
        return next(iter(self._upcoming()), None)

    def _upcoming(self) -> list[int]:
        """The queue head without the items whose keys are in flight."""
        assert self.state is not None and self.state.saved is not None
        busy = {f.item for f in self._inflight if f.action in ADVANCING}
        return [i for i in self.state.saved.head if i not in busy]

    @property
    def pending(self) -> int:
        """Keys not yet saved (submitted or waiting)."""
        return len(self._inflight) + len(self._typeahead)

    # -- rendering ---------------------------------------------------------------------------
    def render_all(self) -> None:
        state = self.state
        if state is None or state.saved is None:
            hint = ("opening the file…" if self.app.settings.labels is not None
                    or self.app.state.dataset is not None or self.app.state.loading else
                    "no data yet: open a file on Load (l), or run: thrifty-tui label FILE "
                    "--labels a,b")
            self.query_one("#label-record", Static).update(hint)
            return
        opened, saved = state.opened, state.saved
        name = Path(opened.path).name
        name = name if len(name) <= 36 else name[:35] + "…"
        self.query_one("#label-title", Static).update(
            f"[b]Label[/b]  {name} · {len(opened.rows):,} items · saved as "
            f"[b]{opened.set_name}[/b]")
        self._render_keys(saved)
        self._render_item()
        self._render_status()
        self._render_learning()
        if not any(saved.labels) and not self._prompt:
            self.action_prompt("schema")

    def _render_ack(self, saved: LabelSaved) -> None:
        """After an acknowledgement: counts and saved state; the item only if it changed."""
        self._render_keys(saved)
        if self.current() != self._shown or saved.action == "undo":
            self._render_item()
        else:
            self._render_next(self._shown)
        self._render_status()

    def _render_item(self) -> None:
        state = self.state
        assert state is not None and state.saved is not None
        saved = state.saved
        card = self.query_one("#label-card", VerticalScroll)
        record = self.query_one("#label-record", Static)
        item = self._shown = self.current()
        if item is None:
            record.update(Text(f"Every item has an outcome. {saved.n_labeled} labeled. Press s "
                               "to screen models on the labels, or / to review.", style="green"))
            self.query_one("#label-next", Static).update("")
            return
        self.item_note = self._note(item)
        # The note goes inside the record, not in the card's border: a border title change
        # repaints the whole card container (~3 ms a key).
        text = card_text(state, item, self._term, self.size.width - 4, self.item_note)
        self._update_sized(record, text, card.content_region.width or self.size.width - 4)
        if card.scroll_y:
            card.scroll_home(animate=False)  # a scroll is a full layout pass: only if needed
        self._render_next(item)

    def _note(self, item: int) -> tuple[str, str]:
        """(where the item comes from, what it already has) for the top line of the card."""
        state = self.state
        assert state is not None and state.saved is not None
        saved = state.saved
        how = ""
        if item in saved.head:
            pos = saved.head.index(item)
            how = HOW_TEXT.get(saved.head_how[pos], saved.head_how[pos])
            if saved.head_notes[pos]:
                how += f" · {saved.head_notes[pos]}"
        where = (f"match {self._match_pos + 1}/{len(self._matches)} of {self._term!r}"
                 if self._matches else how)
        outcome, label = state.items.get(item, ("", ""))
        if outcome == "skip":
            has = STATE_TEXT["skip"]
        elif outcome:
            has = f"{STATE_TEXT.get(outcome, outcome)}{' ' + label if label else ''}: a key relabels"
        elif self._undone and self._undone[0] == item:
            has = f"undone, was {self._undone[1]}: a key labels it again"
        else:
            has = ""
        return f"row {item:,}" + (f" · {where}" if where else ""), has

    def _render_next(self, item: int | None) -> None:
        """The line of items that come after ``item`` (what a re-ranking will not move)."""
        state = self.state
        assert state is not None
        upcoming = [i for i in self._upcoming() if i != item][:5]
        column = state.opened.text_column
        names = []
        for i in upcoming:
            rec = dict(zip(state.opened.columns, state.record(i), strict=True))
            names.append((rec.get(column) if column else " ".join(state.record(i)[:3]))[:24])
        self.query_one("#label-next", Static).update(layout=False, content=
            Text.assemble(("next ▸ ", "dim"), " │ ".join(names)) if not self._matches else
            Text("filtered: labels go to the matches; n next unlabeled, Esc back to the queue",
                 style="dim"))

    def _render_keys(self, saved: LabelSaved) -> None:
        keys = self.query_one("#label-keys", Static)
        self._update_sized(keys, keys_text(saved, self.size.width), self.size.width - 2)

    def _update_sized(self, widget: Static, text: Text | Content, width: int) -> None:
        """Update, with a layout pass only if the wrapped height changes (~10 ms a layout)."""
        lines = wrapped_lines(text, width)
        layout = lines != self._heights.get(widget.id)
        self._heights[widget.id] = lines
        widget.update(text, layout=layout)

    def _render_learning(self) -> None:
        assert self.state is not None
        panel = self.query_one("#label-learn", Static)
        panel.set_class(self.state.learning is not None, "-model")  # one line per fact
        panel.update(learning_text(self.state))

    def _render_status(self) -> None:
        state = self.state
        assert state is not None
        self.query_one("#label-status", Static).update(status_text(state, self.pending),
                                                       layout=False)

    # -- engine events -------------------------------------------------------------------------
    def on_engine(self, event: Event) -> None:
        if isinstance(event, LabelingOpened):
            self._focus, self._matches, self._term = None, [], ""
            # The records (up to 100,000 tuples) live as long as the session and hold no
            # cycles: out of the collector's sight, a full collection takes ~5 ms, not ~100.
            gc.freeze()
            for note in event.notices:
                self.notify(note, title="Note", severity="warning")
        elif isinstance(event, LabelSaved):
            self._saved(event)
            return
        elif isinstance(event, LearningUpdated):
            if self.state is not None:
                self._render_learning()
            return
        elif isinstance(event, JobFailed) and event.job in ("Label", "EditLabels", "OpenLabeling"):
            if event.job == "OpenLabeling":
                self._requested = None  # coming back to the screen tries again
            self._failed(event)
            return
        else:
            return
        self.render_all()

    def _saved(self, event: LabelSaved) -> None:
        # Jobs are answered in the order they were submitted: the oldest in flight is this one.
        entry = None
        if self._inflight and event.token == self._inflight[0].token:
            entry = self._inflight.popleft()
            if entry.action == "undo":
                self._after_undo(event)
        with self.app.batch_update():
            if event.action in ITEM_ACTIONS:
                self._render_ack(event)
            else:
                self.render_all()
        if entry is not None:
            self.call_after_refresh(self._painted, entry.pressed, self.ack_ms)
            if entry.action == "undo":
                self.call_after_refresh(self._painted, entry.pressed, self.latencies_ms)
        while self._typeahead and not self._undo_in_flight():
            if not self._submit(*self._typeahead.popleft()):
                break  # still nothing known to label: wait for the next answer

    def _failed(self, event: JobFailed) -> None:
        """A job was refused (nothing was written): show why, and its item again."""
        if event.job == "Label" and self._inflight:
            entry = self._inflight.popleft()
            if entry.action in ADVANCING:
                self._matches, self._term, self._focus = [], "", entry.item
        self._typeahead.clear()
        if self.state is not None and self.state.saved is not None:
            self._render_item()
        self.query_one("#label-status", Static).update(Text(event.message, style="bold red"))

    def _painted(self, pressed: float, into: list[float], cpu: float | None = None) -> None:
        into.append((time.perf_counter() - pressed) * 1000)
        if cpu is not None:  # the UI thread's own CPU time from the Label job to the paint
            self.paint_cpu_ms.append((time.thread_time() - cpu) * 1000)

    def _undo_in_flight(self) -> bool:
        return any(f.action == "undo" for f in self._inflight)

    def _after_undo(self, event: LabelSaved) -> None:
        """Show the item the undo gave back (in front of the queue, or labeled before)."""
        self._focus = event.item if event.item >= 0 and event.item not in event.head else None
        self._undone = (event.item, event.label)
        if self._matches and event.item in self._matches:
            self._match_pos = self._matches.index(event.item)
            self._focus = None

    # -- actions -------------------------------------------------------------------------------
    def action_label(self, slot: int) -> None:
        self._act("label", slot)

    def action_act(self, action: str) -> None:
        self._act(action, -1)

    def _act(self, action: str, slot: int) -> None:
        now = time.perf_counter()
        if self._typeahead or self._undo_in_flight():
            self._typeahead.append((action, slot, now))  # applied once the undo is answered
            self._render_status()
            return
        self._submit(action, slot, now)

    def _submit(self, action: str, slot: int, pressed: float) -> bool:
        """Send the key's job and move on; False if it must wait (nothing known to label)."""
        state = self.state
        if state is None or state.saved is None:
            return True
        saved = state.saved
        item = self.current()
        label = ""
        if action == "label":
            if slot >= len(saved.labels) or not saved.labels[slot]:
                self.notify(f"No label on key {LABEL_KEYS[slot]}.", severity="warning")
                return True
            label = saved.labels[slot]
        if action == "skip" and (self._matches or self._focus is not None):
            self._step_without_saving()
            return True
        if item is None and action != "undo":
            if self._inflight:  # typed past the known head: wait for the next answer
                self._typeahead.appendleft((action, slot, pressed))
                return False
            self.notify("Nothing left to label here.", severity="warning")
            return True
        self._token += 1
        via = "search" if self._matches else "queue"
        target = item if item is not None and action != "undo" else -1
        self._inflight.append(InFlight(self._token, action, target, pressed))
        self.app.submit(Label(set_id=state.opened.set_id, action=action, item=target,
                              label=label, via=via, token=self._token))
        if action == "undo":
            self._render_status()
            return True
        self._advance(target)
        with self.app.batch_update():
            self._render_item()
            self._render_status()
        self.call_after_refresh(self._painted, pressed, self.latencies_ms, time.thread_time())
        return True

    def _advance(self, item: int) -> None:
        """Move past ``item`` now: a filter steps to its next match, the queue moves by itself."""
        if self._matches:
            if self._match_pos + 1 < len(self._matches):
                self._match_pos += 1
            else:
                self._matches, self._term = [], ""
                self.notify("End of the matches: back to the queue.")
        elif self._focus == item:
            self._focus = None

    def _step_without_saving(self) -> None:
        if self._matches:
            self._match_pos = (self._match_pos + 1) % len(self._matches)
        else:
            self._focus = None
        self.render_all()

    def action_next_unlabeled(self) -> None:
        state = self.state
        if state is None:
            return
        if self._matches:
            n = len(self._matches)
            for step in range(1, n + 1):
                pos = (self._match_pos + step) % n
                if self._matches[pos] not in state.items:
                    self._match_pos = pos
                    break
            else:
                self.notify("Every match has an outcome.")
        self._focus = None if not self._matches else self._focus
        self.render_all()

    def action_clear(self) -> None:
        if self._prompt:
            self._close_prompt()
            return
        self._matches, self._term, self._focus = [], "", None
        self.render_all()

    def action_prompt(self, kind: str) -> None:
        box = self.query_one("#label-input", Input)
        self._prompt = kind
        box.placeholder = PROMPTS[kind]
        box.value = ""
        box.display = True
        self.query_one("#label-actions", Static).display = False
        box.focus()
        self.refresh_bindings()

    def _close_prompt(self) -> None:
        self._prompt = ""
        box = self.query_one("#label-input", Input)
        box.display = False
        self.query_one("#label-actions", Static).display = True
        self.set_focus(None)
        self.refresh_bindings()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        kind, value = self._prompt, message.value.strip()
        self._close_prompt()
        state = self.state
        if state is None or not value:
            return
        set_id = state.opened.set_id
        if kind == "search":
            matches = state.search(value)
            if not matches:
                self.notify(f"No item matches {value!r}.", severity="warning")
                return
            self._matches, self._match_pos, self._term = matches, 0, value
            self.notify(f"{len(matches):,} matches for {value!r}; Esc returns to the queue.")
            self.render_all()
        elif kind in ("schema", "add"):
            self._add_labels(set_id, value)
        elif kind == "goal":
            self.app.submit(EditLabels(set_id=set_id, action="goal", names=(value,)))
        elif kind == "edit":
            self._edit_labels(set_id, value)

    def _add_labels(self, set_id: int, value: str) -> None:
        assert self.state is not None  # ``a,b`` or ``name:description,…``: see add_job
        try:
            job = add_job(set_id, value)
        except LabelError as err:
            self.notify(str(err), title="Labels not changed", severity="error")
            return
        self.app.submit(job)

    def _edit_labels(self, set_id: int, value: str) -> None:
        if value.startswith("+"):
            self._add_labels(set_id, value[1:])
            return
        left, sep, into = value.partition("=")
        if not sep or not into.strip():
            self.notify("Write old=new to rename, or a+b=into to merge.", severity="warning")
            return
        sources = tuple(s.strip() for s in left.split("+") if s.strip())
        saved = self.state.saved if self.state else None
        exists = saved is not None and into.strip() in saved.labels
        action = "rename" if len(sources) == 1 and not exists else "merge"
        self.app.submit(EditLabels(set_id=set_id, action=action, names=sources, into=into.strip()))

    def action_train(self) -> None:
        state = self.state
        if state is None or state.saved is None:
            return
        counts = [c for c in state.saved.counts if c]
        if sum(counts) < 10 or len(counts) < 2:
            self.notify("Label at least 10 items in two classes first.", severity="warning")
            return
        if self.app.state.run_active:
            self.notify("A screening run is going on; wait for it or cancel it (x).")
            return
        self.app.state.screen_pending = True
        self.app.submit(ScreenJob(path=state.opened.path, target=state.opened.set_name,
                                  task="classification", seed=self.app.settings.seed,
                                  budget_s=self.app.settings.budget_s,
                                  label_set=state.opened.set_id))
        self.app.refresh_bindings()
        self.app.switch_mode("board")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self._prompt and action not in ("clear",):
            return False  # typing in the prompt: keys are text, not actions
        if action == "label":
            state = self.state
            slot = int(parameters[0]) if parameters else 0  # type: ignore[call-overload]
            return bool(state and state.saved and slot < len(state.saved.labels)
                        and state.saved.labels[slot])
        return True
