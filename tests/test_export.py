"""OpenSim exports: .trc markers and .mot angles that OpenSim reads, parsing back to the same numbers."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from coach.angles import ANGLE_NAMES, joint_angles
from coach.errors import DataFormatError, InputNotFoundError
from coach.export import (POSE2SIM_BLAZEPOSE_MARKERS, fill_gaps, from_opensim_axes, read_mot, read_trc,
                          to_opensim_axes, write_landmarks_csv, write_mot, write_trc)
from coach.io import save_csv
from coach.types import LANDMARK_NAMES, LM, PoseSequence

#: Marker names in Pose2Sim's OpenSim_Setup/Markers_BlazePose.xml (read from perfanalytics/pose2sim).
MARKERS_BLAZEPOSE_XML = {
    "nose", "left_eye", "right_eye", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_foot_index", "left_heel", "right_foot_index", "right_heel", "right_thumb", "right_pinky", "right_index",
    "left_thumb", "left_pinky", "left_index"}


def _seq(n=30, fps=25.0, seed=0, absent=(0, 1, 12, 13, 14, 15, 16, 29)):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fps
    base = rng.normal(0, 0.3, (33, 3))
    wld = (base + 0.01 * np.sin(t)[:, None, None] * rng.normal(size=(1, 33, 3))).astype(np.float32)
    img = rng.uniform(0, 1, (n, 33, 2)).astype(np.float32)
    vis = np.full((n, 33), 0.9, np.float32)
    present = np.ones(n, bool)
    present[list(absent)] = False
    wld[~present] = np.nan
    img[~present] = np.nan
    vis[~present] = 0
    return PoseSequence(t, img, wld, vis, fps=fps, source="synthetic", image_size=(640, 480), present=present)


def test_marker_names_match_pose2sim():
    assert set(POSE2SIM_BLAZEPOSE_MARKERS) == MARKERS_BLAZEPOSE_XML
    assert set(POSE2SIM_BLAZEPOSE_MARKERS) <= set(LANDMARK_NAMES)


def test_axes_are_opensim_y_up():
    w = np.array([[0.1, -0.5, 0.2]])  # right of the image, above the hips, away from the camera
    assert to_opensim_axes(w).tolist() == [[0.1, 0.5, -0.2]]
    assert np.allclose(from_opensim_axes(to_opensim_axes(w)), w)
    rot = np.diag([1.0, -1.0, -1.0])
    assert np.linalg.det(rot) == pytest.approx(1.0)  # a rotation, not a mirror: left stays left


def test_trc_layout_is_standard(tmp_path):
    seq = _seq()
    path = write_trc(seq, tmp_path / "m.trc")
    lines = path.read_text().split("\n")
    assert lines[0] == "PathFileType\t4\t(X/Y/Z)\tm.trc"
    assert lines[1].split("\t") == ["DataRate", "CameraRate", "NumFrames", "NumMarkers", "Units", "OrigDataRate",
                                    "OrigDataStartFrame", "OrigNumFrames"]
    n_written = 27  # frames 2..28: 0, 1 and 29 have nobody, the 0.2 s gap 12-16 is filled (see below)
    assert lines[2].split("\t") == ["25", "25", str(n_written), "25", "m", "25", "3", "30"]
    labels = [x for x in lines[3].split("\t") if x]
    assert labels[:2] == ["Frame#", "Time"] and set(labels[2:]) == MARKERS_BLAZEPOSE_XML
    assert lines[3].split("\t")[2:5] == ["nose", "", ""]  # each name spans its X/Y/Z columns
    xyz = [x for x in lines[4].split("\t") if x]
    assert xyz[:3] == ["X1", "Y1", "Z1"] and xyz[-1] == "Z25"
    first = lines[5].split("\t")
    assert first[:2] == ["3", "0.080000"]  # Frame# = video frame number, Time = its timestamp
    assert len(first) == 2 + 3 * 25 + 1  # every value ends with a tab, like OpenSim's own writer


def test_trc_round_trip_and_gaps(tmp_path):
    seq = _seq()
    trc = read_trc(write_trc(seq, tmp_path / "m.trc", markers="all", max_gap_s=0.2))
    assert trc.markers == LANDMARK_NAMES and trc.units == "m" and trc.data_rate == 25.0
    # absent frames 0, 1 and 29 are not written; the 5-frame gap 12-16 (0.24 s between known frames, 0.2 s
    # missing) is interpolated
    assert trc.frame.tolist() == list(range(3, 30))
    np.testing.assert_allclose(trc.t_s, seq.t_s[2:29], atol=5e-7)
    expected = to_opensim_axes(seq.world_xyz)
    known = seq.present[2:29]
    np.testing.assert_allclose(trc.xyz[known], expected[2:29][known], atol=5e-7)  # printed to 1e-6 m
    gap = expected[[11, 17]]
    w = (np.arange(12, 17) - 11) / 6
    np.testing.assert_allclose(trc.xyz[~known], gap[0] + w[:, None, None] * (gap[1] - gap[0]), atol=1e-6)
    # no interpolation: the gap stays, as empty cells... or not at all (no marker known -> frame left out)
    trc0 = read_trc(write_trc(seq, tmp_path / "g.trc", max_gap_s=0))
    assert 13 not in trc0.frame.tolist() and len(trc0.frame) == int(seq.present.sum())


def test_trc_empty_cells_and_last_marker_missing(tmp_path):
    seq = _seq(absent=())
    wld = seq.world_xyz.copy()
    wld[:, LM["right_foot_index"]] = np.nan  # the last marker in MediaPipe order: always unknown
    wld[5:20, LM["nose"]] = np.nan
    seq = dataclasses.replace(seq, world_xyz=wld)
    path = write_trc(seq, tmp_path / "e.trc", max_gap_s=0.1)
    row = path.read_text().split("\n")[5 + 10]
    assert row.endswith("\t\t\t\t") and row.split("\t")[2] == ""
    trc = read_trc(path)
    assert np.isnan(trc.marker("right_foot_index")).all()
    assert np.isnan(trc.marker("nose")[5:20]).all() and np.isfinite(trc.marker("nose")[:5]).all()
    nan_file = read_trc(write_trc(seq, tmp_path / "n.trc", missing="nan"))
    assert np.array_equal(np.isnan(nan_file.xyz), np.isnan(trc.xyz))
    assert "NaN" in (tmp_path / "n.trc").read_text()


def test_trc_millimetres_and_marker_choice(tmp_path):
    seq = _seq(absent=())
    trc = read_trc(write_trc(seq, tmp_path / "mm.trc", units="mm", markers=["left_hip", "right_hip"]))
    assert trc.units == "mm" and trc.markers == ("left_hip", "right_hip")
    np.testing.assert_allclose(trc.xyz, to_opensim_axes(seq.world_xyz[:, [23, 24]]) * 1000, atol=5e-4)
    with pytest.raises(ValueError, match="units"):
        write_trc(seq, tmp_path / "x.trc", units="cm")
    with pytest.raises(ValueError, match="unknown landmark"):
        write_trc(seq, tmp_path / "x.trc", markers=["hip"])
    assert not (tmp_path / "x.trc").exists()


def test_mot_round_trip(tmp_path):
    seq = _seq(absent=())
    path = write_mot(seq, tmp_path / "a.mot", keep_nan=True)
    lines = path.read_text().split("\n")
    assert lines[:6] == ["Coordinates", "version=1", f"nRows={len(seq)}", f"nColumns={len(ANGLE_NAMES) + 1}",
                         "inDegrees=yes", "endheader"]
    assert lines[6].split("\t") == ["time", *ANGLE_NAMES]
    mot = read_mot(path)
    assert mot.in_degrees and mot.columns == ANGLE_NAMES and mot.name == "Coordinates"
    ref = joint_angles(seq)
    for k in ANGLE_NAMES:
        np.testing.assert_allclose(mot[k], ref[k], atol=5e-5, equal_nan=True)  # printed to 1e-4 degrees
    np.testing.assert_allclose(mot.t_s, seq.t_s, atol=5e-7)


def test_mot_has_no_nan_for_opensim_storage(tmp_path):
    """OpenSim's Storage reader stops at the first NaN: by default unknown rows are left out and rarely-known
    angles dropped, so OpenSim's GUI sees every row."""
    seq = _seq()  # frames 0, 1, 12-16, 29 without a person
    wld = seq.world_xyz.copy()
    wld[:, LM["left_heel"]] = np.nan  # left ankle angle never known
    seq = dataclasses.replace(seq, world_xyz=wld)
    mot = read_mot(write_mot(seq, tmp_path / "a.mot", max_gap_s=0))
    assert "NaN" not in (tmp_path / "a.mot").read_text()
    assert "left_ankle" not in mot.columns and "right_ankle" in mot.columns
    assert len(mot.t_s) == int(seq.present.sum())
    filled = read_mot(write_mot(seq, tmp_path / "b.mot", max_gap_s=0.2))
    assert len(filled.t_s) == int(seq.present.sum()) + 5


