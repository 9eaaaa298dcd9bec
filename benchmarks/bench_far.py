"""Rep counts with the person twice as far from the camera, with and without the pose estimator's far search,
side by side in one run.

Every clip counted by eye is shrunk to half its size inside a blurred copy of itself (the room around a smaller
picture: the person twice as far away, at the same frame size), and the pose model is run over it twice: as a
bare pose model (``far_search=False``) and as the app runs it (the far search on). Both are counted against the
counts made by eye, beside the counts of the clips as recorded (cached landmarks, the app's pose estimator).
Prints one row per clip (reps, and the share of frames with a person found), a summary, and its figures as
``key=value``.

    .venv/bin/python benchmarks/bench_far.py [--scale 0.5] [--clips N]
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from coach.datasets import cached_landmarks, rep_count_clips
from coach.evaluate import farther
from coach.pose import PoseEstimator
from coach.session import replay
from coach.types import PoseSequence
from coach.video import VideoFileSource


def landmarks(frames: list, fps: float, size: tuple[int, int], search: bool) -> tuple[PoseSequence, float]:
    t0 = time.perf_counter()
    with PoseEstimator(far_search=search) as est:
        results = [est(im, t) for im, t in frames]
    return PoseSequence.from_results(results, fps, image_size=size), time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.5, help="size of the shrunk picture (0.5: twice as far)")
    ap.add_argument("--clips", type=int, default=None, help="only the first N clips")
    args = ap.parse_args()
    clips = rep_count_clips()[:args.clips]
    rows = []
    secs = {False: 0.0, True: 0.0}
    print(f"{'clip':34s} {'truth':>5s} {'recorded':>8s} {'far, bare':>14s} {'far, search':>14s}")
    for c in clips:
        src = VideoFileSource(c.path)
        frames = [(farther(f.image, args.scale), f.t_s) for f in src]
        size = (src.info.width, src.info.height)
        recorded = replay(c.exercise, cached_landmarks(c.path)).rep_count
        row = {"truth": c.full_reps, "recorded": recorded}
        for search in (False, True):
            seq, dt = landmarks(frames, src.info.fps, size, search)
            secs[search] += dt
            row[search] = (replay(c.exercise, seq).rep_count, seq.detected_fraction)
        rows.append(row)
        print(f"{c.path.name[:34]:34s} {c.full_reps:5d} {recorded:8d} {row[False][0]:6d} ({row[False][1]:4.0%}) "
              f"{row[True][0]:6d} ({row[True][1]:4.0%})", flush=True)
    truth = np.array([r["truth"] for r in rows])

    def exact(k):
        return float(np.mean(np.array([r[k][0] if isinstance(k, bool) else r[k] for r in rows]) == truth))

    found = {k: float(np.mean([r[k][1] for r in rows])) for k in (False, True)}
    print(f"scale {args.scale:g}, {len(rows)} clips: rep counts exact as recorded {exact('recorded'):.1%}; "
          f"twice as far, bare pose model {exact(False):.1%} (person found on {found[False]:.1%} of frames), "
          f"with the far search {exact(True):.1%} ({found[True]:.1%}); pose time with the search "
          f"{secs[True] / max(secs[False], 1e-9):.2f}x the bare model's")
    print(f"clips={len(rows)} exact_recorded={exact('recorded'):.3f} exact_far_bare={exact(False):.3f} "
          f"exact_far_search={exact(True):.3f} found_far_bare={found[False]:.3f} found_far_search={found[True]:.3f} "
          f"time_ratio={secs[True] / max(secs[False], 1e-9):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
