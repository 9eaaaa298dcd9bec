"""Which recordings were filmed in the same place: the groups cross-validation must keep on one side of a split.

Clips of one person in one room look alike to a classifier in ways that have nothing to do with form (body
shape, camera height, lighting, their habits). When such clips sit on both sides of a split, the scores measure
recognising the person, not judging the push-up. Label files rarely say who is in a clip, but the background
does: the median of a clip's frames is its scene with the moving person mostly removed. Clips whose scenes are
close (average linkage on small HSV thumbnails) share a group.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

THUMB = (16, 12)  # width, height of the thumbnail a scene is compared on
MAX_FRAMES = 90  # frames sampled per clip for its median
SAME_SCENE = 4.0  # linkage distance below which two clips count as one scene (checked by eye on PushFit)


def scene_descriptor(path: str | Path) -> np.ndarray | None:
    """Brightness, saturation and hue (as a saturation-weighted angle) of the clip's median frame, on a small
    grid; ``None`` when the file cannot be decoded."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        step = max(1, n // MAX_FRAMES) if n > 0 else 1
        thumbs, i = [], 0
        while len(thumbs) < MAX_FRAMES:
            if not cap.grab():
                break
            if i % step == 0:
                ok, im = cap.retrieve()
                if ok and im is not None:
                    hsv = cv2.cvtColor(cv2.resize(im, THUMB, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2HSV)
                    thumbs.append(hsv.astype(np.float32))
            i += 1
    finally:
        cap.release()
    if not thumbs:
        return None
    m = np.median(np.stack(thumbs), axis=0)
    h, s, v = (m[..., k].ravel() for k in range(3))
    hue = h / 90.0 * np.pi  # OpenCV hue is 0-180
    return np.concatenate([v / 255, s / 255, np.cos(hue) * s / 255, np.sin(hue) * s / 255])


def scene_groups(paths: list[Path], threshold: float = SAME_SCENE) -> dict[Path, str]:
    """A group name per path: ``scene:<first clip's name>`` for clips filmed in one place, the file's own name
    for files that are not videos or cannot be read."""
    from scipy.cluster.hierarchy import fcluster, linkage

    paths = [Path(p) for p in paths]
    out = {p: p.stem for p in paths}
    known = [(p, d) for p in paths if (d := scene_descriptor(p)) is not None]
    if len(known) < 2:
        return out
    labels = fcluster(linkage(np.stack([d for _, d in known]), "average"), threshold, "distance")
    first: dict[int, str] = {}
    for (p, _), k in zip(known, labels):
        first.setdefault(int(k), p.stem)
        out[p] = f"scene:{first[int(k)]}"
    return out
