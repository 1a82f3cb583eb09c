"""The pure parts of racing: rung sizes, nested stratified order, costs, the paired test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from thrifty_tui.core.policy.racing import nested_order, predict_seconds, rung_sizes
from thrifty_tui.core.policy.stats import clearly_worse, corrected_paired_t, t_two_sided_p


def test_rung_sizes_grow_by_three_and_end_at_all_rows():
    assert rung_sizes(200_000) == (7407, 22222, 66666, 200_000)
    assert rung_sizes(3000) == (1000, 3000)
    assert rung_sizes(800) == (800,)


@given(st.integers(50, 5000), st.integers(2, 6), st.integers(0, 10_000))
@settings(max_examples=60, deadline=None)
def test_every_prefix_of_the_nested_order_keeps_every_class(n, k, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n).astype(str)
    labels[:3] = "rare"  # a class of three rows
    order = nested_order(labels, n, seed, min_per_class=10)
    assert sorted(order.tolist()) == list(range(n))  # a permutation: no row twice
    present = set(labels)
    head = labels[order[: 10 * len(present)]]
    assert set(head) == present  # the rare class is in the smallest rung
    # Proportions of a half-size prefix are close to the whole.
    half = labels[order[: n // 2]]
    for cls in present - {"rare"}:
        whole = (labels == cls).mean()
        assert abs((half == cls).mean() - whole) < 0.1 + 20 / n


def test_same_seed_same_order_other_seed_other_order():
    labels = np.array(["a", "b"] * 500)
    assert (nested_order(labels, 1000, 1) == nested_order(labels, 1000, 1)).all()
    assert not (nested_order(labels, 1000, 1) == nested_order(labels, 1000, 2)).all()


def test_cost_prediction_follows_the_measured_growth():
    assert predict_seconds([(1000, 1.0), (3000, 3.0)], 9000) == pytest.approx(9.0)
    assert predict_seconds([(1000, 1.0), (3000, 9.0)], 9000) == pytest.approx(81.0)
    assert math.isnan(predict_seconds([], 1000))
    assert predict_seconds([(1000, 2.0)], 2000, default_exponent=1.0) == pytest.approx(4.0)
    # Flat growth (a fixed number of boosting rounds) is believed down to rows ** 0.3 ...
    assert predict_seconds([(1000, 1.0), (3000, 1.1)], 9000) == pytest.approx(1.1 * 3 ** 0.3)
    # ... and a zoo entry's cost_exponent extrapolates a single measured size.
    assert predict_seconds([(1000, 1.0)], 9000, default_exponent=0.5) == pytest.approx(3.0)


def test_zoo_cost_exponent_is_read_and_checked(tmp_path):
    from thrifty_tui.core.errors import DataError
    from thrifty_tui.core.learn.zoo import load_zoo, spec_by_name

    assert spec_by_name("hist gradient boosting", load_zoo()).growth == 0.5
    assert spec_by_name("RBF SVM", load_zoo()).growth == 2.0  # quadratic memory
    assert spec_by_name("decision tree", load_zoo()).growth == 1.2
    bad = tmp_path / "zoo.toml"
    bad.write_text('[[model]]\nname = "m"\nestimator = "sklearn.tree:DecisionTreeClassifier"\n'
                   'cost_exponent = -1\n')
    with pytest.raises(DataError, match="cost_exponent"):
        load_zoo(bad)


@pytest.mark.parametrize("t,df", [(0.3, 4), (2.1, 4), (3.7, 9), (-1.2, 2), (8.0, 4)])
def test_t_p_values_match_scipy(t, df):
    assert t_two_sided_p(t, df) == pytest.approx(2 * stats.t.sf(abs(t), df), rel=1e-9)


def test_corrected_test_is_more_cautious_than_the_plain_paired_test():
    a = [0.80, 0.82, 0.79, 0.81, 0.83]
    b = [0.78, 0.80, 0.78, 0.80, 0.80]
    _, p_corrected = corrected_paired_t(a, b, test_fraction=0.2)
    p_plain = stats.ttest_rel(a, b).pvalue
    assert p_corrected > p_plain
    assert clearly_worse([0.8] * 4 + [0.81], [0.5, 0.52, 0.49, 0.51, 0.5], 0.2)
    assert not clearly_worse(a, b, 0.2, margin=0.05)  # within the margin: kept
