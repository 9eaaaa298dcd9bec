"""Joint angles in degrees from world landmarks, vectorised over frames.

Names follow Pose2Sim / Sports2D (``right_knee``, ``left_elbow``, ``trunk``, ...) with underscores. All angles use
the 3-D world landmarks (MediaPipe axes: x to the image right, y down, z away from the camera); for 2-D
pseudo-world sequences (``meta["dims"] == 2``, z = 0) they are angles in the image plane. NaN wherever a landmark
needed is missing (NaN), or below ``min_visibility`` when that is given.

==========================  =====================================================================================
name                        definition (0 = anatomical neutral, standing with arms by the sides)
==========================  =====================================================================================
``{side}_ankle``            dorsiflexion: 90 - angle between shank (ankle->knee) and foot (heel->foot_index);
                            positive when the toes come up towards the shin, negative when pointed (plantarflexion)
``{side}_knee``             flexion: 180 - angle hip-knee-ankle; 0 straight, ~90 sitting, ~140 deep squat
``{side}_hip``              flexion: angle between the thigh (hip->knee) and the trunk's downward axis (shoulder
                            midpoint -> hip midpoint); 0 standing, 90 thigh square to the trunk. Unsigned: the
                            thigh behind the trunk (extension) also reads positive
``{side}_shoulder``         elevation: angle between the upper arm (shoulder->elbow) and the trunk's downward axis;
                            0 arm by the side, 90 arm square to the trunk, 180 overhead (any plane)
``{side}_shoulder_flexion`` the elevation in the trunk's sagittal plane: arm projected on the plane of trunk axis
                            and forward direction; 90 arm forward, 180 overhead, negative behind the trunk
``{side}_shoulder_abduction`` the elevation in the trunk's frontal plane: 90 arm out to the side, 180 overhead,
                            negative across the body. Flexion/abduction need a 3-D body frame (the hips'
                            left-right axis) and are NaN for 2-D data or when the hips are too close together
                            to give one; each is unstable when the arm points along its plane's normal
``{side}_elbow``            flexion: 180 - angle shoulder-elbow-wrist; 0 straight arm
``trunk``                   lean: angle between the trunk (hip midpoint -> shoulder midpoint) and straight up
                            (-y, the image's vertical: assumes a level camera); 0 upright, 90 horizontal
                            (plank, push-up), unsigned
==========================  =====================================================================================

The body frame: ``up`` = hip midpoint -> shoulder midpoint, ``right`` = left hip -> right hip made square to up,
``forward`` = up x right (the direction the chest faces). Checked on synthetic bodies in ``tests/test_angles.py``.
"""
from __future__ import annotations

import logging

import numpy as np

from coach.types import LM, PoseSequence

log = logging.getLogger(__name__)

SIDES = ("right", "left")

#: Names returned by :func:`joint_angles`, in this order (also the column order of ``.mot`` exports).
ANGLE_NAMES: tuple[str, ...] = tuple(
    f"{side}_{joint}" for joint in ("ankle", "knee", "hip", "shoulder", "shoulder_flexion", "shoulder_abduction",
                                    "elbow") for side in SIDES) + ("trunk",)

_MIN_FRAME = 0.25  # hips' left-right distance, as a fraction of torso length, needed for a body frame


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 1e-9, v / n, np.nan)


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.cross`` of (..., 3) vectors, term for term the same arithmetic, without its per-call overhead
    (it counts on the live path: a few calls per frame)."""
    a, b = np.broadcast_arrays(a, b)
    out = np.empty(a.shape, np.result_type(a, b))
    out[..., 0] = a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1]
    out[..., 1] = a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2]
    out[..., 2] = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    return out


def angle_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle in degrees between vectors ``u`` and ``v`` (..., 3), 0..180; NaN for zero-length or NaN vectors."""
    u, v = _unit(np.asarray(u, np.float64)), _unit(np.asarray(v, np.float64))
    # atan2(|u x v|, u.v) is accurate near 0 and 180 degrees, unlike arccos.
    return np.degrees(np.arctan2(np.linalg.norm(cross(u, v), axis=-1), np.sum(u * v, axis=-1)))


