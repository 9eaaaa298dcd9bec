"""The per-frame record the coaching loop keeps, and turning a run of them into arrays for measuring."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coach.measures import GROUPS, Frames
from coach.types import LM

VIS = 0.5  # landmarks less visible than this count as not seen


@dataclass
class FrameRecord:
    i: int
    t: float
    world: np.ndarray  # (33, 3)
    vis: np.ndarray  # (33,)
    img: np.ndarray  # (33, 2)
    present: bool
    settled: bool = True  # present long enough for the landmarks to be steady
    signal: float = float("nan")
    residual: np.ndarray | None = None  # the simulator's per-joint prediction error
    reference: np.ndarray | None = None  # the constant-velocity baseline's, on the same frames


def stack(records: list[FrameRecord], image_size: tuple[int, int] | None) -> tuple[Frames, np.ndarray]:
    """Measurable frames and their times for a run of records."""
    frames = Frames(np.stack([f.world for f in records]), np.stack([f.vis for f in records]), VIS,
                    np.stack([f.img for f in records]), image_size)
    return frames, np.array([f.t for f in records])


def missing_groups(fr: FrameRecord, groups) -> list[str]:
    """The landmark groups of ``groups`` (names of :data:`coach.measures.GROUPS`) of which no landmark is seen
    inside the picture on this frame: MediaPipe still places joints that are out of frame or hidden, at low
    visibility or off the image."""
    if not fr.present:
        return list(groups)
    missing = []
    for g in groups:
        idx = [LM[n] for n in GROUPS[g]]
        xy = fr.img[idx]
        inside = (xy > -0.01).all(axis=1) & (xy < 1.01).all(axis=1)
        if not ((fr.vis[idx] >= VIS) & inside).any():
            missing.append(g)
    return missing
