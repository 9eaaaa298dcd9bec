"""Typed containers at the boundaries of the pipeline.

One frozen dataclass per concept, validated in ``__post_init__``, with arrays of fixed shape. Functions return
new objects instead of mutating these.

Coordinates:
* ``image_xy``: MediaPipe normalised image coordinates, x to the right and y downwards, 0..1 across the frame
  (values slightly outside 0..1 happen when a joint is estimated outside the image).
* ``world_xyz``: MediaPipe world landmarks in metres, origin between the hips, x to the image right, y down,
  z away from the camera (smaller z = nearer).
* ``visibility``: 0..1, MediaPipe's likelihood that the landmark is visible (not occluded, inside the frame).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np


N_LANDMARKS = 33

#: BlazePose GHUM 33-landmark topology, in MediaPipe's order.
LANDMARK_NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
LM = {name: i for i, name in enumerate(LANDMARK_NAMES)}

#: Bones drawn for the skeleton overlay (pairs of landmark indices).
POSE_CONNECTIONS: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10),
    (11, 12), (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19),
    (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
    (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28),
    (27, 29), (28, 30), (29, 31), (30, 32), (27, 31), (28, 32),
)

#: Left/right pairs, to mirror a body.
MIRROR_INDEX: tuple[int, ...] = tuple(
    LM[n.replace("left_", "right_")] if n.startswith("left_")
    else LM[n.replace("right_", "left_")] if n.startswith("right_")
    else LM[n.replace("mouth_left", "mouth_right")] if n == "mouth_left"
    else LM["mouth_left"] if n == "mouth_right" else i
    for i, n in enumerate(LANDMARK_NAMES)
)


def _as_array(value, shape: tuple[int, ...], name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float32)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    arr = arr.copy()
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class PoseFrame:
    """One person's landmarks at one instant."""

    t_s: float
    image_xy: np.ndarray  # (33, 2)
    world_xyz: np.ndarray  # (33, 3)
    visibility: np.ndarray  # (33,)

    def __post_init__(self) -> None:
        if not np.isfinite(self.t_s):
            raise ValueError(f"t_s must be finite, got {self.t_s}")
        object.__setattr__(self, "t_s", float(self.t_s))
        object.__setattr__(self, "image_xy", _as_array(self.image_xy, (N_LANDMARKS, 2), "image_xy"))
        object.__setattr__(self, "world_xyz", _as_array(self.world_xyz, (N_LANDMARKS, 3), "world_xyz"))
        object.__setattr__(self, "visibility", _as_array(self.visibility, (N_LANDMARKS,), "visibility"))

    def visible(self, names_or_indices, threshold: float = 0.5) -> bool:
        """True when every listed landmark is at least ``threshold`` visible and inside the image."""
        idx = [LM[n] if isinstance(n, str) else int(n) for n in names_or_indices]
        xy = self.image_xy[idx]
        inside = np.all((xy > -0.02) & (xy < 1.02), axis=1)
        return bool(np.all((self.visibility[idx] >= threshold) & inside))


@dataclass(frozen=True)
class PoseResult:
    """What the estimator saw in one frame: zero or more people. ``poses`` is empty when nobody is in frame."""

    t_s: float
    poses: tuple[PoseFrame, ...] = ()
    image_size: tuple[int, int] | None = None  # (width, height) in pixels

    def __post_init__(self) -> None:
        object.__setattr__(self, "t_s", float(self.t_s))
        object.__setattr__(self, "poses", tuple(self.poses))
        for p in self.poses:
            if not isinstance(p, PoseFrame):
                raise TypeError("poses must hold PoseFrame objects")

    @property
    def found(self) -> bool:
        return bool(self.poses)

    @property
    def primary(self) -> PoseFrame | None:
        """The person to coach: the first pose (MediaPipe orders by detection score), or None."""
        return self.poses[0] if self.poses else None


