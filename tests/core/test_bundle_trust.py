"""thrifty-tui's skops allowlist: enough for every model its zoo builds, and nothing from bundles."""

from __future__ import annotations

import pytest
import skops.io as sio
from threadpoolctl import threadpool_limits

from thrifty_tui.config import SAMPLE_DIR
from thrifty_tui.core.data.tables import load_table
from thrifty_tui.core.store.lexicons import plain_vocabularies
from thrifty_tui.core.learn.screening import make_problem
from thrifty_tui.core.store.trust import (
    LIBRARY_TYPES,
    UntrustedTypes,
    load_skops,
    thrifty_types,
    trusted_types,
    untrusted,
)
from thrifty_tui.core.learn.zoo import load_zoo, models_for


def test_thrifty_tuis_own_transformers_are_on_the_allowlist():
    assert {"thrifty_tui.core.learn.features.TextColumn", "thrifty_tui.core.learn.features.CategoryStrings",
            "thrifty_tui.core.learn.features.CappedSVD"} <= thrifty_types()
    assert trusted_types() == thrifty_types() | set(LIBRARY_TYPES)
    # Only classes defined in the features module, not what it imports.
    assert not any(t.endswith(("TfidfVectorizer", "Pipeline")) for t in thrifty_types())


@pytest.mark.parametrize(("task", "target"), [("classification", "Comedy"),
                                              ("regression", "rating")])
def test_every_zoo_model_loads_under_the_allowlist(task, target):
    """If the zoo gains a model whose fitted state needs a new type, this names it."""
    frame = load_table(SAMPLE_DIR / "movies.csv").frame.head(60)  # numbers, categories, text
    problem = make_problem(frame, target, task=task, seed=0)
    specs = models_for(task, load_zoo(None), len(problem.y), problem.schema)  # all of it
    assert len(specs) >= 5
    refused = {}
    for spec in specs:
        with threadpool_limits(1):  # OpenMP threads on a busy 2-core box: minutes, not seconds
            model = spec.build(task, problem.schema, 0).fit(problem.X, problem.y)
        plain_vocabularies(model)  # as write_bundle does
        refused[spec.name] = untrusted(sio.dumps(model))  # loading itself: the round trips
    assert {name: types for name, types in refused.items() if types} == {}


def test_load_skops_refuses_before_building():
    from sklearn.preprocessing import FunctionTransformer

    data = sio.dumps(FunctionTransformer(func=print))  # a function call waiting to happen
    with pytest.raises(UntrustedTypes, match=r"untrusted type\(s\) builtins.print"):
        load_skops(data)
