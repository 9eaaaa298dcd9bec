"""`coach analyze` on a recorded workout: jumping jacks, a second of nobody, then sit-ups (a video made from two
real clips). On "auto" each exercise is a part of its own, counted from the same pass over the video."""
from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from coach.paths import REPO_ROOT

from .conftest import two_exercise_video

SCHEMA = json.loads((REPO_ROOT / "assets/schemas/summary.schema.json").read_text())


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "coach.cli", *args], capture_output=True, text=True, timeout=600)


@pytest.mark.integration
def test_a_workout_video_is_analysed_in_parts_one_per_exercise(data_dir, tmp_path):
    import jsonschema

    video = two_exercise_video(data_dir, tmp_path / "workout.mp4")
    out = tmp_path / "out"
    proc = _cli("analyze", str(video), "--out", str(out), "--no-progress", "--no-video")
    assert proc.returncode == 0, proc.stderr
    first = json.loads((out / "summary.json").read_text())
    second = json.loads((out / "part-2-sit-up" / "summary.json").read_text())
    for s in (first, second):
        jsonschema.validate(s, SCHEMA)
        assert s["parts"] == first["parts"]
    parts = first["parts"]
    assert [(p["part"], p["exercise"], p["rep_count"], p["summary"]) for p in parts] == [
        (1, "jumping-jack", 3, "summary.json"), (2, "sit-up", 3, "part-2-sit-up/summary.json")]
    jacks_end = 9.0 + 1.0  # the jumping-jack clip is 9.0 s, then a second of nobody
    assert parts[0]["from_s"] == 0.0 and parts[0]["to_s"] == parts[1]["from_s"]
    assert jacks_end - 0.5 < parts[1]["from_s"] < jacks_end + 1.9  # before the first sit-up's turn (1.9 s in)
    assert parts[1]["to_s"] == pytest.approx(first["video"]["duration_s"], abs=0.05)
    # each part counts its own exercise, in its own span, numbered from 1
    assert (first["part"], first["exercise"], first["rep_count"], first["exercise_change"]["exercise"]) == (
        1, "jumping-jack", 3, "sit-up")
    assert (second["part"], second["exercise"], second["exercise_source"], second["rep_count"]) == (
        2, "sit-up", "recognised", 3)
    assert all(r["end_s"] <= parts[1]["from_s"] for r in first["reps"])
    assert all(n["turn_s"] < parts[1]["from_s"] for n in first["not_counted"])  # the sit-ups are not jacks
    assert [r["index"] for r in second["reps"]] == list(range(1, len(second["reps"]) + 1))
    assert len([r for r in second["reps"] if not r["partial"]]) == 3
    assert all(r["start_s"] >= parts[1]["from_s"] for r in second["reps"])
    assert not any("analyse the video again" in w for w in first["warnings"] + second["warnings"])
    # the part's own files: its reps and its report; the landmarks of the whole video stay in the first folder
    assert set(second["files"]) == {"summary", "reps_csv", "report"}
    with open(out / "part-2-sit-up" / "reps.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["index"] for r in rows] == [str(r["index"]) for r in second["reps"]]
    report = (out / "part-2-sit-up" / "report.html").read_text()
    assert "<h1>workout.mp4: Sit-up / crunch (recognised)</h1>" in report and "Part 2 of 2" in report
    assert "<b>2. Sit-up / crunch: 3 reps (3 good)" in report
    assert "part 2 of 2" in proc.stdout and "2. Sit-up / crunch: 3 reps" in proc.stdout
    # analysed again as one chosen exercise into the same folder: one part, the old part's folder gone
    proc = _cli("analyze", str(video), "--out", str(out), "--no-progress", "--no-video", "--exercise", "jumping-jack")
    assert proc.returncode == 0, proc.stderr
    again = json.loads((out / "summary.json").read_text())
    assert (again["parts"], again["part"], again["exercise_source"]) == (None, None, "given")
    assert not (out / "part-2-sit-up").exists()
