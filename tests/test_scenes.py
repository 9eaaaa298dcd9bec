"""Grouping recordings by where they were filmed, so cross-validation never splits one person's takes."""
from __future__ import annotations

import cv2
import numpy as np

from coach.scenes import scene_groups


def _clip(path, background: np.ndarray, seed: int, frames: int = 40) -> None:
    """A person-sized block walking across a fixed background, with camera noise."""
    rng = np.random.default_rng(seed)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (160, 120))
    for i in range(frames):
        im = background.copy()
        x = 10 + (i * 3 + seed * 17) % 120
        im[30:110, x:x + 25] = rng.integers(0, 255, 3)
        im = np.clip(im.astype(int) + rng.integers(-6, 7, im.shape), 0, 255).astype(np.uint8)
        out.write(im)
    out.release()


def test_clips_filmed_in_one_place_share_a_group(tmp_path):
    rng = np.random.default_rng(1)
    kitchen = np.zeros((120, 160, 3), np.uint8)
    kitchen[:60] = (40, 90, 160)  # brown cupboards over a pale floor
    kitchen[60:] = (200, 210, 215)
    gym = np.zeros((120, 160, 3), np.uint8)
    gym[:, :] = (150, 120, 60)  # blue mats, a dark band of machines
    gym[20:50] = (30, 30, 30)
    gym = np.clip(gym.astype(int) + rng.integers(-10, 10, gym.shape), 0, 255).astype(np.uint8)
    paths = []
    for name, bg, seed in (("k1", kitchen, 0), ("g1", gym, 1), ("k2", kitchen, 2), ("g2", gym, 3), ("k3", kitchen, 4)):
        p = tmp_path / f"{name}.avi"
        _clip(p, bg, seed)
        paths.append(p)
    broken = tmp_path / "notes.avi"
    broken.write_text("not a video")
    groups = scene_groups(paths + [broken])
    assert groups[paths[0]] == groups[paths[2]] == groups[paths[4]] == "scene:k1"
    assert groups[paths[1]] == groups[paths[3]] == "scene:g1"
    assert groups[broken] == "notes"  # unreadable: a group of its own, not an error


def test_training_halves_keep_scenes_whole_and_cope_with_one_room():
    from pathlib import Path

    from coach.train import Recording, split_halves

    recs = [Recording(Path(f"/v/{room}{i}.mp4"), "correct", f"scene:{room}") for room in "abcd" for i in range(3)]
    a, b = split_halves(recs, seed=0)
    assert a and b and not {r.group for r in a} & {r.group for r in b}
    # a person at home films every take in one room: halves of whole recordings instead of nothing
    home = [Recording(Path(f"/v/take{i}.mp4"), "correct", "scene:take0") for i in range(5)]
    a, b = split_halves(home, seed=0)
    assert len(a) + len(b) == 5 and a and b and not {r.path for r in a} & {r.path for r in b}
