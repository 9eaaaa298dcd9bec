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


def joint_sources(skeleton: Skeleton) -> list[tuple[str, ...]]:
    """For each skeleton joint, the BlazePose landmark names it is made of."""
    return list(_sources(tuple(skeleton.joints)))


@functools.lru_cache(maxsize=16)
def _sources(joints: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    out = []
    for name in joints:
        if name in LM:
            out.append((name,))
        elif name in DERIVED_JOINTS:
            out.append(DERIVED_JOINTS[name])
        else:
            raise ValueError(f"skeleton joint {name!r} is neither a BlazePose landmark nor one of "
                             f"{sorted(DERIVED_JOINTS)}")
    return tuple(out)


@functools.lru_cache(maxsize=16)
def _source_pair(joints: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Two landmark indices per joint, its first and last source (one landmark: the same twice)."""
    sources = _sources(joints)
    assert all(len(names) <= 2 for names in sources), "a derived joint is the mean of one or two landmarks"
    return np.array([LM[n[0]] for n in sources]), np.array([LM[n[-1]] for n in sources])


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
