"""Cheap checks of a data file from its name and first bytes (standard library only).

Enough to refuse most bad input at once, without pandas or DuckDB: unknown type, binary or
mis-encoded text, a broken header (repeated, empty or too many column names), a header with no
rows. :func:`precheck` runs them all; the loaders in :mod:`data` build on the same pieces.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import lzma
import os
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from thrifty_tui.core.errors import DataError, check_path

HEAD_BYTES = 1 << 20
MAX_HEADER_BYTES = 64 << 20
DELIMITED_SUFFIXES = (".csv", ".tsv", ".txt", ".psv", ".tab")
SUPPORTED_SUFFIXES = DELIMITED_SUFFIXES  # kept for callers of the first version
PARQUET_SUFFIXES = (".parquet", ".pq")
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
COMPRESSION_SUFFIXES = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip"}
MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz"}
MAX_COLUMNS = 20_000
SUPPORTED_TEXT = "CSV/TSV/TXT, Parquet, JSON Lines or .xlsx, optionally .gz/.bz2/.xz/.zip"
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_BY_SUFFIX = {".tsv": "\t", ".tab": "\t", ".psv": "|"}
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

@dataclass(frozen=True)
class FileKind:
    """What a path holds, judged from its name: format, compression and inner suffix."""

    format: str
    compression: str | None
    suffix: str


def file_kind(p: Path) -> FileKind:
    """The format and compression a file name announces, or DataError for anything else."""
    compression = COMPRESSION_SUFFIXES.get(p.suffix.lower())
    name = p.name
    if compression == "zip":
        name = zip_member(p)
    elif compression:
        name = p.stem
    suffix = Path(name).suffix.lower()
    if suffix in DELIMITED_SUFFIXES:
        return FileKind("delimited", compression, suffix)
    if suffix in PARQUET_SUFFIXES:
        return FileKind("parquet", compression, suffix)
    if suffix in JSON_SUFFIXES:
        return FileKind("json", compression, suffix)
    if suffix in EXCEL_SUFFIXES:
        return FileKind("excel", compression, suffix)
    if suffix == ".xls":
        raise DataError(f"{p.name}: old .xls workbooks are not supported; save it as .xlsx or CSV")
    raise DataError(f"{p.name}: unsupported file type {suffix or '(no extension)'}; "
                    f"use {SUPPORTED_TEXT}")


def sniff_magic(p: Path, kind: FileKind) -> tuple[FileKind, tuple[str, ...]]:
    """Catch a compressed, Parquet or zip file hiding behind a text suffix."""
    if kind.format not in ("delimited", "json") or kind.compression:
        return kind, ()
    with open(p, "rb") as fh:
        head = fh.read(8)
    for magic, compression in MAGIC.items():
        if head.startswith(magic):
            return (FileKind(kind.format, compression, kind.suffix),
                    (f"{p.name} is {compression}-compressed; read it as such",))
    if head.startswith(b"PAR1"):
        raise DataError(f"{p.name} is a Parquet file; rename it to {p.stem}.parquet")
    if head.startswith(b"PK\x03\x04"):
        raise DataError(f"{p.name} is a zip archive (or an Excel workbook); rename it to "
                        f"{p.stem}.zip or {p.stem}.xlsx")
    return kind, ()


def zip_member(path: Path) -> str:
    """The one data file inside a zip archive, or DataError."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()
                     and not i.filename.startswith("__MACOSX/")
                     and not Path(i.filename).name.startswith(".")]
    except (zipfile.BadZipFile, OSError) as err:
        raise DataError(f"{path.name} is not a readable zip archive ({err})") from err
    if not names:
        raise DataError(f"{path.name} holds no file")
    if len(names) > 1:
        shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
        raise DataError(f"{path.name} holds {len(names)} files ({shown}); unzip it and open one")
    return names[0]


def open_bytes(path: Path, compression: str | None) -> IO[bytes]:
    """The file's decompressed bytes as a stream."""
    if compression == "gzip":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if compression == "bz2":
        return bz2.open(path, "rb")
    if compression == "xz":
        return lzma.open(path, "rb")
    if compression == "zip":
        zf = zipfile.ZipFile(path)
        return zf.open(zip_member(path))
    return open(path, "rb")


