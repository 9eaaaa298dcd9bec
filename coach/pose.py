"""Pose estimation: MediaPipe Pose Landmarker (Tasks API, VIDEO mode) behind one callable.

MediaPipe's own result objects never leave this module: ``PoseEstimator(image, t_s)`` returns a
:class:`~coach.types.PoseResult` holding typed :class:`~coach.types.PoseFrame` objects, or no poses at all when
nobody is in frame.
"""
from __future__ import annotations

import atexit
import logging
import os
import weakref
import zipfile
from pathlib import Path

import numpy as np

from coach._native import quiet_native_stderr
from coach.errors import ModelFileError
from coach.paths import default_pose_model
from coach.types import N_LANDMARKS, PoseFrame, PoseResult

log = logging.getLogger(__name__)

# MediaPipe's C++ side logs to stderr at INFO level; keep it to warnings and errors unless the user asks.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# MediaPipe's own defaults are 0.5. On the 101 PushFit clips, detection and presence at 0.3 find a person on 96.6%
# of frames instead of 94.1% (the legacy solution's output shipped with them: 95.9%) with no more disagreement
# with that output (10% of frames off by more than 20 px either way); lower still adds detections on noise.
# Tracking stays at 0.5: lower, a tracked person is kept so long that the detector never runs again to find a
# second one (num_poses=2 found both people of a two-person clip on 12% of frames instead of 100%).
DEFAULT_CONFIDENCE = 0.3
DEFAULT_TRACKING = 0.5

_REQUIRED_MEMBERS = {"pose_detector.tflite", "pose_landmarks_detector.tflite"}

# MediaPipe's landmarker closes itself in __del__, and that close can deadlock when it runs inside a garbage-
# collection pass (seen: pytest's final gc hung for good on a landmarker whose PoseEstimator was dropped without
# close()). So no landmarker is ever left to the collector: every open one is held here, and one whose
# PoseEstimator is dropped unclosed becomes an orphan, closed by the next PoseEstimator created or closed (in
# ordinary code, never inside a gc pass) or at exit.
_OPEN: dict[int, object] = {}
_ORPHANS: list = []


def _orphan(landmarker) -> None:
    """weakref.finalize callback: may run inside any gc pass, in any thread, so it only moves a reference
    (list.append is atomic; a lock here could deadlock against the code the collector interrupted)."""
    _ORPHANS.append(landmarker)


def _close_landmarker(landmarker) -> None:
    if _OPEN.pop(id(landmarker), None) is not None:  # dict.pop is atomic: closed once, whoever comes first
        landmarker.close()


def _close_orphans() -> None:
    while _ORPHANS:
        try:
            landmarker = _ORPHANS.pop()
        except IndexError:  # another thread took the last one
            return
        _close_landmarker(landmarker)


@atexit.register
def _close_all() -> None:
    # MediaPipe's own __del__ fails noisily when it runs during interpreter shutdown; close while we still can.
    _ORPHANS.clear()
    for landmarker in list(_OPEN.values()):
        _close_landmarker(landmarker)


def check_model_file(path: str | os.PathLike) -> Path:
    """Check that ``path`` is a Pose Landmarker ``.task`` bundle; raise ModelFileError saying what to do."""
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"pose model not found: {p} (run `python tools/build_pose_model.py` or pass "
                             f"--pose-model PATH to a pose_landmarker .task file)")
    try:
        with zipfile.ZipFile(p) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError) as e:
        raise ModelFileError(f"pose model {p} is not a .task bundle ({e}); rebuild it with "
                             f"`python tools/build_pose_model.py` or pass another --pose-model") from None
    missing = _REQUIRED_MEMBERS - names
    if missing:
        raise ModelFileError(f"pose model {p} lacks {sorted(missing)}: it is not a Pose Landmarker bundle; "
                             f"pass a pose_landmarker_*.task file")
    return p


