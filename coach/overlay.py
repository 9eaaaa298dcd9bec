"""Drawing on video frames: the pose skeleton, highlighted fault joints, and a text HUD (reps, cue, status).

Every function returns a new image and leaves its input untouched. Sizes (line thickness, joint radius, text) scale
with the image so the overlay reads the same on a 320x240 clip and on 1080p. Drawing uses OpenCV on RGB ``uint8``
arrays; colours are ``(R, G, B)``.

Cost, measured at 640x480 on one core: skeleton + highlight + a 3-line HUD take about 0.2 ms per frame (see the
report in ``tests/test_overlay.py``; the tests do not assert times).
"""
from __future__ import annotations

import logging
import unicodedata
from typing import Mapping, Sequence

import cv2
import numpy as np

from coach.types import LM, N_LANDMARKS, POSE_CONNECTIONS, PoseFrame

log = logging.getLogger(__name__)

Color = tuple[int, int, int]

BONE_COLOR: Color = (80, 220, 120)
JOINT_COLOR: Color = (255, 255, 255)
FAULT_COLOR: Color = (255, 40, 40)
TEXT_COLOR: Color = (255, 255, 255)
BOX_COLOR: Color = (0, 0, 0)
#: HUD text colours by cue kind, and the colour of joints named by a fault (review video and live view alike).
CUE_COLORS: dict[str, Color] = {"fault": (255, 120, 90), "good": (120, 235, 120), "setup": (255, 215, 90),
                                "info": (150, 200, 255)}
HIGHLIGHT: Color = (255, 60, 60)

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")
_FACE = frozenset(range(0, 11))  # nose, eyes, ears, mouth: small dots, no bones from the body
_CONNECTIONS = np.asarray(POSE_CONNECTIONS, dtype=np.intp)


def line_thickness(image: np.ndarray) -> int:
    """Bone thickness in pixels for this image: 2 px at 480p, 1 px on small clips, 4-5 px at 1080p."""
    return max(1, int(round(min(image.shape[:2]) / 240)))


