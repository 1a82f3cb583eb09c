"""Which types a bundle's skops files may hold: an allowlist that ships with thrifty-tui.

skops refuses to build any type it does not trust by default unless the caller names it.
thrifty-tui names exactly the types its own pipelines need (its feature transformers and a
few scikit-learn internals) and nothing from the bundle: a bundle's manifest lists the types
it needs, for people loading it without thrifty-tui, but that list is never used here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

FEATURES_MODULE = "thrifty_tui.core.learn.features"
# Where those classes lived before the core was split into subpackages: bundles exported then
# name them there (thrifty_tui/core/features.py still answers to it).
LEGACY_FEATURES_MODULE = "thrifty_tui.core.features"
# Types that scikit-learn's fitted models hold but skops does not trust by default; each is
# plain data or a pure function (a partial of check_array is how HistGradientBoosting keeps
# its input check). Anything a partial wraps is audited on its own, so trusting
# functools.partial does not trust what it calls.
LIBRARY_TYPES: tuple[str, ...] = (
    "functools.partial",
    "numpy.dtype",
    "scipy.sparse._csc.csc_array",
    "scipy.sparse._csc.csc_matrix",
    "scipy.sparse._csr.csr_array",
    "scipy.sparse._csr.csr_matrix",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
    "sklearn.utils.validation.check_array",
)


@functools.cache
def thrifty_types() -> frozenset[str]:
    """thrifty-tui's own transformers: every estimator class defined in its features module.

    Read from the installed module, so a transformer added there is trusted with it; a class
    of the same name anywhere else is not.
    """
    import importlib

    from sklearn.base import BaseEstimator

    module = importlib.import_module(FEATURES_MODULE)
    names = [name for name, obj in vars(module).items()
             if isinstance(obj, type) and issubclass(obj, BaseEstimator)
             and obj.__module__ == FEATURES_MODULE]
    return frozenset(f"{where}.{name}" for name in names
                     for where in (FEATURES_MODULE, LEGACY_FEATURES_MODULE))


def trusted_types() -> frozenset[str]:
    """The whole allowlist: thrifty-tui's transformers plus LIBRARY_TYPES."""
    return thrifty_types() | frozenset(LIBRARY_TYPES)


class UntrustedTypes(ValueError):
    """A skops file names types outside the allowlist; ``types`` lists them."""

    def __init__(self, types: Iterable[str]):
        self.types = tuple(sorted(types))
        shown = ", ".join(self.types[:5]) + (" …" if len(self.types) > 5 else "")
        super().__init__(f"untrusted type(s) {shown}")


def skops_types(data: bytes) -> list[str]:
    """The types in skops ``data`` that skops itself does not trust (read without loading).

    Raises ValueError (or a zip/JSON error) when ``data`` is not a skops file.
    """
    from skops.io import get_untrusted_types

    if not data:
        raise ValueError("empty skops file")
    return list(get_untrusted_types(data=data))


def untrusted(data: bytes) -> list[str]:
    """The types in skops ``data`` that neither skops nor thrifty-tui trusts."""
    allowed = trusted_types()
    return sorted(t for t in skops_types(data) if t not in allowed)


def load_skops(data: bytes) -> Any:
    """The object in skops ``data``, built only if every type in it is on the allowlist.

    Raises UntrustedTypes before anything is built when a type is not.
    """
    import skops.io as sio

    needed = skops_types(data)
    allowed = trusted_types()
    refused = [t for t in needed if t not in allowed]
    if refused:
        raise UntrustedTypes(refused)
    return sio.loads(data, trusted=needed)


def dump_skops(obj: Any) -> bytes:
    """``obj`` in the skops format, deflate-compressed."""
    import zipfile

    import skops.io as sio

    return sio.dumps(obj, compression=zipfile.ZIP_DEFLATED, compresslevel=6)
