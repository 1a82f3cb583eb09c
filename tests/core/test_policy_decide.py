"""The scheduler as one pure function (``core/policy/decide.py``): hand-made snapshots in,
decisions out, and whole runs replayed from recorded fits with a simulated clock
(``core/policy/replay.py``). No processes, no clocks: every test here runs in milliseconds."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from thrifty_tui.core.policy.budget import Budget, History
from thrifty_tui.core.policy.decide import (
    Diagnose,
    Drop,
    Fit,
    Flight,
    Kill,
    ModelState,
    NoDiagnostics,
    QueueRefit,
    Refit,
    Skip,
    Snapshot,
    Stop,
    Timeout,
    next_decisions,
)
from thrifty_tui.core.policy.replay import RecordedModel, Recording, replay
from thrifty_tui.core.policy.schedule import ModelView
from thrifty_tui.core.records import ModelResult

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "recorded"
RUNGS = (1_000, 3_000, 9_000)


def model(name: str, order: int, tier: int = 1, baseline: bool = False,
          scores: dict[int, float] | None = None, seconds: float = 0.1, rung: int | None = None,
          final: bool = False, done_folds: frozenset[int] = frozenset(), diagnosis: str = "",
          folds: int = 5) -> ModelState:
    """A model whose rungs in ``scores`` are complete (each fold at that score)."""
    scores = scores or {}
    complete = {r: tuple(s + 0.001 * k for k in range(folds)) for r, s in scores.items()}
    points = tuple((int(RUNGS[r] * 0.8), seconds * RUNGS[r] / 1_000) for r in scores
                   for _ in range(folds))
    view = ModelView(name=name, tier=tier, baseline=baseline, final=final, complete=complete,
                     points=points,
                     rung=rung if rung is not None else (max(scores) + 1 if scores else 0),
                     partial=dict(complete))
    return ModelState(view, order, done_folds, diagnosis)


def snap(models: tuple[ModelState, ...], **kw) -> Snapshot:
    base = dict(models=models, rungs=RUNGS, folds_at=(5, 5, 5), n_rows=RUNGS[-1], n_folds=5,
                workers=2, free_slots=2, elapsed_s=1.0)
    base.update(kw)
    return Snapshot(**base)


def result(name: str, status: str, mean: float, baseline: bool = False,
           rows: int = RUNGS[-1]) -> ModelResult:
    return ModelResult(model=name, status=status,
                       fold_scores=(mean,) * 5 if status == "done" else (), fit_seconds=1.0,
                       baseline=baseline, rows=rows)


# -- one snapshot, one answer --------------------------------------------------------------------


def test_the_same_snapshot_always_gives_the_same_decisions():
    s = snap((model("base", 0, 0, True), model("lin", 1), model("hgb", 2, 2)),
             budget=Budget(wall_s=10.0), leader_ahead=True)
    first = next_decisions(s)
    assert first == next_decisions(s) == next_decisions(dataclasses.replace(s))
    assert first == (Fit("base", 0, 0), Fit("base", 0, 1))  # cheap tiers first, in order
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.elapsed_s = 2.0  # type: ignore[misc]


def test_a_task_past_its_cap_is_timed_out_and_nothing_else_is_decided():
    s = snap((model("lin", 0, rung=0), model("svm", 1, rung=0)), cap_s=5.0, free_slots=0,
             flights=(Flight("fold", "svm", 0, 0, age_s=5.5), Flight("fold", "lin", 0, 0, 1.0),
                      Flight("diagnose", "lin", age_s=14.0)))
    assert next_decisions(s) == (Timeout("fold", "svm", 0, 0),)
    # Diagnostics may run three times the cap; the fit on all rows, forever.
    s = dataclasses.replace(s, flights=(Flight("diagnose", "lin", age_s=15.5),
                                        Flight("refit", "svm", age_s=500.0)))
    assert next_decisions(s)[0] == Timeout("diagnose", "lin", 0, 0)
    s = dataclasses.replace(s, flights=(Flight("refit", "svm", age_s=500.0),))
    assert not any(isinstance(d, Timeout) for d in next_decisions(s))


def test_a_fit_is_timed_out_at_the_first_look_past_its_cap():
    """The engine asks the policy every POLL_SECONDS (engine/screen_run.py): a fit is timed
    out at the first look after its cap, not a rung or a fit later. (This replaces a test
    that timed the kill on the wall clock.)"""
    from thrifty_tui.engine.screen_run import POLL_SECONDS

    models = (model("base", 0, 0, True, scores={0: 0.5}), model("sleeper", 1, rung=0))
    for age, timed_out in ((1.49, False), (1.5 + POLL_SECONDS, True)):
        s = snap(models, cap_s=1.5, free_slots=1,
                 flights=(Flight("fold", "sleeper", 0, 0, age_s=age),))
        assert (Timeout("fold", "sleeper", 0, 0) in next_decisions(s)) is timed_out, age
    assert POLL_SECONDS <= 0.1


def test_a_met_done_rule_stops_the_race_and_kills_fits_that_would_outlast_new_children():
    hist = History(metric="accuracy", elapsed_s=4.0, fits=10, trace=((3.0, 10, 0.91),))
    models = (model("base", 0, 0, True, {0: 0.5}, final=True), model("lin", 1, rung=1),
              model("svm", 2, 3, rung=0))
    s = snap(models, budget=Budget(target_score=0.9), history=hist, restart_s=1.5,
             flights=(Flight("fold", "svm", 0, 0, age_s=0.2),), free_slots=1)
    # svm's fit has no measured time: taken as dear as the time it has run, 0.2 s < 1.5 s.
    assert next_decisions(s)[0] == Stop("target")
    assert Kill(stopped=True) not in next_decisions(s)
    s = dataclasses.replace(s, flights=(Flight("fold", "svm", 0, 0, age_s=2.0),))
    assert next_decisions(s) == (Stop("target"), Kill(stopped=True))
    # A rule already met (the dashboard's stop) only skips what still races: no kill.
    s = dataclasses.replace(s, stop_rule="user")
    assert next_decisions(s)[0] == Stop("user") and Kill(stopped=True) not in next_decisions(s)
    # Not met: the race goes on.
    s = dataclasses.replace(s, stop_rule="", budget=Budget(target_score=0.95))
    assert not any(isinstance(d, (Stop, Kill)) for d in next_decisions(s))


def test_past_the_deadline_fits_in_flight_are_killed_but_never_the_final_fit():
    lin = model("lin", 1, scores={0: 0.7}, seconds=1.0)  # 3 s predicted on its next rung
    s = snap((model("base", 0, 0, True, {0: 0.5}, final=True), lin),
             budget=Budget(wall_s=10.0), elapsed_s=9.0, restart_s=1.5, free_slots=1,
             flights=(Flight("fold", "lin", 1, 0, age_s=0.5),))
    assert next_decisions(s) == (Kill(),)
    early = dataclasses.replace(s, elapsed_s=5.0)
    assert Kill() not in next_decisions(early)
    refitting = dataclasses.replace(s, flights=(*s.flights, Flight("refit", "lin")))
    assert Kill() not in next_decisions(refitting)


def test_a_model_clearly_worse_on_the_rung_it_finished_is_dropped_before_its_next():
    leader = model("hgb", 1, 2, scores={0: 0.80})
    worse = model("tree", 2, 2, scores={0: 0.70})
    close = model("lin", 3, 1, scores={0: 0.798})
    base = model("base", 0, 0, True, {0: 0.5})
    out = next_decisions(snap((base, leader, worse, close), free_slots=0))
    assert Drop("tree", "hgb", 1_000) in out
    assert not any(isinstance(d, Drop) and d.model in ("lin", "base") for d in out)
    # Still running a fold of its new rung: not judged again.
    busy = snap((base, leader, worse, close), free_slots=0,
                flights=(Flight("fold", "tree", 1, 0),))
    assert not any(isinstance(d, Drop) for d in next_decisions(busy))


def test_a_fit_that_cannot_finish_in_time_is_skipped_but_the_baselines_first_rung_runs():
    base = model("base", 0, 0, True, rung=0)
    svm = model("svm", 1, 3, scores={0: 0.8}, seconds=2.0)  # 6 s a fold on rung 1
    s = snap((base, svm), budget=Budget(wall_s=10.0), elapsed_s=6.0, free_slots=1,
             leader_ahead=True, flights=tuple(Flight("fold", "base", 0, k) for k in range(5)))
    out = next_decisions(s)
    # 4 s left, but svm's own refit is kept (half the budget, from a larger rung): none left,
    # so its row says the run's stop reason, the budget spent.
    assert out == (Skip("svm", "", "spent"),)
    roomy = dataclasses.replace(s, budget=Budget(wall_s=60.0))  # 49 s left: 24 s for its rung
    assert next_decisions(roomy) == (Fit("svm", 1, 0),)
    # The baseline's first fit starts even with no time at all (a run ends with a model).
    late = snap((model("base", 0, 0, True, rung=0),), budget=Budget(wall_s=10.0),
                elapsed_s=12.0, dearest_s=(30.0, 0.0, 0.0), restart_s=1.5)
    assert next_decisions(late)[0] == Fit("base", 0, 0, pytest.approx(31.5))
    # A model's first fit is taken as dear as the dearest measured on its rung.
    lin = model("lin", 1, 1, rung=0)
    s = snap((model("base", 0, 0, True, {0: 0.5}, final=True), lin),
             budget=Budget(wall_s=10.0), elapsed_s=5.0, dearest_s=(4.0, 0.0, 0.0),
             restart_s=1.5, leader_ahead=True)
    refused = next(d for d in next_decisions(s) if isinstance(d, Skip))
    assert refused.rule == "wall" and "5.5 s does not fit" in refused.why
    assert Fit("lin", 0, 0, 5.5) in next_decisions(dataclasses.replace(s, elapsed_s=1.0))


def test_a_fit_over_the_per_fit_cap_is_skipped_before_its_rung():
    svm = model("svm", 1, 3, scores={0: 0.8}, seconds=3.0)  # 9 s a fold on 3,000 rows
    out = next_decisions(snap((svm,), cap_s=5.0, free_slots=1))
    assert out == (Skip("svm", "predicted 15 s per fit on 3,000 rows > cap 5 s", ""),
                   QueueRefit(""))  # (no model finished: none to refit)


def test_max_fits_stops_the_race():
    hist = History(metric="accuracy", elapsed_s=1.0, fits=4, fits_started=4)
    s = snap((model("base", 0, 0, True, rung=0), model("lin", 1, rung=0)),
             budget=Budget(max_fits=5), history=hist)
    assert next_decisions(s) == (Fit("base", 0, 0), Stop("max_fits"), QueueRefit(""))


def test_under_a_time_budget_the_first_rung_leader_goes_to_all_rows_first():
    base = model("base", 0, 0, True, {0: 0.5})
    hgb = model("hgb", 1, 2, scores={0: 0.80})
    lin = model("lin", 2, 1, scores={0: 0.797})  # too close to drop
    forest = model("forest", 3, 3, rung=0)  # a dear model's first look waits
    s = snap((base, hgb, lin, forest), budget=Budget(wall_s=60.0), leader_ahead=True,
             free_slots=2)
    assert next_decisions(s) == (Fit("base", 1, 0), Fit("base", 1, 1))
    s = snap((dataclasses.replace(base, view=dataclasses.replace(base.view, final=True)), hgb,
              lin, forest), budget=Budget(wall_s=60.0), leader_ahead=True, free_slots=2)
    assert next_decisions(s) == (Fit("hgb", 1, 0), Fit("hgb", 1, 1))
    # Without a time budget: rung by rung, so the forest gets its first look first.
    assert next_decisions(dataclasses.replace(s, budget=Budget(), leader_ahead=False)) == (
        Fit("forest", 0, 0), Fit("forest", 0, 1))


def test_diagnostics_wait_for_time_and_the_final_fit_goes_first():
    done = model("hgb", 1, 2, scores={0: 0.8, 1: 0.81, 2: 0.82}, seconds=1.0, final=True,
                 diagnosis="pending")
    lin = model("lin", 2, 1, scores={0: 0.7, 1: 0.71, 2: 0.72}, seconds=0.1, final=True,
                diagnosis="pending")
    results = (result("hgb", "done", 0.82), result("lin", "done", 0.72))
    s = snap((done, lin), results=results, refit_state="pending", refit_model="hgb")
    assert next_decisions(s) == (Refit("hgb"), Diagnose("hgb"))
    # Under a budget with 4 s left, 2 s of them kept for the final fit: hgb's plots (about
    # two of its fits, 14 s) do not fit, lin's (1.8 s) do.
    tight = dataclasses.replace(s, budget=Budget(wall_s=10.0), elapsed_s=6.0, free_slots=1,
                                refit_state="running",
                                flights=(Flight("refit", "hgb", age_s=1.0),))
    assert next_decisions(tight) == (NoDiagnostics("hgb"), Diagnose("lin"))


# -- the final fit, queued early or late ---------------------------------------------------------


def test_the_last_model_racing_is_refit_on_the_core_its_last_folds_leave_idle():
    base = model("base", 0, 0, True, {0: 0.5, 1: 0.5, 2: 0.5}, final=True)
    dropped = model("dropped", 2, 2, scores={0: 0.5}, final=True)
    lone = model("lone", 1, 1, scores={0: 0.6, 1: 0.7}, rung=2)
    results = (result("base", "done", 0.5, True), result("dropped", "dropped", 0.5))
    four = tuple(Flight("fold", "lone", 2, k) for k in range(4))
    s = snap((base, lone, dropped), results=results, flights=four, free_slots=0)
    assert not any(isinstance(d, QueueRefit) for d in next_decisions(s))  # fold 4 not started
    s = dataclasses.replace(s, flights=(*four, Flight("fold", "lone", 2, 4)))
    assert next_decisions(s) == (QueueRefit("lone"),)
    # It ends best: the speculative refit stands.
    done_lone = dataclasses.replace(lone, view=dataclasses.replace(lone.view, final=True))
    s = snap((base, done_lone, dropped), results=(*results, result("lone", "done", 0.7)),
             refit_state="done", refit_model="lone", free_slots=2)
    assert not any(isinstance(d, (QueueRefit, Refit)) for d in next_decisions(s))


def test_a_wrong_speculative_refit_gives_way_to_the_best():
    base = model("base", 0, 0, True, {0: 0.5, 1: 0.5, 2: 0.5}, final=True)
    best = model("best", 1, 1, scores={0: 0.7, 1: 0.75, 2: 0.8}, final=True)
    lone = model("lone", 2, 2, scores={0: 0.7, 1: 0.7}, rung=2)
    results = (result("base", "done", 0.5, True), result("best", "done", 0.8))
    flights = tuple(Flight("fold", "lone", 2, k) for k in range(5))
    s = snap((base, best, lone), results=results, flights=flights, free_slots=0)
    assert next_decisions(s) == ()  # it trails a finished model: no guess
    lone = model("lone", 2, 2, scores={0: 0.7, 1: 0.9}, rung=2)  # (the rung before its last counts)
    s = dataclasses.replace(s, models=(base, best, lone))
    assert next_decisions(s) == (QueueRefit("lone"),)
    # It finished below "best" after all: "best" is queued once the guess is done.
    lone = dataclasses.replace(lone, view=dataclasses.replace(lone.view, final=True))
    s = snap((base, best, lone), results=(*results, result("lone", "done", 0.75)),
             refit_state="done", refit_model="lone", free_slots=0)
    assert next_decisions(s) == (QueueRefit("best"),)
    # While the wrong guess still runs, the worker refits the best after the run.
    running = dataclasses.replace(s, refit_state="running")
    assert next_decisions(running) == ()
    # No model finished at all: nothing can be refit here.
    assert next_decisions(snap((lone,), results=(result("lone", "failed", 0.0),))) == (
        QueueRefit(""),)


# -- whole runs, replayed --------------------------------------------------------------------


def toy_recording() -> Recording:
    """Five models on three rungs: hgb leads everywhere but is the dearest."""
    def fits(base: float, seconds: float, gain: float = 0.02):
        return {(r, k): (int(rows * 0.8), seconds * rows / 1_000, base + gain * r + 0.001 * k)
                for r, rows in enumerate(RUNGS) for k in range(5)}

    return Recording("toy", RUNGS, (5, 5, 5), (
        RecordedModel("base", 0, True, fits=fits(0.5, 0.01, 0.0)),
        RecordedModel("lin", 1, fits=fits(0.70, 0.05)),
        RecordedModel("tree", 2, fits=fits(0.60, 0.1)),
        RecordedModel("hgb", 2, fits=fits(0.75, 0.3)),
        RecordedModel("svm", 3, fits=fits(0.72, 0.6)),
    ))


def test_a_replayed_run_without_a_budget_races_every_model_and_keeps_the_best():
    out = replay(toy_recording())
    assert out.best == "hgb" and out.rows == 9_000
    assert out.cv == pytest.approx(0.75 + 0.04 + 0.002)
    assert {r.model: r.status for r in out.results} == {
        "base": "done", "hgb": "done", "lin": "dropped", "tree": "dropped", "svm": "dropped"}
    # Each fit starts only once a worker is free: never more than two at a time.
    fits = [d for _, d in out.decisions if isinstance(d, Fit)]
    assert len(fits) == len(set(fits))


def test_a_replayed_short_budget_ends_in_time_with_the_best_model_it_could_afford():
    rec = toy_recording()
    for wall in (4.0, 6.0, 10.0, 20.0):
        out = replay(rec, Budget(wall_s=wall))
        assert out.best, wall  # never empty-handed
        assert out.wall_s <= 1.05 * wall, (wall, out.wall_s)
    assert replay(rec, Budget(wall_s=2.0)).best == "base"  # only the baseline fits in 2 s
    assert replay(rec, Budget(wall_s=20.0)).best == "hgb"


@pytest.mark.parametrize("budget", [10.0, 30.0])
def test_replayed_gss_keeps_its_budget_and_beats_the_baseline(budget: float):
    """Recorded fits of gss (49 k rows, 2 workers, a loaded machine: 3.8 s to prepare;
    benchmarks/record_fits.py)."""
    rec = Recording.load(RECORDED / "gss.json.gz")
    out = replay(rec, Budget(wall_s=budget))
    base = next(m for m in rec.models if m.baseline)
    base_cv = sum(base.fits[(0, k)][2] for k in range(rec.folds_at[0])) / rec.folds_at[0]
    assert out.wall_s <= 1.05 * budget
    assert out.best and out.cv > base_cv + 0.1
    unbounded = replay(rec)
    assert unbounded.best and not math.isnan(unbounded.cv)


def test_a_replayed_budget_spent_before_the_first_fit_still_ends_with_the_baseline():
    """gss at 5 s: preparing (3.8 s) and new children (1.5 s) leave nothing; the baseline's
    first rung runs anyway and is what the run returns (never "no model finished")."""
    out = replay(Recording.load(RECORDED / "gss.json.gz"), Budget(wall_s=5.0))
    assert out.best == "baseline (dummy)" and out.rows == 1_828
    assert all(r.status == "skipped" for r in out.results)


def test_a_done_rule_that_kills_the_fits_in_flight_leaves_the_finished_models_their_plots():
    """A target met while a dear model's fits run: they are killed (waiting would cost more
    than new children), but the finished models' diagnostics still run (the board's ★ had no
    plots when the kill cleared them as if the time were up)."""
    def fits(base: float, seconds: float):
        return {(r, k): (int(rows * 0.8), seconds * rows / 1_000, base + 0.02 * r + 0.001 * k)
                for r, rows in enumerate(RUNGS) for k in range(5)}

    rec = Recording("toy", RUNGS, (5, 5, 5), (
        RecordedModel("base", 0, True, fits=fits(0.5, 0.01)),
        RecordedModel("lin", 1, fits=fits(0.70, 0.05)),
        RecordedModel("svm", 3, fits=fits(0.72, 2.0))))
    out = replay(rec, Budget(target_score=0.74))
    names = [d for _, d in out.decisions if not isinstance(d, Fit)]
    assert names[:2] == [Stop("target"), Kill(stopped=True)]
    assert Diagnose("lin") in names[2:] and out.stop_rule == "target"
