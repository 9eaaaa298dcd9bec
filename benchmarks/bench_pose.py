"""Throughput of `coach analyze` against a bare MediaPipe loop over the same clips, side by side in one run.

The bare loop decodes the video with OpenCV and runs the Pose Landmarker (same model, same settings, loading it
included) and nothing else. `coach analyze` does everything it does for a user: pose, the coaching loop, the
overlay, the H.264 annotated video, landmarks, exports and summary; `--no-video` the same without the video. Runs
alternate (bare, analyze, no-video, bare, ...) so all see the same machine load. Target: analyze keeps at least
0.9 of bare throughput.

    .venv/bin/python benchmarks/bench_pose.py [--repeats 2] [--clips N]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2

from coach.paths import data_root, default_pose_model
from coach.pose import DEFAULT_CONFIDENCE, DEFAULT_TRACKING


def clips(n: int) -> list[tuple[Path, str]]:
    root = data_root()
    out = [(root / "workouttracker/videos/squats/squat_17.mp4", "squat"),
           (root / "more_exercises/Ambaks__Nowva/lunge.mp4", "lunge"),
           (root / "more_exercises/kaiakol__computervision/jumpingjack_correct_007.mp4", "jumping-jack")]
    out += [(p, "push-up") for p in sorted((root / "pushfit/videos/correct").glob("*.mp4"))[:3]]
    return [c for c in out if c[0].is_file()][:n]


def bare(path: Path) -> tuple[int, float]:
    from mediapipe import Image, ImageFormat
    from mediapipe.tasks.python import BaseOptions, vision

    t0 = time.perf_counter()  # like analyze, the time includes loading the model
    opts = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(default_pose_model())), running_mode=vision.RunningMode.VIDEO,
        num_poses=1, min_pose_detection_confidence=DEFAULT_CONFIDENCE,
        min_pose_presence_confidence=DEFAULT_CONFIDENCE, min_tracking_confidence=DEFAULT_TRACKING)
    with vision.PoseLandmarker.create_from_options(opts) as lm:
        cap = cv2.VideoCapture(str(path))
        fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        n = 0
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            img = Image(image_format=ImageFormat.SRGB, data=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            lm.detect_for_video(img, int(n * 1000 / fps))
            n += 1
        cap.release()
        return n, time.perf_counter() - t0


def analyze(path: Path, exercise: str, video: bool = True) -> tuple[int, float]:
    from coach.analyze import analyze_video

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = analyze_video(path, Path(tmp) / "out", exercise=exercise, progress=False, write_video=video)
        return res.summary["video"]["frames"], time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--clips", type=int, default=6)
    args = ap.parse_args()
    cs = clips(args.clips)
    if not cs:
        print(f"no clips under {data_root()} (set COACH_DATA)")
        return 1
    analyze(cs[0][0], cs[0][1])  # warm-up: imports, model load
    tot = {"bare": [0, 0.0], "analyze": [0, 0.0], "no-video": [0, 0.0]}
    for r in range(args.repeats):
        for path, ex in cs:
            for name, fn in (("bare", lambda: bare(path)), ("analyze", lambda: analyze(path, ex)),
                             ("no-video", lambda: analyze(path, ex, video=False))):
                n, dt = fn()
                tot[name][0] += n
                tot[name][1] += dt
                print(f"  {name:8s} {path.name:32s} {n:5d} frames {n / dt:6.1f} fps", flush=True)
    fps_bare = tot["bare"][0] / tot["bare"][1]
    fps_an = tot["analyze"][0] / tot["analyze"][1]
    fps_nv = tot["no-video"][0] / tot["no-video"][1]
    print(f"bare MediaPipe loop: {fps_bare:.1f} fps; coach analyze: {fps_an:.1f} fps, ratio {fps_an / fps_bare:.3f} "
          f"(target >= 0.9); coach analyze --no-video: {fps_nv:.1f} fps, ratio {fps_nv / fps_bare:.3f}")
    print(f"bare_fps={fps_bare:.2f} analyze_fps={fps_an:.2f} ratio={fps_an / fps_bare:.3f} "
          f"no_video_fps={fps_nv:.2f} no_video_ratio={fps_nv / fps_bare:.3f} frames={tot['bare'][0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
