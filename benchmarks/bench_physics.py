"""Benchmark of the learned physics simulator on the PushFit push-up clips.

* trains on a seeded split of the *correct* clips by scene (clips filmed in one place, often one person's takes,
  are never on both sides: coach/scenes.py), one core;
* one-step error on the held-out correct clips against the constant-position and constant-velocity baselines;
* AUC of clip-level residual scores separating the held-out correct clips from the wrong-form clips (none of
  which is ever trained on), for the model and, for context, for the baselines;
* streaming inference time per frame (one person, one core).

Run from the repository root::

    .venv/bin/python benchmarks/bench_physics.py [--steps 1500] [--seed 0] [--train-fraction 0.6] [--save FILE]

The last line holds the figures as ``key=value`` pairs.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time

import numpy as np
import torch

log = logging.getLogger("bench_physics")


def auc(neg: list[float], pos: list[float]) -> float:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties counted half."""
    neg, pos = np.asarray(neg, float), np.asarray(pos, float)
    gt = (pos[:, None] > neg[None, :]).sum()
    eq = (pos[:, None] == neg[None, :]).sum()
    return float((gt + 0.5 * eq) / (len(pos) * len(neg)))


def auc_interval(neg: list[float], pos: list[float], seed: int = 0, n: int = 2000) -> tuple[float, float]:
    """95% bootstrap interval of the AUC, resampling clips within each class."""
    rng = np.random.default_rng(seed)
    neg, pos = np.asarray(neg, float), np.asarray(pos, float)
    vals = [auc(rng.choice(neg, len(neg)), rng.choice(pos, len(pos))) for _ in range(n)]
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def clip_scores(pred, baseline, seqs) -> dict[str, list[float]]:
    """Per clip: mean residual over valid (frame, joint) grid entries, and that mean divided by the
    constant-velocity baseline's mean residual on the same clip (removes each clip's landmark-noise level)."""
    out: dict[str, list[float]] = {"mean": [], "relative_to_cv": []}
    for s in seqs:
        _, r = pred.grid_residuals(s)
        _, b = baseline.grid_residuals(s)
        ok = np.isfinite(r) & np.isfinite(b)
        out["mean"].append(float(r[ok].mean()))
        out["relative_to_cv"].append(float(r[ok].mean() / b[ok].mean()))
    return out


