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


def _variable_rate_times(fast_s: float, slow_s: float) -> list[float]:
    """A phone's variable frame rate: 30 fps, then 10 fps (dim light) for the rest."""
    times = [i / 30 for i in range(round(fast_s * 30))]
    return times + [fast_s + i / 10 for i in range(round(slow_s * 10))]


def test_a_variable_frame_rate_video_keeps_its_timestamps(tmp_path):
    # 10 s at 30 fps then 10 s at 10 fps: 400 frames over 20 s, 20 fps on average. The frame index over the average
    # rate put the frame at 10 s at 15 s; the reader gives each frame the time the player shows it at.
    times = _variable_rate_times(10.0, 10.0)
    path = tmp_path / "phone.mp4"
    with AnnotatedVideoWriter(path, 30.0, (64, 48)) as out:
        for i, t in enumerate(times):
            out.write(np.full((48, 64, 3), i % 250, np.uint8), t)
    got = [f.t_s for f in VideoFileSource(path)]
    assert len(got) == len(times)
    np.testing.assert_allclose(got, times, atol=1e-3)


def test_a_variable_frame_rate_webm_is_read_whole(tmp_path):
    # A browser's recording (WebM, variable rate) declares no frame count: OpenCV estimates one from the length at
    # the nominal rate (180 here, for 120 frames). It is not a truncated file.
    import av
    from fractions import Fraction

    times = _variable_rate_times(3.0, 3.0)
    path = tmp_path / "browser.webm"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libvpx-vp9", rate=30)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.codec_context.time_base = Fraction(1, 1000)
        for i, t in enumerate(times):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i % 250, np.uint8), format="rgb24")
            frame.pts, frame.time_base = round(t * 1000), Fraction(1, 1000)
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    src = VideoFileSource(path)
    assert len(src) > 1.2 * len(times)  # the estimate this test is about
    got = [f.t_s for f in src]
    assert len(got) == len(times)
    np.testing.assert_allclose(got, times, atol=2e-3)


def test_pick_gives_the_frames_iteration_gives_at_those_numbers(tmp_path):
    # each frame its own grey, so a frame off is seen; the wanted numbers out of order, repeated, past the end
    path = tmp_path / "numbered.mp4"
    with AnnotatedVideoWriter(path, 25.0, (64, 48)) as out:
        for i in range(40):
            out.write(np.full((48, 64, 3), 5 * i, np.uint8), i / 25.0)
    src = VideoFileSource(path)
    every = list(src)
    got = list(src.pick([30, 3, 17, 3, 55]))
    assert [f.index for f in got] == [3, 17, 30]
    for f in got:
        assert np.array_equal(f.image, every[f.index].image)
        assert abs(f.t_s - every[f.index].t_s) < 1e-6
    assert list(src.pick([])) == []
    small = next(iter(VideoFileSource(path, max_side=32).pick([5])))
    assert small.image.shape == (24, 32, 3) and abs(float(small.image.mean()) - 25) < 3
