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
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


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


class SteadyFooter(Footer):
    """Textual's Footer, rebuilt only when the keys it shows change.

    Textual's Footer removes and mounts all its keys on every ``refresh_bindings`` (every job
    event that can grey a key, every resize, every focus change). On a 2-core machine that
    rebuild held the event loop for 30-90 ms, the worst lag while models train. Here a key
    that only turns on or off is greyed in place; the keys are rebuilt only when the set shown
    changes (a screen switch, a key left out at 80 columns).
    """

    _shown: tuple[tuple[str, str, str], ...] | None = None

    def _wanted(self) -> tuple[tuple[tuple[str, str, str], ...], dict[str, bool]]:
        keys: list[tuple[str, str, str]] = []
        enabled: dict[str, bool] = {}
        for _node, binding, on, _tooltip in self.screen.active_bindings.values():
            if binding.show and binding.action not in enabled:  # the Footer draws the first
                keys.append((binding.key, binding.action, binding.description))
                enabled[binding.action] = on
        return tuple(keys), enabled

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._update_keys)

    async def _update_keys(self) -> None:
        if not self.is_attached:
            return
        keys, enabled = self._wanted()
        if keys != self._shown:
            self._shown = keys
            await self.recompose()
            return
        for key in self.query(FooterKey):
            on = enabled.get(key.action)
            if on is not None and key._disabled == on:
                key._disabled = not on
                key.set_class(not on, "-disabled")
