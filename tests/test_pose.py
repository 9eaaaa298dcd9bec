"""Pose stage: model bundle checks, the estimator on synthetic and real frames, the typed containers."""
from __future__ import annotations

import zipfile

import numpy as np
import pytest

from coach.errors import ModelFileError
from coach.paths import default_pose_model
from coach.pose import check_model_file
from coach.types import LM, N_LANDMARKS, PoseFrame, PoseResult, PoseSequence


def _frame(t=0.0, **kw):
    base = dict(t_s=t, image_xy=np.full((33, 2), 0.5), world_xyz=np.zeros((33, 3)), visibility=np.ones(33))
    base.update(kw)
    return PoseFrame(**base)


def test_check_model_file_errors_say_what_to_do(tmp_path):
    with pytest.raises(ModelFileError, match="not found.*build_pose_model"):
        check_model_file(tmp_path / "missing.task")
    junk = tmp_path / "junk.task"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(ModelFileError, match="not a .task bundle"):
        check_model_file(junk)
    other = tmp_path / "other.task"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("hand_detector.tflite", b"x")
    with pytest.raises(ModelFileError, match="not a Pose Landmarker bundle"):
        check_model_file(other)


def test_bundled_model_has_both_networks():
    p = check_model_file(default_pose_model())
    with zipfile.ZipFile(p) as z:
        infos = {i.filename: i for i in z.infolist()}
    assert set(infos) == {"pose_detector.tflite", "pose_landmarks_detector.tflite"}
    for info in infos.values():  # members are stored, not compressed, so they can be memory-mapped
        assert info.compress_type == zipfile.ZIP_STORED


def test_pose_frame_validates_shapes():
    with pytest.raises(ValueError, match="image_xy"):
        _frame(image_xy=np.zeros((17, 2)))
    with pytest.raises(ValueError, match="t_s"):
        _frame(t=float("nan"))
    f = _frame()
    with pytest.raises(ValueError):
        f.world_xyz[0, 0] = 1.0  # read-only arrays: frames are values


def test_sequence_from_results_keeps_missing_frames_as_nan():
    res = [PoseResult(0.0, (_frame(0.0),)), PoseResult(0.04), PoseResult(0.08, (_frame(0.08),))]
    seq = PoseSequence.from_results(res, fps=25.0)
    assert len(seq) == 3
    assert seq.present.tolist() == [True, False, True]
    assert np.isnan(seq.world_xyz[1]).all() and seq.frame(1) is None
    assert seq.frame(2).t_s == pytest.approx(0.08)
    assert [r.found for r in seq.results()] == [True, False, True]
    with pytest.raises(ValueError, match="strictly increasing"):
        PoseSequence.from_results([PoseResult(0.1), PoseResult(0.1)], fps=25.0)


def _random_sequence(n=7, fps=30.0):
    rng = np.random.default_rng(1)
    img, wld = rng.uniform(0, 1, (n, 33, 2)), rng.normal(0, 0.5, (n, 33, 3))
    img[2] = wld[2] = np.nan  # nobody in frame 2
    return PoseSequence(np.arange(n) / fps, img, wld, rng.uniform(0, 1, (n, 33)), fps=fps, image_size=(640, 480))


def test_a_mirrored_sequence_flips_x_and_swaps_left_and_right():
    seq = _random_sequence()
    m = seq.mirrored()
    left, right = LM["left_wrist"], LM["right_wrist"]
    np.testing.assert_allclose(m.image_xy[:, left, 0], 1 - seq.image_xy[:, right, 0], atol=1e-6)
    np.testing.assert_array_equal(m.image_xy[:, left, 1], seq.image_xy[:, right, 1])
    np.testing.assert_array_equal(m.world_xyz[:, right, 0], -seq.world_xyz[:, left, 0])
    np.testing.assert_array_equal(m.world_xyz[:, right, 1:], seq.world_xyz[:, left, 1:])
    np.testing.assert_array_equal(m.visibility[:, LM["mouth_left"]], seq.visibility[:, LM["mouth_right"]])
    np.testing.assert_array_equal(m.image_xy[:, LM["nose"], 1], seq.image_xy[:, LM["nose"], 1])  # on the midline
    assert m.present.tolist() == seq.present.tolist() and m.t_s.tolist() == seq.t_s.tolist()
    twice = m.mirrored()
    np.testing.assert_allclose(twice.image_xy, seq.image_xy, atol=1e-6)
    np.testing.assert_array_equal(twice.world_xyz, seq.world_xyz)
    np.testing.assert_array_equal(twice.visibility, seq.visibility)


def test_every_other_frame_is_the_same_movement_at_half_the_frame_rate():
    seq = _random_sequence(n=7)
    half = seq.every(2)
    assert len(half) == 4 and half.fps == 15.0 and half.image_size == (640, 480)
    assert half.t_s.tolist() == seq.t_s[::2].tolist()
    np.testing.assert_array_equal(half.world_xyz[3], seq.world_xyz[6])
    assert half.present.tolist() == [True, False, True, True]
    assert len(seq.every(1)) == len(seq)
    for bad in (0, -2, 1.5):
        with pytest.raises(ValueError, match="whole number"):
            seq.every(bad)


