"""The coach's adapter: BlazePose landmarks -> MotionSequence on the skeleton's joints, by name."""
from __future__ import annotations

import numpy as np

from coach.body import landmarks_to_joints, to_physics
from coach.types import LM, N_LANDMARKS, PoseSequence
from physics import HUMAN_13


def _pose_sequence(n=6):
    rng = np.random.default_rng(0)
    world = rng.normal(size=(n, N_LANDMARKS, 3)).astype(np.float32)
    vis = np.full((n, N_LANDMARKS), 0.9, np.float32)
    vis[2, LM["left_wrist"]] = 0.3
    vis[3, LM["right_ear"]] = 0.1
    world[4] = np.nan
    img = np.zeros((n, N_LANDMARKS, 2), np.float32)
    present = np.ones(n, bool)
    present[4] = False
    return PoseSequence(np.arange(n) / 25.0, img, world, vis, fps=25.0, present=present, source="clip")


def test_mapping_by_name_and_mask():
    ps = _pose_sequence()
    seq = to_physics(ps, HUMAN_13)
    assert seq.joints == HUMAN_13.joints and seq.positions.shape == (6, 13, 3) and seq.source == "clip"
    j = HUMAN_13.index("left_knee")
    np.testing.assert_allclose(seq.positions[0, j], ps.world_xyz[0, LM["left_knee"]])
    head = (ps.world_xyz[0, LM["left_ear"]] + ps.world_xyz[0, LM["right_ear"]]) / 2
    np.testing.assert_allclose(seq.positions[0, HUMAN_13.index("head")], head, rtol=1e-6)
    assert not seq.mask[2, HUMAN_13.index("left_wrist")]  # low visibility
    assert not seq.mask[3, HUMAN_13.index("head")]  # one ear hidden
    assert not seq.mask[4].any()  # nobody found
    assert seq.mask[0].all() and seq.mask[5].all()


def test_one_live_frame():
    ps = _pose_sequence()
    pos, mask = landmarks_to_joints(ps.world_xyz[2], ps.visibility[2])
    assert pos.shape == (13, 3) and mask.shape == (13,)
    assert not mask[HUMAN_13.index("left_wrist")] and mask.sum() == 12
