"""VideoFileSource: the frames as the person filming saw them, with timestamps in seconds."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from coach.video import AnnotatedVideoWriter, VideoFileSource


def _landscape_clip(path: Path, n: int = 10, w: int = 160, h: int = 120) -> Path:
    """A clip whose stored picture has a white band along its left edge."""
    with AnnotatedVideoWriter(path, 25.0, (w, h)) as out:
        for i in range(n):
            img = np.zeros((h, w, 3), np.uint8)
            img[:, :20] = 255
            out.write(img, i / 25.0)
    return path


def _tag_rotation_90(path: Path) -> None:
    """Set the track's display matrix to a quarter turn clockwise, as a phone held upright writes it (the picture
    is stored sideways, the player turns it)."""
    b = bytearray(path.read_bytes())
    i = b.find(b"tkhd")
    assert i > 0
    version = b[i + 4]
    # box type, version and flags, the times and track id, reserved, layer, group, volume, reserved: then the matrix
    off = i + 4 + 4 + (32 if version == 1 else 20) + 8 + 8
    assert struct.unpack(">9i", b[off:off + 36]) == (1 << 16, 0, 0, 0, 1 << 16, 0, 0, 0, 1 << 30)  # identity
    w = struct.unpack(">I", b[off + 36:off + 40])[0]  # the track width follows the matrix (16.16)
    b[off:off + 36] = struct.pack(">9i", 0, 1 << 16, 0, -(1 << 16), 0, 0, w, 0, 1 << 30)
    path.write_bytes(bytes(b))


def test_a_phone_video_filmed_upright_is_read_upright(tmp_path):
    plain = _landscape_clip(tmp_path / "plain.mp4")
    src = VideoFileSource(plain)
    assert (src.info.width, src.info.height) == (160, 120)
    img = next(iter(src)).image
    assert img.shape[:2] == (120, 160) and img[:, :20].mean() > 200 and img[:20, 40:].mean() < 50

    tagged = _landscape_clip(tmp_path / "portrait.mp4")
    _tag_rotation_90(tagged)
    src = VideoFileSource(tagged)
    assert (src.info.width, src.info.height) == (120, 160)  # the size the viewer sees
    frames = list(src)
    assert len(frames) == 10
    img = frames[0].image
    assert img.shape[:2] == (160, 120)  # turned upright: the stored left edge is now the top
    assert img[:20].mean() > 200 and img[40:, :].mean() < 50
    assert [round(f.t_s, 2) for f in frames[:3]] == [0.0, 0.04, 0.08]
