"""Feature pipelines built from column roles, so cross-validation never leaks.

Three feature sets serve the whole zoo:
- ``linear``: numbers imputed and scaled, categories one-hot (rare levels grouped, unknowns
  ignored), text as TF-IDF word and character n-grams (sparse), dates as numeric parts.
- ``nonneg``: like ``linear`` but scaled to [0, 1], for naive Bayes (needs non-negative input).
- ``tree``: numbers as they are (trees handle NaN), categories as ordinals (for native
  categorical support), text as word TF-IDF reduced to a few dense SVD components (no
  character n-grams: on movie titles they cost HistGradientBoosting ~6x the time for no gain,
  and every dense component is one more column for each boosting round), dates as parts.
  Short text (one word a value: names, codes; ``ColumnInfo.short_text``) is a category for
  trees: its frequent values as ordinals, one column. Its word "components" are little more
  than its frequent values spread over ten dense columns (seattle pets' names, 10 k rows,
  5-fold: HGB 13.8 -> 8.3 CPU-s, accuracy 0.986 either way); character n-grams, which let a
  linear model generalise over name endings and shared parts, stay in the linear sets.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler

from thrifty_tui.core.data.schema import ColumnInfo, Role

TEXT_COMPONENTS = 10  # dense SVD components per text column for trees
DATE_PARTS = ("year", "month", "day", "dayofweek", "hour")


class Tfidf(TfidfVectorizer):
    """TfidfVectorizer whose fitted vocabulary is saved as two arrays (terms, columns).

    skops writes a dict as one node per entry: a 35,000-term vocabulary took ~20 s to export.
    As arrays it is two .npy files; the dict is rebuilt on load, so it behaves the same.
    """

    def __getstate__(self):
        state = super().__getstate__()
        vocabulary = state.get("vocabulary_")
        if isinstance(vocabulary, dict):
            state = dict(state)
            del state["vocabulary_"]
            terms = sorted(vocabulary, key=vocabulary.__getitem__)
            state["vocabulary_terms_"] = np.array(terms, dtype=str)
            state["vocabulary_columns_"] = np.array([vocabulary[t] for t in terms],
                                                    dtype=np.int64)
        return state

    def __setstate__(self, state):
        state = dict(state)
        terms = state.pop("vocabulary_terms_", None)
        columns = state.pop("vocabulary_columns_", None)
        if terms is not None and columns is not None:
            state["vocabulary_"] = dict(zip(np.asarray(terms).tolist(),
                                            np.asarray(columns).tolist(), strict=True))
        super().__setstate__(state)


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


class DateParts(BaseEstimator, TransformerMixin):
    """Dates and times -> year, month, day, day of week, hour (NaN where unparseable)."""

    def fit(self, X, y=None):  # noqa: N803
        return self

    def transform(self, X):  # noqa: N803
        frame = pd.DataFrame(X)
        out = []
        for name in frame.columns:
            parsed = pd.to_datetime(frame[name], errors="coerce", format="mixed", utc=True)
            for part in DATE_PARTS:
                out.append(getattr(parsed.dt, part).astype(float).to_numpy())
        return np.column_stack(out) if out else np.empty((len(frame), 0))

    def get_feature_names_out(self, input_features=None):
        names = list(input_features) if input_features is not None else []
        return np.array([f"{n}_{p}" for n in names for p in DATE_PARTS], dtype=object)


class NoFeatures(BaseEstimator, TransformerMixin):
    """One constant column: for baselines, which ignore the features (and should cost nothing)."""

    def fit(self, X, y=None):  # noqa: N803
        return self

    def transform(self, X):  # noqa: N803
        return np.zeros((len(X), 1))


class CappedSVD(BaseEstimator, TransformerMixin):
    """TruncatedSVD that copes with tiny vocabularies: always ``n_components`` columns out."""

    def __init__(self, n_components: int = 30, random_state: int = 0):
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X, y=None):  # noqa: N803
        k = min(self.n_components, max(X.shape[1] - 1, 0), max(X.shape[0] - 1, 0))
        self.svd_ = (TruncatedSVD(n_components=k, random_state=self.random_state).fit(X)
                     if k else None)
        return self

    def transform(self, X):  # noqa: N803
        out = np.zeros((X.shape[0], self.n_components))
        if self.svd_ is not None:
            reduced = self.svd_.transform(X)
            out[:, : reduced.shape[1]] = reduced
        return out


class ScaledTarget(RegressorMixin, BaseEstimator):
    """A regressor fitted on the standardized target; predictions come back in its units.

    SVR and linear SVR measure their epsilon and C in target units: on car prices (~20,000)
    the defaults fit almost nothing (R² below the mean's). Standardizing the target makes
    their defaults mean the same on every data set. ``set_params`` passes names it does not
    know to the regressor, so ``model__C`` still reaches it inside a Pipeline.
    """

    def __init__(self, regressor=None):
        self.regressor = regressor

    def set_params(self, **params):
        own = {k: v for k, v in params.items() if k == "regressor" or k.startswith("regressor__")}
        rest = {k: v for k, v in params.items() if k not in own}
        if own:
            super().set_params(**own)
        if rest:
            self.regressor.set_params(**rest)
        return self

    def fit(self, X, y, **fit_params):  # noqa: N803
        from sklearn.base import clone

        y = np.asarray(y, dtype=float)
        self.mean_ = float(np.mean(y))
        scale = float(np.std(y))
        self.scale_ = scale if scale > 0 else 1.0
        self.regressor_ = clone(self.regressor).fit(X, (y - self.mean_) / self.scale_,
                                                    **fit_params)
        if hasattr(self.regressor_, "n_features_in_"):
            self.n_features_in_ = self.regressor_.n_features_in_
        return self

    def predict(self, X):  # noqa: N803
        return np.asarray(self.regressor_.predict(X), dtype=float) * self.scale_ + self.mean_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self.regressor.__sklearn_tags__() if self.regressor is not None else None
        if inner is not None:
            tags.input_tags = inner.input_tags
        return tags


def columns_with(schema: Sequence[ColumnInfo], role: Role) -> list[str]:
    """Names of the columns that have ``role``."""
    return [c.name for c in schema if c.role == role]


def tree_categories(schema: Sequence[ColumnInfo]) -> list[str]:
    """Columns that trees see as categories: categorical ones, then short text (names)."""
    return columns_with(schema, Role.CATEGORICAL) + [
        c.name for c in schema if c.role == Role.TEXT and c.short_text]


def tree_texts(schema: Sequence[ColumnInfo]) -> list[str]:
    """Text columns that trees see as TF-IDF components: sentences, not short text."""
    return [c.name for c in schema if c.role == Role.TEXT and not c.short_text]


def _text_pipeline(dense_components: int | None, max_features: int = 20_000,
                   chars: bool = True) -> Pipeline:
    """Sparse word and (unless ``chars`` is false: long documents) character n-grams (linear
    models), or for trees (``dense_components``) word TF-IDF reduced by SVD."""
    words = Tfidf(ngram_range=(1, 2) if not dense_components else (1, 1), min_df=2,
                  max_features=max_features, sublinear_tf=True)
    vectorizers: object = words
    if not dense_components and chars:
        vectorizers = FeatureUnion([
            ("words", words),
            ("chars", Tfidf(analyzer="char_wb", ngram_range=(2, 4), min_df=2,
                            max_features=max_features, sublinear_tf=True)),
        ])
    steps: list[tuple[str, object]] = [("text", TextColumn()), ("tfidf", vectorizers)]
    if dense_components:
        steps.append(("svd", CappedSVD(n_components=dense_components)))
    return Pipeline(steps)


def _categorical_onehot() -> Pipeline:
    return Pipeline([
        ("str", CategoryStrings()),
        ("impute", SimpleImputer(strategy="constant", fill_value="(missing)")),
        ("onehot", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5,
                                 max_categories=50)),
    ])


def _numeric(scaler: object) -> Pipeline:
    return Pipeline([
        ("impute", SimpleImputer(strategy="median", add_indicator=True,
                                 keep_empty_features=True)),
        ("scale", scaler),
    ])


def linear_features(schema: Sequence[ColumnInfo], nonneg: bool = False) -> ColumnTransformer:
    """Features for linear models, SVMs, neighbours (and naive Bayes with ``nonneg``)."""
    parts: list[tuple[str, object, object]] = []
    scaler = MinMaxScaler(clip=True) if nonneg else StandardScaler()
    numeric = columns_with(schema, Role.NUMERIC)
    if numeric:
        parts.append(("num", _numeric(scaler), numeric))
    dates = columns_with(schema, Role.DATETIME)
    if dates:
        parts.append(("date", Pipeline([("parts", DateParts()), ("num", _numeric(
            MinMaxScaler(clip=True) if nonneg else StandardScaler()))]), dates))
    categorical = columns_with(schema, Role.CATEGORICAL)
    if categorical:
        parts.append(("cat", _categorical_onehot(), categorical))
    for info in schema:
        if info.role == Role.TEXT:
            parts.append((f"text:{info.name}", _text_pipeline(None, chars=not info.long_text),
                          [info.name]))
    if not parts:
        raise ValueError("no usable feature columns")
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.3)


def tree_features(schema: Sequence[ColumnInfo]) -> ColumnTransformer:
    """Features for trees and boosting: raw numbers, ordinal categories (and short text),
    dense text."""
    parts: list[tuple[str, object, object]] = []
    numeric = columns_with(schema, Role.NUMERIC)
    if numeric:
        parts.append(("num", "passthrough", numeric))
    dates = columns_with(schema, Role.DATETIME)
    if dates:
        parts.append(("date", DateParts(), dates))
    categorical = tree_categories(schema)
    if categorical:
        parts.append(("cat", Pipeline([
            ("str", CategoryStrings()),
            ("impute", SimpleImputer(strategy="constant", fill_value="(missing)")),
            ("ordinal", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                       encoded_missing_value=-1, min_frequency=5,
                                       max_categories=250)),
        ]), categorical))
    for name in tree_texts(schema):
        parts.append((f"text:{name}", _text_pipeline(TEXT_COMPONENTS, 5_000), [name]))
    if not parts:
        raise ValueError("no usable feature columns")
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0,
                             verbose_feature_names_out=False)


def categorical_mask(schema: Sequence[ColumnInfo]) -> list[bool]:
    """Which outputs of ``tree_features`` are categorical (for native categorical support)."""
    mask = [False] * len(columns_with(schema, Role.NUMERIC))
    mask += [False] * (len(DATE_PARTS) * len(columns_with(schema, Role.DATETIME)))
    mask += [True] * len(tree_categories(schema))
    mask += [False] * (TEXT_COMPONENTS * len(tree_texts(schema)))
    return mask


def build_features(kind: str, schema: Sequence[ColumnInfo]) -> ColumnTransformer | NoFeatures:
    """The feature set called ``kind`` (one of the zoo's FEATURE_SETS) for ``schema``."""
    if kind == "linear":
        return linear_features(schema)
    if kind == "nonneg":
        return linear_features(schema, nonneg=True)
    if kind == "tree":
        return tree_features(schema)
    if kind == "none":
        return NoFeatures()
    raise ValueError(f"unknown feature set {kind!r}; use one of linear, nonneg, tree, none")
