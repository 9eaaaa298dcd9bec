"""Joint angles on synthetic bodies with known angles (MediaPipe world axes: x image-right, y down, z away)."""
from __future__ import annotations

import numpy as np
import pytest

from coach.angles import ANGLE_NAMES, angle_between, body_frame, cross, inner_angle, joint_angles
from coach.types import LM, PoseSequence

DOWN = np.array([0.0, 1.0, 0.0])
FORWARD = np.array([0.0, 0.0, -1.0])  # a person facing the camera faces -z
RIGHT = np.array([-1.0, 0.0, 0.0])  # ... and their right is the image's left


def _dir(base, toward, deg):
    r = np.radians(deg)
    return np.cos(r) * base + np.sin(r) * toward


def body(knee=0.0, hip=0.0, elbow=0.0, shoulder_flex=0.0, shoulder_abd=0.0, ankle=0.0, side="both"):
    """World landmarks (33, 3) of a person facing the camera with the given joint angles (degrees) on both
    sides; trunk upright, hips at the origin."""
    w = np.full((33, 3), np.nan)
    w[LM["left_hip"]], w[LM["right_hip"]] = (0.1, 0, 0), (-0.1, 0, 0)
    w[LM["left_shoulder"]], w[LM["right_shoulder"]] = (0.18, -0.5, 0), (-0.18, -0.5, 0)
    w[LM["nose"]] = (0, -0.7, -0.05)
    for s, outward in (("left", -RIGHT), ("right", RIGHT)):
        h = w[LM[f"{s}_hip"]]
        thigh = _dir(DOWN, FORWARD, hip)
        k = h + 0.4 * thigh
        back = -FORWARD - np.dot(-FORWARD, thigh) * thigh  # square to the thigh, in the sagittal plane
        shank = _dir(thigh, back / np.linalg.norm(back), knee)
        a = k + 0.4 * shank
        up_shank = -shank
        # foot: square to the shank pointing forward at 0, toes raised by `ankle` degrees
        fwd_perp = FORWARD - np.dot(FORWARD, up_shank) * up_shank
        fwd_perp /= np.linalg.norm(fwd_perp)
        foot = _dir(fwd_perp, up_shank, ankle)
        w[LM[f"{s}_knee"]], w[LM[f"{s}_ankle"]] = k, a
        w[LM[f"{s}_heel"]] = a - 0.05 * foot + 0.05 * shank
        w[LM[f"{s}_foot_index"]] = w[LM[f"{s}_heel"]] + 0.2 * foot
        sh = w[LM[f"{s}_shoulder"]]
        if shoulder_abd:
            arm = _dir(DOWN, outward, shoulder_abd)
        else:
            arm = _dir(DOWN, FORWARD, shoulder_flex)
        e = sh + 0.3 * arm
        # forearm bends forward/upward from the upper arm by `elbow` degrees, in the arm's plane with forward
        bend_dir = FORWARD - np.dot(FORWARD, arm) * arm
        if np.linalg.norm(bend_dir) < 1e-6:
            bend_dir = -DOWN - np.dot(-DOWN, arm) * arm
        bend_dir /= np.linalg.norm(bend_dir)
        w[LM[f"{s}_elbow"]] = e
        w[LM[f"{s}_wrist"]] = e + 0.25 * _dir(arm, bend_dir, elbow)
    return w


def _angles(w, **kw):
    return {k: float(v[0]) for k, v in joint_angles(np.asarray(w)[None], **kw).items()}


def test_names_are_pose2sim_like():
    assert set(ANGLE_NAMES) >= {"right_knee", "left_knee", "right_elbow", "left_elbow", "right_hip", "left_hip",
                                "right_shoulder", "left_shoulder", "right_ankle", "left_ankle", "trunk"}
    assert all(" " not in n for n in ANGLE_NAMES)


def test_neutral_standing_is_zero():
    a = _angles(body())
    for name in ("right_knee", "left_knee", "right_hip", "left_hip", "right_elbow", "left_elbow",
                 "right_shoulder", "left_shoulder", "right_ankle", "left_ankle", "trunk",
                 "right_shoulder_flexion", "left_shoulder_abduction"):
        assert a[name] == pytest.approx(0.0, abs=1e-6), name


