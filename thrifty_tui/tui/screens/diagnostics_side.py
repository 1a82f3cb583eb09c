"""The diagnostics screen's side pane for the plots of what a model learned, how sure it is,
what it is worth and why it predicted a row: Rich markup from the frozen Diagnostics (no
computing here beyond the cost arithmetic of core.learn.value)."""

from __future__ import annotations

import math
from typing import Any

from rich.markup import escape


def _money(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.1f}"  # NaN: not known


def cost_matrix(state: Any) -> Any:
    """The user's cost matrix (the dashboard's `v`, thrifty.toml's [cost]), maybe unset."""
    from thrifty_tui.core.learn.value import CostMatrix

    return CostMatrix(**dict(state.cost))


def for_counts(matrix: Any, diag: Any) -> Any:
    """``matrix`` turned to the class the counts are kept for (as it is when its positive
    class is not one of the model's: the dashboard says nothing then)."""
    from thrifty_tui.core.errors import DataError
    from thrifty_tui.core.learn.value import oriented

    try:
        return oriented(matrix, diag)
    except DataError:
        return matrix


def baseline_of(state: Any) -> Any:
    """The run's baseline's Diagnostics, if it has any."""
    for name, result in state.results.items():
        if getattr(result, "baseline", False) and name in state.diagnostics:
            return state.diagnostics[name]
    return None


def side_text(kind: str, diag: Any, state: Any, index: int) -> str:
    """The side pane's section for ``kind`` ('' for the other kinds)."""
    if kind == "dependence" and diag.dependence:
        dep = diag.dependence[index % len(diag.dependence)]
        names = "\n".join(("[reverse]" if d is dep else "") + f" {escape(d.feature[:20])} "
                          + ("[/]" if d is dep else "") for d in diag.dependence)
        return (f"\n\n[b]what it learned[/b]\n{escape(dep.response)} as "
                f"{escape(dep.feature[:20])} varies, other columns as they were (mean of "
                f"held-out rows; grey: {len(dep.ice)} rows)\n\n[b]columns[/b] (↑ ↓)\n{names}")
    if kind == "reliability" and diag.reliability:
        check = dict(diag.calibration)
        lines = ["\n\n[b]how sure it is[/b]", "points on the diagonal: P = share observed"]
        if check:
            before, after = check.get("log_loss_before"), check.get("log_loss_after")
            verdict = ("the export applies it" if check.get("improved")
                       else "not worth it: the model's own probabilities are exported")
            lines += ["", f"[b]calibration[/b] ({check.get('method')})",
                      f"CV log loss {before:.4f} → {after:.4f}", verdict]
        return "\n".join(lines)
    if kind == "cost" and diag.threshold_counts:
        return _cost_text(diag, state)
    if kind == "explain" and diag.explained:
        row = diag.explained[index % len(diag.explained)]
        unit = "log-odds" if diag.task == "classification" else "target units"
        shown = index % len(diag.explained) + 1
        lines = ["\n\n[b]why this row[/b] (↑ ↓ rows)",
                 f"row {shown} of {len(diag.explained)} held-out",
                 f"predicted {escape(row.prediction[:20])}", ""]
        lines += [f"{escape(n[:16]):<16} {v:+.3f}" for n, v in row.contributions]
        lines += ["", f"[dim]{unit}; {escape(row.method)}[/dim]"]
        return "\n".join(lines)
    return ""


def _cost_text(diag: Any, state: Any) -> str:
    from thrifty_tui.core.learn.diagnostic_plots import UNIT_COST
    from thrifty_tui.core.learn.value import CostMatrix, best_threshold, cost_at, expected_cost

    matrix = cost_matrix(state)
    note = "" if matrix.is_set else "\n[dim]no costs set: each error costs 1 (v on the budget dashboard)[/dim]"
    matrix = matrix if matrix.is_set else CostMatrix(**UNIT_COST)
    threshold, at_best = best_threshold(diag.threshold_counts, for_counts(matrix, diag))
    lines = ["\n\n[b]what it is worth[/b]" + note, "",
             f"best threshold {threshold:.2f}", f"  {_money(at_best)} per 1,000",
             f"at 0.50: {_money(cost_at(diag.threshold_counts, for_counts(matrix, diag)))}"]
    base = baseline_of(state)
    if base is not None:
        baseline_cost = expected_cost(base, for_counts(matrix, base))
        lines += [f"baseline: {_money(baseline_cost)}",
                  f"[b]saves {_money(baseline_cost - at_best)}[/b] per 1,000"]
    return "\n".join(lines)


def cost_words(state: Any) -> str:
    """The cost matrix as the dashboard's input line: ``false_positive=1 false_negative=10``."""
    return " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in state.cost)


def parse_cost(text: str) -> tuple[tuple[str, Any], ...]:
    """``key=value`` pairs of the dashboard's input as the state's cost (DataError, one line,
    on a bad key or value)."""
    from thrifty_tui.core.errors import DataError
    from thrifty_tui.core.learn.value import cost_from_dict

    pairs: dict[str, Any] = {}
    for word in text.split():
        key, sep, value = word.partition("=")
        if not sep:
            raise DataError(f"{word!r}: write key=value, e.g. false_negative=10")
        if key == "positive":
            pairs[key] = value
            continue
        try:
            pairs[key] = float(value)
        except ValueError:
            raise DataError(f"{key}: {value!r} is not a number") from None
    return tuple(cost_from_dict(pairs, "costs").to_dict().items())


def value_gained(state: Any) -> str:
    """The thrift line's value part: what the best model saves over the baseline per 1,000
    predictions, at its best threshold ('' without a cost matrix or diagnostics)."""
    from thrifty_tui.core.learn.value import best_threshold, expected_cost

    matrix = cost_matrix(state)
    best = state.finished.best_model if state.finished is not None else None
    diag, base = state.diagnostics.get(best or ""), baseline_of(state)
    if not matrix.is_set or diag is None or base is None:
        return ""
    own = (best_threshold(diag.threshold_counts, for_counts(matrix, diag))[1]
           if diag.threshold_counts else expected_cost(diag, for_counts(matrix, diag)))
    gained = expected_cost(base, for_counts(matrix, base)) - own
    return "" if math.isnan(gained) else f" · [b]value[/b] saves {gained:,.0f} per 1,000 vs baseline"


def row_value(state: Any, model: str) -> str:
    """A leaderboard row's expected cost per 1,000 predictions (at its best threshold) and the
    baseline's, when a cost matrix is set and the model has diagnostics ('' otherwise)."""
    from thrifty_tui.core.learn.value import best_threshold, expected_cost

    matrix, diag = cost_matrix(state), state.diagnostics.get(model)
    if not matrix.is_set or diag is None:
        return ""
    own = (best_threshold(diag.threshold_counts, for_counts(matrix, diag))[1]
           if diag.threshold_counts else expected_cost(diag, for_counts(matrix, diag)))
    base = baseline_of(state)
    versus = "" if base is None or base is diag else \
        f", baseline {expected_cost(base, for_counts(matrix, base)):,.0f}"
    return f" · cost/1k {own:,.0f}{versus}"
