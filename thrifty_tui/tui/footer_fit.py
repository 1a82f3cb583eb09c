"""Footer keys that fit the terminal's width.

Textual's footer draws every shown binding in one row and cuts what does not fit. A screen
using :class:`FittedFooter` leaves keys out of the footer until the rest fit: first those
that cannot run now (greyed), then the ones it names in ``FOOTER_DROP``. A key left out
still works and the command palette still lists it; only its footer entry goes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from rich.cells import cell_len
from textual import events
from textual.binding import ActiveBinding, Binding


def key_width(key_display: str, description: str, compact: bool = False) -> int:
    """Columns one footer key takes (Textual 8's FooterKey: padding, or compact + margin)."""
    if compact:
        return cell_len(key_display) + 1 + cell_len(description) + 1
    return cell_len(key_display) + cell_len(description) + 3


def fit_bindings(bindings: dict[str, ActiveBinding], key_display: Callable[[Binding], str],
                 width: int, drop: Sequence[str] = (), compact: bool = False
                 ) -> dict[str, ActiveBinding]:
    """``bindings`` (a screen's active bindings) with ``show=False`` on as few as needed for
    the footer's keys to fit ``width`` columns: greyed keys first (rightmost first), then
    the binding ids in ``drop``, in order. The footer draws one key per action."""
    firsts: dict[str, ActiveBinding] = {}  # action -> the binding the footer would draw
    for active in bindings.values():
        if active.binding.show:
            firsts.setdefault(active.binding.action, active)

    def used() -> int:
        return sum(key_width(key_display(a.binding), a.binding.description, compact)
                   for a in firsts.values())

    if width <= 0 or used() <= width:
        return bindings
    greyed = [action for action, a in reversed(firsts.items()) if not a.enabled]
    by_id = [action for wanted in drop for action, a in firsts.items() if a.binding.id == wanted]
    hidden: set[str] = set()
    for action in (*greyed, *by_id):
        if action in firsts:
            del firsts[action]
            hidden.add(action)
            if used() <= width:
                break
    return {key: active._replace(binding=replace(active.binding, show=False))
            if active.binding.action in hidden else active
            for key, active in bindings.items()}


class FittedFooter:
    """Mixin for a Screen (put it first): its footer shows only the keys that fit."""

    FOOTER_DROP: ClassVar[tuple[str, ...]] = ()  # binding ids left out first, in this order
    FOOTER_COMPACT: ClassVar[bool] = False  # the screen's Footer(compact=...)
    FOOTER_RESERVE: ClassVar[int] = 0  # columns the footer keeps for itself (^p palette: 14)

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        screen: Any = self
        bindings: dict[str, ActiveBinding] = super().active_bindings  # type: ignore[misc]
        return fit_bindings(bindings, screen.app.get_key_display,
                            screen.size.width - self.FOOTER_RESERVE, self.FOOTER_DROP,
                            self.FOOTER_COMPACT)

    def on_resize(self, event: events.Resize) -> None:
        self.refresh_bindings()  # type: ignore[attr-defined]
