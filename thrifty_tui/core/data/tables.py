"""Load a data file into a pandas frame, with one clear message for input we cannot use.

Delimited text (CSV, TSV, pipe, semicolon; optionally gzip/bz2/xz/zip compressed): the dialect
and encoding are sniffed (:mod:`sniff`), DuckDB finds every malformed row with its line number
(:mod:`csvscan`), and pandas' C parser reads the others, so types are those of
``pandas.read_csv``. Parquet is read by pyarrow, JSON Lines by the standard library, .xlsx by
openpyxl when it is installed. Nothing here imports Textual or Rich.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from thrifty_tui.core.errors import DataError
from thrifty_tui.core.data.sniff import (  # noqa: F401 - re-exported: callers import them from here
    COMPRESSION_SUFFIXES,
    DELIMITED_SUFFIXES,
    EXCEL_SUFFIXES,
    JSON_SUFFIXES,
    MAX_COLUMNS,
    PARQUET_SUFFIXES,
    SUPPORTED_SUFFIXES,
    SUPPORTED_TEXT,
    FileKind,
    file_kind,
    precheck,
    sniff_magic,
)

__all__ = ["DataError", "LoadedTable", "describe_dtypes", "fingerprint_file", "load_table",
           "preview_rows", "source_fingerprint"]


@dataclass(frozen=True)
class LoadedTable:
    """A frame read from a file, with what was noticed while reading it."""

    frame: pd.DataFrame
    source: str
    fingerprint: str
    notices: tuple[str, ...] = field(default_factory=tuple)
    format: str = ""  # delimited | parquet | json | excel
    rejected_rows: int = 0  # malformed rows skipped (wrong number of fields, bad JSON …)
    # Their line numbers, the first 1000 (header = line 1; a quoted field spanning lines counts
    # as one line, as in DuckDB's and pandas' numbering).
    rejected_lines: tuple[int, ...] = ()
    encoding: str = ""
    delimiter: str = ""


@dataclass(frozen=True)
class SourceFingerprint:
    """Identifies a source file for a sample record: size, mtime and a content hash."""

    path: str
    size: int
    mtime: float
    sha256: str
    hashed: str  # "content" or "16 blocks of 64 KiB" for big files

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fingerprint_file(path: str | os.PathLike[str], block: int = 1 << 20) -> str:
    """A short content hash: size plus SHA-256 of the first and last MiB (cheap on huge files)."""
    p = Path(path)
    size = p.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(p, "rb") as fh:
        digest.update(fh.read(block))
        if size > 2 * block:
            fh.seek(size - block)
            digest.update(fh.read(block))
    return f"{size}-{digest.hexdigest()[:16]}"


def source_fingerprint(path: str | os.PathLike[str], whole_below: int = 32 << 20,
                       blocks: int = 16, block: int = 64 << 10) -> SourceFingerprint:
    """Size, mtime and SHA-256 of the content (or of evenly spaced blocks, for big files)."""
    p = Path(path).expanduser().resolve()
    st = p.stat()
    digest = hashlib.sha256(str(st.st_size).encode())
    with open(p, "rb") as fh:
        if st.st_size <= whole_below:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
            hashed = "content"
        else:
            step = (st.st_size - block) / (blocks - 1)
            for i in range(blocks):
                fh.seek(int(i * step))
                digest.update(fh.read(block))
            hashed = f"{blocks} blocks of {block >> 10} KiB"
    return SourceFingerprint(path=str(p), size=st.st_size, mtime=st.st_mtime,
                             sha256=digest.hexdigest(), hashed=hashed)


def _check_path(path: str | os.PathLike[str]) -> Path:
    """Cheap checks before any reading (see :func:`sniff.precheck`)."""
    return precheck(path)


_sniff_magic = sniff_magic  # older name


def load_table(path: str | os.PathLike[str], *, max_rows: int | None = None,
               control: Any = None) -> LoadedTable:
    """Read a supported file (the first ``max_rows`` rows if given) into a frame, or DataError.

    ``control`` (a :class:`csvscan.ScanControl`) lets another thread follow and cancel the
    DuckDB scan of delimited text."""
    p = _check_path(path)
    kind, notices = sniff_magic(p, file_kind(p))
    try:
        if kind.format == "delimited":
            table = _load_delimited(p, kind, max_rows, control)
        elif kind.format == "parquet":
            table = _load_parquet(p, kind, max_rows)
        elif kind.format == "json":
            table = _load_json(p, kind, max_rows)
        else:
            table = _load_excel(p, kind, max_rows)
    except PermissionError as err:
        raise DataError(f"cannot read {p}: permission denied") from err
    except MemoryError as err:
        raise DataError(f"{p.name} does not fit in memory; sample it instead "
                        f"(thrifty-tui sample {p.name} --rows 100000 -o sample.parquet)") from err
    frame = table.frame
    if frame.shape[1] == 0:
        raise DataError(f"{p.name} has no columns")
    if frame.shape[1] > MAX_COLUMNS:
        raise DataError(f"{p.name} has {frame.shape[1]:,} columns; thrifty-tui reads at most "
                        f"{MAX_COLUMNS:,}")
    if len(frame) == 0:
        raise DataError(f"{p.name} has a header but no rows")
    frame.columns = [str(c) for c in frame.columns]
    return LoadedTable(frame=frame, source=str(p), fingerprint=fingerprint_file(p),
                       notices=notices + table.notices, format=table.format,
                       rejected_rows=table.rejected_rows, rejected_lines=table.rejected_lines,
                       encoding=table.encoding, delimiter=table.delimiter)


def drop_index_column(frame: pd.DataFrame, first_name: str, name: str) -> tuple[pd.DataFrame, str]:
    """Drop an unnamed first column holding a row index (pandas' ``to_csv`` writes one)."""
    col = frame.iloc[:, 0]
    if pd.api.types.is_integer_dtype(col) and col.is_unique:
        return frame.iloc[:, 1:], f"{name}: dropped the unnamed first column (a row index)"
    raise DataError(f"{name}: column 1 has no name; give every column a name in the header row")


def _load_delimited(p: Path, kind: FileKind, max_rows: int | None,
                    control: Any = None) -> LoadedTable:
    """DuckDB finds the malformed rows (both too many and too few fields, with line numbers);
    pandas' C parser then reads the rest, skipping exactly those rows (never padding them)."""
    from thrifty_tui.core.data.csvscan import (
        DELIMITER_NAMES,
        decimal_commas,
        formatted_numbers,
        plan_csv,
        run_scan,
    )

    plan = plan_csv(p, kind.compression, kind.suffix)
    try:
        if len(plan.names) > MAX_COLUMNS:
            raise DataError(f"{p.name} has {len(plan.names):,} columns; thrifty-tui reads at most "
                            f"{MAX_COLUMNS:,}")
        limit = f" LIMIT {int(max_rows)}" if max_rows else ""
        counted, rejects, plan = run_scan(plan, "SELECT count(*) FROM (SELECT * FROM {src}"
                                          + limit + ")", fetch="rows", control=control,
                                          phase="checking every row")
        if counted[0][0] == 0 and rejects.count:
            raise DataError(f"no row of {p.name} matches its header's {len(plan.names)} fields "
                            f"({rejects.count} malformed, e.g. line {rejects.lines[0]}: "
                            f"{_reason(rejects.reasons[0][0])})")
        if counted[0][0] == 0:
            raise DataError(f"{p.name} has a header but no rows")
        frame, late = _pandas_read(plan, rejects.lines, max_rows)
    finally:
        plan.close()
    notices = list(plan.notices)
    if not plan.names[0].strip():
        frame, note = drop_index_column(frame, plan.names[0], p.name)
        notices.append(note)
    if plan.delimiter != ",":
        frame, fixed = decimal_commas(frame)
        notices.append(f"{p.name}: {DELIMITER_NAMES[plan.delimiter]}-delimited"
                       + (f"; decimal commas read in {', '.join(fixed[:5])}" if fixed else ""))
    frame, formatted = formatted_numbers(frame)
    if formatted:
        notices.append(f"{p.name}: numbers with $, % or thousands separators read in "
                       f"{', '.join(formatted[:5])}")
    lines = tuple(sorted(set(rejects.lines) | set(late)))
    if rejects.count or late:
        from thrifty_tui.core.data.csvscan import Rejects

        reasons = rejects.reasons + ((("TOO MANY COLUMNS", len(late)),) if late else ())
        notices.append(Rejects(len(lines), lines, reasons).notice(p.name))
    return LoadedTable(frame=frame, source=str(p), fingerprint="", notices=tuple(notices),
                       format="delimited", rejected_rows=len(lines), rejected_lines=lines[:1000],
                       encoding=plan.encoding, delimiter=plan.delimiter)


def _pandas_read(plan: Any, skip: tuple[int, ...], max_rows: int | None
                 ) -> tuple[pd.DataFrame, list[int]]:
    """pandas' C parser on the planned file, skipping DuckDB's rejects (line n = row n - 1)."""
    import re
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(
                plan.read_path, sep=plan.delimiter, quotechar='"', header=0, index_col=False,
                compression=None if plan.copied else plan.compression,
                encoding="utf-8" if plan.copied or plan.encoding == "utf-8" else plan.encoding,
                skiprows=[n - 1 for n in skip] or None, nrows=max_rows, low_memory=False,
                on_bad_lines="warn")
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError, EOFError) as err:
            raise DataError(f"{plan.source.name}: cannot parse ({_first_line(err)})") from err
    late = [int(m.group(1)) for w in caught
            for m in re.finditer(r"Skipping line (\d+)", str(w.message))]
    if frame.shape[1] == len(plan.names):
        frame.columns = list(plan.names)
    return frame, late


