"""Permutation importances of a fitted model on the original columns: computed by a fold's
task on its test rows (timed, so wide data cannot stall a run) and read back by the
diagnostics. numpy and scikit-learn are imported where used: the diagnostics' records are
read in the app's process."""

from __future__ import annotations

from typing import Any

MAX_IMPORTANCE_ROWS = 1000
IMPORTANCE_FLOOR_S = 1.0


def permutation_importances(fitted: Any, X: Any, y: Any, scoring: str, seed: int = 0,
                            top: int = 15, max_seconds: float | None = None,
                            ) -> tuple[tuple[tuple[str, float], ...], str]:
    """Mean drop in score when each original column is shuffled (on at most 1,000 rows), and
    a note ("" when computed as usual).

    Shuffling costs one scoring per column and repeat: on 300 columns that was 9-18 s, 50x a
    ridge fit, and it held the fold's result (a 10 s run ended with the baseline as best).
    With ``max_seconds`` one scoring is timed first: three repeats if they fit, else one,
    else none, and the note says why.
    """
    import time

    from sklearn.inspection import permutation_importance
    from sklearn.metrics import get_scorer

    if len(X) > MAX_IMPORTANCE_ROWS:
        X = X.sample(MAX_IMPORTANCE_ROWS, random_state=seed)
        y = y.loc[X.index]
    repeats, note = 3, ""
    if max_seconds is not None:
        started = time.perf_counter()
        get_scorer(scoring)(fitted, X, y)
        one = time.perf_counter() - started
        predicted = {r: (X.shape[1] * r + 1) * one for r in (3, 1)}
        if predicted[3] > max_seconds:
            repeats = 1
            note = f"1 shuffle per column, not 3: {X.shape[1]} columns"
        if predicted[1] > max_seconds:
            return (), (f"not computed: {X.shape[1]} columns, about {predicted[1]:.1f} s "
                        f"(over {max_seconds:.1f} s)")
    result = permutation_importance(fitted, X, y, scoring=scoring, n_repeats=repeats,
                                    random_state=seed, n_jobs=1)
    pairs = sorted(zip(X.columns, result.importances_mean, strict=True),
                   key=lambda kv: -abs(kv[1]))
    return tuple((str(k), float(v)) for k, v in pairs[:top]), note


def importance_seconds(fit_seconds: float) -> float:
    """How long a model's importances may take: a second, or half its fit if longer."""
    return max(IMPORTANCE_FLOOR_S, 0.5 * fit_seconds)


def save_importances(oof_file: str, model: Any, X_test: Any, y_test: Any,
                     problem: Any, fit_seconds: float) -> None:
    """Permutation importances of ``model`` on its test fold, next to its OOF file; they may
    take a second or half the fold's fit (the fold's result waits for them). When they would
    take longer, that is saved instead (the diagnostics do not try again)."""
    import os

    import numpy as np

    try:
        pairs, note = permutation_importances(model, X_test, y_test, problem.metric,
                                              problem.seed,
                                              max_seconds=importance_seconds(fit_seconds))
    except Exception:  # noqa: BLE001 - importances are a nice-to-have; diagnostics refit
        return
    path = importances_file(oof_file)
    tmp = path + ".tmp.npz"
    np.savez(tmp, names=np.array([k for k, _ in pairs], dtype=str),
             values=np.array([v for _, v in pairs], dtype=float), note=np.array(note))
    os.replace(tmp, path)
    save_explanations(oof_file, model, X_test, problem, [k for k, _ in pairs],
                      importance_seconds(fit_seconds))  # a second (or half the fit) of its own


def explanations_file(oof_file: str) -> str:
    """Where partial dependence and row explanations from fold ``oof_file``'s model go."""
    return oof_file.removesuffix(".npz") + "-explain.json"


def save_explanations(oof_file: str, model: Any, X_test: Any, problem: Any,
                      leading: list[str], max_seconds: float) -> None:
    """Partial dependence of the leading columns and a few held-out rows explained, from
    the first fold's model (core.learn.explain), saved beside its OOF file as JSON."""
    import dataclasses
    import json
    import os

    from thrifty_tui.core.learn.explain import learned_from_fold

    try:
        learned = learned_from_fold(model, X_test, problem, leading, max_seconds)
    except Exception:  # noqa: BLE001 - a nice-to-have, like the importances
        return
    path = explanations_file(oof_file)
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        json.dump({k: [dataclasses.asdict(v) for v in vs] for k, vs in learned.items()}, fh,
                  default=float)
    os.replace(path + ".tmp", path)


def saved_explanations(oof_file: str) -> dict[str, Any]:
    """The Diagnostics fields ``dependence`` and ``explained`` saved by the first fold's
    task ({} when there are none)."""
    import json

    from thrifty_tui.core.learn.explain import Dependence, RowExplanation

    def tup(v: Any) -> Any:
        return tuple(tup(x) for x in v) if isinstance(v, list) else v

    try:
        with open(explanations_file(oof_file), encoding="utf-8") as fh:
            data = json.load(fh)
        return {"dependence": tuple(Dependence(**{k: tup(v) for k, v in d.items()})
                                    for d in data.get("dependence", [])),
                "explained": tuple(RowExplanation(**{k: tup(v) for k, v in d.items()})
                                   for d in data.get("explained", []))}
    except (OSError, ValueError, TypeError):
        return {}


def importances_file(oof_file: str) -> str:
    """Where the importances computed with fold ``oof_file``'s model are saved."""
    return oof_file.removesuffix(".npz") + "-importances.npz"


def saved_importances(oof_file: str) -> tuple[tuple[tuple[str, float], ...], str] | None:
    """Importances saved by the first fold's task (``save_importances``) and their
    note, if any."""
    import os

    import numpy as np

    path = importances_file(oof_file)
    if not os.path.exists(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            pairs = tuple((str(k), float(v)) for k, v in zip(data["names"], data["values"],
                                                             strict=True))
            return pairs, str(data["note"]) if "note" in data.files else ""
    except (OSError, ValueError, KeyError):
        return None
