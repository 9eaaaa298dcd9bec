"""Per-frame body measurements, in the body's own frame, that exercises and faults are defined on.

Every measurement is computed from MediaPipe's world landmarks (metres, hip-centred), so it does not depend on
where the camera stands or how big the person looks; lengths are divided by a body length so they do not
depend on the person's size either. Each function takes world landmarks ``(T, 33, 3)`` and visibility
``(T, 33)`` and returns ``(T,)`` floats, NaN where the landmarks it needs are not visible.

Bilateral joints (knees, elbows, ...) are combined over the sides that are visible: ``<joint>`` is the mean of
the visible sides, ``<joint>_max`` / ``<joint>_min`` the larger / smaller. A side filmed from the side is
often hidden behind the body; MediaPipe still guesses it, and its visibility says so.

Vertical is the image's vertical (the camera is assumed level); ``y`` points down.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from coach.angles import angle_between, body_frame, cross, joint_angles
from coach.types import LM, PoseSequence

log = logging.getLogger(__name__)

MIN_VISIBILITY = 0.5

#: Named landmark groups (for `required`, velocity points, visibility checks).
GROUPS: dict[str, tuple[str, ...]] = {
    "head": ("nose", "left_ear", "right_ear"),
    "shoulders": ("left_shoulder", "right_shoulder"),
    "elbows": ("left_elbow", "right_elbow"),
    "wrists": ("left_wrist", "right_wrist"),
    "hips": ("left_hip", "right_hip"),
    "knees": ("left_knee", "right_knee"),
    "ankles": ("left_ankle", "right_ankle"),
    "feet": ("left_heel", "right_heel", "left_foot_index", "right_foot_index"),
}

# A torso (mid-shoulder to mid-hip) is about two upper arms long in MediaPipe's world landmarks (median 2.2 over
# the catalogue clips, 1.8-2.5 between people and views): the body's scale when the hips are out of the picture.
TORSO_PER_UPPER_ARM = 2.0


def _upper_arms(points: np.ndarray) -> np.ndarray:
    """(T, 2) shoulder-to-elbow lengths, left and right, of (T, 33, D) points (NaN where either end is hidden)."""
    return np.stack([np.linalg.norm(points[:, LM[f"{s}_shoulder"]] - points[:, LM[f"{s}_elbow"]], axis=-1)
                     for s in ("left", "right")], axis=1)


@dataclass(frozen=True)
class Measure:
    name: str
    units: str  # "deg", "body" (body lengths), "torso", "thigh", "ratio"
    description: str
    fn: Callable[["Frames"], np.ndarray]


class Frames:
    """World landmarks with visibility, and the lazily computed shared pieces (angles, body frame, scales)."""

    def __init__(self, world: np.ndarray, visibility: np.ndarray, min_visibility: float = MIN_VISIBILITY,
                 image_xy: np.ndarray | None = None, image_size: tuple[int, int] | None = None):
        w = np.asarray(world, np.float64)
        if w.ndim == 2:
            w = w[None]
        v = np.asarray(visibility, np.float64).reshape(w.shape[:2])
        self.raw = w
        self.visibility = v
        self.seen = (v >= min_visibility) & np.isfinite(w).all(axis=-1)
        self.w = np.where(self.seen[..., None], w, np.nan)  # hidden landmarks are NaN
        self._angles: dict[str, np.ndarray] = {}
        self._frame = None
        # Image coordinates in an isotropic unit (x scaled by the aspect ratio), for measures of where the body
        # is in the picture (travel, which part moves); NaN when not given.
        if image_xy is None:
            self.img = np.full(w.shape[:2] + (2,), np.nan)
        else:
            img = np.asarray(image_xy, np.float64).reshape(w.shape[:2] + (2,)).copy()
            # a landmark guessed outside the picture (a close-up's hips) says nothing about where it is
            inside = ((img > -0.02) & (img < 1.02)).all(axis=-1)
            if image_size:
                img[..., 0] *= image_size[0] / image_size[1]
            self.img = np.where((self.seen & inside)[..., None], img, np.nan)

    @classmethod
    def of(cls, seq: PoseSequence, min_visibility: float = MIN_VISIBILITY) -> "Frames":
        return cls(seq.world_xyz, seq.visibility, min_visibility, seq.image_xy, seq.image_size)

    def img_mid(self, group: str) -> np.ndarray:
        pts = self.img[:, [LM[n] for n in GROUPS[group]]]
        with _quiet():
            return np.nanmean(pts, axis=1)

    def img_torso(self) -> float:
        """The body's size in the picture (isotropic units), the unit of image measures: the median torso
        length, or 1.2 shoulder widths when that is larger (a torso seen end-on, as in a push-up filmed from
        the front, looks short). Where the hips are not seen, the larger of 1.2 shoulder widths and two upper
        arms (a side-on close-up shows one shoulder's width of nothing)."""
        with _quiet():
            torso = np.linalg.norm(self.img_mid("shoulders") - self.img_mid("hips"), axis=-1)
            width = np.linalg.norm(self.img[:, LM["left_shoulder"]] - self.img[:, LM["right_shoulder"]], axis=-1)
            arm = np.nanmax(_upper_arms(self.img), axis=1)
            d = np.where(np.isfinite(torso), np.fmax(torso, 1.2 * width),
                         np.fmax(1.2 * width, TORSO_PER_UPPER_ARM * arm))
            v = float(np.nanmedian(d)) if np.isfinite(d).any() else float("nan")
        return v if v > 1e-6 else float("nan")

    def __len__(self) -> int:
        return self.w.shape[0]

    def p(self, name: str) -> np.ndarray:
        return self.w[:, LM[name]]

    def mid(self, group: str) -> np.ndarray:
        """Mean of a group's visible landmarks (NaN when none is visible)."""
        pts = self.w[:, [LM[n] for n in GROUPS[group]]]
        with _quiet():
            return np.nanmean(pts, axis=1)

    def both(self, group: str) -> np.ndarray:
        """Midpoint of a left/right pair, only where both are visible."""
        a, b = GROUPS[group][:2]
        return (self.p(a) + self.p(b)) / 2

    def angle(self, name: str) -> np.ndarray:
        """One joint angle of :func:`coach.angles.joint_angles` (computed on first use, with its other side)."""
        if name not in self._angles:
            pair = [name]
            for a, b in (("left_", "right_"), ("right_", "left_")):
                if name.startswith(a):
                    pair.append(b + name[len(a):])
            self._angles.update(joint_angles(self.w, names=pair))
        return self._angles[name]

    @property
    def axes(self):
        if self._frame is None:
            self._frame = body_frame(self.w)
        return self._frame


# NaN arithmetic is expected here (hidden landmarks are NaN): numpy's warnings about it say nothing. Filtered once,
# narrowly, instead of per call (catching warnings costs more than the arithmetic on one frame).
warnings.filterwarnings("ignore", category=RuntimeWarning,
                        message=r"(Mean of empty slice|All-NaN (slice|axis) encountered|Degrees of freedom <= 0)")


def _quiet():
    """No floating-point warnings for the NaNs of hidden landmarks."""
    return np.errstate(all="ignore")


def _sides(f: Frames, joint: str, how: str) -> np.ndarray:
    a = np.stack([f.angle(f"left_{joint}"), f.angle(f"right_{joint}")], axis=1)
    with _quiet():
        if how == "mean":
            return np.nanmean(a, axis=1)
        if how == "max":
            return np.nanmax(a, axis=1)
        return np.nanmin(a, axis=1)


def _dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a - b, axis=-1)


