from __future__ import annotations

import numpy as np
import pytest

from physics import MotionSequence, SequenceError, TrainingDataError


def test_validation_and_masking():
    pos = np.zeros((4, 2, 3), np.float32)
    pos[1, 0] = np.nan
    mask = np.ones((4, 2), bool)
    mask[2, 1] = False
    seq = MotionSequence(pos, mask, [0.0, 0.1, 0.2, 0.3])
    assert not seq.mask[1, 0] and not seq.mask[2, 1] and seq.mask.sum() == 6
    assert np.isnan(seq.positions[2, 1]).all()  # unseen joints cannot be used as positions
    assert seq.positions.dtype == np.float32 and seq.t_s.dtype == np.float64
    with pytest.raises(ValueError):
        seq.positions[0, 0, 0] = 1.0  # read-only


@pytest.mark.parametrize("pos, mask, t, match", [
    (np.zeros((3, 2)), None, [0, 1, 2], "shape"),
    (np.zeros((3, 2, 3)), None, [0, 1], "t_s"),
    (np.zeros((3, 2, 3)), None, [0, 1, 1], "increasing"),
    (np.zeros((3, 2, 3)), None, [0, np.nan, 2], "finite"),
    (np.zeros((3, 2, 3)), np.ones((3, 3), bool), [0, 1, 2], "mask"),
])
def test_invalid_sequences(pos, mask, t, match):
    with pytest.raises(SequenceError, match=match):
        MotionSequence(pos, mask, t)


def test_npz_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    seq = MotionSequence.from_arrays(rng.normal(size=(5, 3, 3)), fps=25, joints=("a", "b", "c"))
    p = seq.save_npz(tmp_path / "s.npz")
    back = MotionSequence.load_npz(p)
    assert np.array_equal(back.positions, seq.positions) and np.array_equal(back.t_s, seq.t_s)
    assert back.joints == ("a", "b", "c") and back.mask.all()


def test_npz_errors(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(TrainingDataError, match="cannot read"):
        MotionSequence.load_npz(bad)
    missing = tmp_path / "missing.npz"
    np.savez(missing, positions=np.zeros((2, 1, 3)))
    with pytest.raises(TrainingDataError, match="t_s"):
        MotionSequence.load_npz(missing)
