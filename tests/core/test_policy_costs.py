"""The cost model that travels (issue 20): core/policy/costs.py, and the scheduler's use of it."""

from __future__ import annotations

import math

import pytest

from thrifty_tui.core.errors import DataError
from thrifty_tui.core.learn.zoo import load_zoo
from thrifty_tui.core.policy.costs import (
    Costs,
    Formula,
    Shape,
    anchored,
    load_costs,
    machine_factor,
    parse_costs,
    predict,
    shape_of,
)
from thrifty_tui.core.policy.schedule import ModelView, predicted_fit_seconds
from thrifty_tui.core.records import ColumnInfo, Role

SHAPE = Shape(numeric=9, onehot=40, text=50, tree=12, classes=3)


def test_width_follows_the_features():
    assert SHAPE.width("linear") == 99
    assert SHAPE.width("nonneg") == 99
    assert SHAPE.width("tree") == 12
    assert SHAPE.width("none") == 0


def test_formula_values():
    f = Formula(a=-9.0, b=1.0, c=0.5, d=1.0, features="linear")
    expected = math.exp(-9.0) * 10_000 * math.sqrt(100) * 3
    assert predict(f, SHAPE, 10_000) == pytest.approx(expected)
    assert predict(f, SHAPE, 10_000, machine=2.5) == pytest.approx(2.5 * expected)
    assert predict(f, SHAPE, 30_000) / predict(f, SHAPE, 10_000) == pytest.approx(3.0)
    assert predict(f, SHAPE, 0) == 0.0
    # one measured fit carried by the formula's growth
    assert anchored(Formula(a=0.0, b=2.0), SHAPE, 2_000, (1_000, 0.5)) == pytest.approx(2.0)
    assert math.isnan(anchored(f, SHAPE, 2_000, (0, 0.5)))


def test_machine_factor():
    costs = Costs({}, calibration_s=0.1)
    assert machine_factor(0.25, costs) == pytest.approx(2.5)
    assert machine_factor(0.0, costs) == 1.0
    assert machine_factor(math.nan, costs) == 1.0


def test_coefficients_load_from_toml():
    costs = parse_costs('use = true\ncalibration_s = 0.2\n'
                        '[model."ridge"]\nfeatures = "linear"\na = -8.5\nb = 0.9\nc = 0.1\n'
                        '[model."random forest"]\nfeatures = "tree"\na = -6\n')
    assert costs.use and costs.calibration_s == 0.2 and costs.margin == 1.0
    assert costs.formulas["ridge"] == Formula(-8.5, 0.9, 0.1, 0.0, "linear")
    assert costs.formulas["random forest"] == Formula(-6.0, 1.0, 0.0, 0.0, "tree")


@pytest.mark.parametrize("text, words", [
    ("[model.x\na = 1", "not valid TOML"),
    ("use = true\n", "no [model.NAME] tables"),
    ('[model."ridge"]\nb = 1.0\n', "'ridge' needs a finite number a"),
    ('[model."ridge"]\na = "fast"\n', "'ridge' needs a finite number a, not 'fast'"),
    ('[model."ridge"]\na = 1\nfeatures = "wide"\n', "features 'wide'"),
    ('calibration_s = -1\n[model."ridge"]\na = 1\n', "calibration_s must be a positive"),
    ('use = "yes"\n[model."ridge"]\na = 1\n', "use must be true or false"),
    ('margin = 0\n[model."ridge"]\na = 1\n', "margin must be a positive number"),
])
def test_a_bad_toml_gives_a_clear_error(text, words):
    with pytest.raises(DataError, match="^my.toml: ") as err:
        parse_costs(text, "my.toml")
    assert words in str(err.value)


def test_shipped_coefficients_cover_the_zoo():
    costs = load_costs()
    assert costs.calibration_s > 0
    for spec in load_zoo():
        formula = costs.formulas[spec.name]
        assert formula.features == spec.build.keywords["features"]
        assert 0.0 < formula.b < 2.5, spec.name  # seconds grow with the rows, not wildly


def test_unmeasured_model_takes_the_shape_prior_under_a_budget():
    view = ModelView(name="random forest", tier=3)
    assert predicted_fit_seconds(view, 1_000, True, 1.5, 9.0) == pytest.approx(10.5)
    assert predicted_fit_seconds(view, 1_000, True, 1.5, 9.0, prior_s=2.0) == pytest.approx(3.5)
    assert math.isnan(predicted_fit_seconds(view, 1_000, False, 1.5, 9.0, prior_s=2.0))
    measured = ModelView(name="random forest", tier=3, points=((1_000, 2.0),))
    # one measured fit: its level, the cost model's growth
    assert predicted_fit_seconds(measured, 4_000, True, 1.5, 9.0, prior_s=99.0,
                                 prior_growth=0.5) == pytest.approx(4.0)
    two = ModelView(name="random forest", tier=3, points=((1_000, 1.0), (4_000, 4.0)))
    assert predicted_fit_seconds(two, 16_000, True, 1.5, 9.0, prior_s=99.0,
                                 prior_growth=0.5) == pytest.approx(16.0)


def test_shape_guessed_from_the_schema():
    schema = (
        ColumnInfo("price", "float64", Role.NUMERIC, 0.0, 500),
        ColumnInfo("sold", "datetime64[ns]", Role.DATETIME, 0.0, 300),
        ColumnInfo("colour", "object", Role.CATEGORICAL, 0.0, 7),
        ColumnInfo("town", "object", Role.CATEGORICAL, 0.0, 900),
        ColumnInfo("review", "object", Role.TEXT, 0.0, 800),
        ColumnInfo("essay", "object", Role.TEXT, 0.0, 5_000, long_text=True),
        ColumnInfo("code", "object", Role.TEXT, 0.0, 40, short_text=True),
        ColumnInfo("y", "object", Role.TARGET, 0.0, 3),
    )
    shape = shape_of(schema, 3)
    assert shape == Shape(numeric=6, onehot=8 + 51, text=2 * 8_000 + 20_000 + 2 * 400,
                          tree=6 + 2 + 1 + 2 * 10, classes=3)
    assert shape_of(schema[:1], 0).classes == 1
