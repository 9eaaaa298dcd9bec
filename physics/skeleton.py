"""Skeleton graph: joints (nodes) and relations (directed edges) of the interaction network.

A :class:`Skeleton` names its joints, lists its bones and a few long-range relations, and says how a body is
put in its own frame: the *root* (mean of some joints) is the origin and the *scale* (distance between the
centroids of two joint groups, e.g. shoulder-mid to hip-mid) is the unit of length. Relations are the bones
and long-range pairs in both directions; each carries a kind (one-hot) and a rest length that the simulator
learns from the training data (:class:`~physics.simulator.LearnedSimulator` stores it, the skeleton does not).

:data:`HUMAN_13` is the default human skeleton. Its joint names are BlazePose landmark names, except
``"head"``, a point between the ears, so callers map landmarks to joints by name.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from physics.errors import SkeletonError

log = logging.getLogger(__name__)

#: Relation kinds, in the order of their one-hot attribute.
RELATION_KINDS: tuple[str, ...] = ("bone", "long_range")


@dataclass(frozen=True)
class Relation:
    """One directed relation ``sender -> receiver`` (joint indices) of a kind in :data:`RELATION_KINDS`."""

    sender: int
    receiver: int
    kind: str


def _pairs(value) -> tuple[tuple[str, str], ...]:
    return tuple((str(a), str(b)) for a, b in value)


@dataclass(frozen=True)
class Skeleton:
    """Joints, relations and the body frame of one kind of body.

    * ``joints``: joint names; the order is the order of the joint axis of every array.
    * ``bones``, ``long_range``: undirected joint-name pairs; each becomes two directed relations.
    * ``root``: joints whose mean is the origin of the body frame (all joints when empty).
    * ``scale``: two joint groups; the distance between their centroids is the unit of length
      (``None``: positions are not scaled).
    * ``mirror``: left/right joint pairs swapped when a body is mirrored (augmentation).
    * ``vertical_axis``: index of the vertical coordinate (1 for MediaPipe, y pointing down); rotation
      augmentation turns bodies about this axis only.
    """

    name: str
    joints: tuple[str, ...]
    bones: tuple[tuple[str, str], ...]
    long_range: tuple[tuple[str, str], ...] = ()
    root: tuple[str, ...] = ()
    scale: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    mirror: tuple[tuple[str, str], ...] = ()
    vertical_axis: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", str(self.name))
        object.__setattr__(self, "joints", tuple(str(j) for j in self.joints))
        object.__setattr__(self, "bones", _pairs(self.bones))
        object.__setattr__(self, "long_range", _pairs(self.long_range))
        object.__setattr__(self, "root", tuple(str(j) for j in self.root))
        object.__setattr__(self, "mirror", _pairs(self.mirror))
        if self.scale is not None:
            a, b = self.scale
            object.__setattr__(self, "scale", (tuple(str(j) for j in a), tuple(str(j) for j in b)))
        object.__setattr__(self, "vertical_axis", int(self.vertical_axis))

        if not self.joints:
            raise SkeletonError(f"skeleton {self.name!r} has no joints")
        if len(set(self.joints)) != len(self.joints):
            raise SkeletonError(f"skeleton {self.name!r} repeats a joint name: {self.joints}")
        known = set(self.joints)

        def check(names, what):
            unknown = [n for n in names if n not in known]
            if unknown:
                raise SkeletonError(f"skeleton {self.name!r}: {what} names unknown joints {unknown}; "
                                    f"joints are {list(self.joints)}")

        seen: set[frozenset[str]] = set()
        for what, pairs in (("bones", self.bones), ("long_range", self.long_range)):
            for a, b in pairs:
                check((a, b), what)
                if a == b:
                    raise SkeletonError(f"skeleton {self.name!r}: relation {a}-{b} joins a joint to itself")
                key = frozenset((a, b))
                if key in seen:
                    raise SkeletonError(f"skeleton {self.name!r}: relation {a}-{b} is listed twice")
                seen.add(key)
        check(self.root, "root")
        if self.scale is not None:
            if not self.scale[0] or not self.scale[1]:
                raise SkeletonError(f"skeleton {self.name!r}: each scale group needs at least one joint")
            check(self.scale[0] + self.scale[1], "scale")
        mirrored: list[str] = []
        for a, b in self.mirror:
            check((a, b), "mirror")
            mirrored += [a, b]
        if len(set(mirrored)) != len(mirrored) or any(a == b for a, b in self.mirror):
            raise SkeletonError(f"skeleton {self.name!r}: mirror pairs must be disjoint pairs of two joints")
        if self.vertical_axis not in (0, 1, 2):
            raise SkeletonError(f"skeleton {self.name!r}: vertical_axis must be 0, 1 or 2")

    # --- derived views -------------------------------------------------------------------------------------
    @property
    def n_joints(self) -> int:
        return len(self.joints)

    def index(self, name: str) -> int:
        try:
            return self.joints.index(name)
        except ValueError:
            raise SkeletonError(f"joint {name!r} is not in skeleton {self.name!r} ({list(self.joints)})") from None

    @cached_property
    def relations(self) -> tuple[Relation, ...]:
        """Bones then long-range relations, each as ``a -> b`` followed by ``b -> a``."""
        out = []
        for kind, pairs in (("bone", self.bones), ("long_range", self.long_range)):
            for a, b in pairs:
                ia, ib = self.index(a), self.index(b)
                out += [Relation(ia, ib, kind), Relation(ib, ia, kind)]
        return tuple(out)

    @property
    def n_relations(self) -> int:
        return len(self.relations)

    @cached_property
    def senders(self) -> np.ndarray:
        return np.array([r.sender for r in self.relations], dtype=np.int64)

    @cached_property
    def receivers(self) -> np.ndarray:
        return np.array([r.receiver for r in self.relations], dtype=np.int64)

    @cached_property
    def relation_kind_onehot(self) -> np.ndarray:
        """``(R, len(RELATION_KINDS))`` float32 one-hot of each relation's kind."""
        out = np.zeros((self.n_relations, len(RELATION_KINDS)), np.float32)
        for i, r in enumerate(self.relations):
            out[i, RELATION_KINDS.index(r.kind)] = 1.0
        return out

    @cached_property
    def root_indices(self) -> np.ndarray:
        names = self.root or self.joints
        return np.array([self.index(n) for n in names], dtype=np.int64)

    @cached_property
    def scale_indices(self) -> tuple[np.ndarray, np.ndarray] | None:
        if self.scale is None:
            return None
        return (np.array([self.index(n) for n in self.scale[0]], dtype=np.int64),
                np.array([self.index(n) for n in self.scale[1]], dtype=np.int64))

    @cached_property
    def mirror_permutation(self) -> np.ndarray:
        """Joint permutation that swaps each mirror pair (identity for unpaired joints)."""
        perm = np.arange(self.n_joints)
        for a, b in self.mirror:
            ia, ib = self.index(a), self.index(b)
            perm[ia], perm[ib] = ib, ia
        return perm

    # --- serialisation -------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "name": self.name, "joints": list(self.joints),
            "bones": [list(p) for p in self.bones], "long_range": [list(p) for p in self.long_range],
            "root": list(self.root),
            "scale": None if self.scale is None else [list(self.scale[0]), list(self.scale[1])],
            "mirror": [list(p) for p in self.mirror], "vertical_axis": self.vertical_axis,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Skeleton":
        try:
            scale = d.get("scale")
            return cls(name=d["name"], joints=tuple(d["joints"]), bones=_pairs(d["bones"]),
                       long_range=_pairs(d.get("long_range", ())), root=tuple(d.get("root", ())),
                       scale=None if scale is None else (tuple(scale[0]), tuple(scale[1])),
                       mirror=_pairs(d.get("mirror", ())), vertical_axis=int(d.get("vertical_axis", 1)))
        except (KeyError, TypeError, ValueError, IndexError) as e:
            if isinstance(e, SkeletonError):
                raise
            raise SkeletonError(f"invalid skeleton description ({type(e).__name__}: {e})") from None


