"""`thrifty-tui predict` (with ``--explain K``) and the cost flags of `run`: what a model is
worth and why it predicted a row, from the command line.

Wiring into cli/commands.py: ``add_cost_flags(p_run)`` and ``add_predict_flags(p_pred)`` in
build_parser; ``cost_of(args)`` for the Export job; ``predict_command(args)`` for `predict`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

ALTERED_DATA = ("read as missing", "replaced with", "NUL byte", "skipped", "Windows-1252")
COST_FLAGS = (("--cost-fp", "false_positive", "cost of a false positive (a wrong 'yes')"),
              ("--cost-fn", "false_negative", "cost of a false negative (a missed 'yes')"),
              ("--gain-tp", "true_positive", "gain of a true positive"),
              ("--gain-tn", "true_negative", "gain of a true negative"),
              ("--cost-per-unit", "per_unit_error", "regression: cost of one unit of error"))


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def add_cost_flags(parser: argparse.ArgumentParser) -> None:
    """The cost matrix of `run` (over thrifty.toml's [cost] beside the data), and
    --no-calibrate."""
    group = parser.add_argument_group("what a prediction is worth (the exported bundle's "
                                      "decision threshold; see thrifty.toml [cost])")
    for flag, name, text in COST_FLAGS:
        group.add_argument(flag, dest=f"cost_{name}", type=float, metavar="X", help=text)
    group.add_argument("--positive", metavar="CLASS",
                       help="the positive class of the cost matrix (default: the second)")
    group.add_argument("--no-calibrate", action="store_true",
                       help="export the model's own probabilities even when calibrating "
                            "lowers the cross-validated log loss")


def cost_of(args: argparse.Namespace) -> tuple[tuple[str, Any], ...]:
    """The cost matrix given as flags, as (key, value) pairs (for the Export job)."""
    pairs = [(name, getattr(args, f"cost_{name}", None)) for _, name, _ in COST_FLAGS]
    pairs.append(("positive", getattr(args, "positive", None)))
    return tuple((k, v) for k, v in pairs if v is not None)


def add_predict_flags(parser: argparse.ArgumentParser) -> None:
    """``--explain K`` of `predict`."""
    parser.add_argument("--explain", type=_count, default=0, metavar="K",
                        help="add, per row, the K columns that moved the prediction most, with "
                             "signed amounts (target units, or log-odds): exact for linear "
                             "models, sampled against the bundle's background rows otherwise")


def predict_command(args: argparse.Namespace) -> int:
    """Predict with a bundle's skops model, built only from types thrifty-tui trusts."""
    from thrifty_tui.core.data.tables import load_table
    from thrifty_tui.core.errors import DataError
    from thrifty_tui.core.store.bundle import open_bundle
    from thrifty_tui.core.store.decide import BACKGROUND_MEMBER
    from thrifty_tui.core.store.predict import input_notes, predict_frame, read_background

    bundle = open_bundle(args.bundle)
    table = load_table(args.path)
    frame = table.frame
    background = None
    if args.explain and BACKGROUND_MEMBER in bundle.members:
        background = read_background(bundle.members[BACKGROUND_MEMBER], bundle.manifest)
    try:
        out = predict_frame(bundle.model, frame, bundle.manifest, args.explain, background)
    except ValueError as err:
        if "background" in str(err):  # an older bundle: no background sample to explain with
            raise DataError(f"{args.bundle}: this model is not linear and the bundle has no "
                            "background sample to explain it against; re-export it") from None
        raise
    # Of the file's notes, those saying values were changed or rows left out (the delimiter
    # used, say, is not worth a line on stderr).
    altered = [n for n in table.notices if any(w in n for w in ALTERED_DATA)]
    notes = [*bundle.warnings, *altered, *input_notes(frame, bundle.manifest)]
    decision = bundle.manifest.get("decision") or {}
    if "threshold" in decision:
        notes.append(f"predicting {decision.get('positive')} at P >= {decision['threshold']:.2f}"
                     " (the bundle's cost-based threshold)")
    for note in notes:
        print(f"thrifty-tui: note: {note}", file=sys.stderr)
    if args.output:
        try:
            out.to_csv(args.output, index=False)
        except OSError as err:  # a missing folder or a directory given as -o is bad input
            raise DataError(f"cannot write {args.output}: {err.strerror or err}") from err
    else:
        out.to_csv(sys.stdout, index=False)
    return 0
