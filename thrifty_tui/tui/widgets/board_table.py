"""A DataTable for tables that change a few cells at a time (the live leaderboard).

Textual's DataTable keys every rendered cell by one update counter of the whole table, so
updating one cell renders every visible cell again: on the leaderboard, 80-odd cells through
Rich for each engine event, 20-40 ms of the event loop on a 2-core machine. ``BoardTable``
keeps a body cell's rendering for as long as what decides it is the same: its text, its place,
its width, the styles around it and the cursor. Rows and lines are still assembled by
DataTable as before (cheap); only the Rich rendering of unchanged cells is skipped.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.widgets import DataTable


class BoardTable(DataTable):
    """DataTable whose body cells are re-rendered only when their own content changes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._kept_cells: LRUCache[tuple, Any] = LRUCache(4096)
        super().__init__(*args, **kwargs)

    def fit_names(self, width: int) -> None:
        """The "model" column at ``width``, each row's name cut again to it (rows keep their
        order and style: not a redraw)."""
        column = self.columns["model"]  # type: ignore[index]
        if column.width == width:
            return
        column.width = width
        for key in list(self.rows):
            cell = self.get_cell(key, "model")
            self.update_cell(key, "model", Text(fit_name(str(key.value), width),
                                                style=getattr(cell, "style", "")),
                             update_width=False)
        self._require_update_dimensions = True
        self.refresh()

    def notify_style_update(self) -> None:
        self._kept_cells.clear()  # a theme or CSS change restyles every cell
        super().notify_style_update()

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> Any:
        if row_index < 0 or column_index < 0:  # header and row labels: as DataTable does
            return super()._render_cell(row_index, column_index, base_style, width,
                                        cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        row = self.rows.get(row_key) if row_key is not None else None
        value = self._data.get(row_key, {}).get(column_key) if row is not None else None
        if not isinstance(value, Text):
            return super()._render_cell(row_index, column_index, base_style, width,
                                        cursor, hover)
        key = (row_key, column_key, row_index, column_index, value.plain, value.style,
               tuple(value.spans), value.justify, value.overflow, value.no_wrap, row.height,
               base_style, width, cursor, hover, self._show_hover_cursor, self.show_cursor,
               self._pseudo_class_state, self.fixed_rows, self.fixed_columns,
               self.cursor_foreground_priority, self.cursor_background_priority,
               self.cell_padding)
        lines = self._kept_cells.get(key)
        if lines is None:
            lines = super()._render_cell(row_index, column_index, base_style, width,
                                         cursor, hover)
            self._kept_cells[key] = lines
        return lines


def fit_name(name: str, width: int = 22) -> str:
    """A model's name cut to the board's model column, keeping a last "(…)" part: "hist
    gradient boosting (tuned)" read as its untuned row, cut at 22 columns."""
    from rich.cells import cell_len

    if cell_len(name) <= width:
        return name
    head, paren, tail = name.rpartition(" (")
    if paren and name.endswith(")") and cell_len(tail) + 4 <= width // 2:
        keep = width - cell_len(tail) - 3  # "…" and " (" before the tail
        return f"{head[:keep].rstrip()}… ({tail}"
    return name[:width - 1].rstrip() + "…"


def money_text(money: float) -> str:
    """A run's price: three decimals, or two significant digits below 0.01 (a 12 s run at
    0.05 per CPU-hour read "0.000")."""
    return f"{money:.3f}" if money >= 0.01 or money == 0 else f"{money:.2g}"
