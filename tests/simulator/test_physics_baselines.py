from __future__ import annotations

import numpy as np

from physics import BodyState, ConstantPosition, ConstantVelocity, MotionSequence, Skeleton

PAIR = Skeleton("pair", ("a", "b"), (("a", "b"),), root=("a",))


def _seq(fn, fps=25.0, n=40):
    t = np.arange(n) / fps
    pos = np.zeros((n, 2, 3))
    pos[:, 1] = fn(t)[:, None] * np.array([1.0, 0.5, -0.2])
    return MotionSequence(pos, None, t)


def test_constant_velocity_is_exact_on_uniform_motion_and_constant_position_on_rest():
    lin = _seq(lambda t: 1.0 + 2.0 * t)
    r = ConstantVelocity(PAIR).residuals(lin)
    assert np.isnan(r[:2]).all()
    np.testing.assert_allclose(r[3:], 0.0, atol=1e-5)
    assert np.nanmin(ConstantPosition(PAIR).residuals(lin)[3:, 1]) > 0.01
    rest = _seq(lambda t: np.full_like(t, 1.5))
    np.testing.assert_allclose(ConstantPosition(PAIR).residuals(rest)[3:], 0.0, atol=1e-6)


def test_predict_next_and_rollout_follow_their_rule():
    cv = ConstantVelocity(PAIR)
    s = BodyState(np.array([[0, 0, 0], [1, 0, 0]], np.float32), np.array([[0, 0, 0], [3, 0, 0]], np.float32),
                  np.array([True, True]), t_s=1.0)
    nxt = cv.predict_next(s)
    np.testing.assert_allclose(nxt.positions[1], [1 + 3 / 30, 0, 0], rtol=1e-6)
    assert abs(float(nxt.t_s) - (1 + 1 / 30)) < 1e-12
    ro = cv.rollout(s, 30)
    assert ro.positions.shape == (30, 2, 3)
    np.testing.assert_allclose(ro.positions[-1, 1], [4.0, 0, 0], rtol=1e-5)
    cp = ConstantPosition(PAIR).rollout(s, 5)
    np.testing.assert_allclose(cp.positions[:, 1], np.tile([1.0, 0, 0], (5, 1)), atol=1e-7)
