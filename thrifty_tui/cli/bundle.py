"""`thrifty-tui inspect` and `thrifty-tui export-mlflow`: look into a bundle, and hand it to MLflow.

Wiring into cli/commands.py::

    cli_bundle.add_subcommands(sub)               # in build_parser(), after the other commands
    code = cli_bundle.dispatch(args)              # in main(), inside the try
    if code is not None: return code

A bundle that fails a check raises BundleError (a DataError): cli.main turns it into one line
on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
# json, hashlib, shutil, tempfile are imported where used: `thrifty-tui` opening the app
# builds this parser and needs none of them before its first frame.
from typing import Any

MLFLOW_EXTRA_HINT = "pip install 'thrifty-tui[mlflow]'"


def add_subcommands(subparsers: Any) -> None:
    """Add ``inspect`` and ``export-mlflow`` to the CLI's subparsers (imports nothing heavy)."""
    p = subparsers.add_parser("inspect", help="show a bundle's manifest; check hashes, types "
                                              "and versions")
    p.add_argument("bundle")
    p.add_argument("--json", action="store_true", help="the checks and manifest as one JSON "
                                                       "object")
    m = subparsers.add_parser("export-mlflow", help="write a bundle as an MLflow model folder "
                                                    f"(needs {MLFLOW_EXTRA_HINT})")
    m.add_argument("bundle")
    m.add_argument("dir", help="folder to create (must not exist, or be empty)")


def dispatch(args: argparse.Namespace) -> int | None:
    """Run ``inspect`` or ``export-mlflow``; None when ``args.command`` is another command."""
    if args.command == "inspect":
        return inspect_command(args.bundle, as_json=args.json)
    if args.command == "export-mlflow":
        export_mlflow(args.bundle, args.dir)
        print(f"MLflow model: {Path(args.dir).absolute()}")
        return 0
    return None


# -- inspect --------------------------------------------------------------------------------

def check_bundle(path: str) -> dict[str, Any]:
    """Every check ``inspect`` makes, without building the model; BundleError on a failure."""
    from thrifty_tui.core.store.bundle import (
        FEATURES_MEMBER,
        MODEL_MEMBER,
        BundleError,
        check_versions,
        package_versions,
        read_bundle,
    )
    from thrifty_tui.core.store.checksums import CHECKSUMS_MEMBER, bundle_notes
    from thrifty_tui.core.store.trust import untrusted

    name = Path(path).name
    manifest, members = read_bundle(path)
    warnings = check_versions(manifest, name)
    for member in (MODEL_MEMBER, FEATURES_MEMBER):
        if member not in members:
            continue
        try:
            refused = untrusted(members[member])
        except Exception as err:  # not a skops file at all
            raise BundleError(f"{name}: {member} is not a readable skops file "
                              f"({type(err).__name__})") from err
        if refused:
            raise BundleError(f"{name}: {member} holds untrusted type(s) "
                              f"{', '.join(refused[:5])} that thrifty-tui does not trust; "
                              "refused")
    here = package_versions()
    written = manifest.get("versions") or {}
    return {
        "path": str(Path(path).absolute()), "ok": True, "size_bytes": Path(path).stat().st_size,
        # Members checked against the manifest's list (the checksum list aside), and what
        # the checksum list covered besides: the manifest itself.
        "files_checked": len(members) - (CHECKSUMS_MEMBER in members),
        "manifest_checked": CHECKSUMS_MEMBER in members,
        "warnings": warnings + bundle_notes(members),
        "versions": {k: {"bundle": written.get(k), "here": here.get(k)}
                     for k in sorted(set(written) | set(here))},
        "manifest": manifest,
    }


def _score(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) and math.isfinite(value) else "-"


