"""Training from a folder of .npz files, in Python and on the command line."""
from __future__ import annotations

import numpy as np
import pytest

from physics import HUMAN_13, LearnedSimulator, MotionSequence, TrainingDataError
from physics.train import main, train_from_folder
from physics_synthetic import human_motion


def _write_folder(folder, n=4):
    for i in range(n):
        seq = human_motion(25.0 + 5 * i, duration_s=2.0, size=0.9 + 0.05 * i)
        seq.save_npz(folder / f"clip{i}.npz")
    return folder


def test_train_from_folder(tmp_path):
    folder = _write_folder(tmp_path / "data")
    sim = train_from_folder(folder, HUMAN_13, steps=20, eval_every=10, rollout_steps=2, seed=1, num_threads=1)
    assert sim.is_fitted and sim.training_summary["n_sequences"] == 4
    r = sim.residuals(human_motion(30.0, duration_s=1.0))
    assert r.shape == (30, 13) and np.isfinite(r[3:]).all()


def test_cli_writes_a_loadable_file(tmp_path):
    folder = _write_folder(tmp_path / "data", n=3)
    out = tmp_path / "models" / "pushup.sim"
    assert main([str(folder), "--out", str(out), "--steps", "10", "--seed", "2", "--threads", "1"]) == 0
    sim = LearnedSimulator.load(out, skeleton=HUMAN_13)
    assert sim.training_summary["steps_done"] == 10 and sim.config.seed == 2


def test_folder_errors(tmp_path):
    with pytest.raises(TrainingDataError, match="not found"):
        train_from_folder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TrainingDataError, match="no .npz"):
        train_from_folder(tmp_path / "empty")
    bad = tmp_path / "bad"
    bad.mkdir()
    MotionSequence.from_arrays(np.zeros((5, 4, 3)), fps=25).save_npz(bad / "x.npz")
    with pytest.raises(TrainingDataError, match="x.npz.*4 joints"):
        train_from_folder(bad)
    assert main([str(tmp_path / "empty"), "--out", str(tmp_path / "o.sim")]) == 2


def test_too_little_data_is_reported(tmp_path):
    short = MotionSequence.from_arrays(human_motion(25.0, duration_s=0.2).positions, fps=25.0)
    with pytest.raises(TrainingDataError, match="window"):
        LearnedSimulator(HUMAN_13, steps=5, num_threads=1).fit([short])
