"""The done rules as pure arithmetic: each rule's state, the first met, the words, the file."""

from __future__ import annotations

import math

import pytest

from thrifty_tui.core.policy.budget import (
    MET,
    NOT_YET,
    OFF,
    Budget,
    History,
    check_rules,
    first_met,
    improvement_over,
    may_start_fit,
    met_rule,
    money,
    noise_of,
    stop_reason,
    target_as_score,
    verdict,
)
from thrifty_tui.core.policy.budget_file import load_budget_file, resolve_budget
from thrifty_tui.core.errors import DataError


def states(budget: Budget, history: History) -> dict[str, str]:
    return {s.rule: s.state for s in check_rules(budget, history)}


def test_no_rule_set_means_every_rule_is_off():
    history = History(metric="r2", elapsed_s=3.0, fits=10, trace=((1.0, 5, 0.5),))
    assert set(states(Budget(), history).values()) == {OFF}
    assert verdict(Budget(), history)[1] == ""
    assert not Budget().any_rule and not Budget().wants_tuning
    assert Budget(max_fits=3).wants_tuning and not Budget(max_fits=3, tune=False).wants_tuning


def test_target_is_met_when_the_best_reaches_it_and_says_so_in_words():
    budget = Budget(target_score=0.70)
    before = History(metric="balanced_accuracy", elapsed_s=10.0, fits=20,
                     trace=((2.0, 5, 0.5), (8.0, 20, 0.69)))
    assert states(budget, before)["target"] == NOT_YET
    after = History(metric="balanced_accuracy", elapsed_s=23.2, fits=41,
                    trace=((2.0, 5, 0.5), (23.0, 41, 0.7412)))
    assert states(budget, after)["target"] == MET
    assert verdict(budget, after)[1] == "target 0.700 reached — 0.741 after 41 fits in 23 s"


def test_a_positive_target_for_a_loss_metric_is_that_loss():
    assert target_as_score(4500.0, "neg_root_mean_squared_error") == -4500.0
    assert target_as_score(0.7, "r2") == 0.7
    budget = Budget(target_score=4500.0)
    history = History(metric="neg_root_mean_squared_error", elapsed_s=5.0, fits=10,
                      trace=((1.0, 5, -9000.0), (4.0, 10, -4400.0)))
    assert states(budget, history)["target"] == MET
    assert verdict(budget, history)[1].startswith("target 4,500 reached — 4,400 after 10 fits")


@pytest.mark.parametrize(("metric", "score", "baseline", "expected"), [
    ("balanced_accuracy", 0.6, 0.5, 0.2),  # error 0.4 vs 0.5
    ("r2", 0.36, 0.0, 0.36),  # MSE 64 % of the mean predictor's
    ("neg_root_mean_squared_error", -8.0, -10.0, 0.2),  # RMSE 20 % lower
    ("neg_log_loss", -0.7, -0.7, 0.0),
])
def test_improvement_is_the_fall_of_the_loss_in_the_metrics_direction(metric, score, baseline,
                                                                      expected):
    assert improvement_over(score, baseline, metric) == pytest.approx(expected)


def test_min_improvement_waits_for_a_baseline_then_compares_losses():
    budget = Budget(min_improvement=0.2)
    no_base = History(metric="neg_root_mean_squared_error", elapsed_s=1.0, fits=5,
                      trace=((1.0, 5, -9.0),))
    assert states(budget, no_base)["min_improvement"] == NOT_YET
    short = History(metric="neg_root_mean_squared_error", elapsed_s=2.0, fits=10,
                    trace=((1.0, 5, -10.0), (2.0, 10, -8.5)), baseline_score=-10.0)
    assert states(budget, short)["min_improvement"] == NOT_YET
    enough = History(metric="neg_root_mean_squared_error", elapsed_s=3.0, fits=15,
                     trace=((1.0, 5, -10.0), (3.0, 15, -7.9)), baseline_score=-10.0)
    assert states(budget, enough)["min_improvement"] == MET
    assert verdict(budget, enough)[1] == (
        "20% better than the baseline reached — 21% (7.90 vs 10.00) after 15 fits in 3 s")


def test_max_fits_counts_fits_in_flight():
    budget = Budget(max_fits=10)
    assert states(budget, History("r2", 1.0, fits=8, fits_started=9))["max_fits"] == NOT_YET
    assert states(budget, History("r2", 1.0, fits=8, fits_started=10))["max_fits"] == MET
    assert may_start_fit(budget, 1.0, math.nan, fits_started=9) == ""
    assert may_start_fit(budget, 1.0, math.nan, fits_started=10) == "max_fits"


def test_wall_refuses_a_fit_predicted_past_the_budget_with_the_refit_reserved():
    budget = Budget(wall_s=30.0)
    assert may_start_fit(budget, 20.0, 5.0, 0) == ""
    assert may_start_fit(budget, 20.0, 5.0, 0, reserve_s=6.0) == "wall"
    assert may_start_fit(budget, 20.0, math.nan, 0) == ""  # unknown cost: taken as 0
    assert states(budget, History("r2", 29.9, fits=3))["wall"] == NOT_YET
    assert states(budget, History("r2", 30.0, fits=3))["wall"] == MET


