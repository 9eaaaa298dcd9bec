"""One exercise after another, on synthetic bodies whose truth is known: when the person chose "auto", the coach
sees them move on to another exercise, says so, and hands over to a coach of the new one that has already
counted the reps it saw; nothing of one exercise is counted as the other; no change is seen inside one set."""
from __future__ import annotations

import numpy as np
import pytest

from coach.models import ModelStore
from coach.session import Coach, replay_workout
from synth import arm_set, pushup_pose, pushup_set, render, squat_set, two_squat_sets


def _coach(exercise="auto"):
    return Coach(exercise, models=ModelStore([]), use_model=False, say_exercise=True)


def chain(seq):
    return [(c.exercise.id if c.exercise else None, c.rep_count, c.partial_count) for c in replay_workout(seq)]


@pytest.mark.parametrize("gap_s", [0.0, 3.0])
def test_squats_then_push_ups_are_two_exercises_counted_whole(gap_s):
    squats, _ = squat_set(5, depth_deg=120)
    pushups, turns = pushup_set(4)
    seq = squats.then(pushups, gap_s)
    pushups_start = squats.duration_s + 1 / 30 + gap_s
    assert chain(seq) == [("squat", 5, 0), ("push-up", 4, 0)]
    coaches = replay_workout(seq, say_exercise=True)
    first, second = coaches
    ex, since = first.switch
    assert ex.id == "push-up" and pushups_start - 0.1 <= since <= pushups_start + turns[0]  # its first rep
    assert second.recognised and second.switch is None
    np.testing.assert_allclose([r.rep.turn_s for r in second.reports], [pushups_start + t for t in turns], atol=0.15)
    assert [r.rep.index for r in second.reports] == [1, 2, 3, 4]  # a set of its own
    said = [c.text for c in first.cue_log if c.kind == "info"]
    assert said[-1] == "Looks like push-up now"
    # the squat coach counted nothing after the change, and has nothing in progress to add at the end
    assert all(r.rep.end_s < since for r in first.reports)


def test_each_way_and_three_in_a_row():
    squats, _ = squat_set(4, depth_deg=120)
    pushups, _ = pushup_set(4)
    assert chain(pushups.then(squats, 2.0)) == [("push-up", 4, 0), ("squat", 4, 0)]
    assert chain(squats.then(pushups, 2.0).then(squats, 2.0)) == [("squat", 4, 0), ("push-up", 4, 0),
                                                                 ("squat", 4, 0)]


def test_one_exercise_is_never_seen_to_change():
    long_set, _ = squat_set(12, depth_deg=120)
    sets, _ = two_squat_sets(rest_s=25.0)
    pushups, _ = pushup_set(8, period_s=1.6)
    for seq, want in ((long_set, ("squat", 12, 0)), (sets, ("squat", 7, 0)), (pushups, ("push-up", 8, 0))):
        assert chain(seq) == [want]


def test_one_rep_of_something_else_is_not_a_change():
    # a single push-up between squats (or anything done once) does not end the squats
    squats, _ = squat_set(4, depth_deg=120)
    one, _ = pushup_set(1)
    assert chain(squats.then(one, 1.0).then(squats, 1.0)) == [("squat", 8, 0)]


def test_a_chosen_exercise_is_kept():
    squats, _ = squat_set(5, depth_deg=120)
    pushups, _ = pushup_set(4)
    coach = _coach("squat")
    for r in squats.then(pushups, 2.0).results():
        coach.process(r)
    coach.finish()
    assert coach.switch is None and coach.rep_count == 5 and coach.exercise.id == "squat"
    with pytest.raises(ValueError, match="no change of exercise"):
        coach.handoff()


def test_squats_then_a_plank_held():
    # a hold is a change only once held still for SWITCH_HOLD_S (the top of a push-up, held briefly, is a plank)
    squats, _ = squat_set(4, depth_deg=120)
    plank = render([pushup_pose(0.0)] * (14 * 30), 30.0)
    got = replay_workout(squats.then(plank, 2.0))
    assert [(c.exercise.id, c.rep_count) for c in got] == [("squat", 4), ("plank", 0)]
    hold = got[1].set_summary()["hold"]
    assert hold["in_position_s"] > 12.5 and hold["quality"] == 100  # the whole hold, from its start
    pause, _ = pushup_set(3)
    top = render([pushup_pose(0.0)] * (5 * 30), 30.0)
    assert chain(pause.then(top).then(pause)) == [("push-up", 6, 0)]  # 5 s at the top is a pause


