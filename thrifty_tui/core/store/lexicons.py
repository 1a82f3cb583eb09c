"""What a fitted feature step learned, as plain files anyone can read without Python.

TF-IDF vocabularies with their idf weights (TSV), one-hot and ordinal categories, imputation
values, scaler parameters and SVD sizes (JSON), and the list of output feature names. Also a
small synthetic input example (medians, first categories, common words: no training rows).
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Sequence
from typing import Any

LEXICON_DIR = "lexicons"
MAX_LISTED_INPUTS = 200


def feature_step(model: Any) -> Any | None:
    """The fitted ColumnTransformer of a Pipeline (its ``features`` step), or None."""
    from sklearn.compose import ColumnTransformer

    for _, step in getattr(model, "steps", [])[:-1]:
        if isinstance(step, ColumnTransformer):
            return step
    return None


def member_pipelines(model: Any) -> list[tuple[str, Any]]:
    """(name, fitted Pipeline) of each member of a VotingClassifier/VotingRegressor (the mean
    of the leaders); [] for a single model."""
    named = getattr(model, "estimators", None)
    if not isinstance(named, list | tuple) or not named:
        return []
    fitted = getattr(model, "estimators_", None) or [est for _, est in named]
    return [(str(name), est) for (name, _), est in zip(named, fitted, strict=False)
            if feature_step(est) is not None]


def feature_steps(model: Any) -> Any | None:
    """What the bundle's features.skops holds: the model's fitted ColumnTransformer, or for
    a mean of models a dict of each member's (by member name); None without any."""
    single = feature_step(model)
    if single is not None:
        return single
    members = member_pipelines(model)
    return {name: feature_step(est) for name, est in members} or None


def extract_all_lexicons(model: Any, example: Any = None
                         ) -> tuple[dict[str, bytes], dict[str, Any]]:
    """``extract_lexicons`` of the model, or of each member of a mean of models under
    ``lexicons/<member>/`` (the index then has each member's steps)."""
    members = member_pipelines(model)
    if not members or feature_step(model) is not None:
        return extract_lexicons(model, example)
    files: dict[str, bytes] = {}
    steps: list[dict[str, Any]] = []
    for name, est in members:
        member_files, index = extract_lexicons(est, example)
        prefix = f"{LEXICON_DIR}/{_slug(name)}/"
        files.update({prefix + key[len(LEXICON_DIR) + 1:]: data
                      for key, data in member_files.items()})
        steps += [{**step, "member": name,
                   **({"file": prefix + step["file"][len(LEXICON_DIR) + 1:]}
                      if "file" in step else {})} for step in index.get("steps", [])]
    return files, {"steps": steps}


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as JSON-ready Python values; NaN and inf as None."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "step"


def _visit(key: str, step: Any, names: list[str],
           found: list[tuple[str, Any, list[str]]]) -> list[str]:
    """Append (key, fitted step, its input names) for ``step`` and what it holds; its outputs."""
    from sklearn.pipeline import FeatureUnion, Pipeline

    if step is None or isinstance(step, str):  # "drop" / "passthrough"
        return names
    if isinstance(step, Pipeline):
        for name, sub in step.steps:
            names = _visit(f"{key}/{name}", sub, names, found)
        return names
    if isinstance(step, FeatureUnion):
        outputs: list[str] = []
        for name, sub in step.transformer_list:  # each part sees the same input
            outputs += _visit(f"{key}/{name}", sub, names, found)
        return outputs
    fitted_in = getattr(step, "feature_names_in_", None)
    in_names = [str(n) for n in fitted_in] if fitted_in is not None else names
    found.append((key, step, in_names))
    try:
        return [str(n) for n in step.get_feature_names_out(in_names)]
    except Exception:  # noqa: BLE001 - a step without names: a reducer numbers its outputs,
        components = getattr(step, "n_components", None)  # anything else keeps its inputs'
        if isinstance(components, int):
            return [f"{key.rsplit('/', 1)[-1]}{i}" for i in range(components)]
        return in_names


def _walk(features: Any) -> list[tuple[str, Any, list[str]]]:
    """(key, fitted step, its input column names) for every fitted step, nested ones too.

    The key is the path of names, e.g. ``text:title/tfidf/words``.
    """
    return _walk_with_outputs(features)[0]


def _walk_with_outputs(features: Any) -> tuple[list[tuple[str, Any, list[str]]], list[str]]:
    """_walk, plus the names of the feature step's outputs as far as the steps tell them."""
    found: list[tuple[str, Any, list[str]]] = []
    outputs: list[str] = []
    prefix = getattr(features, "verbose_feature_names_out", True)
    for part, transformer, columns in features.transformers_:
        names = [columns] if isinstance(columns, str) else [str(c) for c in columns]
        if isinstance(transformer, str) and transformer == "drop":
            continue
        out = _visit(part, transformer, names, found)
        outputs += [f"{part}__{n}" if prefix else n for n in out]
    return found, outputs