@dataclass(frozen=True)
class PoseSequence:
    """One person's landmarks over T frames (struct of arrays). Frames where nobody was found hold NaN and
    ``present`` False, so time stays regular and nothing is silently dropped."""

    t_s: np.ndarray  # (T,) strictly increasing seconds
    image_xy: np.ndarray  # (T, 33, 2)
    world_xyz: np.ndarray  # (T, 33, 3)
    visibility: np.ndarray  # (T, 33)
    fps: float
    source: str = ""
    image_size: tuple[int, int] | None = None  # (width, height)
    present: np.ndarray | None = None  # (T,) bool; derived from finiteness when None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        t = np.asarray(self.t_s, dtype=np.float64).reshape(-1)
        n = t.shape[0]
        if n and not np.all(np.isfinite(t)):
            raise ValueError("t_s must be finite")
        if n > 1 and not np.all(np.diff(t) > 0):
            raise ValueError("t_s must be strictly increasing")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be positive, got {self.fps}")
        t = t.copy()
        t.setflags(write=False)
        object.__setattr__(self, "t_s", t)
        object.__setattr__(self, "fps", float(self.fps))
        object.__setattr__(self, "image_xy", _as_array(self.image_xy, (n, N_LANDMARKS, 2), "image_xy"))
        object.__setattr__(self, "world_xyz", _as_array(self.world_xyz, (n, N_LANDMARKS, 3), "world_xyz"))
        object.__setattr__(self, "visibility", _as_array(self.visibility, (n, N_LANDMARKS), "visibility"))
        if self.present is None:
            present = np.isfinite(self.world_xyz).all(axis=(1, 2)) & np.isfinite(self.image_xy).all(axis=(1, 2))
        else:
            present = np.asarray(self.present, dtype=bool).reshape(-1)
            if present.shape != (n,):
                raise ValueError(f"present must have shape ({n},), got {present.shape}")
        present = present.copy()
        present.setflags(write=False)
        object.__setattr__(self, "present", present)
        if self.image_size is not None:
            object.__setattr__(self, "image_size", (int(self.image_size[0]), int(self.image_size[1])))

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1] - self.t_s[0]) if len(self) > 1 else 0.0

    @property
    def detected_fraction(self) -> float:
        return float(self.present.mean()) if len(self) else 0.0

    def frame(self, i: int) -> PoseFrame | None:
        """Frame ``i`` as a PoseFrame, or None where nobody was found."""
        if not self.present[i]:
            return None
        return PoseFrame(self.t_s[i], self.image_xy[i], self.world_xyz[i], self.visibility[i])

    def results(self) -> Iterator[PoseResult]:
        """The sequence as per-frame PoseResults (empty where nobody was found), e.g. to replay into a Coach."""
        for i in range(len(self)):
            f = self.frame(i)
            yield PoseResult(float(self.t_s[i]), (f,) if f is not None else (), self.image_size)

    def _frames(self, index: slice, **changes) -> "PoseSequence":
        """A new sequence of the frames ``index`` picks, every per-frame array alike."""
        return dataclasses.replace(
            self, t_s=self.t_s[index], image_xy=self.image_xy[index], world_xyz=self.world_xyz[index],
            visibility=self.visibility[index], present=self.present[index], meta=dict(self.meta), **changes)

    def slice(self, start: int, stop: int) -> "PoseSequence":
        return self._frames(slice(start, stop))

    def every(self, step: int) -> "PoseSequence":
        """Every ``step``-th frame, timestamps kept: the same movement filmed at ``fps / step``."""
        if int(step) != step or step < 1:
            raise ValueError(f"step must be a whole number of frames, 1 or more, got {step}")
        return self._frames(slice(None, None, int(step)), fps=self.fps / step)

    def mirrored(self) -> "PoseSequence":
        """The same movement as a mirror shows it (a selfie camera): image x flipped, world x negated, left and
        right landmarks swapped, so a left arm stays an arm on the body's left in the new picture."""
        ix = list(MIRROR_INDEX)
        img, wld = self.image_xy[:, ix], self.world_xyz[:, ix]  # fancy indexing: new, writable arrays
        img[..., 0] = 1.0 - img[..., 0]
        wld[..., 0] = -wld[..., 0]
        return dataclasses.replace(self, image_xy=img, world_xyz=wld, visibility=self.visibility[:, ix],
                                   meta=dict(self.meta))

    def rolled(self, degrees: float) -> "PoseSequence":
        """The same movement filmed by a camera rolled about its axis (a phone propped askew): the picture turned
        ``degrees`` clockwise on screen about its centre (in pixels, so the body keeps its shape in any aspect
        ratio; a landmark may land outside the picture), world x-y turned alike. Depth and visibility unchanged."""
        a = np.radians(float(degrees))
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])  # x right, y down: clockwise on screen
        w, h = self.image_size or (1, 1)
        scale = np.array([w, h], np.float64)
        img = (((self.image_xy - 0.5) * scale) @ rot.T) / scale + 0.5
        wld = self.world_xyz.copy()
        wld[..., :2] = self.world_xyz[..., :2] @ rot.T
        return dataclasses.replace(self, image_xy=img, world_xyz=wld, meta=dict(self.meta))

    def then(self, other: "PoseSequence", gap_s: float = 0.0) -> "PoseSequence":
        """This recording followed by ``other`` as one (a workout of one exercise after another), with ``gap_s``
        seconds between them in which nobody is in view (frames at this one's rate); this one's fps and image
        size."""
        step = 1.0 / self.fps if self.fps > 0 else 1.0 / 30
        n_gap = int(round(float(gap_s) / step))
        gap_t = self.t_s[-1] + step * np.arange(1, n_gap + 1)
        t = other.t_s - other.t_s[0] + self.t_s[-1] + step * (n_gap + 1)
        cat = np.concatenate

        def gap(a: np.ndarray, fill) -> np.ndarray:
            return np.full((n_gap,) + a.shape[1:], fill, a.dtype)

        return dataclasses.replace(
            self, t_s=cat([self.t_s, gap_t, t]),
            image_xy=cat([self.image_xy, gap(self.image_xy, np.nan), other.image_xy]),
            world_xyz=cat([self.world_xyz, gap(self.world_xyz, np.nan), other.world_xyz]),
            visibility=cat([self.visibility, gap(self.visibility, 0), other.visibility]),
            present=cat([self.present, np.zeros(n_gap, bool), other.present]), meta=dict(self.meta))

    @classmethod
    def from_results(cls, results: list[PoseResult], fps: float, source: str = "",
                     image_size: tuple[int, int] | None = None) -> "PoseSequence":
        """Stack per-frame results (primary person) into a sequence; frames with nobody become NaN."""
        n = len(results)
        img = np.full((n, N_LANDMARKS, 2), np.nan, np.float32)
        wld = np.full((n, N_LANDMARKS, 3), np.nan, np.float32)
        vis = np.zeros((n, N_LANDMARKS), np.float32)
        t = np.empty(n, np.float64)
        present = np.zeros(n, bool)
        for i, r in enumerate(results):
            t[i] = r.t_s
            p = r.primary
            if p is not None:
                img[i], wld[i], vis[i], present[i] = p.image_xy, p.world_xyz, p.visibility, True
            if image_size is None and r.image_size is not None:
                image_size = r.image_size
        return cls(t, img, wld, vis, fps=fps, source=source, image_size=image_size, present=present)
