"""The coaching core on the real recordings (COACH_DATA): rep counts against the counts made by eye, push-up
diagnosis separating correct from wrong clips, the labelled landmark tables scored by `coach evaluate`, and
`coach train` producing a model the coach then uses. Thresholds sit a little under what was measured, so a
regression fails; the measured figures are in the benchmark output (benchmarks/bench_coach.py)."""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def rep_results(data_dir):
    from coach.evaluate import evaluate_rep_counting

    return evaluate_rep_counting(data_dir)


def test_workouttracker_rep_counts(rep_results):
    rows = [r for r in rep_results["clips"] if r["clip"].startswith("workouttracker/")]
    assert len(rows) == 6
    exact = [r["counted"] == r["truth"] for r in rows]
    squats_dips = [r for r in rows if r["exercise"] in ("squat", "dip")]
    assert all(r["counted"] == r["truth"] for r in squats_dips), squats_dips
    assert sum(exact) >= 4, rows
    assert all(abs(r["counted"] - r["truth"]) <= 1 for r in rows), rows


def test_rep_counts_over_all_counted_clips(rep_results):
    s = rep_results["per_exercise"]["all"]
    assert s["clips"] >= 29
    assert s["exact"] >= 0.8 and s["off_by_one"] >= 0.93
    assert s["recognised"] >= 0.8  # the exercise recognised when not given (measured 0.86)
    for ex in ("squat", "lunge", "jumping-jack", "shoulder-press", "sit-up"):
        assert rep_results["per_exercise"][ex]["exact"] == 1.0, ex


def test_rep_counts_per_source_and_seen_differently(rep_results):
    """Every collection of clips (other people, cameras, places) is scored on its own; the same clips mirrored
    give the same counts, and at half the frame rate or filmed by a camera tilted 10 degrees most (measured:
    mirrored 29 of 29 the same; half the rate 27 of 29: a 46-frame clip, and one rep of 22 at the
    two-thirds-of-typical limit; tilted clockwise 27 of 29, anticlockwise 25: measured against the picture's
    vertical, a push-up's chest travels less far, a sit-up leaves its posture range, a pull-up's hips seem to move
    and a curl's last short rep looks full; a curl's rep sits at the two-thirds limit, a crunch's at its full range)."""
    per = rep_results["per_source"]
    assert {"workouttracker", "chauhan08__Fitness", "kaiakol__computervision"} <= set(per)
    assert sum(s["clips"] for s in per.values()) == rep_results["per_exercise"]["all"]["clips"]
    assert all(s["off_by_one"] >= 0.85 for s in per.values()), per
    seen = rep_results["seen_differently"]
    assert seen["mirrored"]["same"] >= 0.96, seen
    assert seen["half_rate"]["same"] >= 0.85 and seen["half_rate"]["exact"] >= 0.8, seen
    for k in ("tilted_cw", "tilted_ccw"):
        assert seen[k]["same"] >= 0.8 and seen[k]["exact"] >= 0.75, seen


def test_no_reps_no_cues_when_not_exercising(rep_results):
    assert rep_results["no_exercise"], "the no-exercise clip is missing"
    for r in rep_results["no_exercise"]:
        assert r["reps"] == 0 and r["cues"] == 0


def test_pushup_measures_separate_wrong_from_correct(data_dir):
    """Without any learning: the share of reps that are not good (a measured fault, or cut short) is higher in
    the wrong clips."""
    from coach.datasets import cached_landmarks, pushfit_clips
    from coach.models import ModelStore
    from coach.session import Coach

    share = {"correct": [], "wrong": []}
    for c in pushfit_clips(data_dir):
        seq = cached_landmarks(c.path)
        coach = Coach("push-up", models=ModelStore([]), use_model=False, image_size=seq.image_size)
        for r in seq.results():
            coach.process(r)
        coach.finish()
        reps = [r for r in coach.reports if not r.rep.partial or r.rep.reason == "cut short"]
        if reps:
            share[c.form].append(np.mean([bool(r.faults) or r.rep.partial for r in reps]))
    assert len(share["correct"]) > 40 and len(share["wrong"]) > 30
    assert np.mean(share["wrong"]) > np.mean(share["correct"]) + 0.1
    assert np.mean(np.array(share["correct"]) < 0.5) >= 0.7  # most correct clips are called correct