def _torso(f: Frames) -> np.ndarray:
    """Torso length per frame; where the hips are not seen (a curl filmed close up), two upper-arm lengths."""
    t = _dist(f.mid("shoulders"), f.mid("hips"))
    missing = ~np.isfinite(t)
    if missing.any():
        with _quiet():
            arm = np.nanmean(_upper_arms(f.w), axis=1)
        t = np.where(missing, TORSO_PER_UPPER_ARM * arm, t)
    return t


def hip_line_offset(f: Frames) -> np.ndarray:
    """Hip midpoint's distance from the shoulder-ankle line, in body lengths (shoulder to ankle); positive when
    the hips are below the line (towards the floor: sagging in a plank or push-up), negative when above (piked).
    """
    s, h, a = f.mid("shoulders"), f.mid("hips"), f.mid("ankles")
    line = a - s
    length = np.linalg.norm(line, axis=-1)
    with _quiet():
        u = line / length[:, None]
        rel = h - s
        perp = rel - np.sum(rel * u, axis=-1, keepdims=True) * u
        dist = np.linalg.norm(perp, axis=-1)
        sign = np.sign(perp[:, 1])  # +y is down
        sign[sign == 0] = 1
        return sign * dist / length


def body_lean(f: Frames) -> np.ndarray:
    """Body line (ankles to shoulders) from vertical, degrees: 0 upright, 90 horizontal. Unlike the trunk's lean,
    the same whether the hips sag or pike."""
    from coach.angles import angle_between

    return angle_between(f.mid("shoulders") - f.mid("ankles"), np.array([0.0, -1.0, 0.0]))


