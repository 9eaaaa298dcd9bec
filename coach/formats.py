"""Readers for third-party landmark files, returning :class:`~coach.types.PoseSequence` in BlazePose-33 order.

Formats (all found in the shared data, see its README):

* PushFit MediaPipe JSON (:func:`read_pushfit_json`): a list of frames ``{"keypoints": [33 x {x, y, z,
  visibility}]}``, x and y normalised to the image, an empty list where nobody was found.
* Exercise-Correction CSV (:func:`read_exercise_correction_csv`): ``label, nose_x, nose_y, nose_z, nose_v, ...``
  for a subset of the 33 landmarks, frames of several videos stacked with no video id.
* OpenPose COCO-18 arrays (:func:`read_openpose18_npy`): ``(frames, 18, 3)`` = x, y in pixels, confidence;
  ``0, 0, 0`` where a joint was not found.

**Pseudo-world coordinates.** These formats have no metric world landmarks, but downstream code measures the body
in ``world_xyz``. The readers fill it with an estimate (:func:`pseudo_world`):

1. image coordinates in pixels (x right, y down), with depth z = MediaPipe's normalised z times the image width
   where the format has it (MediaPipe's z uses "roughly the same scale as x"), else 0;
2. centred on the hip midpoint in every frame (the midpoint of the hips that were found);
3. one scale factor for the whole sequence (or Exercise-Correction block) so that the torso (shoulder midpoint to
   hip midpoint) is 0.5 m long in the median frame.

Axes are MediaPipe's world axes (x to the image right, y down, z away from the camera). Such sequences carry
``meta["world"] = "pseudo"`` and ``meta["dims"]`` = 3 (with depth) or 2 (without: z is 0, so angles are measured
in the image plane). Landmarks the format lacks are NaN with visibility 0; ``present`` is True where at least one
shoulder and one hip were found.

Every reader raises :class:`~coach.errors.DataFormatError` with a one-line message when the file is not what it
should be.
"""
from __future__ import annotations

import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coach.errors import DataFormatError, InputNotFoundError
from coach.types import LANDMARK_NAMES, LM, N_LANDMARKS, PoseSequence

log = logging.getLogger(__name__)

TORSO_M = 0.5  # torso length (shoulder midpoint to hip midpoint) of the pseudo-world, metres

#: OpenPose COCO-18 joint order. OpenPose's ``r_`` is the person's right, as is MediaPipe's ``right_``.
OPENPOSE18_NAMES: tuple[str, ...] = (
    "nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist", "r_hip", "r_knee",
    "r_ankle", "l_hip", "l_knee", "l_ankle", "r_eye", "l_eye", "r_ear", "l_ear",
)

#: OpenPose-18 index -> BlazePose-33 landmark name (the neck has no BlazePose counterpart).
OPENPOSE18_TO_BLAZEPOSE: dict[int, str] = {
    0: "nose", 2: "right_shoulder", 3: "right_elbow", 4: "right_wrist", 5: "left_shoulder", 6: "left_elbow",
    7: "left_wrist", 8: "right_hip", 9: "right_knee", 10: "right_ankle", 11: "left_hip", 12: "left_knee",
    13: "left_ankle", 14: "right_eye", 15: "left_eye", 16: "right_ear", 17: "left_ear",
}

_SHOULDERS = (LM["left_shoulder"], LM["right_shoulder"])
_HIPS = (LM["left_hip"], LM["right_hip"])

#: Frame sizes tried, smallest area first, when an OpenPose file's image size is not given.
_STANDARD_SIZES: tuple[tuple[int, int], ...] = tuple(sorted(
    {s for w, h in ((320, 240), (640, 360), (640, 480), (854, 480), (960, 540), (960, 720), (1280, 720),
                    (1920, 1080), (2560, 1440), (3840, 2160)) for s in ((w, h), (h, w))},
    key=lambda s: (s[0] * s[1], -s[0])))


def _midpoint(points: np.ndarray, idx: tuple[int, int]) -> np.ndarray:
    """Mean of the found points among ``idx`` per frame, (T, D); NaN where neither was found."""
    sel = points[:, idx, :]
    ok = np.isfinite(sel).all(axis=2)
    n = ok.sum(axis=1)
    s = np.where(ok[..., None], sel, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n[:, None] > 0, s / np.maximum(n, 1)[:, None], np.nan)