def _reason(kind: str) -> str:
    from thrifty_tui.core.data.csvscan import REJECT_REASONS

    return REJECT_REASONS.get(kind, kind.lower())


def _load_parquet(p: Path, kind: FileKind, max_rows: int | None) -> LoadedTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from thrifty_tui.core.data.csvscan import check_names, copy_to_temp

    tmpdir = copy_to_temp(p, kind.compression, ".parquet") if kind.compression else None
    target = Path(tmpdir.name) / "data.parquet" if tmpdir else p
    try:
        pf = pq.ParquetFile(target)
        if max_rows:
            batch = next(pf.iter_batches(batch_size=max_rows), None)
            table = (pa.Table.from_batches([batch], schema=pf.schema_arrow) if batch is not None
                     else pf.schema_arrow.empty_table())
        else:
            table = pf.read()
        check_names([str(n) for n in table.column_names], p.name)
        frame = table.to_pandas()
    except (pa.ArrowException, OSError, ValueError) as err:
        raise DataError(f"{p.name} is not a readable Parquet file ({_first_line(err)})") from err
    finally:
        if tmpdir:
            tmpdir.cleanup()
    return LoadedTable(frame=frame, source=str(p), fingerprint="", format="parquet")


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__


def _load_json(p: Path, kind: FileKind, max_rows: int | None) -> LoadedTable:
    """JSON Lines (one object per line), or a JSON array of objects."""
    from thrifty_tui.core.data.csvscan import detect_encoding, open_bytes, read_head

    head = read_head(p, kind.compression)
    if not head.strip():
        raise DataError(f"{p.name} is empty")
    encoding, notices = detect_encoding(head, p.name, complete=len(head) < (1 << 20))
    records: list[Any] = []
    bad: list[tuple[int, str]] = []
    with open_bytes(p, kind.compression) as raw, \
            io.TextIOWrapper(raw, encoding="utf-8-sig" if encoding == "utf-8" else encoding,
                             errors="strict") as text:
        try:
            if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
                items = json.load(text)
                if not isinstance(items, list):
                    raise DataError(f"{p.name}: expected a JSON array of objects")
                for i, item in enumerate(items[:max_rows] if max_rows else items):
                    (records.append(item) if isinstance(item, dict)
                     else bad.append((i + 1, "not an object")))
            else:
                for number, line in enumerate(text, start=1):
                    if not line.strip():
                        continue
                    if max_rows and len(records) >= max_rows:
                        break
                    try:
                        item = json.loads(line)
                    except json.JSONDecodeError as err:
                        bad.append((number, err.msg))
                        continue
                    (records.append(item) if isinstance(item, dict)
                     else bad.append((number, "not an object")))
        except json.JSONDecodeError as err:
            raise DataError(f"{p.name}: invalid JSON on line {err.lineno} ({err.msg})") from err
        except UnicodeDecodeError as err:
            raise DataError(f"{p.name}: not UTF-8 text ({err.reason})") from err
    if not records:
        detail = f" (line {bad[0][0]}: {bad[0][1]})" if bad else ""
        raise DataError(f"{p.name} holds no JSON object{detail}")
    frame = pd.json_normalize(records)
    for col in frame.columns:  # lists and other nested values become JSON text
        if frame[col].dtype == object and frame[col].map(lambda v: isinstance(v, list)).any():
            frame[col] = frame[col].map(lambda v: json.dumps(v) if isinstance(v, list) else v)
    out = list(notices)
    if bad:
        shown = ", ".join(str(n) for n, _ in bad[:10]) + (", …" if len(bad) > 10 else "")
        out.append(f"{p.name}: skipped {len(bad)} malformed line(s) (not a JSON object) on "
                   f"line(s) {shown}")
    return LoadedTable(frame=frame, source=str(p), fingerprint="", notices=tuple(out),
                       format="json", rejected_rows=len(bad),
                       rejected_lines=tuple(n for n, _ in bad[:1000]), encoding=encoding)