def board_lines(board: list[dict[str, Any]], m: dict[str, Any]) -> list[str]:
    """One line a model, as the app's board shows it: mark, name, mean ± std, rows, status."""
    width = max(len(str(r["model"])) for r in board)
    all_rows = m.get("n_rows") or (m.get("data") or {}).get("n_rows")
    lines = []
    for r in board:
        mark = "★" if r["model"] == m.get("model") else " "
        rows = r.get("rows")
        fewer = isinstance(rows, int) and isinstance(all_rows, int) and rows < all_rows
        std = f" ± {_score(r.get('std'))}" if r.get("std") is not None else ""
        lines.append(f"        {mark} {r['model']:<{width}}  {_score(r.get('mean'))}{std}  "
                     + (f"≈ {rows:,} rows  " if fewer else "") + str(r.get("status")))
    return lines


def describe(report: dict[str, Any]) -> str:
    """The inspect report as text for people."""
    import json

    from thrifty_tui.core.roles import role_word

    m = report["manifest"]
    data, budget = m.get("data") or {}, m.get("budget") or {}
    cols = m.get("columns", [])
    n_files = report["files_checked"] + 1 + bool(report.get("manifest_checked"))
    lines = [
        (f"bundle:   {report['path']} ({n_files} files, "
         f"{report['size_bytes'] / 1024:.0f} KiB), format {m.get('format')}, written "
         f"{m.get('created', '?')} on {m.get('platform', '?')}"),
        f"model:    {m['model']} — {m['task']} of {m['target']!r}"
        + (f", classes {', '.join(map(str, m['classes'][:10]))}" if m.get("classes") else ""),
        (f"score:    {m['metric']} {_score(m.get('cv_mean'))} ± {_score(m.get('cv_std'))} "
         f"over {len(m.get('cv_scores', []))} folds "
         f"({', '.join(_score(s) for s in m.get('cv_scores', []))})"),
        (f"data:     {data.get('n_rows', m.get('n_rows'))} rows of {data.get('path', '?')}, "
         f"fingerprint {data.get('fingerprint', '?')}; sample: ")
        + (json.dumps(data['sample']) if data.get("sample") else "none recorded"),
        f"input:    {len(cols)} columns: " + ", ".join(
            f"{c['name']} ({role_word(str(c.get('role')))}, {c.get('dtype')})"
            for c in cols[:12])
        + (" …" if len(cols) > 12 else ""),
    ]
    if budget:
        lines.append(f"budget:   spent {budget.get('spent_s')} s of "
                     f"{budget.get('budget_s') or 'no limit'}; stopped: "
                     f"{budget.get('stop_reason') or '-'}")
    board = m.get("leaderboard") or []
    if board:  # every model of the run, one a line (the line used to stop after 8)
        lines.append(f"board:    {len(board)} models (★ this bundle's; ≈ scored on fewer rows)")
        lines += board_lines(board, m)
    decision, calibration = m.get("decision") or {}, m.get("calibration") or {}
    if "threshold" in decision:
        lines.append(f"decision: predicts {decision.get('positive')} at P >= "
                     f"{decision['threshold']:.2f} (cost matrix {decision.get('cost')}); "
                     f"expected cost per 1,000: {_score(decision.get('expected_cost'))}, "
                     f"baseline {_score(decision.get('baseline_expected_cost'))}")
    if calibration:
        lines.append(f"calibration: {calibration.get('method')}, CV log loss "
                     f"{_score(calibration.get('log_loss_before'))} -> "
                     f"{_score(calibration.get('log_loss_after'))}: "
                     + ("applied by predict" if calibration.get("applied") else "not applied"))
    diag = m.get("diagnostics") or {}
    lines.append("plots:    " + (", ".join(diag.get("plots") or []) or
                                 diag.get("reason", "none")))
    versions = report["versions"]
    lines.append("versions: " + ", ".join(
        f"{k} {v['bundle']}" + ("" if v["bundle"] == v["here"] else f" (here {v['here']})")
        for k, v in versions.items() if v["bundle"] is not None))
    covered = ("; checksums.sha256 covers them, manifest.json included"
               if report.get("manifest_checked") else "")
    lines.append(f"checks:   {report['files_checked']} files match their SHA-256{covered}; "
                 "cv_mean agrees with its folds and the leaderboard; no unsafe names; skops "
                 "types all on thrifty-tui's allowlist; scikit-learn major version matches")
    lines += [f"warning:  {w}" for w in report["warnings"]]
    return "\n".join(lines)