def hip_below_knee(f: Frames) -> np.ndarray:
    """How far the hips are below the knees, in thigh lengths (0 = thighs parallel to the floor, + deeper)."""
    h, k = f.mid("hips"), f.mid("knees")
    with _quiet():
        return (h[:, 1] - k[:, 1]) / _dist(h, k)


def hip_above_ankle(f: Frames) -> np.ndarray:
    """Hips' height above the ankles, in leg lengths (hip to knee plus knee to ankle, of the visible sides):
    about 0.95 standing, 0.5 at the bottom of a parallel squat. Vertical, so it reads the same from any side."""
    lens = []
    for side in ("left", "right"):
        lens.append(_dist(f.p(f"{side}_hip"), f.p(f"{side}_knee")) + _dist(f.p(f"{side}_knee"), f.p(f"{side}_ankle")))
    with _quiet():
        leg = np.nanmean(np.stack(lens, axis=1), axis=1)
        return (f.mid("ankles")[:, 1] - f.mid("hips")[:, 1]) / leg


def wrist_above_shoulder(f: Frames) -> np.ndarray:
    """Wrists' height above the shoulders, in torso lengths (+ above)."""
    with _quiet():
        return (f.mid("shoulders")[:, 1] - f.mid("wrists")[:, 1]) / _torso(f)


def nose_above_wrist(f: Frames) -> np.ndarray:
    """Nose height above the wrists (the bar in a pull-up), in torso lengths (+ chin over the bar)."""
    with _quiet():
        return (f.mid("wrists")[:, 1] - f.p("nose")[:, 1]) / _torso(f)


def shoulder_above_wrist(f: Frames) -> np.ndarray:
    """Shoulders' height above the wrists, in torso lengths (dips, push-ups: + shoulders above the hands)."""
    with _quiet():
        return (f.mid("wrists")[:, 1] - f.mid("shoulders")[:, 1]) / _torso(f)


def ankle_spread(f: Frames) -> np.ndarray:
    """Distance between the ankles in torso lengths (torso: steadier than shoulder width seen side-on)."""
    with _quiet():
        return _dist(f.p("left_ankle"), f.p("right_ankle")) / _torso(f)


def knee_width_ratio(f: Frames) -> np.ndarray:
    """Knee-to-knee over ankle-to-ankle distance: below ~0.8 the knees cave in (valgus)."""
    with _quiet():
        return _dist(f.p("left_knee"), f.p("right_knee")) / _dist(f.p("left_ankle"), f.p("right_ankle"))


def neck_flexion(f: Frames) -> np.ndarray:
    """Angle of the head (shoulder midpoint -> ear midpoint) from the trunk line, degrees; positive when the
    head drops towards the chest, negative when it tips back."""
    up, _right, forward = f.axes
    ears = (f.p("left_ear") + f.p("right_ear")) / 2
    one = np.where(np.isfinite(f.p("left_ear")), f.p("left_ear"), f.p("right_ear"))
    ears = np.where(np.isfinite(ears), ears, one)
    v = ears - f.mid("shoulders")
    ang = angle_between(v, up)
    fwd = np.sum(v * forward, axis=-1)
    # Without a body frame (hips overlapping), sign by gravity: a head below the trunk line counts as dropped.
    with _quiet():
        t = f.mid("shoulders") - f.mid("hips")
        side = cross(t, v)[:, 2] * np.sign(t[:, 0])
        sign = np.where(np.isfinite(fwd), np.sign(fwd), np.sign(side))
    sign[sign == 0] = 1
    return ang * sign


def lunge_stance(f: Frames) -> np.ndarray:
    """How lunge-like the stance is: the larger of the feet's front-back split along the body's facing
    direction (in leg lengths, / 0.4) and the knees' difference in bend (degrees, / 35). 1 or more is a lunge or
    split stance; a squat stays well under."""
    _up, _right, forward = f.axes
    d = f.p("left_ankle") - f.p("right_ankle")
    leg = (_dist(f.p("left_hip"), f.p("left_ankle")) + _dist(f.p("right_hip"), f.p("right_ankle"))) / 2
    with _quiet():
        split = np.abs(np.sum(d * forward, axis=-1)) / leg / 0.4
        asym = np.abs(f.angle("left_knee") - f.angle("right_knee")) / 35.0
        return np.fmax(split, asym)


def arm_trunk_angle(f: Frames) -> np.ndarray:
    """Angle between the whole arm (shoulder -> wrist) and the trunk's downward axis, degrees, mean of the
    visible sides: small when the hands are by the sides (dips, curls), near 90 when they are in front of the
    chest (push-ups, planks on hands), near 180 overhead."""
    up, _r, _f = f.axes
    vals = [angle_between(f.p(f"{s}_wrist") - f.p(f"{s}_shoulder"), -up) for s in ("left", "right")]
    with _quiet():
        return np.nanmean(np.stack(vals, axis=1), axis=1)


