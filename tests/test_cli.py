"""`coach analyze` as a user runs it: real clips end to end, and every kind of bad input gets one clear line,
a non-zero exit and nothing half-written."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from coach.cli import main
from coach.paths import REPO_ROOT

SCHEMA = json.loads((REPO_ROOT / "assets/schemas/summary.schema.json").read_text())


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "coach.cli", *args], capture_output=True, text=True, timeout=600)


def _one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith("analysing")]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("coach: error: ")
    return lines[0]


def _nothing_left(out: Path) -> None:
    """No output folder (the command made none, or removed the one it made), no half-written files."""
    leftovers = [p for p in out.parent.iterdir() if ".partial" in p.name]
    assert not leftovers, leftovers
    assert not out.exists(), list(out.iterdir())


def _write_video(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> Path:
    from coach.video import AnnotatedVideoWriter

    with AnnotatedVideoWriter(path, fps) as w:
        for i, f in enumerate(frames):
            w.write(f, i / fps)
    return path


def test_missing_video(tmp_path):
    proc = run_cli("analyze", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "out"))
    assert "not found" in _one_error_line(proc)
    _nothing_left(tmp_path / "out")


def test_not_a_video(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 100)
    proc = run_cli("analyze", str(fake), "--out", str(tmp_path / "out"))
    assert "cannot read" in _one_error_line(proc)
    _nothing_left(tmp_path / "out")


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    proc = run_cli("analyze", str(empty), "--out", str(tmp_path / "out"))
    line = _one_error_line(proc)
    assert "cannot read" in line or "no readable frames" in line


def test_truncated_video(tmp_path):
    rng = np.random.default_rng(0)
    good = _write_video(tmp_path / "good.mp4", [rng.integers(0, 255, (120, 160, 3), np.uint8) for _ in range(100)])
    data = good.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])  # faststart: the index survives, most frames do not
    proc = run_cli("analyze", str(cut), "--out", str(tmp_path / "out"))
    line = _one_error_line(proc)
    assert "truncated" in line or "cannot read" in line
    _nothing_left(tmp_path / "out")


def test_nobody_in_frame(tmp_path):
    video = _write_video(tmp_path / "wall.mp4", [np.full((240, 320, 3), 90 + i % 3, np.uint8) for i in range(30)])
    proc = run_cli("analyze", str(video), "--out", str(tmp_path / "out"))
    assert "nobody was visible" in _one_error_line(proc)
    _nothing_left(tmp_path / "out")
    mine = tmp_path / "client"  # a folder the user already had keeps what was in it
    mine.mkdir()
    (mine / "notes.txt").write_text("session 1")
    proc = run_cli("analyze", str(video), "--out", str(mine))
    assert "nobody was visible" in _one_error_line(proc)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"] and (mine / "notes.txt").read_text() == "session 1"


def test_unwritable_output(tmp_path):
    video = _write_video(tmp_path / "wall.mp4", [np.full((64, 64, 3), 90, np.uint8) for _ in range(5)])
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run_cli("analyze", str(video), "--out", str(blocker / "out"))
    assert "choose" in _one_error_line(proc)
    proc = run_cli("analyze", str(video), "--out", str(blocker))
    assert "not a folder" in _one_error_line(proc)


def test_unknown_exercise(tmp_path):
    video = _write_video(tmp_path / "wall.mp4", [np.full((64, 64, 3), 90, np.uint8) for _ in range(5)])
    proc = run_cli("analyze", str(video), "--exercise", "burpee", "--out", str(tmp_path / "out"))
    assert "unknown exercise 'burpee'" in _one_error_line(proc)


def test_main_returns_exit_code_without_raising(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "missing.mp4")]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.integration
def test_analyze_real_squat_clip(data_dir, tmp_path):
    import av

    from coach.export import read_trc
    from coach.io import load_npz

    clip = data_dir / "workouttracker/videos/squats/squat_17.mp4"
    out = tmp_path / "squat"
    proc = run_cli("analyze", str(clip), "--exercise", "squat", "--out", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "reps: 1 full" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    import jsonschema

    jsonschema.validate(summary, SCHEMA)
    assert summary["exercise"] == "squat" and summary["rep_count"] == 1 and summary["partial_count"] == 1
    full = [r for r in summary["reps"] if not r["partial"]]
    assert 2.0 < full[0]["turn_s"] < 2.8  # the bottom is at frames 56-66 of this 25 fps clip
    # one set, holding both reps (the partial one too), in the summary and in reps.csv
    assert [(s["index"], s["rep_count"], s["reps"]) for s in summary["sets"]] == [(1, 1, [1, 2])]
    assert [r["set"] for r in summary["reps"]] == [1, 1]
    with open(out / "reps.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["set"] for r in rows] == ["1", "1"] and list(rows[0])[-1] == "set"
    for name in summary["files"].values():
        assert (out / name).is_file()
    # the report to print or send: the clean rep pictured (the partial one is not), both in the table
    report = (out / "report.html").read_text()
    assert summary["files"]["report"] == "report.html" and "<h1>squat_17.mp4: Squat</h1>" in report
    assert report.count("<figure") == 1 and "<b>Rep 2</b>" in report and "data:image/jpeg;base64," in report
    assert report.count("<tr><td>") == 2
    # the annotated video is H.264 that browsers play: every input frame, then (when the recording ends in a
    # rep) the last frame held 1 s with the final count
    with av.open(str(out / "annotated.mp4")) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264" and s.codec_context.pix_fmt == "yuv420p"
        n = sum(1 for _ in c.decode(video=0))
    fps = summary["video"]["fps"]
    assert summary["video"]["frames"] <= n <= summary["video"]["frames"] + round(1.0 * fps)
    # the .trc holds the same world landmarks (OpenSim axes: y up, z towards the camera), to its precision
    seq = load_npz(out / "landmarks.npz")
    trc = read_trc(out / "markers.trc")
    hip = trc.marker("right_hip")  # Pose2Sim's Markers_BlazePose.xml names
    rows = trc.frame - trc.frame[0]  # Frame# keeps the video's numbering
    ok = np.isfinite(hip).all(axis=1) & seq.present[rows]
    assert ok.mean() > 0.9
    ours = seq.world_xyz[rows[ok], 24] * np.array([1, -1, -1])
    assert np.allclose(hip[ok], ours, atol=2e-5)
    assert np.allclose(trc.t_s[ok], seq.t_s[rows[ok]] - seq.t_s[0], atol=1e-3)
    # re-running replaces the outputs (idempotent), leaving no staging folder behind
    proc = run_cli("analyze", str(clip), "--exercise", "squat", "--out", str(out), "--no-progress")
    assert proc.returncode == 0
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]
