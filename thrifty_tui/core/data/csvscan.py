"""Delimited text: sniff encoding, delimiter and header, then scan it with DuckDB.

DuckDB reads every field as text (so a type guessed from the first rows can never reject a later
row), counts and locates malformed rows (``store_rejects``) and streams with bounded memory. The
types pandas would give are inferred afterwards, by :func:`typed_frame`, the same way for a
whole file and for a sample of it.
"""

from __future__ import annotations

import io
import lzma
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


from thrifty_tui.core.errors import DataError
from thrifty_tui.core.data.sniff import (  # noqa: F401 - re-exported for the loaders
    DELIMITER_BY_SUFFIX,
    DELIMITER_NAMES,
    DELIMITERS,
    HEAD_BYTES,
    MAX_HEADER_BYTES,
    _records,
    check_names,
    detect_encoding,
    open_bytes,
    read_head,
    copy_to_temp,
    sniff_delimiter,
    whole_file_encoding,
    zip_member,
)

MAX_LINE_BYTES = 16 << 20  # DuckDB rejects longer rows; its default (2 MB) is too short for text
BUFFER_BYTES = 32 << 20  # DuckDB sizes its read buffers from this (RSS grows with it)
# pandas' default missing-value markers, so DuckDB and pandas agree on what is missing.
NA_TOKENS = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
             "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")
REJECT_REASONS = {
    "TOO MANY COLUMNS": "too many fields",
    "MISSING COLUMNS": "too few fields",
    "UNQUOTED VALUE": "a stray quote",
    "LINE SIZE OVER MAXIMUM": "a row over 16 MB",
    "INVALID ENCODING": "bytes that are not UTF-8",
    "INVALID UNICODE": "bytes that are not UTF-8",
}


