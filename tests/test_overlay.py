"""Skeleton / HUD drawing: pure (input untouched), visibility-aware, scaled to the image, fast enough per frame."""
from __future__ import annotations

import time

import numpy as np
import pytest

from coach.overlay import annotate, draw_hud, draw_skeleton, hud_scale, hud_text, line_thickness
from coach.types import LM, PoseFrame


def _pose(visible=1.0, **overrides):
    """A standing figure in normalised image coordinates."""
    xy = np.full((33, 2), 0.5)
    pts = {"nose": (0.5, 0.15), "left_shoulder": (0.6, 0.3), "right_shoulder": (0.4, 0.3),
           "left_elbow": (0.65, 0.45), "right_elbow": (0.35, 0.45), "left_wrist": (0.67, 0.6),
           "right_wrist": (0.33, 0.6), "left_hip": (0.57, 0.6), "right_hip": (0.43, 0.6),
           "left_knee": (0.58, 0.75), "right_knee": (0.42, 0.75), "left_ankle": (0.58, 0.9),
           "right_ankle": (0.42, 0.9)}
    pts.update(overrides)
    for k, v in pts.items():
        xy[LM[k]] = v
    vis = np.full(33, float(visible))
    return PoseFrame(0.0, xy, np.zeros((33, 3)), vis)


def _px(img, name_xy):
    x, y = name_xy
    h, w = img.shape[:2]
    return img[int(round(y * h)), int(round(x * w))]


def test_draws_without_touching_the_input():
    img = np.zeros((240, 320, 3), np.uint8)
    out = draw_skeleton(img, _pose(), color=(0, 255, 0), joint_color=(255, 255, 255))
    assert img.sum() == 0
    assert out is not img and out.shape == img.shape and out.dtype == np.uint8
    assert out.sum() > 0
    # a joint is drawn where it is, a bone between two joints
    assert tuple(_px(out, (0.57, 0.6))) == (255, 255, 255)
    mid = ((0.57 + 0.58) / 2, (0.6 + 0.75) / 2)  # left hip -> left knee
    assert _px(out, mid)[1] > 150


def test_hidden_joints_and_their_bones_are_not_drawn():
    img = np.zeros((240, 320, 3), np.uint8)
    pose = _pose()
    vis = pose.visibility.copy()
    vis[LM["left_knee"]] = 0.1
    out = draw_skeleton(img, PoseFrame(0.0, pose.image_xy, pose.world_xyz, vis), min_visibility=0.5)
    assert _px(out, (0.58, 0.75)).sum() == 0
    assert _px(out, ((0.57 + 0.58) / 2, (0.6 + 0.75) / 2)).sum() == 0
    assert draw_skeleton(img, _pose(visible=0.2)).sum() == 0


def test_none_and_nan_are_safe():
    img = np.full((60, 80, 3), 7, np.uint8)
    assert np.array_equal(draw_skeleton(img, None), img)
    pose = _pose()
    xy = pose.image_xy.copy()
    xy[LM["left_wrist"]] = np.nan
    xy[LM["right_wrist"]] = (50.0, -80.0)  # far outside the frame
    out = draw_skeleton(img, PoseFrame(0.0, xy, pose.world_xyz, pose.visibility))
    assert out.shape == img.shape


def test_highlight_marks_a_joint_in_the_fault_colour():
    img = np.zeros((480, 640, 3), np.uint8)
    out = draw_skeleton(img, _pose(), highlight={"left_hip": (255, 0, 0)})
    assert tuple(_px(out, (0.57, 0.6))) == (255, 0, 0)
    assert tuple(_px(out, (0.43, 0.6))) != (255, 0, 0)
    by_index = draw_skeleton(img, _pose(), highlight={LM["left_hip"]: (255, 0, 0)})
    assert np.array_equal(out, by_index)
    with pytest.raises(ValueError, match="unknown landmark"):
        draw_skeleton(img, _pose(), highlight={"left_hipp": (255, 0, 0)})


