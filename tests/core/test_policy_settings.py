"""The policy's settings as data (``core/policy/settings.py``, thrifty_tui/data/policy.toml):
the shipped file loads to today's values, a bad value is an error naming its key, and a
snapshot carrying other settings gets other decisions from the same pure policy."""

from __future__ import annotations

import dataclasses
from importlib import resources

import pytest

from thrifty_tui.core.policy import racing, schedule
from thrifty_tui.core.policy.budget import Budget
from thrifty_tui.core.policy.decide import Drop, Fit, ModelState, Snapshot, next_decisions
from thrifty_tui.core.policy.schedule import ModelView
from thrifty_tui.core.policy.settings import (
    PolicySettings,
    PolicySettingsError,
    loads,
    shipped,
)

RUNGS = (1_000, 3_000, 9_000)


def model(name: str, order: int, tier: int, scores: dict[int, float], baseline: bool = False,
          rung: int | None = None, final: bool = False) -> ModelState:
    complete = {r: tuple(s + 0.001 * k for k in range(5)) for r, s in scores.items()}
    points = tuple((int(RUNGS[r] * 0.8), 0.1 * RUNGS[r] / 1_000) for r in scores for _ in range(5))
    view = ModelView(name=name, tier=tier, baseline=baseline, final=final, complete=complete,
                     points=points, partial=dict(complete),
                     rung=rung if rung is not None else (max(scores) + 1 if scores else 0))
    return ModelState(view, order)


def snap(models: tuple[ModelState, ...], **kw) -> Snapshot:
    base = dict(models=models, rungs=RUNGS, folds_at=(5, 5, 5), n_rows=RUNGS[-1], n_folds=5,
                workers=2, free_slots=2, elapsed_s=1.0)
    base.update(kw)
    return Snapshot(**base)


def test_the_shipped_file_holds_todays_values_and_the_modules_read_them():
    text = resources.files("thrifty_tui.data").joinpath("policy.toml").read_text()
    assert loads(text) == shipped() == PolicySettings()
    assert shipped().to_table()["racing"] == {"min_rung_rows": 500, "rung_factor": 3,
                                             "max_rungs": 4}
    assert (racing.MIN_RUNG_ROWS, racing.RUNG_FACTOR, racing.MAX_RUNGS) == (500, 3, 4)
    assert (schedule.LOOK_TIER, schedule.DROP_MARGIN) == (2, 0.005)
    assert (schedule.MAX_RESERVE_SHARE, schedule.LOOKED_RESERVE_SHARE) == (0.2, 0.5)
    # A snapshot decides with the shipped settings unless told otherwise.
    assert snap(()).settings == shipped()


def test_a_partial_file_keeps_the_other_values_and_round_trips():
    chosen = loads("[schedule]\nlook_tier = 3\n[leader]\nahead_up_to_s = 10\n")
    assert chosen == dataclasses.replace(PolicySettings(), look_tier=3, ahead_up_to_s=10.0)
    assert chosen.leader_ahead(10.0) and not chosen.leader_ahead(30.0)
    assert not chosen.leader_ahead(None)  # no time budget: racing rung by rung
    lines = [f"[{t}]\n" + "".join(f"{k} = {v!r}\n" for k, v in items.items())
             for t, items in chosen.to_table().items()]
    assert loads("".join(lines)) == chosen


@pytest.mark.parametrize(("text", "named"), [
    ("[racing]\nrung_factor = 1\n", "racing.rung_factor must be at least 2, got 1"),
    ("[racing]\nmin_rung_rows = 'many'\n", "racing.min_rung_rows must be an integer"),
    ("[schedule]\nmax_reserve_share = 1.5\n", "schedule.max_reserve_share must be between 0 and 1"),
    ("[schedule]\ndrop_margin = true\n", "schedule.drop_margin must be a number"),
    ("[schedule]\nlook_teir = 2\n", "unknown key 'schedule.look_teir'"),
    ("look_tier = 2\n", "unknown key 'look_tier'"),
    ("[schedule\n", "not TOML"),
])
def test_a_bad_value_is_an_error_naming_its_key(text, named):
    with pytest.raises(PolicySettingsError) as err:
        loads(text)
    assert named in str(err.value)


def test_the_look_tier_changes_which_fold_runs_first():
    # The first-rung leader (hgb, tier 2) has all its first-rung folds; the forest (tier 3)
    # has not had its first look. Shipped (look tier 2): the leader goes to all rows first.
    base = model("base", 0, 0, {0: 0.5, 1: 0.5, 2: 0.5}, baseline=True, final=True)
    hgb = model("hgb", 1, 2, {0: 0.80})
    forest = model("forest", 2, 3, {}, rung=0)
    s = snap((base, hgb, forest), budget=Budget(wall_s=60.0), leader_ahead=True)
    assert next_decisions(s)[:2] == (Fit("hgb", 1, 0), Fit("hgb", 1, 1))
    # Look tier 3: the forest's first look comes before the leader's larger rungs.
    wider = dataclasses.replace(s, settings=dataclasses.replace(shipped(), look_tier=3))
    assert next_decisions(wider)[:2] == (Fit("forest", 0, 0), Fit("forest", 0, 1))
    # The leader goes ahead only on budgets up to ahead_up_to_s: at 60 s, rung by rung.
    later = dataclasses.replace(s, settings=dataclasses.replace(shipped(), ahead_up_to_s=30.0))
    assert next_decisions(later)[:2] == (Fit("forest", 0, 0), Fit("forest", 0, 1))


def test_the_drop_margin_decides_whether_a_close_model_races_on():
    base = model("base", 0, 0, {0: 0.5}, baseline=True)
    hgb = model("hgb", 1, 2, {0: 0.80})
    lin = model("lin", 2, 1, {0: 0.79})  # 1 pt behind on every fold
    s = snap((base, hgb, lin), free_slots=0)
    assert Drop("lin", "hgb", 1_000) in next_decisions(s)
    lenient = dataclasses.replace(s, settings=dataclasses.replace(shipped(), drop_margin=0.02))
    assert not any(isinstance(d, Drop) for d in next_decisions(lenient))


def test_the_reserve_share_caps_the_time_kept_for_the_final_refit():
    points = ((8_000, 20.0),)
    assert schedule.refit_reserve(points, 1.0, 10_000, 30.0, False) == pytest.approx(6.0)
    assert schedule.refit_reserve(points, 1.0, 10_000, 30.0, False,
                                  shares=(0.1, 0.5)) == pytest.approx(3.0)