def _load_excel(p: Path, kind: FileKind, max_rows: int | None) -> LoadedTable:
    try:
        import openpyxl  # noqa: F401
    except ImportError as err:
        raise DataError(f"reading {p.name} needs the openpyxl package "
                        f"(pip install openpyxl), or save it as CSV") from err
    from thrifty_tui.core.data.csvscan import check_names, copy_to_temp

    tmpdir = copy_to_temp(p, kind.compression, kind.suffix) if kind.compression else None
    target = Path(tmpdir.name) / f"data{kind.suffix}" if tmpdir else p
    try:
        with pd.ExcelFile(target, engine="openpyxl") as book:
            sheets = book.sheet_names
            header = pd.read_excel(book, sheet_name=sheets[0], header=None, nrows=1)
            frame = pd.read_excel(book, sheet_name=sheets[0], header=0, nrows=max_rows)
    except Exception as err:  # openpyxl raises many kinds on a broken file
        raise DataError(f"{p.name} is not a readable .xlsx workbook ({_first_line(err)})") from err
    finally:
        if tmpdir:
            tmpdir.cleanup()
    if header.empty:
        raise DataError(f"{p.name}: the first sheet ({sheets[0]!r}) is empty")
    names = ["" if pd.isna(v) else str(v) for v in header.iloc[0]]
    check_names(names, p.name)
    notices: list[str] = []
    if len(names) == frame.shape[1]:
        frame.columns = names
        if not names[0].strip():
            frame, note = drop_index_column(frame, names[0], p.name)
            notices.append(note)
    if len(sheets) > 1:
        notices.append(f"{p.name}: read the first of {len(sheets)} sheets ({sheets[0]!r})")
    return LoadedTable(frame=frame, source=str(p), fingerprint="", notices=tuple(notices),
                       format="excel")


def preview_rows(frame: pd.DataFrame, n: int = 20) -> tuple[tuple[str, ...], ...]:
    """The first ``n`` rows as strings, for a table that never holds the whole file."""
    head = frame.head(n)
    return tuple(tuple("" if pd.isna(v) else str(v)[:60] for v in row)
                 for row in head.itertuples(index=False, name=None))


def describe_dtypes(frame: pd.DataFrame) -> tuple[tuple[str, str], ...]:
    """(column, dtype) pairs as plain strings."""
    return tuple((str(c), str(t)) for c, t in frame.dtypes.items())