def test_a_rolled_camera_turns_the_picture_about_its_centre_and_the_world_alike():
    seq = _random_sequence()  # 640 x 480
    r = seq.rolled(90)
    # a quarter turn clockwise on screen (y down): a point right of centre moves below it, in pixels
    px = (seq.image_xy - 0.5) * [640, 480]
    rx = (r.image_xy - 0.5) * [640, 480]
    np.testing.assert_allclose(rx[..., 0], -px[..., 1], atol=1e-3)
    np.testing.assert_allclose(rx[..., 1], px[..., 0], atol=1e-3)
    np.testing.assert_allclose(r.world_xyz[..., 0], -seq.world_xyz[..., 1], atol=1e-6)
    np.testing.assert_allclose(r.world_xyz[..., 1], seq.world_xyz[..., 0], atol=1e-6)
    np.testing.assert_array_equal(r.world_xyz[..., 2], seq.world_xyz[..., 2])  # depth unchanged
    # lengths between landmarks are kept, in the world and in pixels; turning back is the identity
    for a, b in ((px, rx), (seq.world_xyz, r.world_xyz)):
        np.testing.assert_allclose(np.linalg.norm(b[:, 11] - b[:, 15], axis=-1),
                                   np.linalg.norm(a[:, 11] - a[:, 15], axis=-1), atol=1e-3)
    back = seq.rolled(10).rolled(-10)
    np.testing.assert_allclose(back.image_xy, seq.image_xy, atol=1e-5)
    np.testing.assert_allclose(back.world_xyz, seq.world_xyz, atol=1e-5)
    assert r.present.tolist() == seq.present.tolist() and r.t_s.tolist() == seq.t_s.tolist()
    np.testing.assert_array_equal(r.visibility, seq.visibility)


def test_the_far_search_looks_around_a_small_person_and_leaves_a_big_one_to_the_pose_model():
    from coach.pose import FAR_CONFIRM_S, FAR_KEEP_S, FarSearch, uncrop

    s, w, h = FarSearch(), 1280, 720

    def pose(x0, y0, x1, y1, vis=1.0):  # a pose whose landmarks span this pixel box
        xy = np.linspace([x0, y0], [x1, y1], N_LANDMARKS) / [w, h]
        return PoseFrame(0.0, xy, np.zeros((N_LANDMARKS, 3)), np.full(N_LANDMARKS, vis))

    # nobody seen yet: squares of three quarters of the picture's height, the centre first, then either end
    assert [s.crop(w, h, 0.0) for _ in range(4)] == [(370, 90, 910, 630), (0, 90, 540, 630),
                                                     (740, 90, 1280, 630), (370, 90, 910, 630)]
    # a small person (120 px of 1280) found in the crops counts once seen in one place, frame after frame, for
    # FAR_CONFIRM_S; a frame without them starts the wait again
    t = [1.0, 1.0 + FAR_CONFIRM_S / 2, 1.0 + FAR_CONFIRM_S + 0.01]
    assert [s.seen(pose(600, 300, 660, 420), w, h, ti, in_crop=True) for ti in t] == [False, False, True]
    c = s.crop(w, h, 1.3)
    assert c == (360, 90, 900, 630)  # around the person
    s.missed()
    assert not s.seen(pose(600, 300, 660, 420), w, h, 1.3, in_crop=True)
    assert s.seen(pose(605, 300, 665, 420), w, h, 1.31 + FAR_CONFIRM_S, in_crop=True)  # a step: still them
    assert not s.seen(pose(900, 300, 960, 420), w, h, 1.6, in_crop=True)  # somewhere else: wait again
    assert s.crop(w, h, 1.7) == (660, 90, 1200, 630)  # the crop follows, inside the picture
    s.seen(pose(910, 310, 970, 430), w, h, 1.8)  # found in the whole picture: a small step, the crop holds
    assert s.crop(w, h, 1.9) == (660, 90, 1200, 630)
    assert s.crop(w, h, 1.8 + FAR_KEEP_S + 0.1) == (0, 90, 540, 630)  # lost too long: search again, in turn
    # a body at the usual size found in a crop is one cut by its edges, and a small pose whose limbs the model
    # barely sees is a guess on a blurred or half-seen body: neither kept, nothing learnt from them
    assert not s.seen(pose(100, 40, 500, 700), w, h, 5.0, in_crop=True)
    assert not s.seen(pose(900, 300, 960, 420, vis=0.4), w, h, 5.0, in_crop=True)
    np.testing.assert_allclose(s.box, (910, 310, 970, 430), atol=1e-3)
    # a person at the usual size, found in the whole picture and then lost for a moment: left to the pose model
    assert s.seen(pose(100, 40, 500, 700), w, h, 6.0)
    assert s.crop(w, h, 6.1) is None
    # a portrait picture is searched along its height
    assert FarSearch().crop(720, 1280, 0.0) == (90, 370, 630, 910)
    # a pose found in a crop is put back where it is in the whole picture; the world is untouched
    f = pose(0, 0, 540, 540)
    f = PoseFrame(0.0, f.image_xy * [w, h] / 540, f.world_xyz, f.visibility)  # spans the crop
    back = uncrop(f, c, (w, h))
    np.testing.assert_allclose(back.image_xy[0] * [w, h], [360, 90], atol=0.05)
    np.testing.assert_allclose(back.image_xy[-1] * [w, h], [900, 630], atol=0.05)
    np.testing.assert_array_equal(back.world_xyz, f.world_xyz)