def _clean(obj: Any) -> Any:
    from thrifty_tui.core.events import json_safe

    return json_safe(obj)


def inspect_command(path: str, as_json: bool = False) -> int:
    """Print the checks and manifest of the bundle at ``path``; 0 when every check passes."""
    import json

    report = check_bundle(path)
    if as_json:
        print(json.dumps(_clean(report), default=str))
    else:
        print(describe(report))
    return 0


# -- MLflow ---------------------------------------------------------------------------------

_MLFLOW_TYPES = (("int", "long"), ("uint", "long"), ("Int", "long"), ("UInt", "long"),
                 ("float", "double"), ("Float", "double"), ("bool", "boolean"),
                 ("datetime", "datetime"))


def _mlflow_type(dtype: str) -> str:
    for prefix, kind in _MLFLOW_TYPES:
        if dtype.startswith(prefix):
            return kind
    return "string"


def _vendored_core(folder: Path) -> Path:
    """A copy of thrifty_tui's core package (where the custom transformers live)."""
    import shutil

    import thrifty_tui
    import thrifty_tui.core

    root = folder / "thrifty_tui"
    shutil.copytree(Path(thrifty_tui.core.__file__).parent, root / "core",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # Only the version: the app's __init__ must not be needed to unpickle a transformer.
    (root / "__init__.py").write_text(f'__version__ = "{thrifty_tui.__version__}"\n')
    return root


def export_mlflow(bundle: str, out_dir: str) -> Path:
    """Write a verified bundle as an MLflow model folder (sklearn flavour, skops format).

    The folder is built beside ``out_dir`` and renamed into place, so it appears whole.
    """
    import hashlib
    import json
    import shutil
    import tempfile

    from thrifty_tui.core.store.bundle import EXAMPLE_MEMBER, MODEL_MEMBER, open_bundle
    from thrifty_tui.core.errors import DataError
    from thrifty_tui.core.store.trust import skops_types

    try:
        import mlflow.sklearn
        from mlflow.models import ModelSignature
        from mlflow.types import ColSpec, Schema
    except ImportError:
        raise DataError(f"export-mlflow needs MLflow: {MLFLOW_EXTRA_HINT}") from None
    import pandas as pd

    out = Path(out_dir).expanduser().absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataError(f"{out} already exists and is not an empty folder")
    opened = open_bundle(bundle)
    manifest = opened.manifest
    columns = manifest["columns"]
    signature = ModelSignature(
        inputs=Schema([ColSpec(_mlflow_type(str(c["dtype"])), c["name"]) for c in columns]),
        outputs=Schema([ColSpec("string" if manifest["task"] == "classification" else "double",
                                "prediction")]))
    example = pd.DataFrame(json.loads(opened.members[EXAMPLE_MEMBER]))[[c["name"]
                                                                        for c in columns]]
    versions = manifest.get("versions") or {}
    requirements = [f"{pkg}=={versions[pkg]}" for pkg in ("scikit-learn", "skops", "pandas",
                                                          "numpy", "scipy")
                    if versions.get(pkg) not in (None, "not installed")]
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        code = _vendored_core(staging / "code-src")
        mlflow.sklearn.save_model(
            opened.model, str(staging / "model"),
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
            skops_trusted_types=skops_types(opened.members[MODEL_MEMBER]),
            signature=signature, input_example=example, pip_requirements=requirements,
            code_paths=[str(code)],
            metadata={"thrifty_tui_bundle": {
                "model": manifest["model"], "target": manifest["target"],
                "metric": manifest["metric"], "cv_mean": manifest.get("cv_mean"),
                "data_fingerprint": (manifest.get("data") or {}).get("fingerprint"),
                "bundle_sha256": hashlib.sha256(Path(bundle).read_bytes()).hexdigest()}})
        if out.exists():
            out.rmdir()  # empty, checked above
        os.replace(staging / "model", out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out
