"""How fast is the Live page's frame pipeline, and how soon after a rep ends does its cue show?

The work measured is exactly the page's frame callback (:meth:`coach.app_live.LiveSession.process`: MediaPipe
pose -> ``Coach.process`` -> setup check and set logic -> overlay) on real clip frames at 640x480, in the page's
threading arrangement: a camera thread delivers frames at 30 fps into a one-slot mailbox and one worker thread
processes the newest frame (streamlit-webrtc's asynchronous processing drops the older ones the same way).

Figures printed:

* ``fps_max``: frames per second processed back to back (no camera pacing): what the pipeline can sustain.
* ``fps_live``: frames per second processed with a 30 fps camera in real time (the rest are dropped).
* ``cue_delay_ms``: for every rep cue, wall-clock time from the rep's end (``RepReport.rep.end_s``: the moment
  the body got back to the start position, as the camera captured it) to the annotated frame carrying the cue
  being ready to send. It is the sum of ``detect_ms`` (how much later in the video the rep counter confirms
  the rep: it waits for the return to settle) and ``pipeline_ms`` (capture of that frame -> its annotated frame).

Run: ``.venv/bin/python benchmarks/bench_live.py [--clip PATH] [--exercise ID]``. The last line is
``key=value`` pairs. Other load on the machine (the browser, other jobs) lowers the figures.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from coach.paths import data_root

DEFAULT_CLIP = "more_exercises/chauhan08__Fitness/shoulder-press.mp4"
SIZE = (640, 480)
CAMERA_FPS = 30.0


def load_frames(path: Path, fps: float = CAMERA_FPS, size=SIZE) -> tuple[list[np.ndarray], float]:
    """The clip as RGB frames at ``fps`` (repeated or skipped by time), letterboxed into ``size``."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        sys.exit(f"bench_live: cannot read {path} (set COACH_DATA to the shared data folder or pass --clip)")
    src_fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    src = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        src.append(bgr)
    cap.release()
    w, h = size
    fh, fw = src[0].shape[:2]
    s = min(w / fw, h / fh)
    nw, nh = int(round(fw * s)) // 2 * 2, int(round(fh * s)) // 2 * 2
    x0, y0 = (w - nw) // 2, (h - nh) // 2
    out, cache = [], {}
    n = int(len(src) / src_fps * fps)
    for k in range(n):
        i = min(int(k / fps * src_fps), len(src) - 1)
        if i not in cache:
            canvas = np.zeros((h, w, 3), np.uint8)
            canvas[y0:y0 + nh, x0:x0 + nw] = cv2.cvtColor(cv2.resize(src[i], (nw, nh), interpolation=cv2.INTER_AREA),
                                                          cv2.COLOR_BGR2RGB)
            cache[i] = canvas
        out.append(cache[i])
    return out, len(src) / src_fps


def session(exercise: str):
    from coach.app_live import LiveSession

    s = LiveSession(exercise, history=None, hands_free=True)
    s._ensure_estimator()  # loaded before timing starts
    return s


def unpaced(frames: list[np.ndarray], exercise: str) -> dict:
    """Back to back in one worker thread: the most the pipeline sustains. Also times pose alone."""
    s = session(exercise)
    est = s._estimator
    pose_ms = []

    def timed(image, t):
        t0 = time.perf_counter()
        r = est(image, t)
        pose_ms.append(1000 * (time.perf_counter() - t0))
        return r
    s._estimator = type("Timed", (), {"__call__": staticmethod(timed)})()
    out = {}

    def work():
        t0 = time.perf_counter()
        for k, img in enumerate(frames):
            s.process(img, k / CAMERA_FPS)
        out["s"] = time.perf_counter() - t0
    th = threading.Thread(target=work, name="bench-worker")
    th.start()
    th.join()
    s._estimator = est
    s.close()
    n = len(frames)
    return {"fps": n / out["s"], "ms_per_frame": 1000 * out["s"] / n, "pose_ms": statistics.median(pose_ms)}


