"""Fixtures for the app's tests: a private user folder and history file, a stand-in for the camera component
(streamlit-webrtc needs a real server and browser; the browser tests cover it), and a pose estimator that
replays landmarks of a real recording so the Live logic runs without MediaPipe."""
from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from coach.types import PoseResult

JUMPING_JACKS = "more_exercises/kaiakol__computervision/jumpingjack_correct_007.mp4"  # 3 reps, front view
SIT_UPS = "more_exercises/Joe-Lo0716__pose_test/situp.mp4"  # 10 reps, side view


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    """COACH_HOME / COACH_DB in tmp, no shared data (no demo clips), no RTC override, no camera component."""
    home = tmp_path / "home"
    monkeypatch.setenv("COACH_HOME", str(home))
    monkeypatch.setenv("COACH_DB", str(home / "history.sqlite"))
    monkeypatch.setenv("COACH_DATA", str(tmp_path / "no-data"))
    monkeypatch.delenv("COACH_RTC_CONFIG", raising=False)
    camera = FakeStreamer()
    monkeypatch.setattr("coach.app_pages.webrtc_streamer", camera)
    yield SimpleNamespace(home=home, db=home / "history.sqlite", camera=camera, tmp=tmp_path)
    # the Live page loads the pose model in the background; let it finish here, not during the next test
    from coach.app_live import WARMUP_THREAD

    for th in threading.enumerate():
        if th.name == WARMUP_THREAD:
            th.join(60)


class FakeStreamer:
    """Stands in for ``streamlit_webrtc.webrtc_streamer``: records its arguments, reports ``playing``."""

    def __init__(self, playing: bool = False):
        self.playing = playing
        self.calls: list[dict] = []

    def __call__(self, **kw):
        self.calls.append(kw)
        return SimpleNamespace(state=SimpleNamespace(playing=self.playing))


class ReplayEstimator:
    """A pose estimator that returns the frames of a recorded PoseSequence in order, then holds its last frame
    (the person standing still); ``nobody=True``: no one in view."""

    def __init__(self, seq=None, nobody: bool = False):
        self.seq = seq
        self.k = 0
        self.nobody = nobody
        self.closed = False

    def __call__(self, image, t_s):
        frame = None
        if not self.nobody and self.seq is not None:
            frame = self.seq.frame(min(self.k, len(self.seq) - 1))
        self.k += 1
        h, w = image.shape[:2]
        if frame is None:
            return PoseResult(t_s, (), (w, h))
        from dataclasses import replace

        return PoseResult(t_s, (replace(frame, t_s=t_s),), (w, h))

    def close(self):
        self.closed = True


class FakeClock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


BLACK = np.zeros((480, 640, 3), np.uint8)


def drive(session, seq, clock: FakeClock | None = None, start: int = 0, stop: int | None = None,
          still_s: float = 0.0) -> float:
    """Feed ``session`` the frames of ``seq`` (its estimator must replay ``seq``) in real-time order, then
    ``still_s`` seconds more at 30 fps (the estimator holds the last pose). Returns the last time fed."""
    stop = len(seq) if stop is None else stop
    t = 0.0
    for k in range(start, stop):
        t = float(seq.t_s[k] - seq.t_s[0])
        if clock is not None:
            clock.t = 1000.0 + t
        session.process(BLACK, t)
    end = t
    for k in range(1, int(still_s * 30) + 1):
        t = end + k / 30
        if clock is not None:
            clock.t = 1000.0 + t
        session.process(BLACK, t)
    return t


@pytest.fixture(scope="session")
def jacks(data_dir):
    from coach.datasets import cached_landmarks

    return cached_landmarks(data_dir / JUMPING_JACKS)


@pytest.fixture(scope="session")
def situps(data_dir):
    from coach.datasets import cached_landmarks

    return cached_landmarks(data_dir / SIT_UPS)


def write_garbage_video(path: Path) -> Path:
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    return path


def two_exercise_video(data_dir: Path, out: Path, situp_s: float = 12.0) -> Path:
    """A workout as a phone would film it: the jumping-jack clip (3 reps), a second of nobody, then the first
    ``situp_s`` seconds of the sit-up clip (3 full sit-ups in the first 12 s: their turning points, counted by
    eye, are at 1.9, 5.9 and 9.7 s), both letterboxed into the first clip's size, at its frame rate."""
    import av

    from .e2e_support import letterbox

    def frames(path: Path, seconds: float | None = None):
        with av.open(str(path)) as f:
            for fr in f.decode(video=0):
                if seconds is not None and fr.time is not None and fr.time >= seconds:
                    break
                yield fr.to_ndarray(format="rgb24")

    first = list(frames(data_dir / JUMPING_JACKS))
    h, w = (d // 2 * 2 for d in first[0].shape[:2])
    with av.open(str(data_dir / JUMPING_JACKS)) as f:
        fps = round(float(f.streams.video[0].average_rate))
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(out), "w") as o:
        s = o.add_stream("h264", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"

        def put(img):
            for p in s.encode(av.VideoFrame.from_ndarray(letterbox(img, (w, h)), format="rgb24")):
                o.mux(p)

        for img in first:
            put(img)
        for _ in range(fps):
            put(np.zeros((h, w, 3), np.uint8))
        with av.open(str(data_dir / SIT_UPS)) as f:
            src_fps = float(f.streams.video[0].average_rate)
        for k, img in enumerate(frames(data_dir / SIT_UPS, situp_s)):  # at this clip's rate: frames by time
            n = int(round((k + 1) * fps / src_fps)) - int(round(k * fps / src_fps))
            for _ in range(n):
                put(img)
        for p in s.encode():
            o.mux(p)
    return out