def test_landmark_tables_scored(data_dir):
    from coach.evaluate import evaluate, format_report

    res = evaluate(data_dir, parts=("tables",))
    report = format_report(res)
    assert "Pose Trainer" in report and "Plank" in report and "Squat up/down" in report
    assert res["squat_phase"]["accuracy"] > 0.8
    assert res["plank"]["specificity"] > 0.5
    for ex in ("bicep-curl", "front-raise", "shoulder-shrug"):
        s = res["pose_trainer"][ex]
        assert s["n"] >= 16 and s["reps_found"] >= 0.9 * s["n"]  # a rep in nearly every file
        assert s["specificity"] >= 0.8  # good form is not called bad
        assert s["sensitivity"] >= 0.75  # and bad form is named (measured 0.80-0.88)


def test_train_then_coach_uses_the_model(data_dir, tmp_path, monkeypatch):
    """`coach train` on a few PushFit clips writes a model folder the coach loads and uses for verdicts."""
    import os

    from coach.models import ExerciseModel, ModelStore
    from coach.session import Coach
    from coach.train import train_exercise
    from coach.datasets import cached_landmarks

    train = tmp_path / "data"
    for form, names in (("correct", ["correct51", "correct52", "correct53", "correct54", "correct66"]),
                        ("wrong", ["wrong52", "wrong53", "wrong63", "wrong78"])):
        (train / form).mkdir(parents=True)
        for n in names:
            os.symlink(data_dir / "pushfit/videos" / form / f"{n}.mp4", train / form / f"{n}.mp4")
    out = tmp_path / "models" / "push-up"
    result = train_exercise("push-up", train, out, steps=150)
    assert "correct: 5 recordings" in result.report()
    model = ExerciseModel.load(out).ready()
    assert model.classifier is not None and set(model.classes) == {"correct", "wrong"}
    assert model.meta["training_data"]["labels"]["wrong"]["reps"] > 0
    seq = cached_landmarks(data_dir / "pushfit/videos/wrong/wrong63.mp4")
    coach = Coach("push-up", models=ModelStore([tmp_path / "models"]), image_size=seq.image_size)
    for r in seq.results():
        coach.process(r)
    coach.finish()
    verdicts = [r.model for r in coach.reports if not r.rep.partial]
    assert verdicts and all(v is not None and 0.0 <= v.p_fault <= 1.0 for v in verdicts)


def test_a_phone_video_at_a_variable_frame_rate_is_timed_as_filmed(data_dir, tmp_path):
    """A phone records fewer frames when the light dims: the same real clip with every frame of its first half and
    every other frame of its second, each at the time it was filmed, gives the same reps at the same times and
    tempo as the original. Timed by frame index over the average rate, its middle was 2.6 s late."""
    from coach.analyze import analyze_video
    from coach.video import AnnotatedVideoWriter, VideoFileSource

    clip = data_dir / "more_exercises/chauhan08__Fitness/shoulder-press.mp4"
    src = VideoFileSource(clip)
    half = src.info.duration_s / 2
    phone = tmp_path / "phone.mp4"
    with AnnotatedVideoWriter(phone, src.info.fps, (src.info.width, src.info.height), crf=18) as out:
        for f in src:
            if f.t_s < half or f.index % 2 == 0:
                out.write(f.image, f.t_s)

    def reps(video):
        s = analyze_video(video, tmp_path / video.stem, exercise="shoulder-press", write_video=False,
                          progress=False).summary
        return [r for r in s["reps"] if not r["partial"]]

    want, got = reps(clip), reps(phone)
    assert len(want) == 10 and len(got) == len(want), (want, got)
    for w, g in zip(want, got):
        assert abs(g["start_s"] - w["start_s"]) < 0.2 and abs(g["end_s"] - w["end_s"]) < 0.2, (w, g)
        assert abs(g["turn_s"] - w["turn_s"]) < 0.2, (w, g)
        for k in ("eccentric_s", "concentric_s"):  # tempo
            assert abs(g["metrics"][k] - w["metrics"][k]) < 0.25, (k, w, g)


