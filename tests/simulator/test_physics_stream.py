"""Live use: frame-by-frame residuals equal the batch ones; any input rate; masks and gaps."""
from __future__ import annotations

import numpy as np
import pytest

from physics import HUMAN_13, ConstantVelocity, MotionSequence, SequenceError
from physics_synthetic import human_motion, sample


def _messy(seq: MotionSequence, rng, hide: float = 0.1) -> MotionSequence:
    """Drop frames (gaps, one longer than max_gap_s), hide random joints."""
    keep = rng.random(len(seq)) > 0.1
    keep[40:52] = False  # a 0.4 s gap at 30 fps
    mask = seq.mask & (rng.random(seq.mask.shape) > hide)
    return MotionSequence(seq.positions[keep], mask[keep], seq.t_s[keep])


def _stream_all(pred, seq):
    st = pred.stream()
    return np.stack([st.update(seq.positions[i], seq.mask[i], seq.t_s[i]) for i in range(len(seq))])


def test_stream_equals_batch_learned(chain_sim, chain_tracks, rng):
    # every mass is a root joint of the chain: one hidden mass hides the frame, so hide few
    seq = _messy(sample(chain_tracks["test"][0], 30.0, jitter_s=0.01, seed=1), rng, hide=0.01)
    batch = chain_sim.residuals(seq)
    live = _stream_all(chain_sim, seq)
    assert batch.shape == (len(seq), seq.n_joints)
    assert np.array_equal(np.isnan(batch), np.isnan(live))
    assert np.isfinite(batch).mean() > 0.5
    np.testing.assert_allclose(live, batch, rtol=1e-4, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("fps", [12.0, 25.0, 60.0])
def test_stream_equals_batch_baseline_any_rate(fps, rng):
    seq = _messy(human_motion(fps, duration_s=5.0), rng)
    cv = ConstantVelocity(HUMAN_13)
    np.testing.assert_allclose(_stream_all(cv, seq), cv.residuals(seq), rtol=1e-5, atol=1e-7, equal_nan=True)


def test_stream_ignores_frames_out_of_order_and_can_reset():
    seq = human_motion(30.0, duration_s=1.0)
    st = ConstantVelocity(HUMAN_13).stream()
    for i in range(5):
        st.update(seq.positions[i], seq.mask[i], seq.t_s[i])
    out = st.update(seq.positions[5], seq.mask[5], seq.t_s[3])
    assert out.shape == (13,) and np.isnan(out).all()
    assert np.isfinite(st.update(seq.positions[5], seq.mask[5], seq.t_s[5])).all()
    with pytest.raises(SequenceError):
        st.update(np.zeros((12, 3)), np.ones(12, bool), 9.0)
    st.reset()
    assert np.isnan(st.update(seq.positions[0], seq.mask[0], 0.0)).all()


def test_input_at_60_fps_gives_the_grid_residuals_of_30_fps(chain_sim, chain_tracks):
    """The model runs on a fixed 30 Hz grid: a 60 fps input lands on it exactly (every other frame)."""
    track = chain_tracks["test"][1]
    t30, r30 = chain_sim.grid_residuals(sample(track, 30.0))
    t60, r60 = chain_sim.grid_residuals(sample(track, 60.0))
    n = min(len(t30), len(t60))
    np.testing.assert_allclose(t30[:n], t60[:n], atol=1e-9)
    np.testing.assert_allclose(r30[:n], r60[:n], rtol=1e-5, atol=1e-8, equal_nan=True)
    # and aligned to the 60 fps frames, each frame holds the residual of the grid frame at or before it
    seq60 = sample(track, 60.0)
    r = chain_sim.residuals(seq60)
    np.testing.assert_allclose(r[4::2][: n - 2], r30[2:n], rtol=1e-5, atol=1e-8)


def _smoothed_mean(pred, seq, centres, half_width=0.25):
    """Residual averaged over joints, then over +-0.25 s around each centre (frames 0-1 have none)."""
    res = pred.residuals(seq)
    ok = np.isfinite(res).any(axis=1)
    r, t = np.nanmean(res[ok], axis=1), seq.t_s[ok]
    return np.array([np.mean(r[(t > c - half_width) & (t <= c + half_width)]) for c in centres])


def test_same_motion_at_25_and_60_fps_gives_similar_residuals(chain_sim, chain_tracks):
    """At 25 fps the grid is interpolated linearly between frames: the residuals stay close to those at 60 fps
    (the difference is the interpolation error of the motion, small next to a baseline's error)."""
    track = chain_tracks["test"][1]
    centres = np.arange(0.5, 5.5, 0.25)
    cv = ConstantVelocity.like(chain_sim)
    c25, c60 = (_smoothed_mean(cv, sample(track, fps), centres) for fps in (25.0, 60.0))
    assert 0.9 < c25.mean() / c60.mean() < 1.1
    assert np.corrcoef(c25, c60)[0, 1] > 0.95
    m25, m60 = (_smoothed_mean(chain_sim, sample(track, fps), centres) for fps in (25.0, 60.0))
    assert abs(m25.mean() - m60.mean()) < 0.1 * c60.mean()
    assert m25.mean() < 0.2 * c25.mean() and m60.mean() < 0.2 * c60.mean()


def test_masked_joints_get_nan_and_do_not_leak(human_sim):
    seq = human_motion(30.0, duration_s=3.0)
    wrist = HUMAN_13.index("left_wrist")
    mask = seq.mask.copy()
    mask[30:60, wrist] = False
    r = human_sim.residuals(MotionSequence(seq.positions, mask, seq.t_s))
    others = [j for j in range(13) if j != wrist]
    assert np.isnan(r[30:60, wrist]).all() and np.isfinite(r[30:60][:, others]).all()
    assert np.isnan(r[60:62, wrist]).all() and np.isfinite(r[62:, wrist]).all()  # back after 2 frames
    # whatever the hidden joint's coordinates (NaN, huge), the other joints' residuals are the same
    pos = seq.positions.copy()
    pos[30:60, wrist] = 1e3
    r2 = human_sim.residuals(MotionSequence(pos, mask, seq.t_s))
    np.testing.assert_array_equal(r, r2)


def test_learned_human_simulator_streams_too(human_sim, rng):
    seq = _messy(human_motion(29.97, duration_s=4.0), rng)
    np.testing.assert_allclose(_stream_all(human_sim, seq), human_sim.residuals(seq), rtol=1e-4, atol=1e-6,
                               equal_nan=True)
