"""A system with known physics, generated here: a chain of point masses joined by damped springs, in 3-D.

Integrated with RK4 at 600 Hz (so it can be sampled exactly at 25, 30 or 60 fps). No gravity and no anchor:
the body frame (centre of the masses) is inertial and every force depends only on relative positions and
velocities, so the physics is the same after any rotation or reflection (valid augmentations).
"""
from __future__ import annotations

import numpy as np

from physics import MotionSequence, Skeleton

N_MASSES = 5
STIFFNESS = 40.0  # per unit mass
REST = 1.0
DAMPING = 0.3
SIM_HZ = 600

CHAIN = Skeleton(
    name="chain5",
    joints=tuple(f"m{i}" for i in range(N_MASSES)),
    bones=tuple((f"m{i}", f"m{i + 1}") for i in range(N_MASSES - 1)),
    long_range=tuple((f"m{i}", f"m{i + 2}") for i in range(N_MASSES - 2)),
    root=(),  # centre of all masses
    scale=None,
)


def accel(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    a = -DAMPING * v
    d = x[1:] - x[:-1]
    length = np.linalg.norm(d, axis=1, keepdims=True)
    f = STIFFNESS * (length - REST) * d / length
    a[:-1] += f
    a[1:] -= f
    return a


def simulate(seed: int, duration_s: float = 6.0) -> np.ndarray:
    """Positions ``(duration * 600 + 1, N, 3)`` at 600 Hz from a random stretched, moving chain."""
    rng = np.random.default_rng(seed)
    x = np.zeros((N_MASSES, 3))
    for i in range(1, N_MASSES):
        d = rng.normal(size=3)
        x[i] = x[i - 1] + d / np.linalg.norm(d) * REST * rng.uniform(0.7, 1.4)
    v = rng.normal(0.0, 1.0, (N_MASSES, 3))
    h = 1.0 / SIM_HZ
    n = int(round(duration_s * SIM_HZ))
    out = np.empty((n + 1, N_MASSES, 3))
    out[0] = x
    for s in range(n):
        k1x, k1v = v, accel(x, v)
        k2x, k2v = v + h / 2 * k1v, accel(x + h / 2 * k1x, v + h / 2 * k1v)
        k3x, k3v = v + h / 2 * k2v, accel(x + h / 2 * k2x, v + h / 2 * k2v)
        k4x, k4v = v + h * k3v, accel(x + h * k3x, v + h * k3v)
        x = x + h / 6 * (k1x + 2 * k2x + 2 * k3x + k4x)
        v = v + h / 6 * (k1v + 2 * k2v + 2 * k3v + k4v)
        out[s + 1] = x
    return out


def sample(track: np.ndarray, fps: float, offset_s: float = 0.0, jitter_s: float = 0.0,
           seed: int = 0) -> MotionSequence:
    """Sample a 600 Hz track at ``fps`` (optionally with random timing jitter, like a webcam)."""
    n = track.shape[0]
    t = np.arange(offset_s, (n - 1) / SIM_HZ, 1.0 / fps)
    if jitter_s:
        t = t + np.random.default_rng(seed).uniform(-jitter_s, jitter_s, t.shape)
        t = np.clip(t, 0, (n - 1) / SIM_HZ)
    idx = np.unique(np.round(t * SIM_HZ).astype(int))
    return MotionSequence(track[idx], None, idx / SIM_HZ, joints=CHAIN.joints, source=f"chain@{fps}")


# --- a human-like body on the HUMAN_13 skeleton ---------------------------------------------------------------
#: rest pose (metres, y down, hips at the origin), HUMAN_13 joint order
HUMAN_REST = np.array([
    [0.00, -0.62, 0.00],  # head
    [-0.18, -0.48, 0.0], [0.18, -0.48, 0.0],  # shoulders
    [-0.20, -0.22, 0.0], [0.20, -0.22, 0.0],  # elbows
    [-0.20, 0.02, 0.0], [0.20, 0.02, 0.0],  # wrists
    [-0.10, 0.00, 0.0], [0.10, 0.00, 0.0],  # hips
    [-0.10, 0.42, 0.0], [0.10, 0.42, 0.0],  # knees
    [-0.10, 0.84, 0.0], [0.10, 0.84, 0.0],  # ankles
], np.float64)


def human_motion(fps: float, duration_s: float = 4.0, offset=(0.3, -0.1, 2.0), size: float = 1.0,
                 t0: float = 0.0) -> MotionSequence:
    """A body doing slow arm raises while swaying, shifted by ``offset`` and scaled by ``size``."""
    from physics import HUMAN_13

    t = t0 + np.arange(0.0, duration_s, 1.0 / fps)
    ph = 2 * np.pi * 0.6 * (t - t0)
    pos = np.repeat(HUMAN_REST[None], len(t), axis=0)
    lift = 0.15 * (1 - np.cos(ph))
    for j in (3, 4):
        pos[:, j, 1] -= 0.5 * lift
        pos[:, j, 2] += 0.3 * lift
    for j in (5, 6):
        pos[:, j, 1] -= lift
        pos[:, j, 2] += 0.5 * lift
    pos[:, :9, 0] += 0.03 * np.sin(0.5 * ph)[:, None]
    pos = pos * size + np.asarray(offset)
    return MotionSequence(pos, None, t, joints=HUMAN_13.joints, source=f"human@{fps}")