def test_nobody_to_export_is_a_clear_error(tmp_path):
    from coach.errors import NoPersonError

    seq = _seq(absent=tuple(range(30)))
    with pytest.raises(NoPersonError, match="check that the video shows a person"):
        write_trc(seq, tmp_path / "n.trc")
    with pytest.raises(NoPersonError):
        write_mot(seq, tmp_path / "n.mot")
    assert list(tmp_path.iterdir()) == []


def test_mot_from_a_dict(tmp_path):
    t = np.arange(4) / 10
    mot = read_mot(write_mot({"my_angle": np.array([1.0, 2.0, 3.0, 4.5])}, tmp_path / "d.mot", t_s=t))
    assert mot.columns == ("my_angle",) and mot["my_angle"].tolist() == [1.0, 2.0, 3.0, 4.5]
    with pytest.raises(ValueError, match="white space"):
        write_mot({"my angle": np.zeros(4)}, tmp_path / "e.mot", t_s=t)
    with pytest.raises(ValueError, match="t_s"):
        write_mot({"a": np.zeros(4)}, tmp_path / "e.mot")


def test_fill_gaps():
    t = np.arange(10) / 10
    v = np.arange(10, dtype=float)
    v[[0, 3, 4, 7, 8]] = np.nan
    out = fill_gaps(v[:, None], t, max_gap_s=0.2)[:, 0]
    assert np.isnan(out[0])  # leading: never invented
    np.testing.assert_allclose(out[[3, 4, 7, 8]], [3, 4, 7, 8])
    assert np.isnan(fill_gaps(v[:, None], t, max_gap_s=0.1)[3, 0])


