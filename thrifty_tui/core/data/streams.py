"""Files DuckDB can stream for sampling: delimited text (all columns as text) and Parquet.

A stream names its columns ``c0, c1, …`` inside SQL (any header is safe there), runs queries
with ``{src}`` standing for the file, and turns fetched rows back into a typed pandas frame.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from thrifty_tui.core.data.csvscan import (
    CsvPlan,
    Rejects,
    ScanCancelled,
    check_names,
    connect,
    decimal_commas,
    duck_error,
    formatted_numbers,
    plan_csv,
    run_query,
    run_scan,
    sql_ident,
    sql_str,
    typed_frame,
)
from thrifty_tui.core.data.tables import MAX_COLUMNS, FileKind, drop_index_column
from thrifty_tui.core.errors import DataError

_PANDAS_INDEX = re.compile(r"__index_level_\d+__")


class _Stream(ABC):
    name: str
    names: tuple[str, ...]
    rejected = 0

    @property
    def internal(self) -> tuple[str, ...]:
        return tuple(f"c{i}" for i in range(len(self.names)))

    def column(self, name: str) -> str:
        """The SQL identifier of a column, or DataError naming the columns there are."""
        if name not in self.names:
            raise DataError(f"no column named {name!r} in {self.name}; columns are: "
                            f"{', '.join(self.names[:20])}")
        return f"c{self.names.index(name)}"

    def notices(self) -> list[str]:
        return []

    @abstractmethod
    def estimate_rows(self) -> float:
        """Roughly how many rows the file holds (sets how many candidates a scan keeps)."""


class CsvStream(_Stream):
    """A delimited file planned by :func:`plan_csv`; it counts the rows DuckDB set aside."""

    def __init__(self, path: Path, kind: FileKind):
        self.name = path.name
        self.plan: CsvPlan = plan_csv(path, kind.compression, kind.suffix)
        self.names = self.plan.names
        if len(self.names) > MAX_COLUMNS:
            self.close()
            raise DataError(f"{path.name} has {len(self.names):,} columns; thrifty-tui reads at "
                            f"most {MAX_COLUMNS:,}")
        self._rejects = Rejects()
        self._notes: list[str] = []

    def query(self, sql: str, control: Any = None, phase: str = "", fetch: str = "rows") -> Any:
        result, rejects, self.plan = run_scan(self.plan, sql, fetch, control, phase)
        if rejects.count > self._rejects.count:
            self._rejects = rejects
        self.rejected = self._rejects.count
        return result

    def estimate_rows(self) -> float:
        """Uncompressed size over the mean row length of the first MiB."""
        import gzip

        path = self.plan.read_path
        gzipped = self.plan.compression == "gzip" and not self.plan.copied
        with (gzip.open(path, "rb") if gzipped else open(path, "rb")) as fh:
            head = fh.read(4 << 20)
            consumed = fh.fileobj.tell() if gzipped else len(head)  # type: ignore[union-attr]
        rows = head.count(b"\n") - 1
        if len(head) < (4 << 20):
            return max(rows + 1, 1)
        size = path.stat().st_size * (len(head) / max(consumed, 1))
        return max(size / (len(head) / max(rows, 1)), 1.0)

    def to_frame(self, table: Any) -> pd.DataFrame:
        frame = typed_frame(table.select(list(self.internal)), self.names)
        if self.plan.delimiter != ",":
            frame, fixed = decimal_commas(frame)
            if fixed:
                self._notes.append(f"{self.name}: decimal commas read in {', '.join(fixed[:5])}")
        frame, formatted = formatted_numbers(frame)
        if formatted:
            self._notes.append(f"{self.name}: numbers with $, % or thousands separators read "
                               f"in {', '.join(formatted[:5])}")
        if not self.names[0].strip():
            frame, note = drop_index_column(frame, self.names[0], self.name)
            self._notes.append(note)
        return frame

    def notices(self) -> list[str]:
        out = list(self.plan.notices) + self._notes
        if self._rejects.count:
            out.append(self._rejects.notice(self.name))
        return out

    def close(self) -> None:
        self.plan.close()


class ParquetStream(_Stream):
    """A Parquet file read by DuckDB, columns renamed ``c0, c1, …``."""

    def __init__(self, path: Path):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.name, self.path = path.name, path
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowException, OSError) as err:
            raise DataError(f"{path.name} is not a readable Parquet file ({err})") from err
        self.names = tuple(n for n in schema.names if not _PANDAS_INDEX.fullmatch(n))
        check_names(list(self.names), path.name)
        cols = ", ".join(f"{sql_ident(n)} AS c{i}" for i, n in enumerate(self.names))
        self.relation = f"(SELECT {cols} FROM read_parquet({sql_str(str(path))}))"
        self.rows = pq.ParquetFile(path).metadata.num_rows

    def estimate_rows(self) -> float:
        return float(self.rows)

    def query(self, sql: str, control: Any = None, phase: str = "", fetch: str = "rows") -> Any:
        con = connect(progress=control is not None)
        try:
            return run_query(con, sql.format(src=self.relation), fetch, control, phase)
        except ScanCancelled:
            raise
        except Exception as err:  # DuckDB raises several error classes
            raise duck_error(err, self.name) from err
        finally:
            con.close()

    def to_frame(self, table: Any) -> pd.DataFrame:
        return table.select(list(self.internal)).rename_columns(list(self.names)).to_pandas()

    def close(self) -> None:
        pass


@contextmanager
def open_stream(path: Path, kind: FileKind) -> Iterator[CsvStream | ParquetStream]:
    """A stream over ``path``; temporary copies are removed on exit."""
    stream: CsvStream | ParquetStream = (CsvStream(path, kind) if kind.format == "delimited"
                                         else ParquetStream(path))
    try:
        yield stream
    finally:
        stream.close()