def core_present(points: np.ndarray) -> np.ndarray:
    """(T,) True where at least one shoulder and one hip are known in ``points`` (T, 33, D)."""
    return np.isfinite(_midpoint(points, _SHOULDERS)).all(axis=1) & np.isfinite(_midpoint(points, _HIPS)).all(axis=1)


def pseudo_world(image_xy: np.ndarray, image_size: tuple[float, float], z: np.ndarray | None = None,
                 torso_m: float = TORSO_M) -> np.ndarray:
    """Pseudo-world landmarks (T, 33, 3) from normalised image coordinates, as described in the module docstring.

    ``image_xy`` (T, 33, 2) normalised; ``image_size`` (width, height) in pixels (only the aspect ratio matters);
    ``z`` (T, 33) MediaPipe normalised depth or None. Unknown landmarks stay NaN; frames without a shoulder and a
    hip are all NaN; a sequence without any such frame is all NaN.
    """
    xy = np.asarray(image_xy, dtype=np.float64)
    w, h = float(image_size[0]), float(image_size[1])
    px = np.empty(xy.shape[:2] + (3,), np.float64)
    px[..., 0] = xy[..., 0] * w
    px[..., 1] = xy[..., 1] * h
    if z is None:
        px[..., 2] = np.where(np.isfinite(xy).all(axis=2), 0.0, np.nan)
    else:
        px[..., 2] = np.asarray(z, dtype=np.float64) * w
    hip = _midpoint(px, _HIPS)
    torso = np.linalg.norm(_midpoint(px, _SHOULDERS) - hip, axis=1)
    ok = np.isfinite(torso) & (torso > 0)
    out = np.full_like(px, np.nan)
    if not ok.any():
        return out
    scale = torso_m / float(np.median(torso[ok]))
    out[ok] = (px[ok] - hip[ok, None, :]) * scale
    return out


