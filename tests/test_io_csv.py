"""Landmark CSV: documented columns, exact round trip, clear errors on wrong files."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coach.errors import DataFormatError, InputNotFoundError
from coach.io import csv_columns, load_csv, save_csv
from coach.types import LANDMARK_NAMES, PoseSequence


def _seq(n=40, fps=30000 / 1001, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fps + 0.5
    img = rng.uniform(-0.1, 1.1, (n, 33, 2)).astype(np.float32)
    wld = rng.normal(0, 0.4, (n, 33, 3)).astype(np.float32)
    vis = rng.uniform(0, 1, (n, 33)).astype(np.float32)
    present = np.ones(n, bool)
    present[[i for i in (3, 4, 17) if i < n]] = False
    img[~present], wld[~present], vis[~present] = np.nan, np.nan, 0
    img[min(10, n - 1), 5] = np.nan  # a single unknown landmark (third-party formats)
    return PoseSequence(t, img, wld, vis, fps=fps, source="x.mp4", image_size=(640, 480), present=present)


def test_columns_are_as_documented():
    cols = csv_columns()
    assert cols[:2] == ["t_s", "present"]
    assert cols[2:8] == ["nose_x", "nose_y", "nose_wx", "nose_wy", "nose_wz", "nose_v"]
    assert len(cols) == 2 + 33 * 6
    assert cols[-1] == f"{LANDMARK_NAMES[-1]}_v"


def test_round_trip_is_exact(tmp_path):
    seq = _seq()
    path = save_csv(seq, tmp_path / "out" / "lm.csv")
    back = load_csv(path, image_size=(640, 480))
    for k in ("t_s", "image_xy", "world_xyz", "visibility", "present"):
        assert np.array_equal(getattr(seq, k), getattr(back, k), equal_nan=True), k
    assert back.fps == pytest.approx(seq.fps, rel=1e-9)
    assert back.image_size == (640, 480)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["lm.csv"]


def test_file_reads_in_a_spreadsheet_tool(tmp_path):
    seq = _seq(n=5)
    df = pd.read_csv(save_csv(seq, tmp_path / "lm.csv"))
    assert list(df.columns) == csv_columns()
    assert df["present"].tolist() == [1, 1, 1, 0, 0]
    assert df.loc[3, "nose_x"] != df.loc[3, "nose_x"]  # empty cell -> NaN
    np.testing.assert_allclose(df["left_wrist_wz"], seq.world_xyz[:, 15, 2], rtol=1e-6)


def test_fps_is_estimated_and_rounded(tmp_path):
    for fps in (25.0, 30.0, 30000 / 1001):
        back = load_csv(save_csv(_seq(fps=fps), tmp_path / "a.csv"))
        assert back.fps == pytest.approx(fps, abs=1e-9)
    assert load_csv(tmp_path / "a.csv", fps=12.5).fps == 12.5


def test_columns_in_another_order_and_extra_columns(tmp_path):
    seq = _seq(n=6)
    path = save_csv(seq, tmp_path / "a.csv")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df["note"] = "x"
    df = df[list(reversed(df.columns))]
    df.to_csv(tmp_path / "b.csv", index=False)
    back = load_csv(tmp_path / "b.csv")
    assert np.array_equal(back.world_xyz, seq.world_xyz, equal_nan=True)


@pytest.mark.parametrize("content, match", [
    ("a,b\n1,2\n", "missing columns t_s, present, nose_x and 197 more"),
    ("", "not a readable CSV"),
])
def test_wrong_files_say_what_to_do(tmp_path, content, match):
    p = tmp_path / "bad.csv"
    p.write_text(content)
    with pytest.raises(DataFormatError, match=match) as e:
        load_csv(p)
    assert "\n" not in str(e.value) and "save_csv" in str(e.value)


def test_bad_values(tmp_path):
    seq = _seq(n=4)
    path = save_csv(seq, tmp_path / "a.csv")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    bad = df.copy()
    bad.loc[2, "nose_wy"] = "abc"
    bad.to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(DataFormatError, match="nose_wy holds 'abc' \\(row 4\\)"):
        load_csv(tmp_path / "b.csv")
    back = df.copy()
    back.loc[2, "t_s"] = "0"
    back.to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(DataFormatError, match="t_s must increase"):
        load_csv(tmp_path / "c.csv")
    pres = df.copy()
    pres.loc[1, "present"] = "2"
    pres.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataFormatError, match="present must hold 0 or 1"):
        load_csv(tmp_path / "d.csv")
    df.iloc[:0].to_csv(tmp_path / "e.csv", index=False)
    with pytest.raises(DataFormatError, match="no frames"):
        load_csv(tmp_path / "e.csv")
    with pytest.raises(InputNotFoundError):
        load_csv(tmp_path / "missing.csv")


@pytest.mark.integration
def test_real_clip_round_trip(data_dir, tmp_path):
    from coach.datasets import cached_landmarks, pushfit_clips

    seq = cached_landmarks(pushfit_clips()[0].path)
    back = load_csv(save_csv(seq, tmp_path / "real.csv"), image_size=seq.image_size)
    for k in ("t_s", "image_xy", "world_xyz", "visibility", "present"):
        assert np.array_equal(getattr(seq, k), getattr(back, k), equal_nan=True), k
    assert back.fps == pytest.approx(seq.fps)
