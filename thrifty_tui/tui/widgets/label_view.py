"""What the label screen knows, folded from labeling events on the UI thread, and the text it
renders (record card, label keys, progress, the "should I keep labeling?" panel).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import math
import re
import time
from collections import deque
from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.text import Text
from textual.content import Content

from thrifty_tui.core.events import Event, LabelingOpened, LabelSaved, LearningUpdated

SPARK = "▁▂▃▄▅▆▇█"
HOW_TEXT = {"random": "random pick", "uncertainty": "model unsure", "search": "found by search"}
STATE_TEXT = {"label": "labeled", "unsure": "marked unsure", "flag": "flagged as bad",
              "skip": "skipped earlier"}


@dataclass
class LabelingState:
    """The open label set as the UI sees it: items, their outcomes, the latest ack and model."""

    opened: LabelingOpened
    saved: LabelSaved | None = None
    learning: LearningUpdated | None = None
    index: dict[int, int] = field(default_factory=dict)  # source row -> record position
    items: dict[int, tuple[str, str]] = field(default_factory=dict)  # row -> (outcome, label)
    label_times: deque[float] = field(default_factory=lambda: deque(maxlen=60))
    _haystack: list[str] | None = None

    def apply(self, event: Event) -> None:
        if isinstance(event, LabelSaved):
            for item, outcome, label in event.changed:
                if outcome:
                    self.items[item] = (outcome, label)
                else:
                    self.items.pop(item, None)
            if event.action == "label":
                self.label_times.append(time.monotonic())
            self.saved = event
        elif isinstance(event, LearningUpdated):
            self.learning = event

    def record(self, row: int) -> tuple[str, ...]:
        return self.opened.records[self.index[row]]

    def search(self, term: str) -> list[int]:
        """Rows whose record contains ``term`` (any case), or ``:unsure``, ``:LABEL`` … filters."""
        term = term.strip()
        if term.startswith(":"):
            want = term[1:].strip().lower()
            kinds = {"unsure": "unsure", "flag": "flag", "flagged": "flag", "skip": "skip",
                     "skipped": "skip", "labeled": "label"}
            if want in ("unlabeled", "todo"):
                return [r for r in self.opened.rows if r not in self.items]
            if want in kinds:
                return [r for r in self.opened.rows if self.items.get(r, ("",))[0] == kinds[want]]
            return [r for r in self.opened.rows
                    if self.items.get(r, ("", ""))[1].lower() == want]
        if self._haystack is None:
            self._haystack = ["\x00".join(rec).lower() for rec in self.opened.records]
        needle = term.lower()
        return [self.opened.rows[i] for i, text in enumerate(self._haystack) if needle in text]

    def rate_per_minute(self) -> float:
        """Labels per minute over the recent ones (this sitting)."""
        times = [t for t in self.label_times if time.monotonic() - t < 600]
        if len(times) < 3 or times[-1] - times[0] <= 0:
            return math.nan
        return (len(times) - 1) / (times[-1] - times[0]) * 60


ACTIONS = ("[b]u[/] undo  [b]space[/] skip  [b]?[/] unsure  [b]![/] flag  [b]n[/] next unlabeled"
           "  [b]/[/] search  [b]r[/] labels")
PROMPTS = {
    "search": "search: text, or :unsure :flagged :skipped :LABEL · Enter filters · Esc cancels",
    "schema": "labels, comma-separated; name:hint adds a hint (spam:unwanted,ham) — Enter sets "
              "them",
    "add": "new label(s), comma-separated; name:hint adds a hint — Enter adds, Esc cancels",
    "edit": "+new adds · old=new renames · a+b=into merges — Enter applies, Esc cancels",
    "goal": "goal: how many labels you want, e.g. 200 — Enter sets it, Esc cancels",
}


ITEM_ACTIONS = ("label", "skip", "unsure", "flag", "undo")
ADVANCING = ("label", "skip", "unsure", "flag")  # actions after which the next item shows


class InFlight(NamedTuple):
    """A key whose Label job was submitted and not yet answered."""

    token: int
    action: str
    item: int
    pressed: float


def add_job(set_id: int, value: str) -> Any:
    """The undoable job that adds the labels typed as ``a,b`` or ``name:description,…``, stored
    with their descriptions as --labels does (LabelError when wrong, before it is sent)."""
    from thrifty_tui.core.store.labels import parse_label_spec
    from thrifty_tui.engine.jobs import EditLabels

    spec = parse_label_spec([value])
    return EditLabels(set_id=set_id, action="add",
                      names=tuple(f"{n}:{d}" if d else n for n, d in spec))


def fold_labeling(state: LabelingState | None, event: Event) -> LabelingState | None:
    """The new labeling state after one event (a new set replaces the old one)."""
    if isinstance(event, LabelingOpened):
        return LabelingState(event, index={row: i for i, row in enumerate(event.rows)})
    if state is not None and getattr(event, "set_id", None) == state.opened.set_id:
        state.apply(event)
    return state


# -- text -----------------------------------------------------------------------------------
def card_text(state: LabelingState, row: int, term: str, width: int,
              note: tuple[str, str] = ("", "")) -> Content:
    """The record: a note line (where it comes from, what it has), the free text (search
    term highlighted), then the other fields. Textual Content: a little cheaper to render
    than Rich Text, and the card is redrawn on every key."""
    opened = state.opened
    record = state.record(row)
    where, has = note
    gap = max(1, width - len(where) - len(has))
    parts: list[str | tuple[str, str]] = [(where, "dim"), " " * gap, (has, "bold yellow"),
                                          "\n"]
    fields = list(zip(opened.columns, record, strict=True))
    if opened.text_column:
        text = dict(fields)[opened.text_column] or "(empty)"
        parts += [(text, "bold"), "\n", ("─" * max(10, min(width, 60)), "dim"), "\n"]
        fields = [f for f in fields if f[0] != opened.text_column]
    name_width = min(18, max((len(n) for n, _ in fields), default=4))
    for name, value in fields:
        parts += [(f"{name[:name_width]:>{name_width}}  ", "dim"),
                  (value, "") if value else ("—", "dim"), "\n"]
    out = Content.assemble(*parts[:-1])
    if term and not term.startswith(":"):
        out = out.highlight_regex(re.compile(re.escape(term), re.IGNORECASE),
                                  style="black on yellow")
    return out


def wrapped_lines(content: Content | Text, width: int) -> int:
    """How many lines ``content`` takes at ``width`` cells (to know when a layout is due)."""
    width = max(1, width)
    return sum(max(1, -(-cell_len(line) // width)) for line in content.plain.split("\n"))


def keys_text(saved: LabelSaved, width: int) -> Text:
    """Label keys with their counts: ``1 Dog 45  2 Cat 30`` (wraps on narrow screens)."""
    out = Text()
    named = sum(1 for name in saved.labels if name)
    room = max(0, (2 * width) // max(1, named) - 14)  # descriptions only where they fit
    for key, name, count, description in zip(saved.keys, saved.labels, saved.counts,
                                              saved.descriptions, strict=True):
        if not name:
            continue
        out.append(f" {key} ", style="bold reverse")
        out.append(f" {name} ", style="bold")
        if description and room > 8:
            short = description if len(description) <= room - len(name) else \
                description[: max(4, room - len(name) - 1)] + "…"
            out.append(f"({short}) ", style="italic")
        out.append(f"{count}  ", style="dim")
    if not saved.labels or not any(saved.labels):
        out.append("no labels yet: press r, then +name to add one ", style="yellow")
    extra = [f"{n} {w}" for n, w in ((saved.n_unsure, "unsure"), (saved.n_flagged, "flagged"),
                                     (saved.n_skipped, "skipped")) if n]
    out.append(f"· {saved.n_waiting:,} left" + "".join(f" · {e}" for e in extra), style="dim")
    return out


def status_text(state: LabelingState, pending: int) -> Text:
    """Saved state, rate and goal. ``saved ✓ N`` appears only once N labels are on disk."""
    saved = state.saved
    assert saved is not None
    out = Text()
    if saved.action == "open":
        out.append(f"resumed: {saved.n_labeled} labels on disk" if saved.n_labeled
                   else "ready: press a label key", style="green")
    elif saved.item >= 0 or saved.action in ("label", "skip", "unsure", "flag", "undo"):
        what = {"label": f"→ {saved.label}", "skip": "skipped", "unsure": "unsure",
                "flag": "flagged", "undo": f"{saved.label} undone"}.get(saved.action,
                                                                         saved.action)
        item = f"row {saved.item}" if saved.item >= 0 else ""
        out.append(f"saved ✓ {saved.n_labeled} · {item} {what}", style="green")
    else:
        what = {"goal": f"goal {saved.label}", "add": f"label {saved.label!r} added",
                "rename": f"renamed to {saved.label!r}",
                "merge": f"merged into {saved.label!r}"}.get(saved.action, saved.action)
        out.append(f"saved ✓ {what}", style="green")
    if pending:  # keys whose labels are not on disk yet (shown items moved on already)
        out.append(f" │ saving {pending}…", style="yellow")
    rate = state.rate_per_minute()
    out.append(f" │ {rate:.0f}/min" if not math.isnan(rate) else " │ –/min")
    goal = saved.goal
    if goal:
        left = max(0, goal - saved.n_labeled)
        minutes = left / rate if not math.isnan(rate) and rate > 0 else math.nan
        eta = ("done ✓" if not left else "ETA –" if math.isnan(minutes)
               else "ETA <1 min" if minutes < 1 else f"ETA {minutes:.0f} min")
        out.append(f" │ goal {saved.n_labeled}/{goal} {eta}")
    else:
        out.append(" │ t: set a goal")
    return out


def sparkline(values: list[float]) -> str:
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = hi - lo or 1.0
    return "".join(SPARK[min(7, int((v - lo) / span * 7.999))] for v in values)


def learning_text(state: LabelingState) -> Text:
    """The "should I keep labeling?" panel: score vs labels, projection, per class, vs random."""
    out = Text()
    out.append("Keep labeling? ", style="bold")
    lu = state.learning
    if lu is None:
        out.append("a model refits as you label, from 8 labels in 2 classes on; then the "
                   "queue shows the items it is least sure of first (1 in 10 stays random, to "
                   "measure the gain). Its score vs labels shows here.", style="dim")
        return out
    metric = lu.metric.replace("balanced_accuracy", "bal. acc")
    std = f"±{lu.score_std:.2f}" if not math.isnan(lu.score_std) else ""
    out.append(f"{metric} {lu.score:.2f}{std} @{lu.n_labels} ", style="bold cyan")
    out.append(f"({lu.estimate}) ", style="dim")
    if lu.curve:
        out.append(f"{sparkline([s for _, s in lu.curve])} ", style="cyan")
    if not math.isnan(lu.projected_score):
        out.append(f"→ ~{lu.projected_score:.2f} @{lu.projected_n}")
    out.append("\nper class (recall, labels): ")
    out.append(" · ".join(f"{c} {'–' if math.isnan(r) else f'{r:.2f}'} ({n})"
                          for c, r, n in lu.per_class))
    out.append("\n" + lu.advice, style="yellow")
    if lu.control:
        n_random, queue_score, random_score = lu.control
        out.append(f"\nmeasured gain: at {int(n_random)} labels, queue order {queue_score:.2f} "
                   f"vs random order {random_score:.2f}", style="dim")
    return out
