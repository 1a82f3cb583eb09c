"""Load a data file into a pandas frame, with one clear message for input we cannot use."""

from __future__ import annotations

import csv
import gzip
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from thrifty_tui.core.errors import DataError, check_path

_check_path = check_path  # older name, kept for callers

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".psv")
COMPRESSION_SUFFIXES = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip"}


@dataclass(frozen=True)
class LoadedTable:
    """A frame read from a file, with what was noticed while reading it."""

    frame: pd.DataFrame
    source: str
    fingerprint: str
    notices: tuple[str, ...] = field(default_factory=tuple)


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


def _compression(p: Path) -> str | None:
    return COMPRESSION_SUFFIXES.get(p.suffix.lower())


def _head_text(p: Path, compression: str | None, n_bytes: int = 64 * 1024) -> bytes:
    if compression == "gzip":
        with gzip.open(p, "rb") as fh:
            return fh.read(n_bytes)
    if compression is None:
        with open(p, "rb") as fh:
            return fh.read(n_bytes)
    return b""


def _sniff_delimiter(head: str) -> str:
    try:
        return csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def load_table(path: str | os.PathLike[str], *, max_rows: int | None = None) -> LoadedTable:
    """Read a delimited text file (optionally compressed) into a frame, or raise DataError."""
    p = _check_path(path)
    compression = _compression(p)
    inner_suffix = Path(p.stem).suffix.lower() if compression else p.suffix.lower()
    if inner_suffix not in SUPPORTED_SUFFIXES:
        raise DataError(
            f"{p.name}: unsupported file type {inner_suffix or '(none)'}; "
            f"use CSV/TSV, optionally .gz/.bz2/.xz/.zip"
        )
    head = _head_text(p, compression)
    if b"\x00" in head[:4096]:
        raise DataError(f"{p.name} looks like a binary file, not delimited text")
    notices: list[str] = []
    encoding = "utf-8-sig"
    try:
        head_text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        # A cut at the end of the head block is fine; an error earlier means another encoding.
        if err.start < len(head) - 4:
            encoding = "cp1252"
            head_text = head.decode("cp1252", errors="replace")
            notices.append(f"{p.name} is not UTF-8; read it as cp1252")
        else:
            head_text = head[: err.start].decode("utf-8")
    delimiter = _sniff_delimiter(head_text) if head_text else ","
    try:
        frame = pd.read_csv(
            p,
            sep=delimiter,
            compression=compression,
            encoding=encoding,
            nrows=max_rows,
            low_memory=False,
        )
    except pd.errors.EmptyDataError as err:
        raise DataError(f"{p.name} has no columns: {err}") from err
    except pd.errors.ParserError as err:
        raise DataError(f"{p.name}: rows with the wrong number of fields ({err})") from err
    except UnicodeDecodeError as err:
        raise DataError(f"{p.name}: cannot decode text ({err.reason})") from err
    except (OSError, EOFError, ValueError) as err:
        raise DataError(f"{p.name}: cannot read ({err})") from err
    if frame.shape[1] == 0:
        raise DataError(f"{p.name} has no columns")
    if len(frame) == 0:
        raise DataError(f"{p.name} has a header but no rows")
    frame.columns = [str(c) for c in frame.columns]
    return LoadedTable(frame=frame, source=str(p), fingerprint=fingerprint_file(p),
                       notices=tuple(notices))


def preview_rows(frame: pd.DataFrame, n: int = 20) -> tuple[tuple[str, ...], ...]:
    """The first ``n`` rows as strings, for a table that never holds the whole file."""
    head = frame.head(n)
    return tuple(tuple("" if pd.isna(v) else str(v)[:60] for v in row)
                 for row in head.itertuples(index=False, name=None))


def describe_dtypes(frame: pd.DataFrame) -> tuple[tuple[str, str], ...]:
    """(column, dtype) pairs as plain strings."""
    return tuple((str(c), str(t)) for c, t in frame.dtypes.items())


