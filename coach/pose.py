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
from coach.types import LM, N_LANDMARKS, PoseFrame, PoseResult

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

# A person far from the camera is small in the picture, and the pose detector, which sees the whole picture shrunk
# to 224 x 224, often does not find them: the counted clips shrunk to half inside a blurred copy of themselves
# (the person twice as far away) lost the first 25-37 frames of three jumping-jack clips, and a rep in each. Once
# found, the landmark model follows them well (it looks at a crop around them at full resolution). So when the pose
# model finds nobody, a second landmarker, with its own tracking (the first one's is never disturbed), looks at a
# square crop: around where a small person was last seen (for FAR_KEEP_S), otherwise at squares along the
# picture's long side in turn. A pose found in a crop counts only when it is small (under FAR_BELOW of the
# picture's long side), its limbs are seen clearly (FAR_MIN_VISIBILITY), and a small person has been seen in that
# place on every frame for FAR_CONFIRM_S. A body at the usual size in a crop is a body cut by the crop's edges; on
# the clips as recorded, the crops also found small poses on 1-6 frames of 12 clips, most of them landmarks
# scattered over a big, half-seen body or over nothing (7 of the 10 looked at), with limbs' visibility 0.16-0.51
# where the small people of the shrunk clips were seen at 0.72-0.99, and coming and going from frame to frame.
# Nothing changes on a frame where the first landmarker finds someone, and a big person lost for a moment is left
# to it.
FAR_BELOW = 0.25  # "small": the landmarks span less than this share of the picture's long side
FAR_WIDTH = 3.0  # the crop around a small person, in their sizes: room for arms overhead and a step aside
FAR_MARGIN = 0.15  # the crop is held still while the person stays this far (of its side) inside every edge
FAR_KEEP_S = 2.0  # how long the crop around a lost small person is tried before searching again
FAR_SEARCH = 0.75  # search squares' side, as a share of the picture's short side
FAR_MIN_VISIBILITY = 0.6  # the mean visibility of the shoulders, elbows, wrists, hips, knees and ankles
FAR_CONFIRM_S = 0.2  # a crop's pose counts once a small person has been seen in one place for this long
FAR_VERSION = 3  # part of the landmark cache's key: raise it when what the search finds changes

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
    timestamp that rounds onto (or before) the previous one is nudged forward by 1 ms. ``far_search``: look for a
    small, far person in crops of the picture when nobody is found in the whole of it (see ``FAR_BELOW``).
    """

    def __init__(self, model_path: str | os.PathLike | None = None, num_poses: int = 1,
                 min_detection_confidence: float = DEFAULT_CONFIDENCE, min_presence_confidence: float = DEFAULT_CONFIDENCE,
                 min_tracking_confidence: float = DEFAULT_TRACKING, far_search: bool = True):
        if num_poses < 1:
            raise ValueError("num_poses must be at least 1")
        self.model_path = check_model_file(model_path or default_pose_model())
        self.num_poses = int(num_poses)
        from mediapipe.tasks.python import BaseOptions, vision  # heavy import, kept local

        self._options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=vision.RunningMode.VIDEO,
            num_poses=self.num_poses,
            min_pose_detection_confidence=min_detection_confidence,
            min_pose_presence_confidence=min_presence_confidence,
            min_tracking_confidence=min_tracking_confidence,
            output_segmentation_masks=False,
        )
        self._mp_image = __import__("mediapipe").Image
        self._srgb = __import__("mediapipe").ImageFormat.SRGB
        self._last_ms = -1
        self._landmarker, self._finalizer = self._open()
        self._warm = False
        self._far = FarSearch() if far_search else None
        self._far_landmarker = self._far_finalizer = None  # opened the first time the search looks
        self._far_warm = False

    def _open(self):
        from mediapipe.tasks.python import vision

        _close_orphans()
        try:
            with quiet_native_stderr():
                landmarker = vision.PoseLandmarker.create_from_options(self._options)
        except Exception as e:  # MediaPipe raises RuntimeError/ValueError with long C++ messages
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelFileError(f"MediaPipe could not load pose model {self.model_path}: {first}") from None
        _OPEN[id(landmarker)] = landmarker
        return landmarker, weakref.finalize(self, _orphan, landmarker)

    def _detect(self, landmarker, image_rgb: np.ndarray, ms: int, warm: bool):
        image = self._mp_image(image_format=self._srgb, data=np.ascontiguousarray(image_rgb))
        if warm:
            return landmarker.detect_for_video(image, ms)
        with quiet_native_stderr():  # the first inference logs delegate and graph warnings
            return landmarker.detect_for_video(image, ms)

    def __call__(self, image_rgb: np.ndarray, t_s: float) -> PoseResult:
        if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image_rgb.dtype} {image_rgb.shape}")
        if self._landmarker is None:
            raise RuntimeError("PoseEstimator is closed")
        ms = int(round(t_s * 1000.0))
        if ms <= self._last_ms:
            ms = self._last_ms + 1
        self._last_ms = ms
        h, w = image_rgb.shape[:2]
        frames = _to_pose_frames(self._detect(self._landmarker, image_rgb, ms, self._warm), t_s)
        self._warm = True
        if self._far is not None:
            if frames:
                self._far.seen(frames[0], w, h, t_s)
            else:
                frames = self._search(image_rgb, ms, t_s)
        return PoseResult(t_s, tuple(frames), (w, h))

    def _search(self, image_rgb: np.ndarray, ms: int, t_s: float) -> list[PoseFrame]:
        """Nobody found in the whole picture: a small person in the crop the search chooses, or nobody."""
        h, w = image_rgb.shape[:2]
        crop = self._far.crop(w, h, t_s)
        if crop is None:
            self._far.missed()
            return []
        if self._far_landmarker is None:
            self._far_landmarker, self._far_finalizer = self._open()
        x0, y0, x1, y1 = crop
        res = self._detect(self._far_landmarker, image_rgb[y0:y1, x0:x1], ms, self._far_warm)
        self._far_warm = True
        found = [uncrop(f, crop, (w, h)) for f in _to_pose_frames(res, t_s)]
        if not found:
            self._far.missed()
            return []
        return found[:1] if self._far.seen(found[0], w, h, t_s, in_crop=True) else []  # one person sought

    def close(self) -> None:
        """Free MediaPipe's graphs. An estimator dropped without ``close()`` is not closed by the garbage collector
        (that can deadlock inside MediaPipe) but by the next estimator created or closed, or at exit."""
        for lm_attr, fin_attr in (("_landmarker", "_finalizer"), ("_far_landmarker", "_far_finalizer")):
            lm = getattr(self, lm_attr, None)
            setattr(self, lm_attr, None)
            if lm is not None:
                getattr(self, fin_attr).detach()
                _close_landmarker(lm)
        _close_orphans()

    def __enter__(self) -> "PoseEstimator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def uncrop(frame: PoseFrame, crop: tuple[int, int, int, int], size: tuple[int, int]) -> PoseFrame:
    """A pose found in ``crop`` = (x0, y0, x1, y1) pixels of a ``size`` = (width, height) picture, with its
    image coordinates made relative to the whole picture. World landmarks (metres, hip-centred) and visibility
    do not depend on the crop."""
    x0, y0, x1, y1 = crop
    w, h = size
    xy = frame.image_xy.astype(np.float64)
    xy = np.stack([(xy[:, 0] * (x1 - x0) + x0) / w, (xy[:, 1] * (y1 - y0) + y0) / h], axis=1)
    return PoseFrame(frame.t_s, xy.astype(np.float32), frame.world_xyz, frame.visibility)


_LIMBS = [LM[f"{side}_{j}"] for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle") for side in ("left", "right")]


class FarSearch:
    """Where to look for a small, far person when the whole picture showed nobody (see ``FAR_BELOW``): a square
    crop (x0, y0, x1, y1) in pixels, or None. Bookkeeping on the poses found; no image is touched here."""

    def __init__(self) -> None:
        self.box: tuple[float, float, float, float] | None = None  # the last person's landmarks, pixels
        self.t_s = float("-inf")  # when they were last seen
        self.since: float | None = None  # since when a small person has been seen in one place, frame after frame
        self.held: tuple[int, int, int, int] | None = None  # the crop in use around them
        self.turn = 0  # which search square is next

    def seen(self, frame: PoseFrame, w: int, h: int, t_s: float, in_crop: bool = False) -> bool:
        """Note a pose found at ``t_s`` and say whether to keep it: one found in the whole picture always; one
        found in a crop (``in_crop``) only when small, with its limbs clearly seen, and after a small person has
        been seen in that place on every frame for FAR_CONFIRM_S."""
        ok = (frame.visibility >= 0.3) & np.isfinite(frame.image_xy).all(axis=1)
        if ok.sum() < 5:
            if in_crop:
                self.missed()
            return not in_crop
        pts = np.clip(frame.image_xy[ok], 0.0, 1.0) * (w, h)
        box = (*pts.min(axis=0), *pts.max(axis=0))
        small = self._small(box, w, h)
        if in_crop and not (small and frame.visibility[_LIMBS].mean() >= FAR_MIN_VISIBILITY):
            self.missed()
            return False
        if not small:
            self.since = None
        elif self.since is None or not self._near(box):
            self.since = t_s
        self.box, self.t_s = box, t_s
        return not in_crop or t_s - self.since >= FAR_CONFIRM_S

    def missed(self) -> None:
        """Nobody on this frame: a small person must be seen again for FAR_CONFIRM_S before a crop's pose counts."""
        self.since = None

    def _near(self, box) -> bool:
        """``box`` is where the last one was: their centres less than half the last box's size apart."""
        x0, y0, x1, y1 = self.box
        d = np.hypot((box[0] + box[2] - x0 - x1) / 2, (box[1] + box[3] - y0 - y1) / 2)
        return d < 0.5 * max(x1 - x0, y1 - y0)

    @staticmethod
    def _small(box, w: int, h: int) -> bool:
        return max(box[2] - box[0], box[3] - box[1]) < FAR_BELOW * max(w, h)

    def crop(self, w: int, h: int, t_s: float) -> tuple[int, int, int, int] | None:
        if self.box is not None and t_s - self.t_s <= FAR_KEEP_S:
            if not self._small(self.box, w, h):
                return None  # a person at the usual size, lost for a moment: the pose model finds them again
            x0, y0, x1, y1 = self.box
            side = int(round(min(max(FAR_WIDTH * max(x1 - x0, y1 - y0), FAR_SEARCH * min(w, h)), w, h)))
            if self.held is not None:
                a, b, c, d = self.held
                m = FAR_MARGIN * (c - a)
                if a + m < x0 and x1 < c - m and b + m < y0 and y1 < d - m and c - a >= side:
                    return self.held
            self.held = _square(((x0 + x1) / 2, (y0 + y1) / 2), side, w, h)
            return self.held
        self.held = None
        side = int(FAR_SEARCH * min(w, h))
        k, self.turn = self.turn % 3, self.turn + 1
        along = (0.0, 0.5, 1.0)[(1, 0, 2)[k]]  # centre first, then one end, then the other
        if w >= h:
            return _square((side / 2 + along * (w - side), h / 2), side, w, h)
        return _square((w / 2, side / 2 + along * (h - side)), side, w, h)


def _square(centre: tuple[float, float], side: int, w: int, h: int) -> tuple[int, int, int, int]:
    """A side x side square around ``centre``, moved inside the picture."""
    x0 = int(np.clip(round(centre[0] - side / 2), 0, w - side))
    y0 = int(np.clip(round(centre[1] - side / 2), 0, h - side))
    return x0, y0, x0 + side, y0 + side


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