def _check_image(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {img.dtype} {img.shape}")
    return img


def _index(key) -> int:
    if isinstance(key, str):
        try:
            return LM[key]
        except KeyError:
            raise ValueError(f"unknown landmark {key!r} (use a name from coach.types.LANDMARK_NAMES)") from None
    i = int(key)
    if not 0 <= i < N_LANDMARKS:
        raise ValueError(f"landmark index {i} out of range 0..{N_LANDMARKS - 1}")
    return i


def draw_skeleton(image_rgb: np.ndarray, pose_frame: PoseFrame | None, min_visibility: float = 0.5,
                  color: Color = BONE_COLOR, joint_color: Color = JOINT_COLOR,
                  highlight: Mapping[str | int, Color] | None = None, thickness: int | None = None,
                  marks_only: bool = False) -> np.ndarray:
    """A copy of ``image_rgb`` with the pose drawn on it.

    * Joints whose visibility is below ``min_visibility`` (or whose position is unknown) are not drawn, nor are
      bones touching them, so the overlay never shows guesses for hidden limbs.
    * ``highlight`` maps landmark names (or indices) to a colour, e.g. ``{"left_hip": (255, 0, 0)}``: those joints
      get a larger dot with a ring and their bones are drawn in that colour, to show where a fault is.
    * ``thickness`` defaults to :func:`line_thickness` (scaled to the image size).
    * ``marks_only``: only the highlighted joints and their bones (on a frame of the annotated video, whose
      skeleton is drawn already).
    * ``pose_frame=None`` (nobody found) returns an unchanged copy.
    """
    out = _check_image(image_rgb).copy()
    _skeleton_into(out, pose_frame, min_visibility, None if marks_only else color,
                   None if marks_only else joint_color, highlight, thickness)
    return out


def _skeleton_into(out: np.ndarray, pose_frame: PoseFrame | None, min_visibility: float, color: Color | None,
                   joint_color: Color | None, highlight: Mapping[str | int, Color] | None,
                   thickness: int | None) -> None:
    """``color`` / ``joint_color`` None: those bones / joints are not drawn (only the highlighted ones)."""
    if pose_frame is None:
        return
    h, w = out.shape[:2]
    t = int(thickness) if thickness else line_thickness(out)
    xy = pose_frame.image_xy.astype(np.float64) * (w, h)
    ok = (pose_frame.visibility >= min_visibility) & np.isfinite(xy).all(axis=1)
    # Keep far-off estimates from overflowing OpenCV's integer coordinates.
    pts = np.clip(np.nan_to_num(xy, nan=-1e4), -4 * max(w, h), 5 * max(w, h)).round().astype(np.int32)
    hl = {_index(k): tuple(int(c) for c in v) for k, v in (highlight or {}).items()}

    a, b = _CONNECTIONS[:, 0], _CONNECTIONS[:, 1]
    for i, j in _CONNECTIONS[ok[a] & ok[b]]:
        c = hl.get(i) or hl.get(j) or color
        if c is None:
            continue
        cv2.line(out, tuple(pts[i]), tuple(pts[j]), c, t if (i not in _FACE) else max(1, t // 2), cv2.LINE_AA)
    r = t + 1
    for i in np.flatnonzero(ok) if joint_color is not None else ():
        if i in hl:
            continue
        cv2.circle(out, tuple(pts[i]), max(1, r - 1) if i in _FACE else r, joint_color, -1, cv2.LINE_AA)
    for i, c in hl.items():
        if ok[i]:
            cv2.circle(out, tuple(pts[i]), 2 * r + 1, c, -1, cv2.LINE_AA)
            cv2.circle(out, tuple(pts[i]), 3 * r + 2, c, max(1, t // 2 + 1), cv2.LINE_AA)


_ASCII = str.maketrans({"\u00b0": " deg", "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2018": "'",
                        "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2026": "...", "\u00d7": "x",
                        "\u2192": "->", "\u2190": "<-", "\u2022": "*", "\u00b7": "."})


def hud_text(s: str) -> str:
    """``s`` in the ASCII that OpenCV's fonts can draw (degree signs, dashes, quotes and accents spelled out)."""
    s = str(s).translate(_ASCII)
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii")
    return " ".join(s.split())


def hud_scale(image: np.ndarray) -> float:
    """Font scale for HUD text: ~0.65 at 480p, so a line is about 1/22 of the image height."""
    return max(0.35, min(image.shape[:2]) / 740.0)


def draw_hud(image: np.ndarray, lines: Sequence[str | tuple[str, Color]], corner: str = "top-left",
             text_color: Color = TEXT_COLOR, box_color: Color = BOX_COLOR, box_alpha: float = 0.55,
             scale: float | None = None, margin: int | None = None) -> np.ndarray:
    """A copy of ``image`` with ``lines`` of text in a ``corner`` on a translucent box.

    Each line is a string or ``(string, colour)`` (e.g. a fault cue in red). Text is scaled to the image size
    (``scale`` overrides the font scale); characters OpenCV cannot draw are spelled in ASCII (``°`` -> ``deg``).
    ``corner`` is one of ``top-left``, ``top-right``, ``bottom-left``, ``bottom-right``. Empty ``lines`` return
    an unchanged copy.
    """
    out = _check_image(image).copy()
    _hud_into(out, lines, corner, text_color, box_color, box_alpha, scale, margin)
    return out


def _hud_into(out: np.ndarray, lines, corner: str, text_color: Color, box_color: Color, box_alpha: float,
              scale: float | None, margin: int | None) -> None:
    if corner not in _CORNERS:
        raise ValueError(f"corner must be one of {', '.join(_CORNERS)}, got {corner!r}")
    items = [(hud_text(x[0]), tuple(int(c) for c in x[1])) if isinstance(x, tuple) else (hud_text(x), text_color)
             for x in lines]
    items = [(s, c) for s, c in items if s]
    if not items:
        return
    h, w = out.shape[:2]
    fs = float(scale) if scale else hud_scale(out)
    th = max(1, int(round(fs * 2)))
    pad = int(margin) if margin is not None else max(4, int(round(10 * fs)))
    sizes = [cv2.getTextSize(s, _FONT, fs, th) for s, _ in items]
    line_h = max(sz[0][1] + sz[1] for sz in sizes) + pad // 2
    box_w = min(w, max(sz[0][0] for sz in sizes) + 2 * pad)
    box_h = min(h, line_h * len(items) + pad + pad // 2)
    x0 = pad if corner.endswith("left") else max(0, w - box_w - pad)
    y0 = pad if corner.startswith("top") else max(0, h - box_h - pad)
    x0, y0 = min(x0, max(0, w - box_w)), min(y0, max(0, h - box_h))
    roi = out[y0:y0 + box_h, x0:x0 + box_w]
    if box_alpha > 0 and roi.size:
        bg = np.empty_like(roi)
        bg[:] = box_color
        cv2.addWeighted(bg, float(box_alpha), roi, 1.0 - float(box_alpha), 0.0, dst=roi)
    y = y0 + pad
    for (s, c), ((_, text_h), base) in zip(items, sizes):
        y += text_h
        cv2.putText(out, s, (x0 + pad, y), _FONT, fs, c, th, cv2.LINE_AA)
        y += base + pad // 2


def annotate(image: np.ndarray, pose_frame: PoseFrame | None, lines: Sequence[str | tuple[str, Color]] = (),
             highlight: Mapping[str | int, Color] | None = None, min_visibility: float = 0.5,
             corner: str = "top-left") -> np.ndarray:
    """Skeleton (with optional fault ``highlight``) and HUD ``lines`` in one call; returns a new image.

    Cheaper than chaining :func:`draw_skeleton` and :func:`draw_hud`: the frame is copied once (a second
    full-frame allocation per frame costs about as much as the drawing itself)."""
    out = _check_image(image).copy()
    _skeleton_into(out, pose_frame, min_visibility, BONE_COLOR, JOINT_COLOR, highlight, None)
    if lines:
        _hud_into(out, lines, corner, TEXT_COLOR, BOX_COLOR, 0.55, None, None)
    return out