def test_parsers_reject_wrong_files(tmp_path):
    bad = tmp_path / "bad.trc"
    bad.write_text("hello\n")
    with pytest.raises(DataFormatError, match="PathFileType"):
        read_trc(bad)
    bad.write_text("PathFileType\t4\n" + "DataRate\tNumMarkers\n25\t2\nFrame#\tTime\ta\t\t\nx\n"
                   "1\t0\t1\t2\t3\t4\t5\t6\t7\n")
    with pytest.raises(DataFormatError, match="2 marker names, found 1"):
        read_trc(bad)
    mot = tmp_path / "bad.mot"
    mot.write_text("Coordinates\nversion=1\ntime\ta\n0\t1\n")
    with pytest.raises(DataFormatError, match="endheader"):
        read_mot(mot)
    mot.write_text("x\nendheader\ntime\ta\n0\tabc\n")
    with pytest.raises(DataFormatError, match="'abc', not a number"):
        read_mot(mot)
    with pytest.raises(InputNotFoundError):
        read_trc(tmp_path / "missing.trc")


def test_reads_pose2sim_style_trc(tmp_path):
    """Pose2Sim writes rows without a trailing tab (and no blank line 6); both layouts parse."""
    text = ("PathFileType\t4\t(X/Y/Z)\tp.trc\n"
            "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames\n"
            "30\t30\t2\t2\tm\t30\t0\t2\n"
            "Frame#\tTime\tnose\t\t\tleft_hip\t\t\n"
            "\t\tX1\tY1\tZ1\tX2\tY2\tZ2\n"
            "\n"
            "1\t0.0\t1\t2\t3\t4\t5\t6\n"
            "2\t0.033\t1\t2\t3\t\t\t\n")
    (tmp_path / "p.trc").write_text(text)
    trc = read_trc(tmp_path / "p.trc")
    assert trc.markers == ("nose", "left_hip") and trc.xyz[0].tolist() == [[1, 2, 3], [4, 5, 6]]
    assert np.isnan(trc.xyz[1, 1]).all()


def test_landmarks_csv_export_is_io_save_csv():
    assert write_landmarks_csv is save_csv


@pytest.mark.integration
def test_real_clip_trc_and_mot_parse_back(data_dir, tmp_path):
    from coach.datasets import cached_landmarks, pushfit_clips
    from coach.formats import read_openpose18_npy

    seq = cached_landmarks(pushfit_clips(data_dir)[5].path)
    trc = read_trc(write_trc(seq, tmp_path / "real.trc", max_gap_s=0))
    rows = trc.frame - 1
    assert seq.present[rows].all() and len(rows) == int(seq.present.sum())
    idx = [LM[m] for m in trc.markers]
    np.testing.assert_allclose(trc.xyz, to_opensim_axes(seq.world_xyz[rows][:, idx]), atol=5e-7)
    np.testing.assert_allclose(trc.t_s, seq.t_s[rows], atol=5e-7)
    assert trc.data_rate == pytest.approx(seq.fps, rel=1e-9)
    mot = read_mot(write_mot(seq, tmp_path / "real.mot", max_gap_s=0))
    ref = joint_angles(seq)
    keep = np.searchsorted(seq.t_s, mot.t_s - 1e-6)
    for k in mot.columns:
        np.testing.assert_allclose(mot[k], ref[k][keep], atol=5e-5)
    # a 2-D OpenPose file exports too (pseudo-world metres)
    op = read_openpose18_npy(sorted((data_dir / "pose_trainer" / "poses_compressed" / "bicep").glob("*.npy"))[0])
    trc2 = read_trc(write_trc(op, tmp_path / "op.trc"))
    assert np.isfinite(trc2.marker("right_elbow")).any() and np.isnan(trc2.marker("left_heel")).all()
    assert np.allclose(trc2.xyz[..., 2][np.isfinite(trc2.xyz[..., 2])], 0)  # no depth in 2-D data
