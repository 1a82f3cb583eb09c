"""Feature pipelines built from column roles, so cross-validation never leaks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from thrifty_tui.core.schema import ColumnInfo, Role


TEXT_COMPONENTS = 30


class TextColumn(BaseEstimator, TransformerMixin):
    """Turn one column into a 1-D array of strings (missing -> ''), ready for a vectorizer."""

    def fit(self, X, y=None):  # noqa: N803 - sklearn naming
        return self

    def transform(self, X):  # noqa: N803
        values = X.iloc[:, 0] if isinstance(X, pd.DataFrame) else np.asarray(X).reshape(-1)
        return pd.Series(values).fillna("").astype(str).to_numpy()


class CategoryStrings(BaseEstimator, TransformerMixin):
    """Cast categorical columns to strings with missing kept as NaN, so mixed types encode."""

    def fit(self, X, y=None):  # noqa: N803
        return self

    def transform(self, X):  # noqa: N803
        frame = pd.DataFrame(X)
        return frame.apply(lambda c: c.map(lambda v: v if pd.isna(v) else str(v))).astype(object)


class CappedSVD(BaseEstimator, TransformerMixin):
    """TruncatedSVD that copes with tiny vocabularies: always ``n_components`` columns out."""

    def __init__(self, n_components: int = 30, random_state: int = 0):
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X, y=None):  # noqa: N803
        k = min(self.n_components, max(X.shape[1] - 1, 0), max(X.shape[0] - 1, 0))
        self.svd_ = TruncatedSVD(n_components=k, random_state=self.random_state).fit(X) if k else None
        return self

    def transform(self, X):  # noqa: N803
        out = np.zeros((X.shape[0], self.n_components))
        if self.svd_ is not None:
            reduced = self.svd_.transform(X)
            out[:, : reduced.shape[1]] = reduced
        return out


def _columns(schema: Sequence[ColumnInfo], role: Role) -> list[str]:
    return [c.name for c in schema if c.role == role]


def _text_pipeline(dense_components: int | None) -> Pipeline:
    steps: list[tuple[str, object]] = [
        ("text", TextColumn()),
        ("tfidf", TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=20_000,
                                  sublinear_tf=True)),
    ]
    if dense_components:
        steps.append(("svd", CappedSVD(n_components=dense_components)))
    return Pipeline(steps)


def linear_features(schema: Sequence[ColumnInfo]) -> ColumnTransformer:
    """Impute + scale numbers, one-hot categories (rare levels grouped), TF-IDF text (sparse)."""
    parts: list[tuple[str, object, object]] = []
    numeric = _columns(schema, Role.NUMERIC)
    if numeric:
        parts.append(("num", Pipeline([
            ("impute", SimpleImputer(strategy="median", add_indicator=True,
                                     keep_empty_features=True)),
            ("scale", StandardScaler()),
        ]), numeric))
    categorical = _columns(schema, Role.CATEGORICAL)
    if categorical:
        parts.append(("cat", Pipeline([
            ("str", CategoryStrings()),
            ("impute", SimpleImputer(strategy="constant", fill_value="(missing)")),
            ("onehot", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5,
                                     max_categories=50)),
        ]), categorical))
    for name in _columns(schema, Role.TEXT):
        parts.append((f"text:{name}", _text_pipeline(None), [name]))
    if not parts:
        raise ValueError("no usable feature columns")
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.3)


def tree_features(schema: Sequence[ColumnInfo]) -> ColumnTransformer:
    """Numbers as they are (trees handle NaN), categories as ordinals, text as dense SVD."""
    parts: list[tuple[str, object, object]] = []
    numeric = _columns(schema, Role.NUMERIC)
    if numeric:
        parts.append(("num", "passthrough", numeric))
    categorical = _columns(schema, Role.CATEGORICAL)
    if categorical:
        parts.append(("cat", Pipeline([
            ("str", CategoryStrings()),
            ("impute", SimpleImputer(strategy="constant", fill_value="(missing)")),
            ("ordinal", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                       encoded_missing_value=-1, min_frequency=5,
                                       max_categories=250)),
        ]), categorical))
    for name in _columns(schema, Role.TEXT):
        parts.append((f"text:{name}", _text_pipeline(TEXT_COMPONENTS), [name]))
    if not parts:
        raise ValueError("no usable feature columns")
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0,
                             verbose_feature_names_out=False)


def categorical_mask(schema: Sequence[ColumnInfo]) -> list[bool]:
    """Which outputs of ``tree_features`` are categorical (for native categorical support)."""
    mask = [False] * len(_columns(schema, Role.NUMERIC))
    mask += [True] * len(_columns(schema, Role.CATEGORICAL))
    mask += [False] * (TEXT_COMPONENTS * len(_columns(schema, Role.TEXT)))
    return mask
