"""The coaching core on synthetic bodies whose truth is known: rep counts, partial reps, faults named with
their evidence, no faults on clean reps, no reps from walking or fidgeting, recognition, cues."""
from __future__ import annotations

import numpy as np
import pytest

from coach.exercises import get_exercise
from coach.models import ModelStore
from coach.reps import count_reps
from coach.session import Coach
from synth import pushup_set, render, squat_pose, squat_set, walking


def run(seq, exercise="auto"):
    coach = Coach(exercise, models=ModelStore([]), use_model=False, image_size=seq.image_size)
    feedback = [coach.process(r) for r in seq.results()]
    coach.finish()
    return coach, feedback


@pytest.mark.parametrize("fps", [25.0, 30.0, 60.0])
def test_clean_deep_squats_counted_exactly_without_faults(fps):
    seq, turns = squat_set(5, depth_deg=125, fps=fps)
    coach, _ = run(seq, "squat")
    assert coach.rep_count == 5 and coach.partial_count == 0
    assert all(not r.faults for r in coach.reports), [r.faults for r in coach.reports]
    assert all(r.quality == 100 for r in coach.reports)
    # turning points within 0.15 s of the truth, whatever the frame rate
    np.testing.assert_allclose([r.rep.turn_s for r in coach.reports], turns, atol=0.15)
    assert all(r.cue == "Good squat!" for r in coach.reports)


def test_shallow_squats_named_with_evidence():
    seq, _ = squat_set(4, depth_deg=70)
    coach, _ = run(seq, "squat")
    assert coach.rep_count == 4
    for r in coach.reports:
        assert [f.code for f in r.faults] == ["shallow_depth"]
        assert "thigh lengths above the knees" in r.faults[0].evidence
        assert r.quality < 100
    assert coach.reports[0].cue.startswith("Sit deeper")
    assert coach.reports[-1].cue.startswith("Still shallow")  # repeated faults escalate


def test_knees_caving_seen_from_the_front_only():
    seq, _ = squat_set(3, depth_deg=125, view="front", knee_in=0.12)
    coach, _ = run(seq, "squat")
    assert coach.rep_count == 3
    assert all("knees_caving" in [f.code for f in r.faults] for r in coach.reports)
    seq, _ = squat_set(3, depth_deg=125, view="front")
    coach, _ = run(seq, "squat")
    assert coach.rep_count == 3 and not any(r.faults for r in coach.reports)


def test_sagging_hips_in_push_ups_cm_evidence():
    seq, _ = pushup_set(4, sag_m=0.16)
    coach, _ = run(seq, "push-up")
    assert coach.rep_count == 4
    for r in coach.reports:
        assert r.faults[0].code == "hips_sag"
        assert " cm below the shoulder-ankle line" in r.faults[0].evidence
    assert coach.reports[0].cue == "Brace: keep hips in line with shoulders"
    clean, _ = pushup_set(4)
    coach, _ = run(clean, "push-up")
    assert coach.rep_count == 4 and not any(r.faults for r in coach.reports)


def test_partial_rep_reported_as_partial_not_counted():
    # the third squat only goes a third of the way down; the set ends mid-descent
    seq, _ = squat_set(4, depth_deg=125, depths=[1, 1, 0.35, 1])
    coach, _ = run(seq, "squat")
    assert coach.rep_count == 3 and coach.partial_count == 1
    partial = [r for r in coach.reports if r.rep.partial][0]
    assert partial.rep.reason == "cut short" and partial.quality <= 50
    assert partial.cue  # told to finish the rep
    seq, _ = squat_set(3, depth_deg=125, end_rest_s=0.0, depths=[1, 1, 1])
    cut = seq.slice(0, len(seq) - int(0.6 * seq.fps))  # recording stops on the way up from the 3rd bottom
    coach, _ = run(cut, "squat")
    assert coach.rep_count + coach.partial_count == 3


