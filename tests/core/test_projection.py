"""'Would more help?': the learning-curve projection recovers known curves and says when it
cannot tell; on real data its band holds the score actually reached with more rows."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from thrifty_tui.core.learn.projection import fit_cost, fit_power_law, project


def law(n: float) -> float:
    return 0.9 - 0.8 * n ** -0.5


def test_an_exact_power_law_is_recovered_and_projected():
    curve = [(n, law(n)) for n in (200, 400, 800, 1600)]
    a, _, c = fit_power_law(curve)
    assert a == pytest.approx(0.9, abs=0.01) and c == pytest.approx(0.5, rel=0.15)
    p = project("m", curve, fold_std=0.01, n_folds=5, at=[6400, 12800])
    assert p.enough and p.rows_now == 1600
    for point in p.points:
        assert point.score == pytest.approx(law(point.rows), abs=0.003)
        assert point.low <= law(point.rows) <= point.high
    assert p.points[1].score > p.points[0].score > law(1600)


def test_a_flat_curve_says_more_rows_add_little():
    curve = [(500, 0.801), (1000, 0.8), (2000, 0.802), (4000, 0.801)]
    p = project("m", curve, fold_std=0.004, n_folds=5, at=[8000])
    assert p.enough and abs(p.points[0].score - 0.801) < 0.005
    assert p.advice.startswith("more rows would add little")


def test_a_rising_curve_with_little_noise_says_more_rows_help():
    curve = [(n, law(n)) for n in (100, 200, 400)]
    p = project("m", curve, fold_std=0.002, n_folds=5, at=[3200])
    assert p.advice.startswith("more rows should help") and p.points[0].low > law(400)


def test_too_few_sizes_is_said_not_guessed():
    p = project("m", [(400, 0.7), (800, 0.72)], fold_std=0.01, n_folds=5, at=[1600],
                fit_points=[(400, 0.1), (800, 0.2)])
    assert not p.enough and "too few points" in p.advice and "2 sizes" in p.advice
    assert math.isnan(p.points[0].score)
    assert p.points[0].fit_seconds == pytest.approx(0.4, rel=0.01)  # time is still projected
    narrow = project("m", [(900, 0.7), (1000, 0.71), (1100, 0.72)], 0.01, 5, [2000])
    assert not narrow.enough and "span only" in narrow.advice
    assert not project("m", [], 0.0, 5, [10]).enough


def test_the_cost_law_is_recovered_and_clipped():
    s, p = fit_cost([(n, 1e-6 * n ** 2) for n in (100, 1000, 10000)])
    assert p == pytest.approx(2.0, rel=1e-6) and s == pytest.approx(1e-6, rel=1e-4)
    assert fit_cost([(n, 5.0) for n in (100, 1000)])[1] == 0.5  # flat time: clipped
    assert fit_cost([(500, 2.0)]) == pytest.approx((2.0 / 500, 1.0))
    assert fit_cost([]) is None


def test_on_real_data_the_band_holds_the_score_reached_with_more_rows():
    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(0)
    order = rng.permutation(len(y))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    cv = StratifiedKFold(5, shuffle=True, random_state=0)

    def cv_scores(n):
        idx = order[:n]
        return cross_val_score(model, X[idx], y[idx], cv=cv)

    curve, std = [], 0.0
    for n in (150, 300, 600):
        scores = cv_scores(n)
        curve.append((n, float(scores.mean())))
        std = float(scores.std())
    p = project("logistic", curve, std, 5, at=[1500])
    actual = float(cv_scores(1500).mean())
    assert p.enough
    point = p.points[0]
    assert point.low - 0.01 <= actual <= point.high + 0.01, (curve, point, actual)
    assert abs(point.score - actual) < 0.03