@pytest.mark.parametrize("deg", [10, 45, 90, 135])
def test_knee_and_elbow_flexion(deg):
    a = _angles(body(knee=deg, elbow=deg))
    for name in ("right_knee", "left_knee", "right_elbow", "left_elbow"):
        assert a[name] == pytest.approx(deg, abs=1e-6), name


@pytest.mark.parametrize("deg", [20, 90, 120])
def test_hip_flexion(deg):
    a = _angles(body(hip=deg))
    assert a["right_hip"] == pytest.approx(deg, abs=1e-6)
    assert a["left_hip"] == pytest.approx(deg, abs=1e-6)
    assert a["right_knee"] == pytest.approx(0.0, abs=1e-6)
    squat = _angles(body(hip=deg, knee=deg / 2))  # knee bent too: each angle stays its own
    assert squat["left_hip"] == pytest.approx(deg, abs=1e-6)
    assert squat["left_knee"] == pytest.approx(deg / 2, abs=1e-6)


@pytest.mark.parametrize("deg", [30, 60, 150, 170])
def test_shoulder_flexion(deg):
    a = _angles(body(shoulder_flex=deg))
    for s in ("right", "left"):
        assert a[f"{s}_shoulder"] == pytest.approx(deg, abs=1e-6)
        assert a[f"{s}_shoulder_flexion"] == pytest.approx(deg, abs=1e-6)
        assert abs(a[f"{s}_shoulder_abduction"]) == pytest.approx(0.0 if deg < 90 else 180.0, abs=1e-6)


def test_shoulder_extension_is_negative():
    a = _angles(body(shoulder_flex=-30))
    assert a["right_shoulder_flexion"] == pytest.approx(-30, abs=1e-6)
    assert a["right_shoulder"] == pytest.approx(30, abs=1e-6)


@pytest.mark.parametrize("deg", [30, 90, 160])
def test_shoulder_abduction(deg):
    a = _angles(body(shoulder_abd=deg))
    for s in ("right", "left"):
        assert a[f"{s}_shoulder_abduction"] == pytest.approx(deg, abs=1e-6), s
        assert a[f"{s}_shoulder"] == pytest.approx(deg, abs=1e-6)
    if deg < 90:
        assert a["right_shoulder_flexion"] == pytest.approx(0.0, abs=1e-6)


def test_arm_across_the_body_is_negative_abduction():
    w = body()
    for s, inward in (("right", -RIGHT), ("left", RIGHT)):
        sh = w[LM[f"{s}_shoulder"]]
        w[LM[f"{s}_elbow"]] = sh + 0.3 * _dir(DOWN, inward, 20)
    a = _angles(w)
    assert a["right_shoulder_abduction"] == pytest.approx(-20, abs=1e-6)
    assert a["left_shoulder_abduction"] == pytest.approx(-20, abs=1e-6)


@pytest.mark.parametrize("deg", [-30, 15, 25])
def test_ankle_dorsiflexion(deg):
    a = _angles(body(ankle=deg))
    assert a["right_ankle"] == pytest.approx(deg, abs=1e-6)
    assert a["left_ankle"] == pytest.approx(deg, abs=1e-6)


def _rot_x(deg):
    r = np.radians(deg)
    return np.array([[1, 0, 0], [0, np.cos(r), -np.sin(r)], [0, np.sin(r), np.cos(r)]])


def _rot_y(deg):
    r = np.radians(deg)
    return np.array([[np.cos(r), 0, np.sin(r)], [0, 1, 0], [-np.sin(r), 0, np.cos(r)]])


@pytest.mark.parametrize("deg", [10, 45, 90])
def test_trunk_lean_and_invariance_to_body_orientation(deg):
    w = body(knee=40, hip=70, elbow=60, shoulder_flex=50, ankle=10)
    ref = _angles(w)
    # lean forward: rotate the whole body about the left-right axis
    leaned = w @ _rot_x(-deg).T
    a = _angles(leaned)
    assert a["trunk"] == pytest.approx(deg, abs=1e-6)
    for k in ANGLE_NAMES:
        if k != "trunk":
            assert a[k] == pytest.approx(ref[k], abs=1e-6), k
    # turning about the vertical changes nothing
    turned = _angles(w @ _rot_y(70).T)
    for k in ANGLE_NAMES:
        assert turned[k] == pytest.approx(ref[k], abs=1e-6), k