def test_no_reps_from_walking_or_fidgeting():
    coach, feedback = run(walking(), "auto")
    assert coach.rep_count == 0 and coach.exercise is None
    assert not any(f.cue for f in feedback if f.cue and f.cue.kind in ("fault", "good"))
    coach, _ = run(walking(), "lunge")
    assert coach.rep_count == 0
    # small knee wobbles while standing (15 degrees) are not squats
    wobble = [squat_pose(15 * (0.5 - 0.5 * np.cos(2 * np.pi * i / 40))) for i in range(200)]
    coach, _ = run(render(wobble), "squat")
    assert coach.rep_count == 0 and coach.partial_count == 0


def test_rest_between_sets_and_setup_before():
    first, _ = squat_set(3, depth_deg=125, rest_s=3.0, end_rest_s=4.0)
    coach, _ = run(first, "squat")
    assert coach.rep_count == 3


@pytest.mark.parametrize("maker,expected", [(lambda: squat_set(3, depth_deg=125)[0], "squat"),
                                            # a shallow squat with the arms held out in front is no front raise
                                            (lambda: squat_set(3, depth_deg=90)[0], "squat"),
                                            (lambda: pushup_set(3)[0], "push-up")])
def test_exercise_recognised_within_the_first_reps(maker, expected):
    seq = maker()
    coach, feedback = run(seq, "auto")
    assert coach.exercise is not None and coach.exercise.id == expected and coach.recognised
    said = [f for f in feedback if f.cue is not None and f.cue.kind == "info"]
    assert said and said[0].cue.text.startswith("Looks like")
    assert said[0].t_s < 5.5  # recognised during the second rep at the latest
    assert coach.rep_count == 3  # the reps before it was recognised are counted too


def test_no_form_cue_when_body_not_in_view():
    vis = np.full(33, 0.95)
    for name in ("left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
                 "left_foot_index", "right_foot_index"):
        from coach.types import LM

        vis[LM[name]] = 0.05
    seq, _ = squat_set(3, depth_deg=125, visibility=vis)
    coach, feedback = run(seq, "squat")
    kinds = {f.cue.kind for f in feedback if f.cue is not None}
    assert "fault" not in kinds and "good" not in kinds
    messages = {f.message for f in feedback if f.status == "not_visible"}
    assert any("Step back" in m for m in messages)


def test_streaming_counter_matches_offline_replay():
    seq, _ = squat_set(4, depth_deg=125, fps=30.0)
    ex = get_exercise("squat")
    from coach.measures import Frames, compute

    signal = compute(ex.signal.measure, Frames.of(seq))
    offline = count_reps(seq.t_s, signal, ex.signal)
    coach, feedback = run(seq, "squat")
    assert [round(r.turn_s, 3) for r in offline] == [round(r.rep.turn_s, 3) for r in coach.reports]
    # each rep is reported within half a second of its end
    for r in coach.reports:
        seen = next(f.t_s for f in feedback if any(n.index == r.index for n in f.new_reps))
        assert 0 <= seen - r.rep.end_s < 0.5


def test_rep_metrics_for_history():
    seq, _ = squat_set(3, depth_deg=125, period_s=2.0)
    coach, _ = run(seq, "squat")
    m = coach.reports[1].metrics
    assert 1.2 < m["duration_s"] < 2.2
    assert m["eccentric_s"] > 0 and m["concentric_s"] > 0
    assert abs(m["eccentric_s"] - m["concentric_s"]) < 0.4  # a symmetric synthetic rep
    assert m["rom"] > 100 and m["concentric_velocity_m_s"] > 0.1
    summary = coach.set_summary()
    assert summary["rep_count"] == 3 and summary["good_reps"] == 3 and summary["most_frequent_fault"] is None


def test_forest_verdict_for_one_rep_is_the_forests_own():
    """The single-rep fast path gives predict_proba's numbers exactly, missing measures (NaN) included."""
    from sklearn.ensemble import RandomForestClassifier

    from coach.models import forest_proba

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6))
    X[::7, 5] = np.nan
    y = np.where(np.nan_to_num(X[:, 0] + X[:, 5]) > 0, "wrong", "correct")
    forest = RandomForestClassifier(n_estimators=25, random_state=0).fit(X, y)
    T = rng.normal(size=(40, 6)) * 2
    T[::3, 5] = np.nan
    for x in T:
        assert np.array_equal(forest_proba(forest, x), forest.predict_proba(x[None])[0])