def _column_of(key: str, in_names: list[str]) -> str:
    """The data column a text step reads: ``text:title/...`` -> ``title``."""
    part = key.split("/", 1)[0]
    return part.split(":", 1)[1] if ":" in part else (in_names[0] if in_names else part)


def plain_vocabularies(model: Any) -> int:
    """Turn the numpy integers of fitted vocabularies into Python ints, in place; how many.

    The vectorizers behave the same; skops writes a dict of plain ints several times faster
    (a 20,000-term vocabulary: ~5x) than one of numpy scalars, each its own typed node.
    """
    features = feature_step(model)
    changed = 0
    for _, step, _ in _walk(features) if features is not None else []:
        vocabulary = getattr(step, "vocabulary_", None)
        if isinstance(vocabulary, dict) and any(type(v) is not int for v in vocabulary.values()):
            step.vocabulary_ = {term: int(index) for term, index in vocabulary.items()}
            changed += 1
    return changed


def _tfidf_tsv(step: Any) -> str:
    vocabulary = sorted(step.vocabulary_.items(), key=lambda kv: kv[1])
    idf = getattr(step, "idf_", None)
    lines = ["term\tcolumn\tidf" if idf is not None else "term\tcolumn"]
    for term, column in vocabulary:
        clean = term.replace("\t", " ").replace("\n", " ")
        lines.append(f"{clean}\t{column}\t{float(idf[column]):.6g}" if idf is not None
                     else f"{clean}\t{column}")
    return "\n".join(lines) + "\n"


def extract_lexicons(model: Any, example: Any = None) -> tuple[dict[str, bytes], dict[str, Any]]:
    """Plain files (name -> bytes, under ``lexicons/``) and an index of the fitted steps.

    ``example`` (a few input rows) lets the output feature names be counted against a real
    transform. Returns ``({}, {})`` for a model without a ColumnTransformer feature step.
    """
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import (
        MaxAbsScaler,
        MinMaxScaler,
        OneHotEncoder,
        OrdinalEncoder,
        RobustScaler,
        StandardScaler,
    )

    features = feature_step(model)
    if features is None:
        return {}, {}
    files: dict[str, bytes] = {}
    categories: dict[str, Any] = {}
    imputation: dict[str, Any] = {}
    scaling: dict[str, Any] = {}
    reductions: dict[str, Any] = {}
    steps: list[dict[str, Any]] = []
    for key, step, in_names in _walk(features):
        entry: dict[str, Any] = {"step": key, "type": type(step).__name__,
                                 "n_inputs": len(in_names)}
        if len(in_names) <= MAX_LISTED_INPUTS:  # not the thousands of terms an SVD reads
            entry["columns"] = in_names
        if isinstance(step, CountVectorizer) and hasattr(step, "vocabulary_"):
            name = f"{LEXICON_DIR}/vocabulary-{_slug(key)}.tsv"
            files[name] = _tfidf_tsv(step).encode()
            entry.update(file=name, column=_column_of(key, in_names), analyzer=str(step.analyzer),
                         n_terms=len(step.vocabulary_))
        elif isinstance(step, OneHotEncoder | OrdinalEncoder) and hasattr(step, "categories_"):
            infrequent = getattr(step, "infrequent_categories_", None)
            categories[key] = {
                "encoder": type(step).__name__,
                "categories": {c: _plain(cats) for c, cats in
                               zip(in_names, step.categories_, strict=False)},
                "infrequent": ({c: _plain(cats) for c, cats in
                                zip(in_names, infrequent, strict=False)} if infrequent else None),
                "handle_unknown": step.handle_unknown,
            }
            entry["file"] = f"{LEXICON_DIR}/categories.json"
        elif isinstance(step, SimpleImputer) and hasattr(step, "statistics_"):
            indicator = getattr(step, "indicator_", None)
            imputation[key] = {
                "strategy": step.strategy,
                "values": {c: _plain(v) for c, v in zip(in_names, step.statistics_, strict=False)},
                "missing_indicators": ([in_names[i] for i in indicator.features_]
                                       if indicator is not None else []),
            }
            entry["file"] = f"{LEXICON_DIR}/imputation.json"
        elif isinstance(step, StandardScaler | RobustScaler | MinMaxScaler | MaxAbsScaler):
            params = {attr: getattr(step, attr) for attr in
                      ("mean_", "scale_", "var_", "center_", "min_", "data_min_", "data_max_",
                       "max_abs_") if getattr(step, attr, None) is not None}
            scaling[key] = {"scaler": type(step).__name__, "columns": {
                c: {attr.rstrip("_"): _plain(values[i]) for attr, values in params.items()}
                for i, c in enumerate(in_names)}}
            entry["file"] = f"{LEXICON_DIR}/scaling.json"
        else:
            svd = getattr(step, "svd_", step)
            if isinstance(svd, TruncatedSVD) and hasattr(svd, "components_"):
                reductions[key] = {
                    "n_components": int(svd.components_.shape[0]),
                    "n_inputs": int(svd.components_.shape[1]),
                    "explained_variance_ratio": _plain(svd.explained_variance_ratio_),
                }
                entry["file"] = f"{LEXICON_DIR}/reductions.json"
        steps.append(entry)
    for name, table in (("categories", categories), ("imputation", imputation),
                        ("scaling", scaling), ("reductions", reductions)):
        if table:
            files[f"{LEXICON_DIR}/{name}.json"] = json.dumps(table, indent=2).encode()
    try:
        out_names = [str(n) for n in features.get_feature_names_out()]
    except Exception:  # noqa: BLE001 - a custom step without names: work them out step by step
        out_names = _walk_with_outputs(features)[1]
    if example is not None:  # names that do not count the real outputs would mislead
        with contextlib.suppress(Exception):  # no check possible: keep what the steps said
            if features.transform(example).shape[1] != len(out_names):
                out_names = []
    if out_names:
        files[f"{LEXICON_DIR}/feature_names.txt"] = ("\n".join(out_names) + "\n").encode()
    index = {"steps": steps, "passthrough": [
        str(c) for part, t, cols in features.transformers_ if t == "passthrough"
        for c in ([cols] if isinstance(cols, str) else cols)], "n_outputs": len(out_names) or None}
    files[f"{LEXICON_DIR}/steps.json"] = json.dumps(index, indent=2).encode()
    return files, index


