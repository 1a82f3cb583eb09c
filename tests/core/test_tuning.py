"""Planning the search over the leaders: who, which configurations, in what order, keys."""

from __future__ import annotations

import math

import pytest

from dataclasses import replace

from thrifty_tui.core.records import ColumnInfo, ModelResult, ProblemSummary, Role
from thrifty_tui.core.learn.tuning import (
    bracket_size,
    cheap_first,
    cost_proxy,
    leaders,
    problem_key,
    promote,
    sample_configs,
    trial_key,
    tunable,
    tuning_rungs,
    with_params,
)
from thrifty_tui.core.learn.zoo import load_zoo, spec_by_name

ZOO = load_zoo("default")
HGB = spec_by_name("hist gradient boosting", ZOO)
FOREST = spec_by_name("random forest", ZOO)
KNN = spec_by_name("k nearest neighbours", ZOO)
BASELINE = spec_by_name("baseline (dummy)", ZOO)
SCHEMA = (ColumnInfo("x", "float64", Role.NUMERIC, 0.0, 100),)


def test_configurations_come_from_the_zoo_space_within_its_bounds_and_repeat_by_seed():
    configs = sample_configs(HGB, 50, seed=0)
    space = dict(HGB.space)
    for config in configs:
        assert set(config) == set(space)
        for name, value in config.items():
            kind, (lo, hi) = space[name]
            assert lo <= value <= hi, (name, value)
            assert isinstance(value, int) == (kind == "int")
    assert sample_configs(HGB, 50, seed=0) == configs
    assert sample_configs(HGB, 10, seed=0, skip=40) == configs[40:]
    assert sample_configs(HGB, 5, seed=1) != configs[:5]
    # A log-scale range is searched on a log scale: as many draws under 0.05 as over.
    rates = [c["learning_rate"] for c in configs]
    assert 10 <= sum(r < math.sqrt(0.01 * 0.3) for r in rates) <= 40
    choices = {c["weights"] for c in sample_configs(KNN, 40, seed=0)}
    assert choices == {"uniform", "distance"}


def test_cheap_configurations_go_first():
    small = {"learning_rate": 0.1, "max_leaf_nodes": 8, "min_samples_leaf": 100,
             "l2_regularization": 1.0, "max_iter": 50}
    big = {**small, "max_leaf_nodes": 128, "max_iter": 500, "min_samples_leaf": 5}
    assert cost_proxy(small, HGB) < cost_proxy(big, HGB)
    assert cheap_first([big, small], HGB) == [small, big]


def test_with_params_overrides_the_zoo_params_and_builds_a_different_model():
    spec = with_params(HGB, {"max_iter": 77, "max_leaf_nodes": 9}, "hist gradient boosting #3")
    assert spec.name == "hist gradient boosting #3" and spec.tier == HGB.tier
    model = spec.build("regression", SCHEMA, 0)
    params = model.steps[-1][1].get_params()
    assert (params["max_iter"], params["max_leaf_nodes"], params["learning_rate"]) == (77, 9, 0.1)
    assert tunable(HGB) and not tunable(BASELINE)


def _result(name: str, scores: tuple[float, ...], baseline: bool = False) -> ModelResult:
    return ModelResult(name, "done", scores, 1.0, baseline=baseline)


def test_leaders_are_the_best_and_those_it_cannot_be_told_from():
    results = [
        _result("baseline (dummy)", (0.5,) * 5, baseline=True),
        _result("hist gradient boosting", (0.80, 0.82, 0.79, 0.81, 0.80)),
        _result("random forest", (0.79, 0.82, 0.80, 0.80, 0.79)),  # a tie
        _result("k nearest neighbours", (0.60, 0.61, 0.62, 0.60, 0.61)),  # clearly worse
    ]
    picked = leaders(results, 0.2, ZOO)
    assert [s.name for s in picked] == ["hist gradient boosting", "random forest"]
    assert leaders(results[:1], 0.2, ZOO) == ()


def test_successive_halving_keeps_the_best_third_and_drops_failures():
    assert promote([(0, 0.5), (1, 0.9), (2, math.nan), (3, 0.7)], 4) == [1, 3]
    assert promote([(0, 0.5)], 9) == [0]
    assert tuning_rungs(4) == (1, 2, 3) and tuning_rungs(1) == (0,)
    assert bracket_size(3) == 9 and bracket_size(1) == 4


def test_trial_keys_change_with_data_params_and_rung():
    summary = ProblemSummary(fingerprint="abc", task="regression", metric="r2", n_rows=804,
                             n_folds=5, rungs=(804,), sample={"method": "all rows"})
    key = problem_key(summary, "Price", 0, True, None)
    assert key == problem_key(replace(summary), "Price", 0, True, None)
    # The key the dict-based summary gave (recorded before the summary was typed): trials
    # stored by earlier runs are still found.
    assert key == "466d0ddfbe4c0dccf45435510ed4ddf6249df27d9aec30060905fc7aeee05751"
    assert key != problem_key(replace(summary, fingerprint="abd"), "Price", 0, True, None)
    assert key != problem_key(summary, "Price", 1, True, None)
    one = trial_key(key, "ridge", {"alpha": 1.0}, 0)
    assert one == trial_key(key, "ridge", {"alpha": 1.0}, 0)
    assert len({one, trial_key(key, "ridge", {"alpha": 2.0}, 0),
                trial_key(key, "ridge", {"alpha": 1.0}, 1)}) == 3


@pytest.mark.parametrize("spec", [s for s in ZOO if s.space], ids=lambda s: s.name)
def test_every_zoo_space_samples_a_model_scikit_learn_accepts(spec):
    for config in sample_configs(spec, 3, seed=0):
        model = with_params(spec, config, "x").build(spec.tasks[0], SCHEMA, 0)
        model.steps[-1][1]._validate_params()
