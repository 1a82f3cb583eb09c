"""`thrifty-tui profile` and `thrifty-tui sample`: look at a data file and downsample it, headless.

Wiring into cli/commands.py::

    cli_data.add_subcommands(sub)                 # in build_parser(), after the other commands
    code = cli_data.dispatch(args)                # in main(), inside the try
    if code is not None: return code

Input problems raise DataError (cli.main turns it into one line on stderr and exit 2).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

OUTPUT_SUFFIXES = (".csv", ".parquet")
# Copies of core defaults: building the parser must not import pandas (the app's process
# builds it too). tests/core/test_sampling.py checks they match.
DEFAULT_SAMPLE_ROWS = 50_000  # profile.DEFAULT_SAMPLE_ROWS
DEFAULT_MIN_PER_CLASS = 10  # sampling.DEFAULT_MIN_PER_CLASS


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def add_subcommands(subparsers: Any) -> None:
    """Add ``profile`` and ``sample`` to the CLI's subparsers (imports nothing heavy)."""
    p = subparsers.add_parser("profile", help="rows, column roles, target balance and warnings")
    p.add_argument("path")
    p.add_argument("--target", help="column to check as the target (balance, leakage)")
    p.add_argument("--json", action="store_true", help="the profile as one JSON object")
    p.add_argument("--sample-rows", type=_positive_int, default=DEFAULT_SAMPLE_ROWS,
                   help=f"rows the statistics come from (default {DEFAULT_SAMPLE_ROWS:,})")
    p.add_argument("--quick", action="store_true",
                   help="read only the first rows of a big file (row count estimated)")
    p.add_argument("--seed", type=_non_negative_int, default=0)
    s = subparsers.add_parser("sample", help="downsample a file of any size to CSV or Parquet")
    s.add_argument("path")
    s.add_argument("--rows", type=_positive_int, required=True, help="rows to keep")
    s.add_argument("--stratify", metavar="COL", help="keep the class shares of this column")
    s.add_argument("--seed", type=_non_negative_int, default=0)
    s.add_argument("--min-per-class", type=_non_negative_int, default=DEFAULT_MIN_PER_CLASS,
                   help=f"rows kept of every class, however rare (default "
                        f"{DEFAULT_MIN_PER_CLASS})")
    s.add_argument("-o", "--output", required=True, help="OUT.csv or OUT.parquet")
    s.add_argument("--json", action="store_true", help="the sample record as one JSON object")
    for parser in (p, s):
        parser.add_argument("--workspace", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def dispatch(args: argparse.Namespace) -> int | None:
    """Run ``profile`` or ``sample``; None when ``args.command`` is another command."""
    if args.command == "profile":
        return _profile(args)
    if args.command == "sample":
        return _sample(args)
    return None


def _clean(obj: Any) -> Any:
    from thrifty_tui.core.events import json_safe

    return json_safe(obj)


def _profile(args: argparse.Namespace) -> int:
    import json

    from thrifty_tui.core.data.profile import profile

    result = profile(args.path, target=args.target, sample_rows=args.sample_rows,
                     seed=args.seed, quick=args.quick)
    if args.json:
        print(json.dumps(_clean(result.to_dict()), default=str), flush=True)
    else:
        print(format_profile(result), flush=True)
    return 0


def format_profile(result: Any) -> str:
    """The profile as plain text for a terminal (roles in the app's words)."""
    from thrifty_tui.core.roles import role_word

    rows = f"{result.rows:,} rows" + ("" if result.rows_exact else " (estimated)")
    lines = [(f"{Path(result.source).name}: {rows} x {len(result.columns)} columns; "
              f"statistics from {result.method} ({result.seconds:.1f} s)")]
    lines += [f"note: {n}" for n in result.notices]
    width = min(28, max([len(c.name) for c in result.columns] + [6]))
    lines.append(f"{'column':<{width}}  {'role':<11} {'dtype':<10} {'missing':>7} "
                 f"{'unique':>8}  examples")
    for c in result.columns:
        examples = ", ".join(c.examples)
        lines.append(f"{c.name[:width]:<{width}}  {role_word(c.role):<11} {c.dtype[:10]:<10} "
                     f"{c.missing_fraction:>7.1%} {c.n_unique:>8,}  {examples[:50]}")
    t = result.target
    if t is not None:
        scope = "" if t.exact else " (in the profiled rows)"
        if t.task == "classification":
            total = sum(n for _, n in t.classes) or 1
            shares = ", ".join(f"{k} {n:,} ({n / total:.1%})" for k, n in t.classes[:10])
            more = f", … {t.n_classes - 10} more" if t.n_classes > 10 else ""
            lines.append(f"target {t.name}: classification, {t.n_classes} classes{scope}: "
                         f"{shares}{more}")
        elif t.task:
            lines.append(f"target {t.name}: regression")
        if t.missing_rows:
            lines.append(f"  {t.missing_fraction:.1%} of rows have no {t.name}{scope}")
    if result.warnings:
        lines.append("warnings:")
        lines += [f"  - {w.message}" for w in result.warnings]
    return "\n".join(lines)


def _sample(args: argparse.Namespace) -> int:
    import json

    from thrifty_tui.core.errors import DataError
    from thrifty_tui.core.data.sampling import sample_file

    out = Path(args.output).expanduser()
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise DataError(f"output must end in .csv or .parquet, not {out.name!r}")
    if out.parent and not out.parent.exists():
        raise DataError(f"no such folder for the output: {out.parent}")
    # Opened first: a workspace that cannot be written fails in a moment, not after the sample.
    workspace = _open_workspace(getattr(args, "workspace", None))
    try:
        frame, record = sample_file(args.path, args.rows, stratify=args.stratify,
                                    seed=args.seed, min_per_class=args.min_per_class)
        _write(frame, out)
        sample_id = record_sample(workspace, record, out)
    finally:
        workspace.close()
    where = f"sample {sample_id} in {workspace.root}"
    if args.json:
        print(json.dumps(_clean({**record.to_dict(), "output": str(out),
                                 "workspace": str(workspace.root), "sample_id": sample_id})),
              flush=True)
        return 0
    how = (f"stratified by {record.stratify!r}, at least {record.min_per_class} per class"
           if record.stratify else "random")
    print(f"sampled {record.rows:,} of {record.source_rows:,} rows ({how}, seed {record.seed}) "
          f"-> {out} in {record.seconds:.1f} s; recorded as {where}", flush=True)
    for label, source, sample in record.classes[:20]:
        share = source / record.source_rows if record.source_rows else 0.0
        got = sample / record.rows if record.rows else 0.0
        print(f"  {label or '(missing)'}: {sample:,} of {source:,} ({got:.2%} vs {share:.2%})")
    for note in record.notices:
        print(f"note: {note}", file=sys.stdout)
    return 0


def _open_workspace(explicit: str | None) -> Any:
    """The workspace ``run`` would use (--workspace, $THRIFTY_WORKSPACE, the default)."""
    import sqlite3

    from thrifty_tui.core.errors import DataError
    from thrifty_tui.core.store.workspace import Workspace, resolve_workspace

    root = resolve_workspace(explicit)
    try:
        return Workspace(root)
    except (OSError, sqlite3.Error) as err:
        reason = getattr(err, "strerror", None) or err
        raise DataError(f"cannot open the workspace {root}: {reason}") from err


def record_sample(workspace: Any, record: Any, out: Path) -> int:
    """Put a sample written by ``sample`` in the workspace's samples table, as ``run --sample``
    records its own: the source's fingerprint, method, rows and seed (no run)."""
    fingerprint = {"path": record.source, "size": record.size_bytes, "mtime": record.mtime,
                   "sha256": record.sha256, "hashed": record.hashed}
    return workspace.add_sample(fingerprint, record.method, record.rows, record.seed,
                                output=str(out.resolve()), stratify=record.stratify,
                                min_per_class=record.min_per_class,
                                source_rows=record.source_rows, engine=record.engine)


def _write(frame: Any, out: Path) -> None:
    """Write the sample to ``out`` atomically (a temporary file, then a rename)."""
    from thrifty_tui.core.errors import DataError

    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        if out.suffix.lower() == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        os.replace(tmp, out)
    except OSError as err:
        raise DataError(f"cannot write {out}: {err.strerror or err}") from err
    finally:
        tmp.unlink(missing_ok=True)
