"""Exercises are data: the bundled catalogue, clear errors for broken files, and a new exercise from a TOML
file alone (or taught from a few recordings) is coached like the bundled ones."""
from __future__ import annotations

import re

import pytest

from coach.errors import ExerciseError
from coach.exercises import get_exercise, load_catalogue, load_exercise_file
from coach.paths import assets_dir
from coach.models import ModelStore
from coach.session import Coach
from synth import squat_set

REQUIRED = {"squat", "push-up", "lunge", "bicep-curl", "shoulder-press", "plank", "sit-up", "jumping-jack",
            "pull-up", "dip"}


def test_bundled_catalogue():
    cat = load_catalogue([assets_dir() / "exercises"])
    assert REQUIRED <= set(cat)
    for ex_id, ex in cat.items():
        assert ex.source.endswith(f"{ex_id}.toml")
        assert (ex.kind == "hold") == (ex.signal is None)
        assert ex.preferred_view in ex.views
        for f in ex.faults:
            assert f.cue and f.evidence, f"{ex_id}:{f.code} needs a cue and evidence text"
    assert cat["plank"].kind == "hold"


@pytest.mark.parametrize("text,message", [
    ('id = "x"\nkind = "reps"\n[signal\n', "not valid TOML"),
    ('id = "Bad Id"\n', "lower-case letters"),
    ('id = "x"\nkind = "reps"\n', "needs a [signal] table"),
    ('id = "x"\n[signal]\nmeasure = "elbow_wiggle"\nturning_point = "max"\nfull_range = 10\n', "unknown measure 'elbow_wiggle'"),
    ('id = "x"\n[signal]\nmeasure = "knee_flexion"\nturning_point = "up"\nfull_range = 10\n', 'turning_point must be'),
    ('id = "x"\n[signal]\nmeasure = "knee_flexion"\nturning_point = "max"\nfull_range = 10\n'
     '[[faults]]\ncode = "c"\nmeasure = "knee_flexion"\ncue = "x"\nabove = 1\nbelow = 0\n', "exactly one of"),
    ('id = "x"\nviews = ["top"]\n[signal]\nmeasure = "knee_flexion"\nturning_point = "max"\nfull_range = 10\n', "unknown views"),
    ('id = "x"\n[signal]\nmeasure = "knee_flexion"\nturning_point = "max"\nfull_range = 10\n'
     '[[faults]]\ncode = "c"\nmeasure = "knee_flexion"\ncue = "x"\nabove = 1\n'
     'confirm = { measure = "hip_wobble", below = 1 }\n', "confirm: unknown measure 'hip_wobble'"),
    ('id = "x"\n[signal]\nmeasure = "knee_flexion"\nturning_point = "max"\nfull_range = 10\n'
     '[[faults]]\ncode = "c"\nmeasure = "knee_flexion"\ncue = "x"\nabove = 1\n'
     'confirm = { measure = "hip_flexion", at = "range_frac" }\n', "confirm: give exactly one of"),
    ('id = "x"\n[signal]\nmeasure = "knee_flexion"\nturning_point = "max"\nfull_range = 10\n'
     '[[faults]]\ncode = "c"\nmeasure = "knee_flexion"\ncue = "x"\nabove = 1\nconfirm = "hip_flexion"\n',
     "confirm: write it as a table"),
])
def test_broken_exercise_files_say_what_to_fix(tmp_path, text, message):
    p = tmp_path / "x.toml"
    p.write_text(text)
    with pytest.raises(ExerciseError, match=re.escape(message)) as e:
        load_exercise_file(p)
    assert str(p) in str(e.value)


def test_taught_exercise_files_keep_every_rule():
    """An exercise taught on top of a bundled one is written out as TOML and read back: the fault rules,
    confirming measures included, survive the round trip."""
    import tomllib

    from coach.exercises import parse_exercise
    from coach.teach import _toml

    cat = load_catalogue([assets_dir() / "exercises"])
    assert any(f.confirm for f in cat["push-up"].faults)
    for ex in cat.values():
        if ex.kind != "reps":
            continue
        back = parse_exercise(tomllib.loads(_toml(ex, {})), "round trip")
        assert back.faults == ex.faults, ex.id


def test_unknown_exercise_lists_the_ids():
    with pytest.raises(ExerciseError, match="choose one of: .*squat"):
        get_exercise("burpee", load_catalogue([assets_dir() / "exercises"]))


def test_new_exercise_from_a_toml_file_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("COACH_HOME", str(tmp_path))
    (tmp_path / "exercises").mkdir()
    text = (assets_dir() / "exercises" / "squat.toml").read_text()
    text = text.replace('id = "squat"', 'id = "goblet-squat"').replace('name = "Squat"', 'name = "Goblet squat"')
    (tmp_path / "exercises" / "goblet-squat.toml").write_text(text)
    (tmp_path / "exercises" / "broken.toml").write_text("id = ")  # a broken user file is skipped, not fatal
    cat = load_catalogue()
    assert "goblet-squat" in cat and "squat" in cat and "broken" not in cat
    seq, _ = squat_set(4, depth_deg=125)
    coach = Coach("goblet-squat", catalogue=cat, models=ModelStore([]))
    for r in seq.results():
        coach.process(r)
    coach.finish()
    assert coach.rep_count == 4 and coach.exercise.name == "Goblet squat"


def test_teach_a_new_movement_from_recordings(tmp_path, monkeypatch):
    """Taught from two recordings of good reps (landmark files here): the rep signal is found, the exercise
    file and model are written to the user's folder, and the coach then counts and judges that movement."""
    from coach.io import save_npz
    from coach.teach import teach_exercise

    monkeypatch.setenv("COACH_HOME", str(tmp_path))
    files = []
    for seed in (1, 2):
        seq, _ = squat_set(5, depth_deg=120, seed=seed)
        files.append(save_npz(seq, tmp_path / f"good{seed}.npz"))
    result = teach_exercise("Wall sit squat", files, steps=120)
    ex = result.exercise
    assert ex.id == "wall-sit-squat" and result.reps_found >= 8
    assert ex.signal.measure.startswith(("knee", "hip"))
    assert (tmp_path / "exercises" / "wall-sit-squat.toml").is_file()
    assert (tmp_path / "models" / "wall-sit-squat" / "model.json").is_file()
    cat = load_catalogue()
    assert "wall-sit-squat" in cat
    seq, _ = squat_set(3, depth_deg=120, seed=7)
    coach = Coach("wall-sit-squat", catalogue=cat)
    assert coach._model is not None  # the taught simulator is used
    for r in seq.results():
        coach.process(r)
    coach.finish()
    assert coach.rep_count == 3
    assert all(r.model is not None for r in coach.reports)


def test_teach_rejects_videos_without_reps(tmp_path, monkeypatch):
    from coach.io import save_npz
    from coach.teach import TeachError, teach_exercise
    from synth import render, squat_pose

    monkeypatch.setenv("COACH_HOME", str(tmp_path))
    still = save_npz(render([squat_pose(5.0)] * 90), tmp_path / "still.npz")
    with pytest.raises(TeachError, match="no repeated movement|found 0"):
        teach_exercise("Standing", [still], steps=50)
    assert not (tmp_path / "exercises").exists() or not list((tmp_path / "exercises").glob("*.toml"))