def test_the_parts_of_a_recording_of_several_exercises_cover_it_in_order():
    # what `coach analyze` lists as the video's parts (summary "parts"): squats, 2 s out of view, a plank held
    # 14 s, 2 s out of view, push-ups; each part from where the last ends, the last to the end of the video
    from coach.analyze import _parts

    squats, _ = squat_set(4, depth_deg=120)
    plank = render([pushup_pose(0.0)] * (14 * 30), 30.0)
    pushups, turns = pushup_set(4)
    seq = squats.then(plank, 2.0).then(pushups, 2.0)
    coaches = replay_workout(seq)
    parts = _parts(seq, coaches, 30.0)
    assert [(p["part"], p["exercise"], p["kind"], p["rep_count"]) for p in parts] == [
        (1, "squat", "reps", 4), (2, "plank", "hold", 0), (3, "push-up", "reps", 4)]
    plank_start = squats.duration_s + 1 / 30 + 2.0
    pushups_start = plank_start + plank.duration_s + 1 / 30 + 2.0
    assert parts[0]["from_s"] == 0.0 and parts[-1]["to_s"] == pytest.approx(seq.duration_s + 1 / 30, abs=1e-6)
    assert [p["to_s"] for p in parts[:-1]] == [p["from_s"] for p in parts[1:]]
    assert plank_start - 0.1 <= parts[1]["from_s"] <= plank_start + 0.5  # the hold from its start
    assert pushups_start - 0.1 <= parts[2]["from_s"] <= pushups_start + turns[0]  # in the push-ups' first rep
    assert parts[1]["in_position_s"] > 12.5 and parts[0]["in_position_s"] is None
    assert [p["summary"] for p in parts] == ["summary.json", "part-2-plank/summary.json",
                                             "part-3-push-up/summary.json"]
    for p, c in zip(parts, coaches):  # every rep of a part is inside it
        assert all(p["from_s"] <= r.rep.start_s and r.rep.end_s <= p["to_s"] + 1e-6 for r in c.reports)


def test_what_the_last_exercise_was_doing_at_the_end_is_not_counted_for_the_one_before():
    # curls, then push-ups until the recording stops at the bottom of the 4th: the curl coach's counter, which
    # read the push-ups' bending elbows as a curl under way, adds nothing when it is finished; the push-up coach
    # reports the 4th as partial
    curls, _ = arm_set("curl", 4)
    pushups, turns = pushup_set(4)
    bottom = int(round((turns[-1]) * 30))
    got = replay_workout(curls.then(pushups.slice(0, bottom + 1), 2.0))
    assert [(c.exercise.id, c.rep_count, c.partial_count) for c in got] == [("bicep-curl", 4, 0), ("push-up", 3, 1)]


def test_a_recording_analysed_as_one_exercise_says_where_the_next_one_begins():
    # `coach analyze` and the Review page analyse a recording as one exercise: the summary says where the person
    # moved on to another, and how to count it, instead of leaving those reps out without a word
    import json
    from pathlib import Path
    from types import SimpleNamespace

    import jsonschema

    from coach.analyze import build_summary

    squats, _ = squat_set(5, depth_deg=120)
    pushups, _ = pushup_set(4)
    seq = squats.then(pushups, 2.0)
    coach = _coach()
    for r in seq.results():
        coach.process(r)
    coach.finish()
    info = SimpleNamespace(path=Path("workout.mp4"), fps=30.0, width=640, height=480)
    summary = build_summary(seq, coach, info, Path("pose.task"), 1, [])
    summary["files"] = {}
    schema = json.loads((Path(__file__).parent.parent / "assets/schemas/summary.schema.json").read_text())
    jsonschema.validate(summary, schema)
    assert summary["exercise"] == "squat" and summary["rep_count"] == 5
    change = summary["exercise_change"]
    assert change["exercise"] == "push-up" and squats.duration_s < change["from_s"] < squats.duration_s + 4.0
    m, s = divmod(change["from_s"], 60)
    assert (f"from {int(m)}:{s:04.1f} this looks like push-up, which is not counted here: analyse the video again "
            f"with the exercise set to Push-up (push-up) to count it") in summary["warnings"]
    alone = _coach()
    for r in squats.results():
        alone.process(r)
    alone.finish()
    assert build_summary(squats, alone, info, Path("pose.task"), 1, [])["exercise_change"] is None


def test_a_plank_held_then_squats_keeps_the_plank():
    # a plank held past SWITCH_HOLD_S, then squats: two exercises (a plank of a few seconds before push-ups is
    # still the top of the push-ups, replaced in place: see test_coaching)
    plank = render([pushup_pose(0.0)] * (12 * 30), 30.0)
    squats, _ = squat_set(4, depth_deg=120)
    got = replay_workout(plank.then(squats, 2.0))
    assert [(c.exercise.id, c.rep_count) for c in got] == [("plank", 0), ("squat", 4)]
    assert got[0].set_summary()["hold"]["in_position_s"] > 11.0
    short = render([pushup_pose(0.0)] * (4 * 30), 30.0)
    pushups, _ = pushup_set(4, rest_s=0.0)
    assert chain(short.then(pushups)) == [("push-up", 4, 0)]


def test_a_plank_then_push_ups_keeps_the_plank_time_to_where_the_push_ups_begin():
    # the top of a push-up is a plank's position: the seconds of push-ups before the change was seen are not
    # plank time
    plank = render([pushup_pose(0.0)] * (12 * 30), 30.0)
    pushups, _ = pushup_set(4, rest_s=0.5)
    got = replay_workout(plank.then(pushups, 2.0))
    assert [(c.exercise.id, c.rep_count) for c in got] == [("plank", 0), ("push-up", 4)]
    hold = got[0].set_summary()["hold"]
    assert 11.5 < hold["in_position_s"] < 13.0 and hold["in_position_span_s"][1] < 14.0 + 0.5 + 0.3


def test_the_time_of_a_change_reads_as_minutes_and_seconds():
    from coach.analyze import _clock

    assert [_clock(t) for t in (0.0, 13.46, 59.94, 59.97, 125.04, 3599.99)] == [
        "0:00.0", "0:13.5", "0:59.9", "1:00.0", "2:05.0", "60:00.0"]
