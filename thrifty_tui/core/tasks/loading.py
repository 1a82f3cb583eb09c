"""The Load screen's work, run in a child process: read (or sample) a file, profile it, report.

A file up to :data:`profile.FULL_LOAD_BYTES` is read whole and kept in the child's table cache
(screening reuses it); a bigger delimited or Parquet file is sampled by a bounded-memory
DuckDB stream and profiled from the sample, its row count still exact. While it works, a
thread writes ``[phase, fraction]`` to a progress file for the worker thread to relay.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Self

# pandas and the readers are imported inside the functions: the worker names these functions
# when it hands them to a child, and the app's process must not import pandas for that.
if TYPE_CHECKING:
    import pandas as pd

    from thrifty_tui.core.records import ProblemSummary

    from thrifty_tui.core.events import DatasetOpened

PREVIEW_ROWS = 40  # the Load screen shows them all from 56 lines up (fewer scroll)
HUGE_FIELD_CHARS = 100_000
PROGRESS_SECONDS = 0.2
_SAMPLES: dict[tuple[str, str], tuple[pd.DataFrame, int, tuple[str, ...]]] = {}


class ProgressFile:
    """Writes the current phase and the DuckDB scan's share done to a file, a few times a
    second, from a thread (the main thread is busy inside pandas or DuckDB)."""

    def __init__(self, path: str | None):
        from thrifty_tui.core.data.csvscan import ScanControl

        self.path = path
        self.control = ScanControl()
        self.phase = "starting"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        if self.path:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.path:
            self._thread.join(1.0)

    def _run(self) -> None:
        while True:
            self.write()
            if self._stop.wait(PROGRESS_SECONDS):
                return

    def write(self) -> None:
        assert self.path
        fraction = self.control.progress()
        tmp = f"{self.path}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(json.dumps([self.phase, fraction]))
            os.replace(tmp, self.path)
        except OSError:
            pass  # progress is best effort


def _key(path: str) -> tuple[str, str]:
    from thrifty_tui.core.data.tables import fingerprint_file

    return str(Path(path).expanduser().resolve()), fingerprint_file(path)


def _whole_table(path: str, progress: ProgressFile) -> Any:
    """The file read whole, through the same cache as :mod:`tasks` (screening reuses it)."""
    from thrifty_tui.core.data.tables import load_table
    from thrifty_tui.core.tasks import fits as tasks

    key = _key(path)
    if key not in tasks._TABLES:
        tasks._TABLES.clear()  # one table per child: bounded memory
        progress.phase = "reading"
        tasks._TABLES[key] = load_table(path, control=progress.control)
    return tasks._TABLES[key]


def _streamed_sample(path: str, progress: ProgressFile) -> tuple[pd.DataFrame, int,
                                                                   tuple[str, ...]]:
    """A random sample of a big file (bounded memory), its exact row count and notices."""
    from thrifty_tui.core.data.profile import DEFAULT_SAMPLE_ROWS
    from thrifty_tui.core.data.sampling import sample_file

    key = _key(path)
    if key not in _SAMPLES:
        _SAMPLES.clear()
        progress.phase = "sampling"
        frame, record = sample_file(path, DEFAULT_SAMPLE_ROWS, seed=0,
                                    control=progress.control)
        _SAMPLES[key] = (frame, record.source_rows, record.notices)
    return _SAMPLES[key]


def _streamable(path: str) -> bool:
    """Whether DuckDB can sample the file as a stream (delimited text, plain Parquet)."""
    from thrifty_tui.core.data.tables import file_kind, precheck, sniff_magic

    p = precheck(path)
    kind, _ = sniff_magic(p, file_kind(p))
    return kind.format == "delimited" or (kind.format == "parquet" and not kind.compression)


def _streamed(path: str) -> bool:
    """Whether the file is too big to read whole (it is sampled as a stream instead)."""
    from thrifty_tui.core.data.profile import FULL_LOAD_BYTES
    from thrifty_tui.core.data.tables import file_kind, precheck, sniff_magic

    p = precheck(path)
    kind, _ = sniff_magic(p, file_kind(p))
    return _streamable(path) and p.stat().st_size * (6 if kind.compression else 1) > FULL_LOAD_BYTES


def open_for_load(path: str, target: str | None = None, progress_file: str | None = None,
                  seed: int = 0) -> DatasetOpened:
    """Read ``path`` (or a sample of a big one), profile it for ``target`` (None: suggest one)
    and describe it for the Load screen; DataError for input that cannot be used."""
    from thrifty_tui.core.data.profile import profile_rows
    from thrifty_tui.core.data.sampling import random_sample
    from thrifty_tui.core.data.schema import infer_schema, suggest_target, suggest_task
    from thrifty_tui.core.data.tables import fingerprint_file
    from thrifty_tui.core.events import DatasetOpened

    with ProgressFile(progress_file) as progress:
        if _streamed(path):
            frame, n_rows, notices = _streamed_sample(path, progress)
            source, fingerprint = str(Path(path).expanduser().resolve()), fingerprint_file(path)
            method: str | None = f"random sample of {len(frame):,} rows"
        else:
            table = _whole_table(path, progress)
            frame, n_rows, notices = table.frame, len(table.frame), table.notices
            source, fingerprint, method = table.source, table.fingerprint, None
        progress.phase = "profiling"
        if target is None or target not in frame.columns:
            target = suggest_target(frame)
        prof = profile_rows(frame, target, n_rows, True, source, method=method,
                            notices=notices, seed=seed)
        preview = random_sample(frame, PREVIEW_ROWS, seed) if len(frame) > PREVIEW_ROWS \
            else frame
        bytes_per_row = float(frame.memory_usage(deep=True, index=False).sum()) / max(1, len(frame))
        suggested = suggest_target(frame)
        notices = tuple(notices) + _huge_fields(frame, Path(source).name)
        return DatasetOpened(
            path=source, fingerprint=fingerprint, n_rows=n_rows,
            columns=infer_schema(frame, target=None), preview=_strings(preview),
            suggested_target=suggested, suggested_task=suggest_task(frame[suggested]),
            notices=tuple(notices), profile=prof, target=target,
            bytes_per_row=round(bytes_per_row, 1), rows_exact=True)


def _huge_fields(frame: pd.DataFrame, name: str) -> tuple[str, ...]:
    """A notice for text columns with enormous values (shown cut in the preview)."""
    import pandas as pd

    longest = {}
    for col in frame.columns:
        if frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col]):
            # .str.len() is vectorised (a Python lambda per value took seconds on 1 M rows);
            # values that are not text (mixed object columns) count as 0.
            length = pd.to_numeric(frame[col].str.len(), errors="coerce").max() \
                if pd.api.types.is_string_dtype(frame[col]) else 0
            if length and length > HUGE_FIELD_CHARS:
                longest[col] = int(length)
    if not longest:
        return ()
    col, length = max(longest.items(), key=lambda kv: kv[1])
    notice = (f"{name}: {len(longest)} column(s) hold huge text fields ({col!r}: up to "
              f"{length:,} characters); the preview shows them cut")
    return (notice,)


def _strings(frame: pd.DataFrame) -> tuple[tuple[str, ...], ...]:
    import pandas as pd

    return tuple(tuple("" if pd.isna(v) else str(v)[:60] for v in row)
                 for row in frame.itertuples(index=False, name=None))


def fingerprint(path: str) -> dict[str, Any]:
    """The source fingerprint of a sample record (size, mtime, SHA-256 of content or blocks)."""
    from thrifty_tui.core.data.tables import source_fingerprint

    return source_fingerprint(path).to_dict()


def prepare_problem(path: str, target: str, task: str | None, metric: str | None, seed: int,
                    problem_file: str,
                    labels: tuple[tuple[int, ...], tuple[str, ...]] | None = None,
                    sample_rows: int | None = None,
                    roles: tuple[tuple[str, str], ...] = (),
                    stream: bool = False) -> ProblemSummary:
    """:func:`tasks.prepare_problem`, but a sample of a big file is streamed (bounded memory,
    stratified by a class target with a minimum per class) instead of read whole first;
    ``stream``: of any delimited or Parquet file (a sample the time budget can afford, where
    reading the whole file would take that time)."""
    from thrifty_tui.core.tasks import fits as tasks

    if (labels is not None or sample_rows is None or sample_rows < 1
            or not (_streamed(path) or (stream and _streamable(path)))):
        return tasks.prepare_problem(path, target, task, metric, seed, problem_file, labels,
                                     sample_rows, roles)
    from thrifty_tui.core.data.tables import LoadedTable
    from thrifty_tui.core.data.profile import _looks_like_classes
    from thrifty_tui.core.data.sampling import sample_file

    classes = task == "classification" or (task is None and _looks_like_classes(Path(path),
                                                                                 target))
    frame, record = sample_file(path, sample_rows, stratify=target if classes else None,
                                seed=seed)
    key = _key(path)
    note = (f"screening a {record.method} sample of {record.rows:,} of "
            f"{record.source_rows:,} rows, streamed from the file")
    tasks._TABLES.clear()
    # prepare_problem reads the table from this cache; the sample must not outlive the call,
    # or a later job in this child would take it for the whole file.
    tasks._TABLES[key] = LoadedTable(frame=frame, source=record.source, fingerprint=key[1],
                                     notices=(*record.notices, note))
    try:
        summary = tasks.prepare_problem(path, target, task, metric, seed, problem_file, None,
                                        None, roles)
    finally:
        tasks._TABLES.clear()
    return replace(summary, sample={"method": record.method, "rows": record.rows,
                                     "seed": int(seed), "engine": record.engine,
                                     "source_rows": record.source_rows})
