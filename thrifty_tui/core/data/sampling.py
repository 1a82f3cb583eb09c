"""Downsampling as plain functions: random or stratified, from a frame or streamed from a file.

Every row gets a key, DuckDB's ``hash(row number, seed)``, and a sample keeps the rows with the
smallest keys (within each class, for a stratified sample): exact in size and reproducible. A
frame and the same file streamed by :func:`sample_file` get the same keys, so both give the same
rows. Streaming is one DuckDB pass, usually: count every class and keep the few rows whose key
falls under a limit; memory is bounded by the sample, not by the file.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from thrifty_tui.core.data.csvscan import ScanCancelled, ScanControl
from thrifty_tui.core.errors import DataError

__all__ = ["DEFAULT_MIN_PER_CLASS", "SampleRecord", "ScanCancelled", "ScanControl", "allocate",
           "random_sample", "row_keys", "sample_file", "stratified_sample"]

K = TypeVar("K", bound=Hashable)
_KEYS_LOCK = threading.Lock()
_KEYS_CON: Any = None
DEFAULT_MIN_PER_CLASS = 10
MAX_STRATA = 1000
MAX_SEED = 2**63 - 1
KEY_MAX = 2**64 - 1
MISSING = "\u241fmissing\u241f"  # a missing class value, inside SQL


def _check_request(n: int, seed: int, min_per_class: int = 0) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise DataError(f"sample size must be a positive whole number of rows, not {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed <= MAX_SEED:
        raise DataError(f"seed must be a whole number from 0 to {MAX_SEED}, not {seed!r}")
    if isinstance(min_per_class, bool) or not isinstance(min_per_class, int | np.integer) \
            or min_per_class < 0:
        raise DataError(f"minimum rows per class must be 0 or more, not {min_per_class!r}")


def row_keys(n_rows: int, seed: int) -> np.ndarray:
    """The sampling keys of rows 1..n_rows: ``hash(row, seed)`` exactly as the stream computes
    them in SQL (DuckDB's 64-bit hash of two BIGINTs)."""
    global _KEYS_CON
    if n_rows == 0:
        return np.empty(0, dtype=np.uint64)
    with _KEYS_LOCK:
        if _KEYS_CON is None:
            from thrifty_tui.core.data.csvscan import connect

            _KEYS_CON = connect()
        keys = _KEYS_CON.execute(f"SELECT hash(i, {int(seed)}::BIGINT) AS k "
                                 f"FROM range(1, {int(n_rows) + 1}) t(i)").fetchnumpy()["k"]
    return np.asarray(keys, dtype=np.uint64)


def label_text(value: Any) -> str:
    """A class label as text, for messages, records and tie-breaks ('' when missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(value)


def allocate(counts: Mapping[K, int], n: int, min_per_class: int = DEFAULT_MIN_PER_CLASS,
             tiebreak: Callable[[K], str] = label_text) -> dict[K, int]:
    """Rows to take from each class: ``n`` in all, proportional to the class sizes within
    rounding, but at least ``min_per_class`` of each class (all of a smaller class).

    The proportional share is water-filled: classes held up to their minimum, or down to their
    size, are fixed and the others share the rest; largest remainders settle the rounding.
    """
    total = sum(counts.values())
    if n >= total:
        return dict(counts)
    floors = {c: min(k, min_per_class) for c, k in counts.items()}
    if sum(floors.values()) > n:
        raise DataError(f"a sample of {n:,} rows cannot keep {min_per_class} rows of each of "
                        f"{len(counts):,} classes; ask for at least {sum(floors.values()):,} rows "
                        f"or a lower minimum per class")

    def filled(lam: float) -> float:
        return sum(min(max(lam * k, floors[c]), k) for c, k in counts.items())

    lo, hi = 0.0, 1.0
    if filled(n / total) >= n:
        hi = n / total
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if filled(mid) < n else (lo, mid)
    quota = {c: min(max(hi * k, floors[c]), k) for c, k in counts.items()}
    take = {c: max(floors[c], min(k, math.floor(quota[c] + 1e-9))) for c, k in counts.items()}
    left = n - sum(take.values())
    order = sorted(counts, key=lambda c: (-(quota[c] - take[c]), -counts[c], tiebreak(c)))
    while left > 0:
        for c in order:
            if left and take[c] < counts[c]:
                take[c] += 1
                left -= 1
    for c in reversed(order):  # only after float trouble: give back from the least deserving
        while left < 0 and take[c] > floors[c]:
            take[c] -= 1
            left += 1
    return take


def random_sample(frame: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` rows (all if fewer) without replacement, in their original order; reproducible."""
    _check_request(n, seed)
    if n >= len(frame):
        return frame
    keys = row_keys(len(frame), seed)
    return frame.iloc[np.sort(np.argpartition(keys, n - 1)[:n])]


def stratified_sample(frame: pd.DataFrame, n: int, target: str, seed: int = 0,
                      min_per_class: int = DEFAULT_MIN_PER_CLASS) -> pd.DataFrame:
    """``n`` rows whose class shares follow ``frame[target]``'s within rounding, keeping at
    least ``min_per_class`` rows of every class (all of a smaller one); missing is a class."""
    _check_request(n, seed, min_per_class)
    if target not in frame.columns:
        raise DataError(f"no column named {target!r}; columns are: "
                        f"{', '.join(map(str, frame.columns[:20]))}")
    if n >= len(frame):
        return frame
    codes, uniques = pd.factorize(frame[target], use_na_sentinel=False)
    counts = np.bincount(codes, minlength=len(uniques))
    take = allocate({i: int(k) for i, k in enumerate(counts)}, n, min_per_class,
                    tiebreak=lambda i: label_text(uniques[int(i)]))
    keys = row_keys(len(frame), seed)
    order = np.lexsort((keys, codes))  # by class, then by key
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    chosen = [order[starts[i]:starts[i] + k] for i, k in take.items() if k]
    return frame.iloc[np.sort(np.concatenate(chosen))]


@dataclass(frozen=True)
class SampleRecord:
    """How a sample was drawn, enough to draw it again: source fingerprint, method, seed."""

    source: str
    size_bytes: int
    mtime: float
    sha256: str
    hashed: str  # what the hash covers: "content" or sampled blocks of a big file
    method: str  # "random" or "stratified"
    engine: str  # "duckdb stream" or "in memory"
    rows: int
    source_rows: int
    seed: int
    stratify: str | None = None
    min_per_class: int = 0
    classes: tuple[tuple[str, int, int], ...] = ()  # (label, rows in source, rows in sample)
    rejected_rows: int = 0
    notices: tuple[str, ...] = ()
    passes: int = 1  # scans of the file
    seconds: float = 0.0
    created_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["classes"] = [{"label": label, "source": a, "sample": b} for label, a, b in self.classes]
        d["notices"] = list(self.notices)
        return d


def sample_file(path: str | Path, n: int, stratify: str | None = None, seed: int = 0,
                min_per_class: int = DEFAULT_MIN_PER_CLASS,
                control: ScanControl | None = None) -> tuple[pd.DataFrame, SampleRecord]:
    """Sample ``n`` rows of a file of any size (random, or stratified by a column).

    Delimited text and Parquet are streamed by DuckDB with bounded memory, usually in one
    pass (a class too rare for its minimum share may need a second); the other formats are
    loaded, then sampled in memory. Either way the rows, their order and their index (the
    row's position in the file) equal ``random_sample`` / ``stratified_sample`` of
    ``load_table(path).frame`` with the same seed.
    """
    from thrifty_tui.core.data.tables import _check_path, _sniff_magic, file_kind, source_fingerprint

    _check_request(n, seed, min_per_class)
    started = time.monotonic()
    p = _check_path(path)
    kind, notices = _sniff_magic(p, file_kind(p))
    fingerprint = source_fingerprint(p)
    if kind.format == "delimited" or (kind.format == "parquet" and not kind.compression):
        from thrifty_tui.core.data.streams import open_stream

        with open_stream(p, kind) as stream:
            frame, counts, rejected, passes = _stream_sample(stream, n, stratify, seed,
                                                             min_per_class, control)
            notices += tuple(stream.notices())
        engine = "duckdb stream"
    else:
        from thrifty_tui.core.data.tables import load_table

        table = load_table(p)
        source = table.frame
        frame = (stratified_sample(source, n, stratify, seed, min_per_class) if stratify
                 else random_sample(source, n, seed))
        counts = (source[stratify].map(label_text).value_counts(sort=False).to_dict()
                  if stratify else {"": len(source)})
        rejected, notices, engine = table.rejected_rows, notices + table.notices, "in memory"
        passes = 1
    got = frame[stratify].map(label_text).value_counts().to_dict() if stratify else {}
    classes = tuple(sorted(((label, int(k), int(got.get(label, 0))) for label, k in counts.items()),
                           key=lambda t: (-t[1], t[0]))) if stratify else ()
    record = SampleRecord(
        source=fingerprint.path, size_bytes=fingerprint.size, mtime=fingerprint.mtime,
        sha256=fingerprint.sha256, hashed=fingerprint.hashed,
        method="stratified" if stratify else "random", engine=engine, rows=len(frame),
        source_rows=int(sum(counts.values())), seed=int(seed), stratify=stratify,
        min_per_class=int(min_per_class) if stratify else 0, classes=classes,
        rejected_rows=rejected, notices=notices, passes=passes, seconds=round(time.monotonic() - started, 3),
        created_at=time.time())
    return frame, record


def _limit(want: float, rows: float, widen: float = 1.0) -> int:
    """A key limit that lets through ``want`` of ``rows`` rows with a wide safety margin."""
    if rows <= 0:
        return KEY_MAX
    share = (want + 6 * math.sqrt(want) + 30) * widen / rows
    return KEY_MAX if share >= 1 else int(share * KEY_MAX)


def _stream_sample(stream: Any, n: int, stratify: str | None, seed: int, min_per_class: int,
                   control: ScanControl | None) -> tuple[pd.DataFrame, dict[str, int], int, int]:
    """One pass, usually: count every class and keep, per class, the rows with the smallest keys
    under a limit set from the estimated row count. A class that came back short (rarer than
    its minimum share, or a poor estimate) gets a second, targeted pass."""
    import pyarrow as pa

    col = stream.column(stratify) if stratify else None
    limit = _limit(SAFETY * n, stream.estimate_rows())
    rows = stream.query(_candidates_sql(stream, col, seed, {None: limit}, n), control,
                        "sampling rows", fetch="arrow")
    counts = {str(s): int(k) for s, k in zip(rows.column("s").to_pylist(),
                                             rows.column("n").to_pylist(), strict=True)}
    total = sum(counts.values())
    if total == 0:
        raise DataError(f"{stream.name} has no rows to sample")
    if len(counts) > MAX_STRATA:
        raise DataError(f"{stratify!r} has {len(counts):,} distinct values; stratify by a class "
                        f"column (at most {MAX_STRATA:,} classes)")
    take: dict[str, int] = (allocate(counts, n, min_per_class, tiebreak=_sql_label) if stratify
                            else {MISSING: min(n, total)})
    found = _by_class(rows)
    passes, widen = 1, 1.0
    while short := {c for c, k in take.items()
                    if 0 < k and len(found.get(c, ())) < k and (limit < KEY_MAX or passes > 1)}:
        passes += 1
        limits: dict[str | None, int] = {c: _limit(take[c], counts[c], widen) for c in short}
        more = stream.query(_candidates_sql(stream, col, seed, limits, max(take[c] for c in short)),
                            control, "sampling rare classes", fetch="arrow")
        found.update(_by_class(more))
        widen *= 4
        if all(lim == KEY_MAX for lim in limits.values()):
            break
    parts = [found[c].slice(0, k) for c, k in take.items() if k and found.get(c) is not None
             and found[c].num_rows]
    table = pa.concat_tables(parts) if parts else None
    if table is None or table.num_rows == 0:
        raise DataError(f"{stream.name}: no rows were sampled")
    positions = table.column("__i").to_numpy()
    order = np.argsort(positions, kind="stable")  # file order, as in memory
    frame = stream.to_frame(table.take(pa.array(order)))
    frame.index = pd.Index(positions[order] - 1)
    return frame, {_sql_label(s): k for s, k in counts.items()}, stream.rejected, passes


SAFETY = 1.5  # the first pass keeps half as many rows again as it needs: size estimates are rough


def _label_sql(col: str | None) -> str:
    """SQL for a row's class as text (a marker when missing; one class when not stratified)."""
    return f"coalesce(CAST({col} AS VARCHAR), '{MISSING}')" if col else f"'{MISSING}'"


def _candidates_sql(stream: Any, col: str | None, seed: int, limits: Mapping[str | None, int],
                    cap: int) -> str:
    """Per class: its row count and up to ``cap`` rows under its key limit, smallest key first.

    Rows are numbered in file order (``row_number() OVER ()`` keeps DuckDB's insertion order),
    so the keys match :func:`row_keys`; a limit set after the numbering never renumbers rows."""
    from thrifty_tui.core.data.csvscan import sql_str

    fields = ", ".join(f"{c} := {c}" for c in stream.internal)
    if None in limits:
        keep, where = f"__k <= {limits[None]}::UBIGINT", ""
    else:
        cases = " ".join(f"WHEN {sql_str(str(c))} THEN {lim}::UBIGINT" for c, lim in limits.items())
        keep = f"__k <= CASE s {cases} ELSE 0::UBIGINT END"
        where = f" WHERE s IN ({', '.join(sql_str(str(c)) for c in limits)})"
    numbered = (f"SELECT r, s, __i, hash(__i, {int(seed)}::BIGINT) AS __k FROM (SELECT r, s, "
                f"row_number() OVER () AS __i FROM (SELECT struct_pack({fields}) AS r, "
                f"{_label_sql(col)} AS s FROM {{src}}))")
    return (f"SELECT s, count(*) AS n, min_by(struct_pack(__i := __i, __k := __k, r := r), __k, "
            f"{int(cap)}) FILTER (WHERE {keep}) AS rows FROM ({numbered}){where} GROUP BY s")


def _by_class(result: Any) -> dict[str, Any]:
    """The candidate rows of each class as an Arrow table, smallest key first."""
    import pyarrow as pa

    out = {}
    for i, label in enumerate(result.column("s").to_pylist()):
        cell = result.column("rows")[i]
        rows = cell.values if cell.is_valid else None
        if rows is None or len(rows) == 0:
            out[str(label)] = pa.table({"__i": pa.array([], pa.int64()),
                                        "__k": pa.array([], pa.uint64())})
            continue
        outer = dict(zip([f.name for f in rows.type], rows.flatten(), strict=True))
        inner = outer["r"]
        table = pa.Table.from_arrays([outer["__i"], outer["__k"], *inner.flatten()],
                                     names=["__i", "__k", *[f.name for f in inner.type]])
        order = np.argsort(table.column("__k").to_numpy(), kind="stable")
        out[str(label)] = table.take(pa.array(order))
    return out


def _sql_label(label: str) -> str:
    return "" if label == MISSING else str(label)