def test_patience_counts_fits_since_the_last_gain_of_at_least_delta():
    budget = Budget(patience=10, patience_delta=0.01)
    trace = ((1.0, 5, 0.60), (2.0, 10, 0.70), (3.0, 14, 0.705))  # +0.005 is below δ
    assert states(budget, History("r2", 3.0, fits=19, trace=trace))["patience"] == NOT_YET
    hit = History("r2", 4.0, fits=20, trace=trace)
    assert states(budget, hit)["patience"] == MET
    assert stop_reason("patience", budget, hit) == (
        "no gain of 0.01 in 10 fits — best 0.705 after 20 fits in 4 s")
    # No score yet: patience does not run out on nothing.
    assert states(budget, History("r2", 4.0, fits=50))["patience"] == NOT_YET


def test_noise_floor_compares_recent_gains_with_the_leaders_standard_error():
    folds = (0.70, 0.74, 0.72, 0.68, 0.76)
    noise = noise_of(folds)
    assert noise == pytest.approx(math.sqrt(0.00080) / math.sqrt(5))
    budget = Budget(noise_floor=True, noise_window=10)
    rising = History("r2", 5.0, fits=30, trace=((1.0, 5, 0.5), (4.0, 28, 0.72)),
                     leader_fold_scores=folds)
    assert states(budget, rising)["noise_floor"] == NOT_YET  # +0.22 in the last 10 fits
    flat = History("r2", 6.0, fits=40, trace=((1.0, 5, 0.5), (4.0, 28, 0.72), (5.0, 35, 0.725)),
                   leader_fold_scores=folds)
    assert states(budget, flat)["noise_floor"] == MET  # +0.005 < ±0.0126
    assert "fold-to-fold noise (±0.0126) over 10 fits" in verdict(budget, flat)[1]


def test_combinations_stop_at_the_first_rule_met_in_a_fixed_order():
    budget = Budget(target_score=0.7, max_fits=20, wall_s=10.0, patience=5)
    history = History("r2", 12.0, fits=20, trace=((1.0, 5, 0.72),))
    met = [s.rule for s in check_rules(budget, history) if s.state == MET]
    assert met == ["target", "max_fits", "wall", "patience"]
    assert first_met(check_rules(budget, history)).rule == "target"
    only_time = History("r2", 12.0, fits=3, trace=((1.0, 3, 0.5),))
    assert verdict(budget, only_time)[1] == "budget of 10 s spent — best 0.500 after 3 fits in 12 s"
    # Stopped well before the deadline (the fits left could not finish): said as it is.
    early = History("r2", 7.0, fits=3, trace=((1.0, 3, 0.5),))
    assert stop_reason("wall", budget, early) == (
        "budget of 10 s: no fit left that could finish in the 3 s remaining — best 0.500 "
        "after 3 fits in 7 s")


def test_money_is_cpu_hours_times_the_price():
    assert money(1800.0, 0.10) == pytest.approx(0.05)
    assert money(1800.0, None) is None


def test_thrifty_toml_beside_the_data_then_flags_on_top(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,2\n")
    (tmp_path / "thrifty.toml").write_text(
        "[budget]\nwall_seconds = 60\nmax_fits = 200\ntarget_score = 0.7\npatience = 30\n"
        "noise_floor = true\nprice_per_cpu_hour = 0.04\n")
    assert resolve_budget(str(data)) == Budget(wall_s=60.0, max_fits=200, target_score=0.7,
                                                patience=30, noise_floor=True,
                                                price_per_cpu_hour=0.04)
    merged = resolve_budget(str(data), Budget(max_fits=50, min_improvement=0.2), wall_s=10.0)
    assert (merged.wall_s, merged.max_fits, merged.target_score, merged.min_improvement) == (
        10.0, 50, 0.7, 0.2)
    assert resolve_budget(str(tmp_path / "elsewhere" / "x.csv")) == Budget()


@pytest.mark.parametrize(("text", "message"), [
    ("[budget]\nmax_fitz = 3\n", "unknown key 'max_fitz'"),
    ("[budget]\nmax_fits = 'many'\n", "max_fits must be a number"),
    ("[budget]\nmax_fits = 2.5\n", "max_fits must be a whole number"),
    ("[budget]\nnoise_floor = 1\n", "noise_floor must be true or false"),
    ("[budget]\nwall_seconds = -1\n", "wall_s must not be negative"),
    ("[budget\n", "is not valid TOML"),
])
def test_a_bad_budget_file_is_a_data_error_naming_the_problem(tmp_path, text, message):
    path = tmp_path / "thrifty.toml"
    path.write_text(text)
    with pytest.raises(DataError, match=message.replace("(", r"\(")):
        load_budget_file(path)


def test_the_done_rule_met_is_any_but_the_time_budget():
    history = History(metric="r2", elapsed_s=50.0, fits=10, trace=((1.0, 5, 0.5),))
    # The budget is spent and the fits are used up: max_fits stops, the time budget never does
    # (it is kept by refusing fits and killing them past the deadline).
    assert met_rule(Budget(wall_s=10.0, max_fits=10), history) == "max_fits"
    assert met_rule(Budget(wall_s=10.0), history) == ""
    assert met_rule(Budget(wall_s=10.0, max_fits=10), None) == ""  # no rules read