def inner_angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Angle a-b-c at ``b`` in degrees (0..180)."""
    return angle_between(np.asarray(a) - b, np.asarray(c) - b)


def body_frame(world: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame trunk axes ``(up, right, forward)`` (T, 3) unit vectors from world landmarks (T, 33, 3).

    ``right``/``forward`` are NaN where the hips' left-right axis is shorter than a quarter of the torso after
    removing its component along the trunk (side-on 2-D data, hips hidden behind each other)."""
    w = np.asarray(world, np.float64)
    hip = (w[:, LM["left_hip"]] + w[:, LM["right_hip"]]) / 2
    sho = (w[:, LM["left_shoulder"]] + w[:, LM["right_shoulder"]]) / 2
    up_v = sho - hip
    up = _unit(up_v)
    lr = w[:, LM["right_hip"]] - w[:, LM["left_hip"]]
    lr_perp = lr - np.sum(lr * up, axis=1, keepdims=True) * up
    ok = np.linalg.norm(lr_perp, axis=1) >= _MIN_FRAME * np.linalg.norm(up_v, axis=1)
    right = np.where(ok[:, None], _unit(lr_perp), np.nan)
    forward = cross(up, right)
    return up, right, forward


def _plane_angle(v: np.ndarray, down: np.ndarray, toward: np.ndarray) -> np.ndarray:
    """Angle of ``v`` from ``down`` towards ``toward`` in their plane, degrees in (-180, 180]."""
    return np.degrees(np.arctan2(np.sum(v * toward, axis=-1), np.sum(v * down, axis=-1)))


def joint_angles(seq: PoseSequence | np.ndarray, min_visibility: float | None = None,
                 visibility: np.ndarray | None = None, dims: int | None = None,
                 names=None) -> dict[str, np.ndarray]:
    """All angles of :data:`ANGLE_NAMES` as ``{name: (T,) float64 degrees}`` (see the module docstring).

    ``seq`` is a :class:`PoseSequence` or a world array (T, 33, 3). With ``min_visibility``, landmarks less
    visible than that count as missing. ``dims`` (2 or 3) defaults to ``seq.meta["dims"]`` or 3; with 2, the
    shoulder flexion/abduction split is NaN (it needs depth). ``names`` limits the work to those angles (live
    use, one frame at a time).
    """
    if isinstance(seq, PoseSequence):
        w = seq.world_xyz.astype(np.float64)
        vis = seq.visibility if visibility is None else visibility
        dims = int(seq.meta.get("dims", 3)) if dims is None else dims
    else:
        w = np.asarray(seq, np.float64)
        if w.ndim == 2:
            w = w[None]
        vis = visibility
        dims = 3 if dims is None else dims
    if w.ndim != 3 or w.shape[1:] != (33, 3):
        raise ValueError(f"world landmarks must have shape (T, 33, 3), got {w.shape}")
    if min_visibility is not None and vis is not None:
        w = np.where((np.asarray(vis).reshape(w.shape[:2]) >= min_visibility)[..., None], w, np.nan)

    def p(name: str) -> np.ndarray:
        return w[:, LM[name]]

    want = set(ANGLE_NAMES if names is None else names)
    unknown = want - set(ANGLE_NAMES)
    if unknown:
        raise ValueError(f"unknown angle names {sorted(unknown)}")
    up, right, forward = body_frame(w)
    down = -up
    if dims < 3:
        right = forward = np.full_like(up, np.nan)
    out: dict[str, np.ndarray] = {}
    for side in SIDES:
        s = side + "_"
        if s + "ankle" in want:
            out[s + "ankle"] = 90.0 - angle_between(p(s + "knee") - p(s + "ankle"),
                                                    p(s + "foot_index") - p(s + "heel"))
        if s + "knee" in want:
            out[s + "knee"] = 180.0 - inner_angle(p(s + "hip"), p(s + "knee"), p(s + "ankle"))
        if s + "hip" in want:
            out[s + "hip"] = angle_between(p(s + "knee") - p(s + "hip"), down)
        arm = p(s + "elbow") - p(s + "shoulder")
        if s + "shoulder" in want:
            out[s + "shoulder"] = angle_between(arm, down)
        outward = right if side == "right" else -right
        if s + "shoulder_flexion" in want:
            out[s + "shoulder_flexion"] = _plane_angle(arm, down, forward)
        if s + "shoulder_abduction" in want:
            out[s + "shoulder_abduction"] = _plane_angle(arm, down, outward)
        if s + "elbow" in want:
            out[s + "elbow"] = 180.0 - inner_angle(p(s + "shoulder"), p(s + "elbow"), p(s + "wrist"))
    if "trunk" in want:
        out["trunk"] = angle_between(up, np.array([0.0, -1.0, 0.0]))
    return {k: out[k] for k in ANGLE_NAMES if k in out}