def test_marks_only_draws_the_highlighted_joints_and_their_bones_alone():
    # for a frame of the annotated video, whose skeleton is drawn already
    img = np.zeros((480, 640, 3), np.uint8)
    out = draw_skeleton(img, _pose(), highlight={"left_hip": (255, 0, 0)}, marks_only=True)
    assert tuple(_px(out, (0.57, 0.6))) == (255, 0, 0)
    assert tuple(_px(out, (0.575, 0.675))) == (255, 0, 0)  # the hip-knee bone, in the fault colour
    whole = draw_skeleton(img, _pose(), highlight={"left_hip": (255, 0, 0)})
    assert 0 < out.any(axis=2).sum() < whole.any(axis=2).sum() / 2
    for name in ("nose", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_knee", "left_ankle",
                 "right_ankle"):  # joints not marked, nor on a marked bone: untouched
        assert tuple(_px(out, _pose().image_xy[LM[name]])) == (0, 0, 0), name
    assert np.array_equal(draw_skeleton(img, _pose(), marks_only=True), img)  # nothing to mark


def test_sizes_scale_with_the_image():
    small, large = np.zeros((240, 320, 3), np.uint8), np.zeros((1080, 1920, 3), np.uint8)
    assert line_thickness(small) < line_thickness(large)
    assert hud_scale(small) < hud_scale(large)
    ink_small = (draw_skeleton(small, _pose()) > 0).any(axis=2).mean()
    ink_large = (draw_skeleton(large, _pose()) > 0).any(axis=2).mean()
    assert ink_large == pytest.approx(ink_small, rel=0.6)  # similar share of the frame at both sizes


def test_hud_box_and_text():
    img = np.full((480, 640, 3), 200, np.uint8)
    out = draw_hud(img, ["Reps: 3", ("Keep your hips up", (255, 0, 0))], corner="top-left")
    assert np.array_equal(img, np.full((480, 640, 3), 200, np.uint8))
    tl, br = out[:120, :320], out[360:, 320:]
    assert out[12, 12].max() < 120  # darkened box behind the text
    assert np.array_equal(br, img[360:, 320:])
    assert ((tl[..., 0] > 200) & (tl[..., 1] < 80)).any()  # red text
    out_br = draw_hud(img, ["Reps: 3"], corner="bottom-right")
    assert out_br[360:, 320:].mean() < img.mean() and np.array_equal(out_br[:120, :320], img[:120, :320])
    assert np.array_equal(draw_hud(img, []), img)
    with pytest.raises(ValueError, match="corner"):
        draw_hud(img, ["x"], corner="middle")


def test_hud_text_is_ascii():
    assert hud_text("Knee 20° – deeper “now”") == 'Knee 20 deg - deeper "now"'
    assert hud_text("Ellbögen") == "Ellbogen"
    # a long line on a small image does not crash and stays inside
    out = draw_hud(np.zeros((60, 80, 3), np.uint8), ["a very long line of coaching text " * 3])
    assert out.shape == (60, 80, 3)


def test_rejects_non_rgb():
    with pytest.raises(ValueError):
        draw_skeleton(np.zeros((10, 10), np.uint8), None)
    with pytest.raises(ValueError):
        draw_hud(np.zeros((10, 10, 3), np.float32), ["x"])


def test_annotate_equals_skeleton_then_hud():
    img = np.random.default_rng(1).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    lines = ["Reps: 2", ("Hips sagging", (255, 0, 0))]
    a = annotate(img, _pose(), lines, highlight={"left_hip": (255, 0, 0)})
    b = draw_hud(draw_skeleton(img, _pose(), highlight={"left_hip": (255, 0, 0)}), lines)
    assert np.array_equal(a, b)


def test_cost_per_frame_is_reported(capsys):
    """Skeleton + highlight + 3-line HUD at 640x480 (measured, printed; not asserted)."""
    img = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    poses = [_pose(left_wrist=(0.67 + 0.001 * i, 0.6)) for i in range(50)]
    lines = ["Reps: 3", ("Keep your hips up", (255, 60, 60)), "Tracking OK"]
    for p in poses[:5]:
        annotate(img, p, lines, highlight={"left_hip": (255, 0, 0)})
    t0 = time.perf_counter()
    for p in poses:
        annotate(img, p, lines, highlight={"left_hip": (255, 0, 0)})
    ms = (time.perf_counter() - t0) / len(poses) * 1000
    with capsys.disabled():
        print(f"\noverlay cost at 640x480: {ms:.3f} ms/frame (skeleton + highlight + 3-line HUD)")