def test_missing_landmarks_give_nan_only_where_needed():
    w = body(knee=30, elbow=20)
    w[LM["left_wrist"]] = np.nan
    a = _angles(w)
    assert np.isnan(a["left_elbow"])
    assert a["right_elbow"] == pytest.approx(20, abs=1e-6)
    assert a["left_knee"] == pytest.approx(30, abs=1e-6)
    w[LM["left_hip"]] = np.nan
    a = _angles(w)
    assert np.isnan(a["trunk"]) and np.isnan(a["right_hip"]) and np.isnan(a["left_knee"])
    assert a["right_knee"] == pytest.approx(30, abs=1e-6)


def test_min_visibility_and_sequence_input():
    frames = np.stack([body(knee=10), body(knee=50), np.full((33, 3), np.nan)])
    vis = np.ones((3, 33))
    vis[1, LM["right_ankle"]] = 0.2
    seq = PoseSequence(np.arange(3) / 30, np.full((3, 33, 2), 0.5), frames, vis, fps=30,
                       present=np.array([True, True, False]))
    a = joint_angles(seq)
    assert a["right_knee"].shape == (3,)
    np.testing.assert_allclose(a["right_knee"][:2], [10, 50], atol=1e-6)
    assert np.isnan(a["right_knee"][2])
    b = joint_angles(seq, min_visibility=0.5)
    assert np.isnan(b["right_knee"][1]) and b["left_knee"][1] == pytest.approx(50, abs=1e-6)


def test_2d_data_has_no_flexion_abduction_split():
    w = body(shoulder_flex=60, knee=30)
    w[:, 2] = 0  # project on the image plane (front view)
    a = _angles(w, dims=2)
    assert np.isnan(a["right_shoulder_flexion"]) and np.isnan(a["right_shoulder_abduction"])
    assert a["right_knee"] == pytest.approx(0.0, abs=1e-6)  # a front view hides knee flexion: honest 2-D angle
    side = body(knee=30, hip=40) @ _rot_y(90).T  # side view: hips behind each other
    side[:, 2] = 0
    a = _angles(side, dims=2)
    assert a["right_knee"] == pytest.approx(30, abs=1e-6)
    assert a["right_hip"] == pytest.approx(40, abs=1e-6)
    up, right, fwd = body_frame(side[None])
    assert np.isnan(right).all() and np.isfinite(up).all()


def test_cross_is_numpys_cross_to_the_bit():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    a[4, 1] = np.nan
    for x, y in ((a, b), (a[0], b), (a.astype(np.float32), b[0]), (a.reshape(5, 10, 3), b[:10])):
        got, want = cross(x, y), np.cross(x, y)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.array_equal(got, want, equal_nan=True)
    assert np.array_equal(cross([1.0, 0, 0], [0, 1.0, 0]), [0, 0, 1.0])


def test_helpers():
    assert angle_between(np.array([1, 0, 0]), np.array([0, 1, 0])) == pytest.approx(90)
    assert angle_between(np.array([1, 0, 0]), np.array([1, 1e-9, 0])) == pytest.approx(0, abs=1e-6)
    assert np.isnan(angle_between(np.zeros(3), np.array([1, 0, 0])))
    assert inner_angle(np.array([1, 0, 0]), np.zeros(3), np.array([-1, 0, 0])) == pytest.approx(180)
    with pytest.raises(ValueError):
        joint_angles(np.zeros((4, 17, 3)))


@pytest.mark.integration
def test_real_clip_angles_are_plausible(data_dir):
    from coach.datasets import cached_landmarks, pushfit_clips

    seq = cached_landmarks(pushfit_clips(data_dir)[0].path)
    a = joint_angles(seq)
    ok = seq.present
    trunk = a["trunk"][ok]
    assert 60 < np.nanmedian(trunk) < 110  # a push-up: the trunk is near horizontal
    elbows = np.nanmax(np.c_[a["left_elbow"], a["right_elbow"]][ok], axis=1)
    assert np.nanpercentile(elbows, 95) - np.nanpercentile(elbows, 5) > 30  # the elbows bend and straighten
    for k, v in a.items():
        v = v[ok & np.isfinite(v)]
        assert np.all((v >= -180) & (v <= 180)), k
