"""The Load screen's column list."""

from __future__ import annotations

from textual.widgets import OptionList


class ColumnList(OptionList):
    """The column list: an OptionList whose page keys survive being re-filled just before.

    Textual 8.2.8's OptionList raised KeyError on PageUp/PageDown when its options were
    replaced and no layout had run since (its line index was empty): found by the key-mash
    test (tests/tui/test_key_mash.py)."""

    def _move_page(self, direction: int) -> None:
        if self.highlighted is not None and self.highlighted not in self._index_to_line:
            self._update_lines()
        if self.highlighted is not None and self.highlighted not in self._index_to_line:
            return  # laid out on the next refresh; the key is dropped, not the app
        super()._move_page(direction)