def upper_arm_angle(f: Frames) -> np.ndarray:
    """Upper arm (shoulder -> elbow) from the trunk's downward axis, degrees, the larger of the visible sides.
    When the hips are hidden in most of the frames given (a curl filmed close up), from straight down instead,
    in every frame: an upright trunk is near vertical, and one reference throughout keeps the swing over a rep
    (its range) free of jumps where the hips come and go."""
    trunk = _sides(f, "shoulder", "max")
    if np.isfinite(trunk).mean() >= 0.5 or not len(f):
        return trunk
    down = np.array([0.0, 1.0, 0.0])  # world y points down
    vals = [angle_between(f.p(f"{s}_elbow") - f.p(f"{s}_shoulder"), down) for s in ("left", "right")]
    with _quiet():
        return np.nanmax(np.stack(vals, axis=1), axis=1)


def arm_drop(f: Frames) -> np.ndarray:
    """How far the shoulders have come down towards the hands, as a share of the arm's length (upper arm plus
    forearm): about 0 with straight arms under the shoulders, 0.6-0.8 at the bottom of a full push-up or dip."""
    vals = []
    for side in ("left", "right"):
        s_, e_, w_ = f.p(f"{side}_shoulder"), f.p(f"{side}_elbow"), f.p(f"{side}_wrist")
        arm = _dist(s_, e_) + _dist(e_, w_)
        with _quiet():
            vals.append(1.0 - (w_[:, 1] - s_[:, 1]) / arm)
    with _quiet():
        return np.nanmean(np.stack(vals, axis=1), axis=1)


def chest_up(f: Frames) -> np.ndarray:
    """Which way the chest faces: +1 the ceiling (lying on the back: sit-ups), -1 the floor (push-ups, planks),
    0 a wall (standing). From the body frame of the hips and shoulders; NaN when the hips overlap too much."""
    _up, _right, forward = f.axes
    return -forward[:, 1]


def shoulder_to_ear(f: Frames) -> np.ndarray:
    """Distance from the shoulders up to the ears along the trunk, in torso lengths (shrinks in a shrug). Along
    the trunk (hips to shoulders), not the vertical: leaning forward shortens the vertical one as a shrug does (a
    person bending 30 degrees three times made three shrugs), and so does a tilted camera; where the hips are
    hidden, the vertical. The torso is the median over the frames given: a shrug lengthens it, and dividing by
    each frame's own would overstate the lift."""
    s, ears = f.mid("shoulders"), (f.p("left_ear") + f.p("right_ear")) / 2
    with _quiet():
        up = s - f.mid("hips")
        up = up / np.linalg.norm(up, axis=-1, keepdims=True)
        up = np.where(np.isfinite(up).all(axis=-1, keepdims=True), up, np.array([0.0, -1.0, 0.0]))  # y points down
        return np.sum((ears - s) * up, axis=-1) / np.nanmedian(_torso(f))


def _image_height(group: str) -> Callable[["Frames"], np.ndarray]:
    def fn(f: Frames) -> np.ndarray:
        return -f.img_mid(group)[:, 1] / f.img_torso()
    return fn


def hip_position_image(f: Frames) -> np.ndarray:
    """Hips' horizontal position in the picture, in torso lengths (its range over a rep is how far the person
    travelled: walking, stepping)."""
    return f.img_mid("hips")[:, 0] / f.img_torso()


def _velocity_points(f: Frames, point: str, relative_to: str) -> np.ndarray:
    return f.mid(point) - f.mid(relative_to)


def _angle_measure(joint: str, how: str) -> Callable[[Frames], np.ndarray]:
    return lambda f: _sides(f, joint, how)


MEASURES: dict[str, Measure] = {}


def _register(name: str, units: str, description: str, fn: Callable[[Frames], np.ndarray]) -> None:
    MEASURES[name] = Measure(name, units, description, fn)


_JOINT_TEXT = {
    "knee": "knee flexion (0 straight leg, ~90 sitting)",
    "elbow": "elbow flexion (0 straight arm)",
    "hip": "hip flexion, thigh against the trunk (0 standing)",
    "shoulder": "shoulder elevation, upper arm against the trunk (0 by the side, 90 square, 180 overhead)",
    "ankle": "ankle dorsiflexion",
}
for _j, _text in _JOINT_TEXT.items():
    _name = "shoulder_elevation" if _j == "shoulder" else f"{_j}_flexion"
    _register(_name, "deg", f"{_text}, mean of the visible sides", _angle_measure(_j, "mean"))
    _register(f"{_name}_max", "deg", f"{_text}, the larger of the visible sides", _angle_measure(_j, "max"))
    _register(f"{_name}_min", "deg", f"{_text}, the smaller of the visible sides", _angle_measure(_j, "min"))