def example_input(model: Any, columns: Sequence[dict[str, Any]], n_rows: int = 2
                  ) -> list[dict[str, Any]]:
    """A few made-up input rows that fit the schema, built from what the features learned.

    Numbers are the imputer's medians (or the column's median the manifest records, when the
    model's features impute nothing, as trees do), dates the middle date the manifest records,
    categories the first ones seen, text a few common words of the vocabulary: no training row
    is copied.
    """
    numbers: dict[str, Any] = {}
    levels: dict[str, list[Any]] = {}
    words: dict[str, list[str]] = {}
    features = feature_step(model)
    if features is None and member_pipelines(model):
        features = feature_step(member_pipelines(model)[0][1])
    if features is not None:
        for key, step, in_names in _walk(features):
            statistics = getattr(step, "statistics_", None)
            if statistics is not None and getattr(step, "strategy", "") != "constant":
                for c, v in zip(in_names, statistics, strict=False):
                    numbers.setdefault(c, _plain(v))
            for c, cats in zip(in_names, getattr(step, "categories_", []), strict=False):
                kept = [v for v in _plain(cats) if v not in (None, "(missing)")]
                levels.setdefault(c, kept)
            idf = getattr(step, "idf_", None)
            if idf is not None and getattr(step, "analyzer", "") == "word":
                common = sorted(step.vocabulary_, key=lambda t: idf[step.vocabulary_[t]])
                words.setdefault(_column_of(key, in_names),
                                 [t for t in common if " " not in t][:6])
    rows: list[dict[str, Any]] = []
    for i in range(n_rows):
        row: dict[str, Any] = {}
        for col in columns:
            name, dtype, role = col["name"], str(col.get("dtype", "")), col.get("role")
            if role == "numeric":
                # The imputer's median, else the training data's (the manifest's), else 0.
                value = numbers.get(name)
                value = col.get("median", 0) if value is None else value
                value = 0 if value is None else value
                if dtype.startswith(("int", "uint", "Int", "UInt")):
                    value = round(value)
                elif dtype.startswith("bool"):
                    value = bool(value)
                else:
                    value = float(value)
            elif role == "datetime":
                # The training data's middle date (the manifest's), in the column's ISO text.
                value = str(col.get("median") or "2000-01-01")
                value = value.removesuffix("T00:00:00")
            elif role == "categorical":
                seen = levels.get(name) or ["a"]
                value = seen[i % len(seen)]
                if dtype.startswith(("int", "float")):
                    try:
                        value = float(value) if dtype.startswith("float") else int(value)
                    except (TypeError, ValueError):
                        pass
            else:
                terms = words.get(name) or ["some", "text"]
                value = " ".join(terms[i % len(terms):] + terms[: i % len(terms)][:3])
            row[name] = value
        rows.append(row)
    return rows
