"""Which original column each output of the feature steps comes from, and the feature steps
run once: what explanations and partial dependence swap columns on. scipy and numpy are
imported inside the functions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _names_out(step: Any, used: list[str]) -> list[str]:
    """The output names of one ColumnTransformer part; steps without names of their own
    (thrifty-tui's CategoryStrings) pass theirs through."""
    if step == "passthrough":
        return list(used)
    names = list(used)
    for part in [s for _, s in step.steps] if hasattr(step, "steps") else [step]:
        if part not in (None, "passthrough") and hasattr(part, "get_feature_names_out"):
            names = [str(n) for n in part.get_feature_names_out(names)]
    return names


def column_map(features: Any, columns: Sequence[str]) -> Any:
    """A sparse (transformed columns × original columns) 0/1 matrix: which original column
    each output of the ColumnTransformer in ``features`` comes from."""
    import numpy as np
    from scipy import sparse

    transformer = features.steps[-1][1] if hasattr(features, "steps") else features
    index = {c: i for i, c in enumerate(columns)}
    rows, cols = [], []
    for name, step, used in transformer.transformers_:
        if name == "remainder" or step == "drop":
            continue
        where = transformer.output_indices_[name]
        width = where.stop - where.start
        used = [used] if isinstance(used, str) else list(used)
        names: list[str] = []
        if len(used) > 1:
            try:
                names = _names_out(step, used)
            except Exception:  # noqa: BLE001 - fall back on position
                names = []
        for j in range(width):
            if len(used) == 1:
                owner = used[0]
            elif len(names) == width:
                owner = max((c for c in used if names[j] == c or names[j].startswith(c + "_")
                             or names[j] == f"missingindicator_{c}"), key=len, default=used[0])
            else:
                owner = used[min(j, len(used) - 1)]
            rows.append(where.start + j)
            cols.append(index[owner])
    total = max(transformer.output_indices_[n].stop for n in transformer.output_indices_)
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(total, len(columns)))


def transformed(model: Any, X: Any, background: Any
                ) -> tuple[Any, Any, Any, list[Any]] | None:
    """(final estimator, X and background through the feature steps as dense arrays, the
    transformed columns of each original column) when the feature steps work column by
    column (every feature set of the zoo does): the swaps then happen on numbers, and the
    feature steps run once instead of 2 x columns x background rows times."""
    import numpy as np
    from scipy import sparse

    if not hasattr(model, "steps") or len(model.steps) < 2:
        return None
    features = model[:-1]
    transformer = features.steps[-1][1] if hasattr(features, "steps") else features
    if not hasattr(transformer, "output_indices_"):
        return None
    Z, Zb = features.transform(X), features.transform(background)
    if sparse.issparse(Z) or sparse.issparse(Zb):
        return None
    mapping = column_map(features, list(X.columns)).tocsc()
    groups = [mapping[:, j].nonzero()[0] for j in range(X.shape[1])]
    return model.steps[-1][1], np.asarray(Z, dtype=float), np.asarray(Zb, dtype=float), groups
