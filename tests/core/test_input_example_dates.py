"""A bundle's input_example.json puts a date column's middle date where the docs promise
medians (it held 'some text' before: a date column fell through to the text branch)."""

from __future__ import annotations

import pandas as pd

from thrifty_tui.core.data.schema import infer_schema
from thrifty_tui.core.learn.features import DateParts
from thrifty_tui.core.store.lexicons import example_input
from thrifty_tui.core.tasks.fits import _column_entry


def _frame() -> pd.DataFrame:
    days = pd.date_range("2024-01-01", periods=61).strftime("%Y-%m-%d")  # middle: 2024-01-31
    return pd.DataFrame({"day": days, "n": range(61), "y": [0, 1] * 30 + [0]})


def test_the_manifest_records_a_date_columns_middle_date():
    frame = _frame()
    schema = {c.name: c for c in infer_schema(frame, target="y")}
    assert schema["day"].role.value == "datetime"
    entry = _column_entry(schema["day"], frame)
    assert entry["median"] == "2024-01-31T00:00:00"
    assert _column_entry(schema["n"], frame)["median"] == 30.0


def test_the_input_example_holds_the_middle_date_as_text_the_model_reads():
    frame = _frame()
    columns = [_column_entry(c, frame) for c in infer_schema(frame, target="y")
               if c.name != "y"]
    rows = example_input(None, columns)
    assert [row["day"] for row in rows] == ["2024-01-31", "2024-01-31"]
    assert [row["n"] for row in rows] == [30, 30]
    parts = DateParts().fit_transform(pd.DataFrame({"day": [rows[0]["day"]]}))
    assert list(parts[0][:3]) == [2024.0, 1.0, 31.0]  # year, month, day: a real date


def test_a_date_column_without_a_recorded_middle_still_gets_a_date():
    rows = example_input(None, [{"name": "when", "dtype": "object", "role": "datetime"}])
    assert pd.to_datetime(rows[0]["when"]).year == 2000
