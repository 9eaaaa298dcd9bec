"""BlazePose landmarks -> the physics library's motion sequences (joints mapped by name)."""
from __future__ import annotations

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


def joint_sources(skeleton: Skeleton) -> list[tuple[str, ...]]:
    """For each skeleton joint, the BlazePose landmark names it is made of."""
    out = []
    for name in skeleton.joints:
        if name in LM:
            out.append((name,))
        elif name in DERIVED_JOINTS:
            out.append(DERIVED_JOINTS[name])
        else:
            raise ValueError(f"skeleton joint {name!r} is neither a BlazePose landmark nor one of "
                             f"{sorted(DERIVED_JOINTS)}")
    return out


def landmarks_to_joints(world_xyz: np.ndarray, visibility: np.ndarray, skeleton: Skeleton = HUMAN_13,
                        min_visibility: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """``world_xyz (..., 33, 3)``, ``visibility (..., 33)`` -> joint positions ``(..., J, 3)`` and mask
    ``(..., J)`` (visibility >= ``min_visibility`` for every landmark a joint is made of). For one live frame
    as well as a whole sequence."""
    world = np.asarray(world_xyz, np.float32)
    vis = np.asarray(visibility, np.float32)
    seen = (vis >= min_visibility) & np.isfinite(world).all(axis=-1)
    pos, mask = [], []
    for names in joint_sources(skeleton):
        idx = [LM[n] for n in names]
        pos.append(world[..., idx, :].mean(axis=-2))
        mask.append(seen[..., idx].all(axis=-1))
    return np.stack(pos, axis=-2), np.stack(mask, axis=-1)


def to_physics(seq: PoseSequence, skeleton: Skeleton = HUMAN_13, min_visibility: float = 0.5) -> MotionSequence:
    """World landmarks of ``seq`` as a :class:`physics.MotionSequence` on ``skeleton``'s joints. A joint is
    masked where nobody was found or its landmarks' visibility is below ``min_visibility``."""
    pos, mask = landmarks_to_joints(seq.world_xyz, seq.visibility, skeleton, min_visibility)
    mask &= np.asarray(seq.present, bool)[:, None]
    return MotionSequence(pos, mask, seq.t_s, joints=skeleton.joints, source=seq.source)
