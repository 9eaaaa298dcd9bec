"""Training entry point: train a simulator from a folder of motion ``.npz`` files and save it to one file.

Folder format: every ``*.npz`` file under the folder (recursively) is one sequence of correct movement, in the
format of :meth:`physics.sequence.MotionSequence.save_npz`::

    positions (T, J, 3) float   joint positions, skeleton joint order, any length unit
    t_s       (T,) float        strictly increasing seconds (any frame rate; gaps allowed)
    mask      (T, J) bool       optional; True where the joint was seen (default: finite positions)
    joints    (J,) str          optional; joint names, checked against the skeleton

Command line::

    python -m physics.train FOLDER --out FILE [--skeleton human13] [--steps N | --epochs E]
                            [--time-budget S] [--seed N] [--threads N] [--rate-hz 30] [-v]
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Callable

from physics.errors import PhysicsError, TrainingDataError
from physics.frame import FrameSpec
from physics.sequence import MotionSequence
from physics.simulator import LearnedSimulator
from physics.skeleton import HUMAN_13, SKELETONS, Skeleton, get_skeleton
from physics.training import TrainProgress

log = logging.getLogger(__name__)


def sequence_files(folder: str | os.PathLike) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise TrainingDataError(f"training folder not found: {folder}")
    return sorted(p for p in folder.rglob("*.npz") if p.is_file())


def load_folder(folder: str | os.PathLike, skeleton: Skeleton = HUMAN_13) -> list[MotionSequence]:
    """Every sequence in ``folder``, checked against ``skeleton`` (a bad file raises, naming the file)."""
    files = sequence_files(folder)
    if not files:
        raise TrainingDataError(f"no .npz motion files in {folder}; write them with MotionSequence.save_npz")
    out = []
    for p in files:
        seq = MotionSequence.load_npz(p)
        try:
            seq.check_skeleton(skeleton)
        except PhysicsError as e:
            raise TrainingDataError(f"{p}: {e}") from None
        out.append(seq)
    log.info("loaded %d sequences (%.1f s of motion) from %s", len(out), sum(s.duration_s for s in out), folder)
    return out


def train_from_folder(folder: str | os.PathLike, skeleton: Skeleton = HUMAN_13, *, spec: FrameSpec | None = None,
                      progress: Callable[[TrainProgress], None] | None = None, **train_options) -> LearnedSimulator:
    """Train a :class:`LearnedSimulator` on every ``.npz`` sequence in ``folder`` (see the module docstring for
    the format). ``train_options`` are :class:`~physics.training.TrainConfig` fields (``steps``, ``seed``...)."""
    seqs = load_folder(folder, skeleton)
    return LearnedSimulator(skeleton, spec, **train_options).fit(seqs, progress=progress)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m physics.train", description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", help="folder of .npz motion files (correct movement only)")
    ap.add_argument("--out", required=True, help="simulator file to write")
    ap.add_argument("--skeleton", default=HUMAN_13.name, choices=sorted(SKELETONS))
    ap.add_argument("--steps", type=int, help="optimiser steps")
    ap.add_argument("--epochs", type=float, help="passes over the training windows (instead of --steps)")
    ap.add_argument("--time-budget", type=float, dest="time_budget_s", help="stop after this many seconds")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--threads", type=int, dest="num_threads", help="torch threads while training")
    ap.add_argument("--rate-hz", type=float, default=FrameSpec().rate_hz, help="internal simulation rate")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    opts = {k: getattr(args, k) for k in ("steps", "epochs", "time_budget_s", "seed", "num_threads")
            if getattr(args, k) is not None}

    def report(p: TrainProgress) -> None:
        log.info("step %d/%d  loss %.4f  validation RMSE %s  (%.0f s)", p.step, p.total_steps, p.loss,
                 "-" if p.val_rmse is None else f"{p.val_rmse:.5f}", p.elapsed_s)

    try:
        sim = train_from_folder(args.folder, get_skeleton(args.skeleton), spec=FrameSpec(rate_hz=args.rate_hz),
                                progress=report, **opts)
        path = sim.save(args.out)
    except (PhysicsError, OSError) as e:
        log.error("%s", e)
        return 2
    s = sim.training_summary
    log.info("saved %s: %d sequences, %d steps in %.1f s, best validation RMSE %s", path, s["n_sequences"],
             s["steps_done"], s["train_time_s"], s["best_val_rmse"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