def streaming_ms(sim, seq, min_frames: int = 3000) -> tuple[float, float]:
    """Median and 95th percentile of ``stream.update`` time per frame, replaying ``seq`` until ``min_frames``."""
    st = sim.stream()
    times = []
    t_off = 0.0
    while len(times) < min_frames:
        for i in range(len(seq)):
            t0 = time.perf_counter()
            st.update(seq.positions[i], seq.mask[i], seq.t_s[i] + t_off)
            times.append(time.perf_counter() - t0)
        t_off += seq.t_s[-1] - seq.t_s[0] + 1.0  # a 1 s pause between replays
    ms = np.array(times[len(seq):]) * 1e3  # the first replay warms up
    return float(np.median(ms)), float(np.percentile(ms, 95))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=None, help="training steps (default: the library default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train-fraction", type=float, default=0.6)
    ap.add_argument("--save", help="also save the trained simulator here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    logging.getLogger("physics").setLevel(logging.WARNING)
    torch.set_num_threads(1)

    from coach.body import to_physics
    from coach.datasets import cached_landmarks, pushfit_clips
    from physics import HUMAN_13, ConstantPosition, ConstantVelocity, LearnedSimulator, compare_to_baselines

    t0 = time.perf_counter()
    clips = pushfit_clips()
    data = [(c, to_physics(cached_landmarks(c.path), HUMAN_13)) for c in clips]
    correct = [(c, s) for c, s in data if c.form == "correct"]
    wrong = [(c, s) for c, s in data if c.form == "wrong"]
    rng = np.random.default_rng(args.seed)
    scenes = sorted({c.source for c, _ in correct})
    rng.shuffle(scenes)
    chosen, n = set(), 0
    for g in scenes:  # whole scenes into training until it holds the fraction asked for
        if n >= args.train_fraction * len(correct):
            break
        chosen.add(g)
        n += sum(1 for c, _ in correct if c.source == g)
    train = [s for c, s in correct if c.source in chosen]
    test = [s for c, s in correct if c.source not in chosen]
    wrong_seqs = [s for _, s in wrong]
    log.info("PushFit: %d correct clips (%d train, %d held out), %d wrong clips; landmarks loaded in %.1f s",
             len(correct), len(train), len(test), len(wrong), time.perf_counter() - t0)

    opts = {"seed": args.seed, "num_threads": 1}
    if args.steps:
        opts["steps"] = args.steps
    sim = LearnedSimulator(HUMAN_13, **opts)
    t0 = time.perf_counter()
    sim.fit(train)
    train_s = time.perf_counter() - t0
    log.info("training: %.1f s for %d steps on one core (%d windows; best validation RMSE %.5f at step %d)",
             train_s, sim.training_summary["steps_done"], sim.training_summary["n_windows"],
             sim.training_summary["best_val_rmse"] or float("nan"), sim.training_summary["best_step"])
    if args.save:
        sim.save(args.save)

    rep = compare_to_baselines(sim, test)
    log.info("held-out one-step RMSE (torso lengths): model %.5f, constant position %.5f, constant velocity %.5f",
             rep["rmse"], rep["rmse_constant_position"], rep["rmse_constant_velocity"])
    log.info("error ratio: vs constant position %.3f, vs constant velocity %.3f",
             rep["ratio_constant_position"], rep["ratio_constant_velocity"])

    cv = ConstantVelocity.like(sim)
    cp = ConstantPosition.like(sim)
    aucs, scores = {}, {}
    for name, pred in (("model", sim), ("constant_velocity", cv), ("constant_position", cp)):
        sc_ok, sc_bad = clip_scores(pred, cv, test), clip_scores(pred, cv, wrong_seqs)
        for kind in ("mean", "relative_to_cv"):
            if name == "constant_velocity" and kind == "relative_to_cv":
                continue  # identically 1
            aucs[f"{name}/{kind}"] = auc(sc_ok[kind], sc_bad[kind])
            scores[f"{name}/{kind}"] = (sc_ok[kind], sc_bad[kind])
    lo, hi = auc_interval(*scores["model/mean"], seed=args.seed)
    log.info("AUC, wrong vs held-out correct clips (%d vs %d), clip score = mean residual: model %.3f "
             "(95%% bootstrap interval %.3f-%.3f; constant velocity %.3f, constant position %.3f)", len(wrong),
             len(test), aucs["model/mean"], lo, hi, aucs["constant_velocity/mean"], aucs["constant_position/mean"])
    log.info("AUC, clip score = mean residual / constant-velocity mean residual: model %.3f (constant position "
             "%.3f)", aucs["model/relative_to_cv"], aucs["constant_position/relative_to_cv"])

    med, p95 = streaming_ms(sim, test[0])
    log.info("streaming: %.3f ms per frame median, %.3f ms 95th percentile (one person, one core)", med, p95)

    fig = {
        "stream_ms_median": round(med, 4), "stream_ms_p95": round(p95, 4), "train_s": round(train_s, 1),
        "train_steps": sim.training_summary["steps_done"], "n_train_clips": len(train), "n_test_clips": len(test),
        "n_wrong_clips": len(wrong), "rmse": round(rep["rmse"], 5),
        "ratio_vs_constant_position": round(rep["ratio_constant_position"], 4),
        "ratio_vs_constant_velocity": round(rep["ratio_constant_velocity"], 4),
        "auc_mean_residual": round(aucs["model/mean"], 4), "auc_ci_low": round(lo, 4), "auc_ci_high": round(hi, 4),
        "auc_relative_residual": round(aucs["model/relative_to_cv"], 4),
        "auc_cv_mean_residual": round(aucs["constant_velocity/mean"], 4),
        "auc_cp_mean_residual": round(aucs["constant_position/mean"], 4),
    }
    print(" ".join(f"{k}={v}" for k, v in fig.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