def read_head(path: Path, compression: str | None, n_bytes: int = HEAD_BYTES) -> bytes:
    """The first ``n_bytes`` decompressed bytes; DataError if the archive is broken."""
    try:
        with open_bytes(path, compression) as fh:
            return fh.read(n_bytes)
    except (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile) as err:
        raise DataError(f"{path.name}: cannot decompress ({err})") from err


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def detect_encoding(head: bytes, name: str, complete: bool) -> tuple[str, tuple[str, ...]]:
    """'utf-8', 'utf-16' or 'cp1252' (with a notice) for the head of a text file, or DataError."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", ()
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", (f"{name} is UTF-16 text; read it as such",)
    probe = head[:8192]
    if b"\x00" in probe:
        even, odd = probe[0::2].count(0), probe[1::2].count(0)
        if max(even, odd) > 0.3 * len(probe) / 2 and min(even, odd) < 0.05 * len(probe) / 2:
            raise DataError(f"{name} looks like UTF-16 text without a byte-order mark; "
                            f"save it as UTF-8")
        raise DataError(f"{name} looks like a binary file, not delimited text")
    controls = sum(probe.count(bytes([b])) for b in (*range(1, 9), *range(14, 32)) if b != 27)
    if probe and controls > 0.05 * len(probe):
        raise DataError(f"{name} looks like a binary file, not delimited text")
    try:
        head.decode("utf-8")
        return "utf-8", ()
    except UnicodeDecodeError as err:
        if not complete and err.start >= len(head) - 3:
            return "utf-8", ()  # a character cut by the end of the head block
        line = _line_of(head, err.start)
    try:
        head.decode("cp1252")
    except UnicodeDecodeError as err:
        raise DataError(f"{name} is neither UTF-8 nor Windows-1252 text (byte 0x{head[err.start]:02x} "
                        f"on line {_line_of(head, err.start)}); save it as UTF-8") from err
    return "cp1252", (f"{name} is not UTF-8 (line {line}); read it as Windows-1252 (cp1252)",)


def _records(text: str, delimiter: str, limit: int = 200) -> list[list[str]]:
    old = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text, newline=None), delimiter=delimiter):
            rows.append(row)
            if len(rows) >= limit:
                break
    except csv.Error:
        pass
    finally:
        csv.field_size_limit(old)
    return rows


def sniff_delimiter(text: str, preferred: str | None = None) -> str:
    """The delimiter that splits the first lines into the most consistent number of fields."""
    order = ([preferred] if preferred else []) + [d for d in DELIMITERS if d != preferred]
    best, best_score = order[0], (0.0, 0)
    for delim in order:
        counts = [len(r) for r in _records(text, delim) if r and r != [""]]
        if not counts:
            continue
        mode, freq = Counter(counts).most_common(1)[0]
        if mode < 2:
            continue
        score = (freq / len(counts) + (0.5 if counts[0] == mode else 0.0), mode)
        if score[0] > best_score[0] + 1e-9:
            best, best_score = delim, score
    return best


def check_names(names: list[str], name: str) -> None:
    """DataError for empty or repeated column names (pandas would silently rename them)."""
    for i, col in enumerate(names):
        if not col.strip() and i > 0:
            raise DataError(f"{name}: column {i + 1} has no name; give every column a name in "
                            f"the header row")
    seen: dict[str, int] = {}
    for i, col in enumerate(names):
        if col in seen:
            raise DataError(f"{name}: column name {col!r} is used twice (columns {seen[col] + 1} "
                            f"and {i + 1}); column names must be unique")
        seen[col] = i


def precheck(path: str | os.PathLike[str]) -> Path:
    """Refuse what can be refused from the name and first MiB; return the path otherwise.

    Runs in the app's own process in a few milliseconds: no pandas, no DuckDB, no child.
    """
    p = check_path(path)
    try:
        with open(p, "rb"):
            pass
    except PermissionError as err:
        raise DataError(f"cannot read {p}: permission denied") from err
    except OSError as err:
        raise DataError(f"cannot read {p}: {err.strerror or err}") from err
    kind, _ = sniff_magic(p, file_kind(p))
    if kind.format not in ("delimited", "json"):
        return p
    head = read_head(p, kind.compression)
    if not head.strip():
        raise DataError(f"{p.name} is empty")
    complete = len(head) < HEAD_BYTES
    encoding, _ = detect_encoding(head, p.name, complete)
    if kind.format == "json":
        return p
    text = head.decode({"utf-8": "utf-8-sig"}.get(encoding, encoding), errors="replace")
    if not complete:
        cut = max(text.rfind("\n"), text.rfind("\r"))
        if cut <= 0:
            return p  # a header longer than the head block: the loader reads further
        text = text[:cut]
    delimiter = sniff_delimiter(text, DELIMITER_BY_SUFFIX.get(kind.suffix))
    records = [r for r in _records(text, delimiter, limit=3) if r and r != [""]]
    if not records or not any(h.strip() for h in records[0]):
        raise DataError(f"{p.name} has no header row (the first line is blank)")
    check_names(records[0], p.name)
    if len(records[0]) > MAX_COLUMNS:
        raise DataError(f"{p.name} has {len(records[0]):,} columns; thrifty-tui reads at most "
                        f"{MAX_COLUMNS:,}")
    if complete and len(records) == 1:
        raise DataError(f"{p.name} has a header but no rows")
    return p


ESTIMATE_BYTES = 1 << 16


def estimate_shape(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(rows, columns) of a delimited file estimated from its first 64 KiB and its size (a
    compressed file is taken as 6 times its size); None for other formats or when the head
    cannot be read. Cheap: for planning a sample, never for counting."""
    p = Path(path)
    try:
        kind, _ = sniff_magic(p, file_kind(p))
        if kind.format != "delimited":
            return None
        head = read_head(p, kind.compression, ESTIMATE_BYTES)
    except (DataError, OSError):
        return None
    lines = head.splitlines()
    if len(lines) < 2:
        return None
    text = head.decode("utf-8", errors="replace")
    delimiter = sniff_delimiter(text, DELIMITER_BY_SUFFIX.get(p.suffix.lower()))
    columns = len(next(csv.reader([lines[0].decode("utf-8", errors="replace")],
                                  delimiter=delimiter)))
    complete = lines[1:-1] if len(head) == ESTIMATE_BYTES else lines[1:]
    if not complete:
        return None
    bytes_per_row = sum(len(line) + 1 for line in complete) / len(complete)
    size = p.stat().st_size * (6 if kind.compression else 1)
    return max(1, int(size / bytes_per_row)), columns