def test_a_session_of_two_sets_is_split_at_the_rest(data_dir):
    """A real set of 10 presses, 25 s standing still, and the same set again: two sets of 10, each with its own
    tempo and velocity loss (the first one's that of the clip alone); a 5 s pause keeps them one set of 20."""
    import dataclasses

    from coach.datasets import cached_landmarks
    from coach.session import replay

    one = cached_landmarks(data_dir / "more_exercises/chauhan08__Fitness/shoulder-press.mp4")

    def session(pause_s):
        dt = 1.0 / one.fps
        still = np.arange(1, round(pause_s / dt) + 1)
        t = np.concatenate([one.t_s, one.t_s[-1] + still * dt, one.t_s + one.t_s[-1] + (len(still) + 1) * dt])

        def cat(a):
            return np.concatenate([a, np.repeat(a[-1:], len(still), axis=0), a])
        return dataclasses.replace(one, t_s=t, image_xy=cat(one.image_xy), world_xyz=cat(one.world_xyz),
                                   visibility=cat(one.visibility), present=cat(one.present))

    coach = replay("shoulder-press", session(25.0))
    sets = coach.sets()
    assert [s["rep_count"] for s in sets] == [10, 10], sets
    assert sets[1]["rest_before_s"] > 25.0
    alone = replay("shoulder-press", one).set_summary()  # the first set is the clip itself
    assert sets[0]["velocity_loss_pct"] == pytest.approx(alone["velocity_loss_pct"], abs=1)
    assert sets[0]["mean_duration_s"] == pytest.approx(sets[1]["mean_duration_s"], abs=0.1)
    assert coach.set_summary()["velocity_loss_pct"] == max(s["velocity_loss_pct"] for s in sets)
    assert [s["rep_count"] for s in replay("shoulder-press", session(5.0)).sets()] == [20]


def test_a_recording_of_two_exercises_analysed_as_one(data_dir):
    """Jumping jacks, 3 s out of view, then sit-ups, analysed with "auto" as `coach analyze` does (one coach for
    the recording): the jacks are counted, nothing of the sit-ups is counted as a jack (the counter read some of
    them as half jacks before), and the summary says from when the sit-ups are not counted."""
    from pathlib import Path
    from types import SimpleNamespace

    from coach.analyze import build_summary
    from coach.datasets import cached_landmarks
    from coach.models import ModelStore
    from coach.session import Coach

    jacks = cached_landmarks(data_dir / "more_exercises/kaiakol__computervision/jumpingjack_correct_007.mp4")
    situps = cached_landmarks(data_dir / "more_exercises/Joe-Lo0716__pose_test/situp.mp4")
    seq = jacks.then(situps, 3.0)
    coach = Coach("auto", models=ModelStore([]), use_model=False, image_size=seq.image_size)
    for r in seq.results():
        coach.process(r)
    coach.finish()
    info = SimpleNamespace(path=Path("workout.mp4"), fps=seq.fps, width=640, height=480)
    s = build_summary(seq, coach, info, Path("pose.task"), 1, [])
    assert (s["exercise"], s["rep_count"], s["partial_count"]) == ("jumping-jack", 3, 0), s["reps"]
    assert s["view"] == "front"  # the jacks' view (the sit-ups, read as half jacks, are filmed side-on)
    start = jacks.duration_s + 3.0
    assert s["exercise_change"]["exercise"] == "sit-up" and start < s["exercise_change"]["from_s"] < start + 5.0
    assert all(r["end_s"] < start for r in s["reps"])
    assert [n for n in s["not_counted"] if n["turn_s"] >= start] == []  # sit-ups are not "jacks not counted"
    change_seen = next(c["t_s"] for c in s["cues"] if c["text"] == "Looks like sit-up / crunch now")
    assert [c for c in s["cues"] if c["t_s"] > change_seen] == []  # no set-up prompt for jumping jacks after it


def test_workouts_of_two_exercises(rep_results):
    """Each clip followed by a clip of another exercise (3 s out of view between): with "auto", the change is seen
    and both are counted as each clip is on its own in most (measured 21 of 26 whose clips are recognised on their
    own); no change is ever seen inside a single-exercise clip (these 29 and the 101 PushFit push-ups)."""
    w = rep_results["workouts"]
    assert w["n"] == rep_results["per_exercise"]["all"]["clips"]
    assert w["changes_in_single_clips"] == [] and w["single_clips"] == w["n"] + 101  # and the PushFit clips
    assert w["as_alone"] >= 0.75 and w["exact"] >= 0.6