def sql_str(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def connect(progress: bool = False) -> Any:
    """A fresh in-memory DuckDB connection (its reject tables belong to one scan).

    ``progress``: track the query's progress (ScanControl.progress reads it for the Load
    screen's bar; without tracking, query_progress() is always -1) but never print a bar.
    Off unless someone watches: tracking cost ~10 % CPU on a 1 GB sampling scan.
    """
    import duckdb

    con = duckdb.connect()
    if progress:
        con.execute("SET enable_progress_bar = true")
        con.execute("SET enable_progress_bar_print = false")
    return con


@dataclass
class CsvPlan:
    """How to read one delimited file with DuckDB; ``close()`` removes any temporary copy."""

    source: Path
    compression: str | None
    encoding: str  # of the source: utf-8, utf-16 or cp1252
    delimiter: str
    names: tuple[str, ...]
    read_path: Path  # the source, or a plain UTF-8 copy of it
    notices: list[str] = field(default_factory=list)
    _tmpdir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def internal(self) -> tuple[str, ...]:
        return tuple(f"c{i}" for i in range(len(self.names)))

    @property
    def copied(self) -> bool:
        return self._tmpdir is not None

    def relation(self) -> str:
        """A ``read_csv(...)`` call reading every column as text, malformed rows set aside."""
        cols = ", ".join(f"'{c}': 'VARCHAR'" for c in self.internal)
        nulls = ", ".join(sql_str(t) for t in NA_TOKENS)
        compression = "gzip" if self.compression == "gzip" and not self.copied else "none"
        return (f"read_csv({sql_str(str(self.read_path))}, auto_detect=false, header=true, "
                f"delim={sql_str(self.delimiter)}, quote='\"', escape='\"', "
                f"columns={{{cols}}}, nullstr=[{nulls}], store_rejects=true, "
                f"compression='{compression}', max_line_size={MAX_LINE_BYTES}, "
                f"buffer_size={BUFFER_BYTES}, "
                f"encoding='{'utf-16' if self.encoding == 'utf-16' and not self.copied else 'utf-8'}')")

    def close(self) -> None:
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def plain_copy(self, encoding: str | None = None, errors: str = "strict") -> CsvPlan:
        """This plan reading a decompressed UTF-8 copy with '\\n' line ends (decoded strictly)."""
        encoding = encoding or self.encoding
        tmpdir = tempfile.TemporaryDirectory(prefix="thrifty-")
        out = Path(tmpdir.name) / "data.csv"
        line = 1
        try:
            with open_bytes(self.source, self.compression) as raw, \
                    io.TextIOWrapper(raw, encoding="utf-8-sig" if encoding == "utf-8" else encoding,
                                     errors=errors, newline=None) as text, \
                    open(out, "w", encoding="utf-8", newline="\n") as dst:
                while chunk := text.read(1 << 20):
                    dst.write(chunk)
                    line += chunk.count("\n")
        except UnicodeDecodeError as err:
            tmpdir.cleanup()
            raise DataError(f"{self.source.name} is neither UTF-8 nor Windows-1252 text "
                            f"(near line {line}); save it as UTF-8") from err
        except (OSError, EOFError, lzma.LZMAError) as err:
            tmpdir.cleanup()
            raise DataError(f"{self.source.name}: cannot read ({err})") from err
        self.close()
        return replace(self, encoding=encoding, read_path=out, notices=list(self.notices),
                       _tmpdir=tmpdir)


def plan_csv(path: Path, compression: str | None, suffix: str) -> CsvPlan:
    """Sniff a delimited file's encoding, delimiter and header (from its first MiB)."""
    n_bytes = HEAD_BYTES
    while True:
        head = read_head(path, compression, n_bytes)
        complete = len(head) < n_bytes
        if b"\n" in head or b"\r" in head or complete or n_bytes >= MAX_HEADER_BYTES:
            break
        n_bytes *= 4
    if not head.strip():
        raise DataError(f"{path.name} is empty")
    encoding, notices = detect_encoding(head, path.name, complete)
    if encoding != "utf-16":  # the whole file decides, not its first MiB (textcheck)
        encoding, notices, _ = whole_file_encoding(path, compression)
    text = head.decode("utf-16" if encoding == "utf-16" else
                       ("utf-8-sig" if encoding == "utf-8" else encoding), errors="replace")
    if not complete:  # drop the line cut by the end of the head block
        cut = max(text.rfind("\n"), text.rfind("\r"))
        if cut <= 0:
            raise DataError(f"{path.name}: the first line is longer than "
                            f"{MAX_HEADER_BYTES >> 20} MB; is it really delimited text?")
        text = text[:cut]
    delimiter = sniff_delimiter(text, DELIMITER_BY_SUFFIX.get(suffix))
    header = next(iter(_records(text, delimiter, limit=1)), [])
    if not header or not any(h.strip() for h in header):
        raise DataError(f"{path.name} has no header row (the first line is blank)")
    check_names(header, path.name)
    plan = CsvPlan(source=path, compression=compression, encoding=encoding, delimiter=delimiter,
                   names=tuple(header), read_path=path, notices=list(notices))
    crlf, lf = head.count(b"\r\n"), head.count(b"\n")
    bare_cr = head.count(b"\r") - crlf
    mixed = (crlf and lf - crlf) or bare_cr > 0
    if encoding == "utf-8" and any("invalid UTF-8" in n for n in notices):
        plan = plan.plain_copy(errors="replace")  # (DuckDB would set those rows aside)
    elif compression not in (None, "gzip") or encoding == "cp1252" or mixed:
        plan = plan.plain_copy()
    return plan


@dataclass(frozen=True)
class Rejects:
    """Rows DuckDB set aside: how many, the first line numbers, and why."""

    count: int = 0
    lines: tuple[int, ...] = ()
    reasons: tuple[tuple[str, int], ...] = ()

    def notice(self, name: str) -> str:
        why = ", ".join(f"{n} with {REJECT_REASONS.get(k, k.lower())}" for k, n in self.reasons)
        shown = ", ".join(map(str, self.lines[:10])) + (", …" if self.count > 10 else "")
        return f"{name}: skipped {self.count} malformed row(s) ({why}) on line(s) {shown}"


def read_rejects(con: Any) -> Rejects:
    """The malformed rows of the last scan on ``con`` (one per line)."""
    try:
        rows = con.execute("SELECT line, any_value(error_type) FROM reject_errors GROUP BY line "
                           "ORDER BY line").fetchall()
    except Exception:  # noqa: BLE001 - no reject table: nothing was rejected
        return Rejects()
    reasons = Counter(str(kind) for _, kind in rows)
    return Rejects(count=len(rows), lines=tuple(int(line) for line, _ in rows),
                   reasons=tuple(sorted(reasons.items(), key=lambda kv: -kv[1])))


def duck_error(err: Exception, name: str) -> DataError:
    """A DuckDB error as one line for the user."""
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if "Out of Memory" in first:  # the child's memory cap, not the file (it was blamed)
        return DataError(f"{name}: out of memory ({first}); raise --max-memory-mb or sample it")
    return DataError(f"{name}: cannot parse as delimited text ({first})")


def run_query(con: Any, sql: str, fetch: str, control: Any = None, phase: str = "") -> Any:
    """Run ``sql`` on ``con``, fetching rows or an Arrow table; cancellable through ``control``."""
    if control is not None:
        control.attach(con, phase)
    try:
        rel = con.sql(sql)
        return rel.arrow().read_all() if fetch == "arrow" else rel.fetchall()
    except Exception:
        if control is not None and control.cancelled:
            raise ScanCancelled(f"{phase or 'scan'} cancelled") from None
        raise
    finally:
        if control is not None:
            control.detach()


def run_scan(plan: CsvPlan, sql: str, fetch: str = "arrow", control: Any = None,
             phase: str = "") -> tuple[Any, Rejects, CsvPlan]:
    """Run ``sql`` (with ``{src}`` for the file) and return (result, rejects, plan).

    A file that turns out not to be UTF-8, or to mix line ends, is scanned again from a
    normalised copy; the plan returned is the one that worked.
    """
    for attempt in range(3):
        con = connect(progress=control is not None)
        try:
            result = run_query(con, sql.format(src=plan.relation()), fetch, control, phase)
        except ScanCancelled:
            con.close()
            raise
        except Exception as err:  # DuckDB raises several error classes
            con.close()
            if plan.copied or attempt:
                raise duck_error(err, plan.source.name) from err
            plan = plan.plain_copy()
            continue
        rejects = read_rejects(con)
        con.close()
        bad_text = sum(n for k, n in rejects.reasons if k in ("INVALID ENCODING", "INVALID UNICODE"))
        if bad_text and plan.encoding == "utf-8" and attempt == 0:
            plan = plan.plain_copy("cp1252")
            plan.notices.append(f"{plan.source.name} is not UTF-8 (line {rejects.lines[0]}); "
                                f"read it as Windows-1252 (cp1252)")
            continue
        return result, rejects, plan
    raise DataError(f"{plan.source.name}: cannot parse as delimited text")


class ScanCancelled(Exception):
    """A scan was cancelled through its ScanControl."""


class ScanControl:
    """Lets another thread follow a running DuckDB scan and cancel it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._con: Any = None
        self.cancelled = False
        self.phase = ""

    def attach(self, con: Any, phase: str) -> None:
        with self._lock:
            if self.cancelled:
                raise ScanCancelled(f"{phase or 'scan'} cancelled")
            self._con, self.phase = con, phase

    def detach(self) -> None:
        with self._lock:
            self._con = None

    def cancel(self) -> None:
        """Stop the scan now; the caller gets ScanCancelled."""
        with self._lock:
            self.cancelled = True
            if self._con is not None:
                self._con.interrupt()

    def progress(self) -> float | None:
        """The running query's progress in [0, 1], when DuckDB can tell."""
        with self._lock:
            if self._con is None:
                return None
            try:
                value = float(self._con.query_progress())
            except Exception:  # noqa: BLE001 - progress is best effort
                return None
        return value / 100 if value >= 0 else None