def paced(frames: list[np.ndarray], exercise: str) -> dict:
    """A 30 fps camera in real time, newest-frame mailbox, one worker: what the page shows."""
    s = session(exercise)
    slot: list = [None]
    cond = threading.Condition()
    done = threading.Event()
    t_start = [0.0]
    processed, detect, pipeline, delays = [], [], [], []

    def camera():
        t_start[0] = time.monotonic()
        for k, img in enumerate(frames):
            due = t_start[0] + k / CAMERA_FPS
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            with cond:
                slot[0] = (k / CAMERA_FPS, img)
                cond.notify()
        done.set()
        with cond:
            cond.notify()

    def worker():
        while True:
            with cond:
                while slot[0] is None and not done.is_set():
                    cond.wait(0.5)
                item, slot[0] = slot[0], None
            if item is None:
                if done.is_set():
                    return
                continue
            t, img = item
            n_cues = len(s.cue_delays_ms)
            s.process(img, t)
            ready = time.monotonic()
            processed.append(t)
            fb = s._fb
            if len(s.cue_delays_ms) > n_cues and fb is not None and fb.new_reps:
                end_s = fb.new_reps[-1].rep.end_s
                detect.append(1000 * (fb.t_s - end_s))
                pipeline.append(1000 * (ready - (t_start[0] + t)))
                delays.append(1000 * (ready - (t_start[0] + end_s)))

    cam = threading.Thread(target=camera, name="bench-camera")
    wk = threading.Thread(target=worker, name="bench-worker")
    wk.start()
    cam.start()
    cam.join()
    wk.join()
    reps = s.snapshot().rep_count
    s.close()
    dur = len(frames) / CAMERA_FPS
    return {"fps": len(processed) / dur, "dropped_pct": 100 * (1 - len(processed) / len(frames)),
            "reps": reps, "cues": len(delays), "delays": delays,
            "detect": detect, "pipeline": pipeline, "page_delays": list(s.cue_delays_ms)}


def _stats(v: list[float]) -> str:
    if not v:
        return "n/a"
    return f"median {statistics.median(v):.0f}, min {min(v):.0f}, max {max(v):.0f} (n={len(v)})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clip", type=Path, default=None, help=f"video (default: <data>/{DEFAULT_CLIP})")
    ap.add_argument("--exercise", default=None, help="exercise id (default: shoulder-press for the default clip, "
                                                      "else auto)")
    args = ap.parse_args()
    clip = args.clip or data_root() / DEFAULT_CLIP
    exercise = args.exercise or ("shoulder-press" if args.clip is None else "auto")
    frames, dur = load_frames(clip)
    print(f"clip {clip.name}: {dur:.1f} s -> {len(frames)} frames at {SIZE[0]}x{SIZE[1]}, {CAMERA_FPS:.0f} fps; "
          f"exercise {exercise}")
    u = unpaced(frames, exercise)
    print(f"back to back: {u['fps']:.1f} fps ({u['ms_per_frame']:.1f} ms per frame, of which pose "
          f"{u['pose_ms']:.1f} ms median)")
    p = paced(frames, exercise)
    print(f"real time, 30 fps camera: {p['fps']:.1f} fps coached ({p['dropped_pct']:.0f}% of camera frames dropped), "
          f"{p['reps']} reps, {p['cues']} rep cues")
    print(f"rep end -> cue on the outgoing frame: {_stats(p['delays'])} ms")
    print(f"  rep counter confirming the rep (video time after the rep's end): {_stats(p['detect'])} ms")
    print(f"  pipeline (that frame's capture -> annotated frame ready): {_stats(p['pipeline'])} ms")
    print(f"  as the page measures it (caption on the Live page): {_stats(p['page_delays'])} ms")
    med = (lambda v: f"{statistics.median(v):.0f}" if v else "nan")
    print(f"fps_max={u['fps']:.1f} fps_live={p['fps']:.1f} pose_ms={u['pose_ms']:.1f} "
          f"frame_ms={u['ms_per_frame']:.1f} cue_delay_ms_median={med(p['delays'])} "
          f"cue_delay_ms_max={max(p['delays']) if p['delays'] else float('nan'):.0f} detect_ms_median={med(p['detect'])} "
          f"pipeline_ms_median={med(p['pipeline'])} reps={p['reps']} cues={p['cues']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
