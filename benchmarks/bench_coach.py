"""The figures of `coach evaluate` on the shipped data, and the per-frame cost of the coaching layer above pose
estimation (target: under 2 ms per frame; with the learned model's streaming simulator when one is bundled).

    .venv/bin/python benchmarks/bench_coach.py [--folds 5] [--skip-diagnosis]

Targets on real recordings: exact rep count on at least 90% of clips; push-up correct-vs-wrong clip accuracy at
least 0.85; per-fault sensitivity and specificity at least 0.8 where labels exist.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from coach.datasets import cached_landmarks, pushfit_clips, rep_count_clips
from coach.evaluate import evaluate, format_report
from coach.paths import data_root
from coach.session import Coach


def per_frame_cost() -> dict[str, float]:
    """Milliseconds per frame of Coach.process on landmarks (pose excluded), given exercise and auto; steady
    state: one untimed push-up clip first loads the model and the lazy imports (once per process, at start-up)."""
    clips = [c for c in rep_count_clips() if c.exercise in ("squat", "lunge", "push-up", "shoulder-press")][:6]
    clips += pushfit_clips()[:10]
    warm = cached_landmarks(pushfit_clips()[0].path)
    coach = Coach("push-up", image_size=warm.image_size)
    for r in warm.results():
        coach.process(r)
    coach.finish()
    out = {}
    for mode in ("given", "auto"):
        times = []
        for c in clips:
            seq = cached_landmarks(c.path)
            coach = Coach(c.exercise if mode == "given" else "auto", image_size=seq.image_size)
            for r in seq.results():
                t0 = time.perf_counter()
                coach.process(r)
                times.append(time.perf_counter() - t0)
            coach.finish()
        ms = np.array(times) * 1000
        out[f"{mode}_ms_mean"] = float(ms.mean())
        out[f"{mode}_ms_p95"] = float(np.percentile(ms, 95))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--skip-diagnosis", action="store_true", help="skip the push-up cross-validation (minutes)")
    args = ap.parse_args()
    root = data_root()
    if not root.is_dir():
        print(f"no data at {root} (set COACH_DATA)")
        return 1
    parts = ("reps", "tables") if args.skip_diagnosis else ("reps", "pushups", "tables")
    res = evaluate(root, folds=args.folds, steps=args.steps, parts=parts)
    print(format_report(res))
    cost = per_frame_cost()
    print(f"coaching layer per frame: {cost['given_ms_mean']:.3f} ms mean, {cost['given_ms_p95']:.3f} ms p95 "
          f"(exercise given); {cost['auto_ms_mean']:.3f} ms mean, {cost['auto_ms_p95']:.3f} ms p95 (recognising, then "
          f"watching for a change of exercise)")
    reps = res["rep_counting"]["per_exercise"]["all"]
    kv = {"rep_exact": reps["exact"], "rep_mae": reps["mae"], "rep_off_by_one": reps["off_by_one"],
          "recognised": reps["recognised"],
          "workouts_as_alone": res["rep_counting"]["workouts"]["as_alone"],
          "workouts_exact": res["rep_counting"]["workouts"]["exact"],
          "changes_in_single_clips": len(res["rep_counting"]["workouts"]["changes_in_single_clips"]),
          **{f"rep_exact_{k}": v["exact"] for k, v in res["rep_counting"]["seen_differently"].items()},
          **{f"cost_{k}": v for k, v in cost.items()}}
    if "pushup_diagnosis" in res:
        for k in ("measures", "model", "model_strict", "combined", "coach"):
            s = res["pushup_diagnosis"][k]
            kv.update({f"pushup_{k}_acc": s["accuracy"], f"pushup_{k}_sens": s["sensitivity"],
                       f"pushup_{k}_spec": s["specificity"]})
    print(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in kv.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