class PoseEstimator:
    """Callable pose estimator over a video stream: ``result = estimator(rgb_image, t_s)``.

    Timestamps must increase; MediaPipe's VIDEO mode needs strictly increasing integer milliseconds, so a
    timestamp that rounds onto (or before) the previous one is nudged forward by 1 ms.
    """

    def __init__(self, model_path: str | os.PathLike | None = None, num_poses: int = 1,
                 min_detection_confidence: float = DEFAULT_CONFIDENCE, min_presence_confidence: float = DEFAULT_CONFIDENCE,
                 min_tracking_confidence: float = DEFAULT_TRACKING):
        if num_poses < 1:
            raise ValueError("num_poses must be at least 1")
        self.model_path = check_model_file(model_path or default_pose_model())
        self.num_poses = int(num_poses)
        from mediapipe.tasks.python import BaseOptions, vision  # heavy import, kept local

        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=vision.RunningMode.VIDEO,
            num_poses=self.num_poses,
            min_pose_detection_confidence=min_detection_confidence,
            min_pose_presence_confidence=min_presence_confidence,
            min_tracking_confidence=min_tracking_confidence,
            output_segmentation_masks=False,
        )
        _close_orphans()
        try:
            with quiet_native_stderr():
                landmarker = vision.PoseLandmarker.create_from_options(options)
        except Exception as e:  # MediaPipe raises RuntimeError/ValueError with long C++ messages
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelFileError(f"MediaPipe could not load pose model {self.model_path}: {first}") from None
        self._mp_image = __import__("mediapipe").Image
        self._srgb = __import__("mediapipe").ImageFormat.SRGB
        self._last_ms = -1
        self._warm = False
        _OPEN[id(landmarker)] = landmarker
        self._landmarker = landmarker
        self._finalizer = weakref.finalize(self, _orphan, landmarker)

    def __call__(self, image_rgb: np.ndarray, t_s: float) -> PoseResult:
        if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image_rgb.dtype} {image_rgb.shape}")
        ms = int(round(t_s * 1000.0))
        if ms <= self._last_ms:
            ms = self._last_ms + 1
        self._last_ms = ms
        image = self._mp_image(image_format=self._srgb, data=np.ascontiguousarray(image_rgb))
        if self._landmarker is None:
            raise RuntimeError("PoseEstimator is closed")
        if self._warm:
            res = self._landmarker.detect_for_video(image, ms)
        else:  # the first inference logs delegate and graph warnings
            with quiet_native_stderr():
                res = self._landmarker.detect_for_video(image, ms)
            self._warm = True
        h, w = image_rgb.shape[:2]
        return PoseResult(t_s, tuple(_to_pose_frames(res, t_s)), (w, h))

    def close(self) -> None:
        """Free MediaPipe's graph. An estimator dropped without ``close()`` is not closed by the garbage collector
        (that can deadlock inside MediaPipe) but by the next estimator created or closed, or at exit."""
        lm, self._landmarker = getattr(self, "_landmarker", None), None
        if lm is not None:
            self._finalizer.detach()
            _close_landmarker(lm)
        _close_orphans()

    def __enter__(self) -> "PoseEstimator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()



def _to_pose_frames(res, t_s: float) -> list[PoseFrame]:
    """The one adapter from MediaPipe's result objects to PoseFrame."""
    frames = []
    worlds = res.pose_world_landmarks or []
    for k, lms in enumerate(res.pose_landmarks or []):
        arr = np.array([(p.x, p.y, p.visibility if p.visibility is not None else 0.0) for p in lms], np.float32)
        if arr.shape[0] != N_LANDMARKS:
            continue
        if k < len(worlds):
            wld = np.array([(p.x, p.y, p.z) for p in worlds[k]], np.float32)
        else:  # pragma: no cover - MediaPipe always pairs them
            wld = np.full((N_LANDMARKS, 3), np.nan, np.float32)
        frames.append(PoseFrame(t_s, arr[:, :2], wld, np.clip(arr[:, 2], 0.0, 1.0)))
    return frames