def _require_file(path: str | os.PathLike, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError(f"{what} not found: {p} (check the path)")
    if p.is_dir():
        raise InputNotFoundError(f"{p} is a folder; pass a {what}")
    return p


def _sequence(image_xy, z, vis, fps, image_size, source, meta) -> PoseSequence:
    n = image_xy.shape[0]
    world = pseudo_world(image_xy, image_size, z)
    present = core_present(image_xy) & np.isfinite(world).any(axis=(1, 2))
    meta = {"world": "pseudo", "dims": 3 if z is not None else 2, **meta}
    return PoseSequence(np.arange(n) / float(fps), image_xy, world, vis, fps=fps, source=source,
                        image_size=image_size, present=present, meta=meta)


# ---------------------------------------------------------------------------------------------------------------
# PushFit MediaPipe JSON
# ---------------------------------------------------------------------------------------------------------------

def read_pushfit_json(path: str | os.PathLike, fps: float = 25.0,
                      image_size: tuple[int, int] = (320, 240)) -> PoseSequence:
    """A PushFit ``mediapipe_json`` file: one entry per video frame, nobody found where ``keypoints`` is empty.

    Timestamps are frame index / ``fps`` (the PushFit clips are 25 fps, 320x240).
    """
    p = _require_file(path, "PushFit JSON file")
    hint = "pass a PushFit mediapipe_json file (a list of {\"keypoints\": [33 x {x, y, z, visibility}]})"
    try:
        with open(p, encoding="utf-8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataFormatError(f"{p} is not JSON ({type(e).__name__}: {str(e).splitlines()[0]}); {hint}") from None
    if not isinstance(data, list):
        raise DataFormatError(f"{p} holds a JSON {type(data).__name__}, not a list of frames; {hint}")
    n = len(data)
    xyzv = np.full((n, N_LANDMARKS, 4), np.nan)
    for i, fr in enumerate(data):
        kps = fr.get("keypoints") if isinstance(fr, dict) else None
        if kps is None or not isinstance(kps, list):
            raise DataFormatError(f"{p}: frame {i} has no \"keypoints\" list; {hint}")
        if not kps:
            continue
        if len(kps) != N_LANDMARKS:
            raise DataFormatError(f"{p}: frame {i} has {len(kps)} keypoints, expected {N_LANDMARKS} "
                                  f"(MediaPipe Pose); {hint}")
        try:
            xyzv[i] = [(k["x"], k["y"], k.get("z", np.nan), k.get("visibility", 1.0)) for k in kps]
        except (KeyError, TypeError, ValueError) as e:
            raise DataFormatError(f"{p}: frame {i} has a keypoint without numeric x, y ({type(e).__name__}: "
                                  f"{e}); {hint}") from None
    found = np.isfinite(xyzv[..., :2]).all(axis=(1, 2))
    vis = np.where(found[:, None], np.nan_to_num(xyzv[..., 3], nan=0.0), 0.0)
    z = xyzv[..., 2] if np.isfinite(xyzv[found][..., 2]).all() else None
    seq = _sequence(xyzv[..., :2], z, vis, fps, image_size, str(p), {"format": "pushfit_json"})
    log.debug("%s: %d frames, %.0f%% with a person", p, n, 100 * seq.detected_fraction)
    return seq


# ---------------------------------------------------------------------------------------------------------------
# Exercise-Correction CSV
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LabelledFrames:
    """Rows of a labelled landmark table: one :class:`PoseSequence` over all rows, a label per row, and the
    contiguous block (probably one source video) each row belongs to.

    The table has no video id, so blocks are found where the pose jumps between consecutive rows (see
    :func:`read_exercise_correction_csv`). Split train/test sets by block, never by row.
    """

    sequence: PoseSequence
    labels: np.ndarray  # (T,) str
    block: np.ndarray  # (T,) int, 0.. in row order

    def __post_init__(self) -> None:
        n = len(self.sequence)
        labels = np.asarray(self.labels, dtype=str).reshape(-1)
        block = np.asarray(self.block, dtype=np.int64).reshape(-1)
        if labels.shape != (n,) or block.shape != (n,):
            raise ValueError(f"labels and block must have shape ({n},)")
        for name, arr in (("labels", labels), ("block", block)):
            arr = arr.copy()
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    def __len__(self) -> int:
        return len(self.sequence)

    @property
    def n_blocks(self) -> int:
        return int(self.block.max()) + 1 if len(self.block) else 0

    def blocks(self) -> list[tuple[np.ndarray, PoseSequence]]:
        """``(labels, sequence)`` per contiguous block, in row order (times as in the whole table)."""
        edges = np.flatnonzero(np.diff(self.block)) + 1
        starts = np.r_[0, edges] if len(self.block) else np.zeros(0, int)
        stops = np.r_[edges, len(self.block)] if len(self.block) else np.zeros(0, int)
        return [(self.labels[a:b], self.sequence.slice(int(a), int(b))) for a, b in zip(starts, stops)]


def split_blocks(image_xy: np.ndarray, jump: float = 0.1) -> np.ndarray:
    """Block index per row: a new block starts where the median joint moves more than ``jump`` (in normalised
    image units) from the previous row, i.e. where a different video (or a cut) begins."""
    n = image_xy.shape[0]
    if n == 0:
        return np.zeros(0, np.int64)
    d = np.linalg.norm(np.diff(np.asarray(image_xy, np.float64), axis=0), axis=2)  # (T-1, 33)
    with warnings.catch_warnings():  # rows without any known joint: all-NaN median (a jump), numpy warns
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(d, axis=1)
    new = ~(med <= jump)
    return np.r_[0, np.cumsum(new)].astype(np.int64)


def read_exercise_correction_csv(path: str | os.PathLike, fps: float = 30.0,
                                 image_size: tuple[int, int] | None = None, split_jump: float = 0.1
                                 ) -> LabelledFrames:
    """An Exercise-Correction landmark table (``label, nose_x, nose_y, nose_z, nose_v, left_shoulder_x, ...``).

    Landmarks missing from the table are NaN with visibility 0. Rows are frames at ``fps`` (times are row
    index / fps). The table stacks frames of many videos without an id; rows are grouped into contiguous
    blocks where the median joint jumps by more than ``split_jump`` (normalised units) from the previous row
    (:func:`split_blocks`), and the pseudo-world is scaled per block (each video has its own person size).
    ``image_size`` is unknown for these files; with None the pseudo-world assumes square normalised units
    (``meta["image_size_known"] = False``), which distorts angles by the video's aspect ratio.
    """
    import pandas as pd

    p = _require_file(path, "Exercise-Correction CSV")
    hint = "pass an Exercise-Correction CSV (columns label, nose_x, nose_y, nose_z, nose_v, ...)"
    try:
        df = pd.read_csv(p, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataFormatError(f"{p} is not a readable CSV ({msg}); {hint}") from None
    df.columns = [str(c).strip() for c in df.columns]
    names = [n for n in LANDMARK_NAMES if f"{n}_x" in df.columns and f"{n}_y" in df.columns]
    if not names:
        raise DataFormatError(f"{p} has no <landmark>_x/<landmark>_y columns (found {', '.join(df.columns[:4])}"
                              f"{' ...' if len(df.columns) > 4 else ''}); {hint}")
    known = {f"{n}_{s}" for n in LANDMARK_NAMES for s in ("x", "y", "z", "v")} | {"label"}
    extra = [c for c in df.columns if c not in known]
    if extra:
        log.info("%s: ignoring columns %s", p, ", ".join(extra[:5]))
    n = len(df)
    xy = np.full((n, N_LANDMARKS, 2), np.nan)
    z = np.full((n, N_LANDMARKS), np.nan)
    vis = np.zeros((n, N_LANDMARKS))
    has_z = all(f"{nm}_z" in df.columns for nm in names)

    def col(c: str) -> np.ndarray:
        v = pd.to_numeric(df[c], errors="coerce")
        bad = v.isna() & df[c].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataFormatError(f"{p}: column {c} holds {str(df[c].iloc[i])[:20]!r} (row {i + 2}), not a number; "
                                  f"{hint}")
        return v.to_numpy(np.float64)

    for nm in names:
        j = LM[nm]
        xy[:, j, 0], xy[:, j, 1] = col(f"{nm}_x"), col(f"{nm}_y")
        if has_z:
            z[:, j] = col(f"{nm}_z")
        vis[:, j] = np.nan_to_num(col(f"{nm}_v"), nan=0.0) if f"{nm}_v" in df.columns else 1.0
    missing = ~np.isfinite(xy).all(axis=2)
    xy[missing] = np.nan
    z[missing] = np.nan
    vis[missing] = 0.0
    labels = df["label"].astype(str).to_numpy() if "label" in df.columns else np.full(n, "", dtype=str)

    block = split_blocks(xy, split_jump)
    aspect = image_size if image_size is not None else (1.0, 1.0)
    world = np.full((n, N_LANDMARKS, 3), np.nan)
    starts = np.r_[0, np.flatnonzero(np.diff(block)) + 1] if n else np.zeros(0, int)
    for a, b in zip(starts, np.r_[starts[1:], n]):
        world[a:b] = pseudo_world(xy[a:b], aspect, z[a:b] if has_z else None)
    present = core_present(xy) & np.isfinite(world).any(axis=(1, 2))
    meta = {"world": "pseudo", "dims": 3 if has_z else 2, "format": "exercise_correction_csv",
            "image_size_known": image_size is not None, "landmarks": names}
    seq = PoseSequence(np.arange(n) / float(fps), xy, world, vis, fps=fps, source=str(p), image_size=image_size,
                       present=present, meta=meta)
    log.debug("%s: %d rows in %d blocks, landmarks %s", p, n, int(block.max()) + 1 if n else 0, names)
    return LabelledFrames(seq, labels, block)


# ---------------------------------------------------------------------------------------------------------------
# OpenPose COCO-18 .npy
# ---------------------------------------------------------------------------------------------------------------

def guess_image_size(max_x: float, max_y: float) -> tuple[int, int]:
    """The smallest common video frame (320x240 ... 3840x2160, landscape or portrait) holding a point at
    (``max_x``, ``max_y``) pixels; the bounding size itself when none does."""
    for w, h in _STANDARD_SIZES:
        if max_x < w and max_y < h:
            return w, h
    return int(np.ceil(max_x)) + 1, int(np.ceil(max_y)) + 1


OPENPOSE_VISIBILITY_GAIN = 2.0


def read_openpose18_npy(path: str | os.PathLike, fps: float = 30.0,
                        image_size: tuple[int, int] | None = None) -> PoseSequence:
    """An OpenPose COCO-18 array ``(frames, 18, 3)`` (x, y pixels, confidence), as in Pose Trainer's files.

    Joints are mapped onto BlazePose-33 by name (:data:`OPENPOSE18_TO_BLAZEPOSE`; OpenPose's ``r_`` is the
    person's right, like MediaPipe's ``right_``). Joints OpenPose did not find (0, 0 or confidence 0) and the
    BlazePose landmarks OpenPose lacks (eye corners, mouth, hands, heels, toes) are NaN with visibility 0;
    visibility is OpenPose's confidence times :data:`OPENPOSE_VISIBILITY_GAIN` (OpenPose's part confidences run lower
    than MediaPipe's visibility: a joint found at 0.25 is as usable as a MediaPipe landmark at 0.5). The neck is
    dropped. The file does not record the video's frame size:
    pass ``image_size`` when known, else the smallest common frame size holding all points is assumed
    (``meta["image_size_known"] = False``); the pseudo-world uses the pixels directly and does not depend on it.
    """
    p = _require_file(path, "OpenPose .npy file")
    hint = "pass an OpenPose-18 array saved with numpy, shape (frames, 18, 3) = x, y, confidence"
    try:
        arr = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise DataFormatError(f"{p} is not a numpy .npy array ({type(e).__name__}: {str(e).splitlines()[0]}); "
                              f"{hint}") from None
    if not isinstance(arr, np.ndarray) or arr.ndim != 3 or arr.shape[1:] != (18, 3):
        shape = getattr(arr, "shape", None)
        raise DataFormatError(f"{p} holds an array of shape {shape}, expected (frames, 18, 3); {hint}")
    if not np.issubdtype(arr.dtype, np.number):
        raise DataFormatError(f"{p} holds {arr.dtype} values, not numbers; {hint}")
    arr = arr.astype(np.float64)
    n = arr.shape[0]
    found = (arr[..., 2] > 0) & np.isfinite(arr).all(axis=2) & ~((arr[..., 0] == 0) & (arr[..., 1] == 0))
    px = np.full((n, N_LANDMARKS, 2), np.nan)
    vis = np.zeros((n, N_LANDMARKS))
    for k, name in OPENPOSE18_TO_BLAZEPOSE.items():
        j = LM[name]
        px[:, j] = np.where(found[:, k, None], arr[:, k, :2], np.nan)
        vis[:, j] = np.where(found[:, k], np.clip(arr[:, k, 2] * OPENPOSE_VISIBILITY_GAIN, 0.0, 1.0), 0.0)
    known = image_size is not None
    if image_size is None:
        if np.isfinite(px).any():
            image_size = guess_image_size(float(np.nanmax(px[..., 0])), float(np.nanmax(px[..., 1])))
        else:
            image_size = (640, 480)
    w, h = int(image_size[0]), int(image_size[1])
    xy = px / (w, h)
    return _sequence(xy, None, vis, fps, (w, h), str(p), {"format": "openpose18_npy", "image_size_known": known})


# ---------------------------------------------------------------------------------------------------------------

def read_landmark_file(path: str | os.PathLike, fps: float | None = None) -> PoseSequence:
    """Any landmark file this project reads, by its suffix: ``.npz`` (coach), ``.csv`` (coach CSV, else
    Exercise-Correction: all rows as one sequence), ``.json`` (PushFit), ``.npy`` (OpenPose-18)."""
    from coach.io import csv_columns, load_csv, load_npz

    p = _require_file(path, "landmark file")
    suffix = p.suffix.lower()
    kw = {} if fps is None else {"fps": fps}
    if suffix == ".npz":
        return load_npz(p)
    if suffix == ".json":
        return read_pushfit_json(p, **kw)
    if suffix == ".npy":
        return read_openpose18_npy(p, **kw)
    if suffix == ".csv":
        with open(p, encoding="utf-8", errors="replace") as f:
            header = [c.strip() for c in f.readline().strip().split(",")]
        if header[:3] == csv_columns()[:3]:
            return load_csv(p, **kw)
        return read_exercise_correction_csv(p, **kw).sequence
    raise DataFormatError(f"{p}: unknown landmark file type {suffix or '(no suffix)'}; pass a .npz, .csv, .json "
                          f"(PushFit) or .npy (OpenPose-18) file")
