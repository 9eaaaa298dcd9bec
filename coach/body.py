"""BlazePose landmarks -> the physics library's motion sequences (joints mapped by name)."""
from __future__ import annotations

import functools
import logging

import numpy as np

from coach.types import LM, PoseSequence
from physics import HUMAN_13, MotionSequence, Skeleton

log = logging.getLogger(__name__)

#: Skeleton joints that are not BlazePose landmarks: the mean of these landmarks (valid when all are).
DERIVED_JOINTS: dict[str, tuple[str, ...]] = {
    "head": ("left_ear", "right_ear"),
    "neck": ("left_shoulder", "right_shoulder"),
    "mid_hip": ("left_hip", "right_hip"),
}


@functools.lru_cache(maxsize=16)
def _source_pair(joints: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Two landmark indices per skeleton joint: a BlazePose landmark twice, or the two a derived joint is the
    mean of (:data:`DERIVED_JOINTS`)."""
    pairs = []
    for name in joints:
        if name in LM:
            pairs.append((name, name))
        elif name in DERIVED_JOINTS:
            pairs.append(DERIVED_JOINTS[name])
        else:
            raise ValueError(f"skeleton joint {name!r} is neither a BlazePose landmark nor one of "
                             f"{sorted(DERIVED_JOINTS)}")
    return np.array([LM[a] for a, _ in pairs]), np.array([LM[b] for _, b in pairs])


def landmarks_to_joints(world_xyz: np.ndarray, visibility: np.ndarray, skeleton: Skeleton = HUMAN_13,
                        min_visibility: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """``world_xyz (..., 33, 3)``, ``visibility (..., 33)`` -> joint positions ``(..., J, 3)`` and mask
    ``(..., J)`` (visibility >= ``min_visibility`` for every landmark a joint is made of). For one live frame
    as well as a whole sequence."""
    world = np.asarray(world_xyz, np.float32)
    vis = np.asarray(visibility, np.float32)
    seen = (vis >= min_visibility) & np.isfinite(world).all(axis=-1)
    a, b = _source_pair(tuple(skeleton.joints))
    # (x + x) / 2 is x exactly, so landmark joints and two-landmark means come out of one expression
    pos = (world[..., a, :] + world[..., b, :]) * np.float32(0.5)
    return pos, seen[..., a] & seen[..., b]


def to_physics(seq: PoseSequence, skeleton: Skeleton = HUMAN_13, min_visibility: float = 0.5) -> MotionSequence:
    """World landmarks of ``seq`` as a :class:`physics.MotionSequence` on ``skeleton``'s joints. A joint is
    masked where nobody was found or its landmarks' visibility is below ``min_visibility``."""
    pos, mask = landmarks_to_joints(seq.world_xyz, seq.visibility, skeleton, min_visibility)
    mask &= np.asarray(seq.present, bool)[:, None]
    return MotionSequence(pos, mask, seq.t_s, joints=skeleton.joints, source=seq.source)
