"""The human side of a bundle: diagnostic plots as text with the numbers behind them, and
the README model card.

Diagnostics come from the screening run (``<run dir>/diagnostics/<model-slug>.json``, a
``dataclasses.asdict`` of core.diagnostics.Diagnostics); when there are none, or they cannot
be read, the bundle simply has no plots and says so.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

DIAGNOSTICS_DIR = "diagnostics"


def model_slug(name: str) -> str:
    """A file-name-safe form of a model's name, as the screening run names its diagnostics:
    ``baseline (dummy)`` -> ``baseline--dummy``."""
    return "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-") or "model"


def diagnostics_path(run_dir: Path, model: str) -> Path:
    """Where a model's diagnostics JSON lives in its run's folder (``find_diagnostics`` reads
    them from there for the bundle)."""
    return Path(run_dir) / "diagnostics" / f"{model_slug(model)}.json"


def find_diagnostics(folder: str | Path | None, model: str) -> dict[str, Any] | None:
    """The stored diagnostics of ``model`` in ``folder`` as a plain dict, or None."""
    if not folder:
        return None
    root = Path(folder)
    candidates = [root / f"{model_slug(model)}.json"]
    if root.is_dir():
        candidates += sorted(p for p in root.glob("*.json") if p not in candidates)
    for path in candidates:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("model") == model:
            return data
    return None


def diagnostics_from_dict(data: dict[str, Any]) -> Any:
    """Rebuild a Diagnostics from its ``asdict`` form (unknown keys are ignored)."""
    from thrifty_tui.core.learn.diagnostics import diagnostics_from_dict as rebuild

    return rebuild(data)


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def _numbers(diag: Any) -> dict[str, bytes]:
    """CSV tables of the numbers each plot is drawn from."""
    files: dict[str, bytes] = {}
    d = DIAGNOSTICS_DIR
    if diag.metrics:
        files[f"{d}/metrics.csv"] = _csv(["metric", "value"], [list(m) for m in diag.metrics])
    if diag.confusion:
        files[f"{d}/confusion.csv"] = _csv(
            ["true \\ predicted", *diag.labels],
            [[label, *row] for label, row in zip(diag.labels, diag.confusion, strict=False)])
    for kind in ("roc", "pr"):
        curves = getattr(diag, kind)
        if curves:
            files[f"{d}/{kind}.csv"] = _csv(["class", "x", "y", "area"], [
                [c.name, x, y, c.area] for c in curves for x, y in zip(c.x, c.y, strict=False)])
    if diag.per_class:
        files[f"{d}/per_class.csv"] = _csv(["class", "precision", "recall", "f1", "support"], [
            [c.label, c.precision, c.recall, c.f1, c.support] for c in diag.per_class])
    if diag.actual:
        files[f"{d}/predicted_vs_actual.csv"] = _csv(
            ["actual", "predicted"], [list(p) for p in zip(diag.actual, diag.predicted,
                                                           strict=False)])
    if diag.importances:
        files[f"{d}/importance.csv"] = _csv(["feature", diag.importance_kind or "importance"],
                                            [list(p) for p in diag.importances])
    curve = getattr(diag, "learning_curve", ())
    if curve and all(isinstance(p, tuple) and len(p) == 2 for p in curve):
        files[f"{d}/learning_curve.csv"] = _csv(["training_rows", "cv_score"],
                                                [list(p) for p in curve])
    return files


def _plot_text(render_text: Any, diag: Any, kind: str, cost: Any = None, index: int = 0) -> str:
    """The plot as text, or '' when it has no data or cannot be drawn (it is then left out)."""
    try:
        text = render_text(diag, kind, cost=cost, index=index)
    except Exception:  # noqa: BLE001 - one plot that cannot be drawn does not stop the rest
        return ""
    # draw() titles a plot without data "<model>: no <kind> data".
    return "" if not text.strip() or f": no {kind} data" in text else text


def _explained_numbers(diag: Any, cost: Any) -> dict[str, bytes]:
    """CSV tables behind the partial dependence, reliability and cost curve plots."""
    from thrifty_tui.core.learn.diagnostic_plots import UNIT_COST
    from thrifty_tui.core.learn.value import CostMatrix, cost_curve, oriented

    files: dict[str, bytes] = {}
    d = DIAGNOSTICS_DIR
    if diag.dependence:
        files[f"{d}/partial_dependence.csv"] = _csv(
            ["feature", "value", "average", *[f"ice_{i + 1}" for i in range(
                max(len(p.ice) for p in diag.dependence))]],
            [[p.feature, g, a, *[line[i] for line in p.ice]]
             for p in diag.dependence for i, (g, a) in enumerate(zip(p.grid, p.average,
                                                                      strict=False))])
    if diag.reliability:
        files[f"{d}/reliability.csv"] = _csv(["mean_predicted", "observed_share", "rows"],
                                             [list(p) for p in diag.reliability])
    if diag.threshold_counts:
        matrix = cost if cost is not None and cost.is_set else CostMatrix(**UNIT_COST)
        matrix = oriented(matrix, diag)
        files[f"{d}/cost_curve.csv"] = _csv(
            ["threshold", "tp", "fp", "tn", "fn", "cost_per_1000"],
            [[*c, v] for c, (_, v) in zip(diag.threshold_counts,
                                          cost_curve(diag.threshold_counts, matrix),
                                          strict=True)])
    return files


def _plots(diag: Any, task: str, cost: Any) -> dict[str, str]:
    """Every text plot of ``diag`` by member name: one per kind, one per column for partial
    dependence."""
    from thrifty_tui.core.learn.diagnostics import PLOT_KINDS, render_text

    out: dict[str, str] = {}
    for kind in PLOT_KINDS.get(task, ()):
        if kind == "dependence":
            for i, dep in enumerate(diag.dependence):
                text = _plot_text(render_text, diag, kind, cost, i)
                if text:
                    out[f"dependence-{model_slug(dep.feature)}"] = text
            continue
        text = _plot_text(render_text, diag, kind, cost)
        if text:
            out[kind] = text
    return out


def diagnostics_files(data: dict[str, Any] | None, task: str, cost: Any = None
                      ) -> tuple[dict[str, bytes], dict]:
    """Text plots, CSV numbers and the raw JSON for stored diagnostics; and a summary.

    The summary says what was written, or why nothing was (``{"available": False, ...}``).
    """
    if data is None:
        return {}, {"available": False, "reason": "no diagnostics were stored for this model"}
    files = {f"{DIAGNOSTICS_DIR}/diagnostics.json":
             json.dumps(data, indent=2, default=str).encode()}
    try:
        diag = diagnostics_from_dict(data)
        files.update(_numbers(diag))
        files.update(_explained_numbers(diag, cost))
    except Exception as err:  # noqa: BLE001 - numbers kept as JSON, plots skipped
        return files, {"available": True, "plots": [],
                       "reason": f"stored diagnostics could not be drawn: {type(err).__name__}"}
    plots: list[str] = []
    for kind, text in _plots(diag, task, cost).items():
        files[f"{DIAGNOSTICS_DIR}/plot-{kind}.txt"] = (text.rstrip() + "\n").encode()
        plots.append(kind)
    metrics = {k: v for k, v in diag.metrics if isinstance(v, float) and math.isfinite(v)}
    return files, {"available": True, "plots": plots, "metrics": metrics}


# -- the model card ------------------------------------------------------------------------

def _score(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) and math.isfinite(value) else "-"


def _sample_words(sample: Any) -> str:
    """How the rows were chosen, in words (the card said "a all rows sample of None rows")."""
    if not isinstance(sample, dict) or sample.get("method") in (None, "all rows"):
        return "; all rows, no sampling."
    rows = sample.get("rows") or sample.get("size")
    source = sample.get("source_rows")
    of = f" of {source:,}" if isinstance(source, int) else ""
    return (f": a {sample['method']} sample of {rows:,}{of} rows (seed {sample.get('seed')})."
            if isinstance(rows, int) else f": a {sample['method']} sample.")


def model_card(manifest: dict[str, Any]) -> str:
    """A short human README: what the model is, how well it does, on what data, how to load."""
    m = manifest
    data = m.get("data") or {}
    cv = m.get("cv") or {}
    budget = m.get("budget") or {}
    lines = [
        f"# {m['model']} for `{m['target']}`", "",
        (f"A {m['task']} model exported by thrifty-tui "
         f"{m.get('versions', {}).get('thrifty-tui', '')} on {m.get('created', '?')}."), "",
        "## How well", "",
        (f"Cross-validated {m['metric']}: **{_score(m['cv_mean'])} ± {_score(m['cv_std'])}** "
         f"over {len(m['cv_scores'])} folds "
         f"({', '.join(_score(s) for s in m['cv_scores'])})."),
    ]
    diag = m.get("diagnostics") or {}
    if diag.get("metrics"):
        lines += ["", "Out-of-fold: " + ", ".join(f"{k} {_score(v)}"
                                                  for k, v in diag["metrics"].items()) + "."]
    lines += ["", "| model | mean | std | status |", "| --- | --- | --- | --- |"]
    for row in m.get("leaderboard", []):
        lines.append(f"| {row['model']} | {_score(row['mean'])} | {_score(row['std'])} "
                     f"| {row['status']} |")
    if budget:
        lines += ["", (f"Screening spent {budget.get('spent_s', '?')} s "
                       f"(budget: {budget.get('budget_s') or 'none'}); "
                       f"stopped because: {budget.get('stop_reason') or '-'}.")]
        cost = budget.get("cost") or {}
        if cost.get("cpu_s") is not None:
            money = cost.get("money")
            lines.append(f"Compute: {cost['cpu_s']:.1f} CPU-s over {cost.get('wall_s', 0):.1f} s "
                         f"wall, peak {cost.get('peak_mb', 0):.0f} MB per fit"
                         + (f", {money:.4f} at {cost.get('price_per_cpu_hour')} per CPU-hour"
                            if money is not None else "") + ".")
        stop = budget.get("stop") or {}
        rules = [r for r in stop.get("rules", []) if len(r) == 3 and r[1] != "off"]
        if rules:
            lines.append("Done rules: " + "; ".join(f"{rule} {state} ({detail})"
                                                      for rule, state, detail in rules) + ".")
    lines += card_lines(m)
    sample = data.get("sample")
    lines += [
        "", "## On what data", "",
        (f"{m['n_rows']} rows of `{data.get('path', '?')}` (SHA-256 fingerprint "
         f"`{data.get('fingerprint', '?')}`)")
        + _sample_words(sample),
        f"Folds: {cv.get('splitter', 'k-fold')} with seed {m.get('seed')}.",
    ]
    lines += _rows_seen(m)
    if m.get("classes"):
        lines.append(f"Classes: {', '.join(map(str, m['classes']))}.")
    lines += ["", "| column | dtype | role |", "| --- | --- | --- |"]
    lines += [f"| {c['name']} | {c['dtype']} | {c['role']} |" for c in m["columns"]]
    lines += [
        "", "## How to load it", "",
        "With thrifty-tui, which checks every file's SHA-256 and the versions first:", "",
        "    thrifty-tui inspect THIS.thrifty.zip",
        "    thrifty-tui predict THIS.thrifty.zip DATA.csv -o predictions.csv", "",
        ("Without thrifty-tui: `model.skops` loads with `skops.io.load(path, trusted=...)`; the "
         "types it needs beyond skops' defaults are listed under `trusted_types` in "
         "`manifest.json` (review them before trusting them). `model.joblib` is a pickle: load "
         "it only if you trust where the file came from."), "",
        "## What is inside", "",
    ]
    lines += [f"- `{name}`" for name in m.get("contents", [])]
    lines += ["- `manifest.json`: everything above as data, with the SHA-256 of every file"]
    lines += [f"- `{name}`: the SHA-256 of every file, `manifest.json` included (for "
              "`sha256sum -c`)" for name in [m.get("checksums")] if name]
    versions = m.get("versions", {})
    lines += ["", "Written with " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
              + f" on {m.get('platform', '?')}."]
    return "\n".join(lines) + "\n"


def _rows_seen(m: dict[str, Any]) -> list[str]:
    """The model card's lines on rows: fitted on fewer than the data (a time budget), or its
    score measured on fewer than it was fitted on (a model the budget cut short)."""
    out: list[str] = []
    fit_rows = m.get("fit_rows")
    if isinstance(fit_rows, int) and fit_rows < m.get("n_rows", fit_rows):
        out.append(f"The model was fitted on {fit_rows:,} of these rows (a stratified "
                   "subsample): the time budget ran out before it could be fitted on all.")
    cv_rows = m.get("cv_rows")
    if isinstance(cv_rows, int) and isinstance(fit_rows, int) and cv_rows < fit_rows:
        out.append(f"Its cross-validated score was measured on {cv_rows:,} rows only (the "
                   f"time budget cut it short); the model was fitted on {fit_rows:,}, so the "
                   "score describes a smaller fit than this one.")
    return out


def card_lines(m: dict[str, Any]) -> list[str]:
    """The model card's section on decisions, calibration and explanations ([] when the
    bundle has none)."""
    lines: list[str] = []
    d, cal, ex = m.get("decision") or {}, m.get("calibration") or {}, m.get("explain") or {}

    def per(value: Any) -> str:
        return f"{value:,.1f}" if isinstance(value, int | float) else "-"

    if d:
        from thrifty_tui.core.learn.value import cost_from_dict

        lines.append("Cost matrix: " + cost_from_dict(d.get("cost") or {}).words(m["task"])
                     + ".")
        if "threshold" in d:
            lines.append(f"Decision threshold: **{d['threshold']:.2f}** on P({d.get('positive')})"
                         f", chosen by {d.get('chosen_by')}; `thrifty-tui predict` applies it "
                         f"(expected cost per 1,000 predictions {per(d.get('expected_cost'))}, "
                         f"{per(d.get('expected_cost_at_half'))} at 0.5).")
        else:
            lines.append(f"Expected cost per 1,000 predictions: {per(d.get('expected_cost'))}.")
        if d.get("baseline_expected_cost") is not None:
            lines.append(f"The baseline's: {per(d['baseline_expected_cost'])} per 1,000.")
    if cal:
        before, after = cal.get("log_loss_before"), cal.get("log_loss_after")
        lines.append(f"Calibration ({cal.get('method')}): cross-validated log loss "
                     f"{before:.4f} -> {after:.4f}; " + (
                         "the calibrated probabilities were exported (predict applies the map)."
                         if cal.get("applied") else
                         "not exported: the model's own probabilities were kept."))
    if ex:
        lines.append(f"Explanations (`predict --explain K`): {ex.get('linear')} for linear "
                     f"models, {ex.get('other')} ({ex.get('background_rows')} rows, "
                     f"`{ex.get('background')}`) for the others; {ex.get('cost')}.")
    return ["", "## Decisions and explanations", "", *lines] if lines else []