_register("trunk_lean", "deg", "trunk (hips to shoulders) from vertical: 0 upright, 90 horizontal",
          lambda f: f.angle("trunk"))
_register("body_lean", "deg", body_lean.__doc__.split(". ")[0], body_lean)
_register("hip_line_offset", "body", hip_line_offset.__doc__.split(";")[0], hip_line_offset)
_register("hip_below_knee", "thigh", hip_below_knee.__doc__, hip_below_knee)
_register("hip_above_ankle", "ratio", hip_above_ankle.__doc__, hip_above_ankle)
_register("wrist_above_shoulder", "torso", wrist_above_shoulder.__doc__, wrist_above_shoulder)
_register("nose_above_wrist", "torso", nose_above_wrist.__doc__, nose_above_wrist)
_register("shoulder_above_wrist", "torso", shoulder_above_wrist.__doc__, shoulder_above_wrist)
_register("ankle_spread", "ratio", ankle_spread.__doc__, ankle_spread)
_register("knee_width_ratio", "ratio", knee_width_ratio.__doc__, knee_width_ratio)
_register("neck_flexion", "deg", neck_flexion.__doc__.split(";")[0], neck_flexion)
for _g in ("shoulders", "wrists", "hips", "head"):
    _register(f"{_g.rstrip('s')}_height_image", "torso",
              f"height of the {_g} in the picture, in torso lengths (its range over a rep: how much they moved)",
              _image_height(_g))
_register("hip_position_image", "torso", hip_position_image.__doc__, hip_position_image)
_register("lunge_stance", "ratio", lunge_stance.__doc__, lunge_stance)
_register("chest_up", "ratio", chest_up.__doc__, chest_up)
_register("arm_drop", "ratio", arm_drop.__doc__, arm_drop)
_register("shoulder_to_ear", "torso", shoulder_to_ear.__doc__, shoulder_to_ear)
_register("arm_trunk_angle", "deg", arm_trunk_angle.__doc__.split(":")[0], arm_trunk_angle)
_register("upper_arm_angle", "deg", "Upper arm (shoulder -> elbow) from the trunk's downward axis, degrees, the larger of "
          "the visible sides; from straight down when the hips are hidden (its range over a rep: how far the upper "
          "arm swung)", upper_arm_angle)


def known_measure(name: str) -> bool:
    return name in MEASURES


def compute(name: str, frames: Frames) -> np.ndarray:
    if name not in MEASURES:
        raise KeyError(f"unknown measure {name!r}")
    with _quiet():
        return np.asarray(MEASURES[name].fn(frames), np.float64)


def compute_many(names, frames: Frames) -> dict[str, np.ndarray]:
    return {n: compute(n, frames) for n in dict.fromkeys(names)}


def body_length_m(frames: Frames) -> float:
    """Median shoulder-to-ankle distance in metres (for turning body lengths into centimetres)."""
    with _quiet():
        d = _dist(frames.mid("shoulders"), frames.mid("ankles"))
        v = float(np.nanmedian(d)) if np.isfinite(d).any() else float("nan")
    return v if np.isfinite(v) and v > 0.3 else 1.35  # a typical adult's shoulder-ankle length


def scale_m(units: str, frames: Frames) -> float | None:
    """Metres per unit of a length measure (None for angles and ratios)."""
    with _quiet():
        if units == "body":
            return body_length_m(frames)
        if units == "torso":
            v = float(np.nanmedian(_torso(frames)))
        elif units == "thigh":
            v = float(np.nanmedian(_dist(frames.mid("hips"), frames.mid("knees"))))
        else:
            return None
    return v if np.isfinite(v) else None


def group_visible(frames: Frames, group: str) -> np.ndarray:
    """(T,) True where at least one landmark of each left/right pair (or the group) is visible."""
    idx = [LM[n] for n in GROUPS[group]]
    return frames.seen[:, idx].any(axis=1)


def velocity_series(frames: Frames, point: str, relative_to: str, t_s: np.ndarray) -> np.ndarray:
    """Vertical velocity (m/s, + upwards) of a landmark group relative to another, (T,)."""
    rel = _velocity_points(frames, point, relative_to)[:, 1]
    with _quiet():
        return -np.gradient(rel, t_s) if len(t_s) > 1 else np.zeros_like(rel)
