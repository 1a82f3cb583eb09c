"""The drop rule's family guard (``schedule.family_keeps``, issue 20): learning curves cross, so
the best model of each family (linear, tree) races on below the last rung even when clearly
worse there. Hand-made views, a hand-made snapshot and a replayed recording whose curves cross;
each test fails without the rule."""

from __future__ import annotations

import dataclasses

from thrifty_tui.core.learn.zoo import load_zoo
from thrifty_tui.core.policy.budget import Budget
from thrifty_tui.core.policy.decide import Drop, ModelState, Snapshot, next_decisions
from thrifty_tui.core.policy.recording import RecordedModel, Recording
from thrifty_tui.core.policy.replay import replay
from thrifty_tui.core.policy.schedule import ModelView, dropped_by, family_keeps, family_of

LAST = 3  # four rungs, as chem97's 861 / 2,585 / 7,755 / 23,266 rows


def view(name: str, features: str, score: float, rung: int = 0, baseline: bool = False,
         final: bool = False) -> ModelView:
    """A model whose folds of ``rung`` are all done at ``score`` (a small spread by fold)."""
    folds = tuple(score + 0.002 * k for k in range(5))
    return ModelView(name, 0 if baseline else 2, baseline=baseline, final=final,
                     complete={rung: folds}, rung=rung + 1, partial={rung: folds},
                     features=features)


def test_the_best_of_each_family_races_on_when_clearly_worse_on_a_small_rung():
    ridge = view("ridge", "linear", 0.40)
    svr = view("linear SVR", "linear", 0.30)
    hgb = view("hgb", "tree", 0.27)
    forest = view("forest", "tree", 0.20)
    base = view("base", "none", 0.0, baseline=True)
    models = [base, ridge, svr, hgb, forest]
    # hgb trails ridge clearly on 861 rows, but it is the trees' best: it races on.
    assert family_keeps(hgb, models, 0, LAST)
    assert dropped_by(hgb, models, 0, 0.2, LAST) is None
    # The others of each family are dropped as before: the guard keeps one a family.
    assert dropped_by(forest, models, 0, 0.2, LAST) is ridge
    assert dropped_by(svr, models, 0, 0.2, LAST) is ridge
    # The kinds of model: one-hot (and non-negative) features are linear; no features, none.
    assert [family_of(f) for f in ("linear", "nonneg", "tree", "none", "")] == [
        "linear", "linear", "tree", "", ""]


def test_a_model_is_dropped_once_it_is_not_its_familys_best_still_racing():
    ridge = view("ridge", "linear", 0.45, rung=1)
    hgb = view("hgb", "tree", 0.30, rung=1)
    forest = view("forest", "tree", 0.35, rung=1)
    models = [ridge, hgb, forest]
    assert not family_keeps(hgb, models, 1, LAST)
    assert dropped_by(hgb, models, 1, 0.2, LAST) is ridge
    # Its better kin was dropped (final): hgb is the family's hope again.
    gone = dataclasses.replace(forest, final=True)
    assert dropped_by(hgb, [ridge, hgb, gone], 1, 0.2, LAST) is None
    # The baseline is never the family's best (it is kept by its own rule), and a model of no
    # known family (a user's zoo entry without features) gets no guard.
    odd = view("odd", "", 0.10, rung=1)
    assert dropped_by(odd, [ridge, odd], 1, 0.2, LAST) is ridge


def test_on_the_last_rung_no_larger_rung_is_left_and_the_family_best_is_dropped():
    ridge = view("ridge", "linear", 0.45, rung=LAST)
    hgb = view("hgb", "tree", 0.30, rung=LAST)
    assert not family_keeps(hgb, [ridge, hgb], LAST, LAST)
    assert dropped_by(hgb, [ridge, hgb], LAST, 0.2, LAST) is ridge
    # A run of one rung: the first is the last.
    small = [view("ridge", "linear", 0.45), view("hgb", "tree", 0.30)]
    assert dropped_by(small[1], small, 0, 0.2, 0) is small[0]
    # On the rung below the last it still races on.
    below = [view("ridge", "linear", 0.45, rung=2), view("hgb", "tree", 0.30, rung=2)]
    assert dropped_by(below[1], below, 2, 0.2, LAST) is None


def test_the_scheduler_keeps_the_trees_best_racing_after_the_first_rung():
    rungs = (861, 2_585, 7_755, 23_266)

    def state(v: ModelView, order: int) -> ModelState:
        return ModelState(v, order)

    models = (state(view("base", "none", 0.0, baseline=True), 0),
              state(view("ridge", "linear", 0.40), 1), state(view("hgb", "tree", 0.27), 2),
              state(view("forest", "tree", 0.20), 3))
    snap = Snapshot(models=models, rungs=rungs, folds_at=(5, 5, 5, 5), n_rows=rungs[-1],
                    n_folds=5, workers=2, free_slots=0, elapsed_s=1.0)
    drops = [d for d in next_decisions(snap) if isinstance(d, Drop)]
    assert drops == [Drop("forest", "ridge", 861)]


def test_a_replayed_run_where_curves_cross_picks_the_model_that_wins_on_all_rows():
    """ridge leads on the small rungs, boosting overtakes it on the last (chem97's shape)."""
    rungs = (1_000, 3_000, 9_000)
    curves = {"ridge": (0.40, 0.43, 0.45), "hgb": (0.27, 0.40, 0.48),
              "forest": (0.20, 0.30, 0.40), "base": (0.0, 0.0, 0.0)}

    def fits(name: str) -> dict[tuple[int, int], tuple[int, float, float]]:
        return {(r, k): (int(rows * 0.8), 0.05 * rows / 1_000, curves[name][r] + 0.002 * k)
                for r, rows in enumerate(rungs) for k in range(5)}

    rec = Recording("crossing", rungs, (5, 5, 5), (
        RecordedModel("base", 0, True, fits=fits("base"), features="none"),
        RecordedModel("ridge", 1, fits=fits("ridge"), features="linear"),
        RecordedModel("hgb", 2, fits=fits("hgb"), features="tree"),
        RecordedModel("forest", 2, fits=fits("forest"), features="tree")))
    for budget in (None, Budget(wall_s=30.0)):
        out = replay(rec, budget)
        assert out.best == "hgb" and out.rows == 9_000
        assert out.status("forest") == "dropped"
    # The family travels in the recording's JSON, and from a trace's ``config``.
    again = Recording.from_json(rec.to_json())
    assert [m.features for m in again.models] == ["none", "linear", "tree", "tree"]
    trace = rec.to_json()
    for m in trace["models"]:
        m["config"] = {"features": repr(m.pop("features"))}
    assert [m.features for m in Recording.from_json(trace).models] == [
        "none", "linear", "tree", "tree"]


def test_the_zoo_names_each_models_feature_set():
    specs = {s.name: s for s in load_zoo()}
    assert specs["hist gradient boosting"].features == "tree"
    assert specs["ridge"].features == "linear"
    assert family_of(specs["complement NB"].features) == "linear"
    assert specs["baseline (mean)"].features == "none"