def _lr(*names: str) -> tuple[str, ...]:
    return tuple(f"{side}_{n}" for n in names for side in ("left", "right"))


#: 13 joints: a head point (mid-ears), shoulders, elbows, wrists, hips, knees, ankles. Names are BlazePose
#: landmark names except "head". Root: hip-mid. Unit of length: torso (shoulder-mid to hip-mid).
HUMAN_13 = Skeleton(
    name="human13",
    joints=("head",) + _lr("shoulder", "elbow", "wrist", "hip", "knee", "ankle"),
    bones=(
        ("head", "left_shoulder"), ("head", "right_shoulder"), ("left_shoulder", "right_shoulder"),
        ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
        ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
        ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"), ("left_hip", "right_hip"),
        ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
        ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ),
    long_range=(
        # posture of the trunk and legs (sagging / piked hips), head carriage, arm reach, torso twist
        ("left_hip", "left_ankle"), ("right_hip", "right_ankle"),
        ("left_shoulder", "left_knee"), ("right_shoulder", "right_knee"),
        ("head", "left_hip"), ("head", "right_hip"),
        ("left_shoulder", "left_wrist"), ("right_shoulder", "right_wrist"),
        ("left_shoulder", "right_hip"), ("right_shoulder", "left_hip"),
    ),
    root=("left_hip", "right_hip"),
    scale=(("left_shoulder", "right_shoulder"), ("left_hip", "right_hip")),
    mirror=tuple((f"left_{n}", f"right_{n}") for n in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")),
    vertical_axis=1,
)

#: Skeletons by name (``python -m physics.train --skeleton NAME``).
SKELETONS: dict[str, Skeleton] = {HUMAN_13.name: HUMAN_13}


def get_skeleton(name: str) -> Skeleton:
    try:
        return SKELETONS[name]
    except KeyError:
        raise SkeletonError(f"unknown skeleton {name!r}; known: {sorted(SKELETONS)}") from None
