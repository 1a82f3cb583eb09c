"""`thrifty-tui label PATH --labels A,B` opens the label screen; `thrifty-tui labels export`
writes the labels (row, label, status, time, how the item was chosen) as CSV or JSON Lines.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_subcommands(subparsers: Any) -> None:
    """Add ``label`` and ``labels`` to the CLI's subparsers (imports nothing heavy)."""
    p = subparsers.add_parser("label", help="label the rows of a file, one key per label")
    p.add_argument("path")
    p.add_argument("--labels", default="", metavar="A,B,…",
                   help="the labels, comma-separated; NAME:description adds a hint (asked for "
                        "on screen when omitted)")
    p.add_argument("--text-column", metavar="COL",
                   help="column shown as wrapped free text (default: the longest text column)")
    p.add_argument("--name", default="label",
                   help="what the labels are called: the target's name when screening")
    p.add_argument("--seed", type=int, default=0, help="seed of the first (random) order")
    s = subparsers.add_parser("labels", help="labels in the workspace: export, info")
    verbs = s.add_subparsers(dest="labels_command", required=True)
    e = verbs.add_parser("export", help="write the labels as OUT.csv or OUT.jsonl")
    e.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="OUT.csv or OUT.jsonl: row, label, status, labeled_at, chosen_by, seq")
    e.add_argument("--set", type=int, dest="set_id", help="label set id (default: the latest)")
    i = verbs.add_parser("info", help="count, schema and dates of the labels (JSON)")
    i.add_argument("--set", type=int, dest="set_id", help="label set id (default: the latest)")
    for parser in (p, s, e, i):
        parser.add_argument("--workspace", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def dispatch(args: argparse.Namespace) -> int | None:
    """Run ``label`` or ``labels …``; None when ``args.command`` is another command."""
    if args.command not in ("label", "labels"):
        return None
    from thrifty_tui.core.errors import DataError
    from thrifty_tui.core.store.labels import LabelError

    try:
        if args.command == "label":
            return _label(args)
        return _export(args) if args.labels_command == "export" else _info(args)
    except LabelError as err:
        raise DataError(str(err)) from None


def _label(args: argparse.Namespace) -> int:
    from thrifty_tui.cli.start import app_settings
    from thrifty_tui.core.errors import check_path
    from thrifty_tui.core.store.labels import parse_label_spec

    check_path(args.path)
    spec = parse_label_spec([args.labels])  # bad labels fail here, before the screen opens
    labels = tuple(f"{n}:{d}" if d else n for n, d in spec)
    from thrifty_tui.tui.app import create_app

    settings = app_settings(getattr(args, "workspace", None), path=args.path, labels=labels,
                            text_column=args.text_column, seed=args.seed, target=args.name)
    create_app(settings).run()
    return 0


def _db_path(args: argparse.Namespace):
    from thrifty_tui.core.store.workspace import resolve_workspace

    return resolve_workspace(getattr(args, "workspace", None)) / "thrifty.sqlite"


def _export(args: argparse.Namespace) -> int:
    from thrifty_tui.core.store.labels import export_labels

    n = export_labels(_db_path(args), args.output, args.set_id)
    print(f"{n} rows written to {args.output}", file=sys.stderr)
    return 0


def _info(args: argparse.Namespace) -> int:
    import json

    from thrifty_tui.core.store.labels import labels_metadata, open_readonly

    db = open_readonly(_db_path(args))
    try:
        print(json.dumps(labels_metadata(db, args.set_id), indent=2))
    finally:
        db.close()
    return 0