@pytest.mark.integration
def test_a_person_far_from_the_camera_is_found_and_counted(data_dir, pose_estimator_factory):
    """Jumping jacks filmed from twice as far (the 720p picture shrunk to half inside a blurred copy of itself):
    the pose model alone does not find the small person for the first second, and a rep is lost; with the far
    search they are found on nearly every frame and both reps are counted, as by eye. As recorded, the search
    changes no landmark."""
    from coach.evaluate import farther
    from coach.session import replay
    from coach.video import VideoFileSource

    src = VideoFileSource(data_dir / "more_exercises/kaiakol__computervision/jumpingjack_correct_001.mp4")
    w, h = src.info.width, src.info.height
    near = [(f.image, f.t_s) for f in src]
    far = [(farther(im, 0.5), t) for im, t in near]

    def run(frames, search):
        est = pose_estimator_factory(far_search=search)
        seq = PoseSequence.from_results([est(im, t) for im, t in frames], fps=30.0, image_size=(w, h))
        est.close()
        return seq, replay("jumping-jack", seq).rep_count

    (plain, plain_reps), (found, found_reps) = run(far, False), run(far, True)
    assert found.detected_fraction >= 0.9 and found.detected_fraction > plain.detected_fraction + 0.1, (
        plain.detected_fraction, found.detected_fraction)
    assert found_reps == 2, (plain_reps, found_reps)
    (a, _), (b, _) = run(near, False), run(near, True)
    np.testing.assert_array_equal(a.image_xy, b.image_xy)


def test_blank_frames_mean_nobody_in_frame(pose_estimator_factory):
    est = pose_estimator_factory()
    blank = np.full((240, 320, 3), 127, np.uint8)
    results = [est(blank, t) for t in (0.0, 0.0, 0.01)]  # equal timestamps are nudged, not rejected
    assert all(isinstance(r, PoseResult) and not r.found and r.primary is None for r in results)
    assert results[0].image_size == (320, 240)
    with pytest.raises(ValueError, match="RGB uint8"):
        est(blank.astype(np.float32), 0.02)


@pytest.mark.integration
def test_landmarks_on_real_clip_are_typed_and_plausible(data_dir, pose_estimator_factory):
    from coach.video import VideoFileSource

    src = VideoFileSource(data_dir / "pushfit/videos/correct/correct51.mp4")
    est = pose_estimator_factory()
    res = [est(f.image, f.t_s) for f in src]
    found = [r.primary for r in res if r.found]
    assert len(found) >= 0.95 * len(res)
    p = found[len(found) // 2]
    assert p.image_xy.shape == (N_LANDMARKS, 2) and p.world_xyz.shape == (N_LANDMARKS, 3)
    # world landmarks are metres about the hips: a body spans roughly 1-2.5 m, hips near the origin
    span = np.nanmax(p.world_xyz, axis=0) - np.nanmin(p.world_xyz, axis=0)
    assert 0.8 < span.max() < 2.5
    hips = p.world_xyz[[23, 24]].mean(axis=0)
    assert np.linalg.norm(hips) < 0.1


@pytest.mark.integration
def test_num_poses_finds_both_people(data_dir, pose_estimator_factory):
    from coach.video import VideoFileSource

    src = VideoFileSource(data_dir / "more_exercises/kaiakol__computervision/jumpingjack_correct_001.mp4",
                          max_side=640)
    est = pose_estimator_factory(num_poses=2)
    counts = [len(est(f.image, f.t_s).poses) for f in src]
    assert np.mean(np.array(counts) == 2) > 0.8


def test_a_dropped_estimator_is_never_closed_by_the_garbage_collector():
    """MediaPipe's landmarker closes itself in __del__, and that close can hang inside a gc pass; an estimator
    dropped without close() hands its landmarker on, and the next estimator made closes it."""
    import gc
    import weakref

    from coach import pose

    pose.PoseEstimator().close()  # the first one of a process stays referenced by a frame MediaPipe's import keeps
    dropped = pose.PoseEstimator()
    landmarker = weakref.ref(dropped._landmarker)
    del dropped
    gc.collect()
    assert landmarker() is not None, "the collector reached MediaPipe's landmarker"
    assert landmarker() in pose._ORPHANS
    with pose.PoseEstimator() as nxt:
        assert landmarker() is None and not pose._ORPHANS  # closed by us, then freed
        assert nxt(np.zeros((64, 64, 3), np.uint8), 0.0).poses == ()
    assert nxt._landmarker is None
