"""Resampling onto the fixed grid and the body frame (root-centred, scaled by body size)."""
from __future__ import annotations

import numpy as np

from physics import HUMAN_13, ConstantVelocity, FrameSpec, MotionSequence
from physics.frame import to_grid
from physics_synthetic import human_motion


def test_grid_matches_input_at_the_internal_rate_and_is_in_body_frame():
    seq = human_motion(30.0, duration_s=1.0, offset=(1.0, 2.0, 3.0), size=2.5, t0=5.0)
    g = to_grid(seq, HUMAN_13, FrameSpec(rate_hz=30.0))
    assert len(g) == len(seq)
    np.testing.assert_allclose(g.t_s, seq.t_s, atol=1e-9)
    assert np.array_equal(g.frame_to_grid, np.arange(len(seq)))
    hips = g.x[:, [HUMAN_13.index("left_hip"), HUMAN_13.index("right_hip")]].mean(axis=1)
    np.testing.assert_allclose(hips, 0.0, atol=1e-6)  # root-centred
    sh = g.x[:, [HUMAN_13.index("left_shoulder"), HUMAN_13.index("right_shoulder")]].mean(axis=1)
    torso = np.linalg.norm(sh - hips, axis=1)
    np.testing.assert_allclose(torso, 1.0, rtol=1e-5)  # lengths in torso units


def test_residuals_do_not_depend_on_where_the_body_stands_or_how_big_it_looks():
    cv = ConstantVelocity(HUMAN_13)
    a = cv.residuals(human_motion(25.0, offset=(0, 0, 0), size=1.0))
    b = cv.residuals(human_motion(25.0, offset=(3.0, -1.0, 7.0), size=0.3))
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=2e-5, equal_nan=True)


def test_linear_interpolation_between_input_frames():
    pos = np.zeros((3, 2, 3), np.float32)
    pos[:, 1, 0] = [0.0, 1.0, 3.0]
    from physics import Skeleton

    sk = Skeleton("pair", ("a", "b"), (("a", "b"),), root=("a",))
    seq = MotionSequence(pos, None, [0.0, 0.1, 0.2])
    g = to_grid(seq, sk, FrameSpec(rate_hz=20.0))  # grid at 0, 0.05, 0.1, 0.15, 0.2
    np.testing.assert_allclose(g.x[:, 1, 0], [0.0, 0.5, 1.0, 2.0, 3.0], atol=1e-6)
    assert np.array_equal(g.frame_to_grid, [0, 2, 4])


def test_gaps_longer_than_max_gap_leave_the_grid_invalid():
    seq = human_motion(30.0, duration_s=2.0)
    keep = (seq.t_s < 0.5) | (seq.t_s > 1.2)
    gapped = MotionSequence(seq.positions[keep], seq.mask[keep], seq.t_s[keep])
    g = to_grid(gapped, HUMAN_13, FrameSpec(max_gap_s=0.25))
    in_gap = (g.t_s > 0.5) & (g.t_s < 1.2)
    assert in_gap.any() and not g.m[in_gap].any()
    res = ConstantVelocity(HUMAN_13).residuals(gapped)
    first_after = int(np.argmax(gapped.t_s > 1.2))
    # right after the gap there is no velocity yet: no residual for two grid frames
    assert np.isnan(res[first_after]).all()
    assert np.isfinite(res[first_after + 3]).all()


def test_missing_root_joint_invalidates_the_frame():
    seq = human_motion(30.0, duration_s=1.0)
    mask = seq.mask.copy()
    mask[10, HUMAN_13.index("left_hip")] = False
    g = to_grid(MotionSequence(seq.positions, mask, seq.t_s), HUMAN_13, FrameSpec())
    assert not g.m[10].any() and g.m[9].all() and g.m[11].all()


def test_quadratic_interpolation_option_is_exact_on_a_parabola_and_still_causal():
    from physics import Skeleton

    sk = Skeleton("pair", ("a", "b"), (("a", "b"),), root=("a",))
    t = np.arange(0, 2.0, 1 / 25.0)
    pos = np.zeros((len(t), 2, 3))
    pos[:, 1, 0] = 0.5 + t - 1.5 * t**2
    seq = MotionSequence(pos, None, t)
    quad = FrameSpec(interpolation="quadratic")
    g = to_grid(seq, sk, quad)
    truth = 0.5 + g.t_s - 1.5 * g.t_s**2
    np.testing.assert_allclose(g.x[2:, 1, 0], truth[2:], atol=1e-5)  # from the third input frame on
    lin = to_grid(seq, sk, FrameSpec())
    assert np.abs(lin.x[2:, 1, 0] - truth[2:]).max() > 1e-4  # linear is not exact on curves
    cv = ConstantVelocity(sk, quad)
    st = cv.stream()
    live = np.stack([st.update(seq.positions[i], seq.mask[i], t[i]) for i in range(len(t))])
    np.testing.assert_allclose(live, cv.residuals(seq), rtol=1e-6, atol=1e-9, equal_nan=True)
