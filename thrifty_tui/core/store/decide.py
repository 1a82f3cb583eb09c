"""What a bundle decides besides the model: the cost matrix and the decision threshold chosen
with it, the calibration map when calibrating lowered the cross-validated log loss, and the
background sample that explanations are measured against. Written by the export (from the
run's diagnostics), applied by predict, told by the model card.

Old bundles have none of these keys: predict then does what it always did.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BACKGROUND_FILE = "background.json"  # in the run's diagnostics folder
BACKGROUND_MEMBER = "explain/background.json"


def write_background(X: Any, path: str | Path, rows: int, seed: int) -> None:
    """A seeded sample of ``rows`` rows of ``X`` as JSON (columns, then rows of values;
    missing values as null), written atomically."""
    import os

    sample = X.sample(min(rows, len(X)), random_state=seed)
    values = sample.astype(object).where(sample.notna(), None).to_numpy().tolist()
    tmp = f"{path}.tmp"
    Path(tmp).write_text(json.dumps({"columns": [str(c) for c in X.columns], "rows": values},
                                    default=str), encoding="utf-8")
    os.replace(tmp, path)


def _cost_matrix(manifest: dict[str, Any], cost: dict[str, Any] | None) -> Any:
    """thrifty.toml's [cost] beside the data, with the export's own ``cost`` on top."""
    from thrifty_tui.core.learn.value import CostMatrix, cost_from_dict, load_cost_file

    source = (manifest.get("data") or {}).get("path")
    matrix = CostMatrix()
    if source:
        toml = Path(str(source)).expanduser().parent / "thrifty.toml"
        matrix = load_cost_file(toml)
    return matrix.merged(cost_from_dict(cost or {}, "export cost"))


def bundle_decisions(manifest: dict[str, Any], diagnostics_dir: str | None,
                     cost: dict[str, Any] | None = None, calibrate: bool = True
                     ) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Manifest keys (``decision``, ``calibration``, ``explain``) and members (the
    background sample) for the bundle of ``manifest``'s model."""
    from thrifty_tui.core.learn.explain import BACKGROUND_ROWS, EXACT, SAMPLED
    from thrifty_tui.core.learn.value import decision
    from thrifty_tui.core.store.bundle_report import diagnostics_from_dict, find_diagnostics

    keys: dict[str, Any] = {}
    members: dict[str, bytes] = {}
    data = find_diagnostics(diagnostics_dir, manifest["model"])
    diag = diagnostics_from_dict(data) if data else None
    matrix = _cost_matrix(manifest, cost)
    if diag is not None and matrix.is_set:
        baseline_name = next((r["model"] for r in manifest.get("leaderboard", [])
                              if r.get("baseline")), None)
        base = find_diagnostics(diagnostics_dir, baseline_name) if baseline_name else None
        keys["decision"] = decision(diag, matrix, diagnostics_from_dict(base) if base else None)
    check = dict(diag.calibration) if diag is not None else {}
    if check:
        applied = bool(check.get("improved")) and calibrate
        keys["calibration"] = {
            "method": check.get("method"), "log_loss_before": check.get("log_loss_before"),
            "log_loss_after": check.get("log_loss_after"), "improved": check.get("improved"),
            "applied": applied, "map": json.loads(check["map"]) if applied else None,
            "measured": "5-fold cross-validation of the map on out-of-fold probabilities"}
    background = Path(diagnostics_dir) / BACKGROUND_FILE if diagnostics_dir else None
    if background is not None and background.is_file():
        members[BACKGROUND_MEMBER] = background.read_bytes()
        keys["explain"] = {
            "linear": EXACT, "other": SAMPLED, "background": BACKGROUND_MEMBER,
            "background_rows": min(BACKGROUND_ROWS, len(json.loads(members[BACKGROUND_MEMBER])
                                                         ["rows"])),
            "cost": "other models: 2 x columns x background rows predictions per row"}
    return keys, members


def apply_decisions(model: Any, X: Any, manifest: dict[str, Any]) -> tuple[Any, Any]:
    """(predictions, class probabilities or None) with the bundle's calibration map and
    decision threshold applied (binary classifiers whose bundle has them)."""
    import numpy as np

    predictions = model.predict(X)
    if manifest.get("task") != "classification" or not hasattr(model, "predict_proba"):
        return predictions, None
    proba = np.asarray(model.predict_proba(X), dtype=float)
    classes = [str(c) for c in model.classes_]
    decision = manifest.get("decision") or {}
    calibration = manifest.get("calibration") or {}
    if len(classes) != 2:
        return predictions, proba
    raw = proba[:, 1].copy()
    if calibration.get("applied") and calibration.get("map"):
        from thrifty_tui.core.learn.calibration import apply_calibration

        proba[:, 1] = apply_calibration(calibration["map"], raw)
        proba[:, 0] = 1.0 - proba[:, 1]
    threshold = decision.get("threshold")
    if isinstance(threshold, int | float):
        # On the model's own probability (the threshold was chosen on it, before any
        # calibration: the map is monotone, so the calls are the same).
        predictions = np.where(raw >= threshold, model.classes_[1], model.classes_[0])
    return predictions, proba
