from __future__ import annotations

import numpy as np
import pytest

from physics import HUMAN_13, RELATION_KINDS, Skeleton, SkeletonError, get_skeleton


def test_human13_joint_names_are_blazepose_names_or_head():
    from coach.types import LANDMARK_NAMES

    assert HUMAN_13.n_joints == 13
    assert set(HUMAN_13.joints) - set(LANDMARK_NAMES) == {"head"}
    assert get_skeleton("human13") is HUMAN_13


def test_relations_are_bones_and_long_range_in_both_directions():
    sk = HUMAN_13
    assert sk.n_relations == 2 * (len(sk.bones) + len(sk.long_range))
    pairs = {(r.sender, r.receiver) for r in sk.relations}
    assert all((b, a) in pairs for a, b in pairs)
    kinds = {r.kind for r in sk.relations}
    assert kinds == set(RELATION_KINDS)
    onehot = sk.relation_kind_onehot
    assert onehot.shape == (sk.n_relations, len(RELATION_KINDS)) and np.all(onehot.sum(1) == 1)
    # posture-carrying long-range relations are there
    names = {frozenset(p) for p in sk.long_range}
    assert frozenset(("left_hip", "left_ankle")) in names


def test_mirror_permutation_swaps_left_and_right():
    perm = HUMAN_13.mirror_permutation
    assert np.array_equal(perm[perm], np.arange(HUMAN_13.n_joints))
    ls, rs = HUMAN_13.index("left_shoulder"), HUMAN_13.index("right_shoulder")
    assert perm[ls] == rs and perm[HUMAN_13.index("head")] == HUMAN_13.index("head")


def test_roundtrip_dict():
    assert Skeleton.from_dict(HUMAN_13.to_dict()) == HUMAN_13


@pytest.mark.parametrize("kwargs, match", [
    (dict(joints=("a", "a"), bones=()), "repeats"),
    (dict(joints=("a", "b"), bones=(("a", "c"),)), "unknown"),
    (dict(joints=("a", "b"), bones=(("a", "a"),)), "itself"),
    (dict(joints=("a", "b"), bones=(("a", "b"), ("b", "a"))), "twice"),
    (dict(joints=("a", "b"), bones=(), mirror=(("a", "a"),)), "mirror"),
    (dict(joints=("a", "b"), bones=(), root=("z",)), "unknown"),
])
def test_invalid_skeletons_are_rejected(kwargs, match):
    with pytest.raises(SkeletonError, match=match):
        Skeleton(name="bad", **kwargs)
