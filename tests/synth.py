"""Synthetic bodies with known movement, for unit tests: squats, push-ups and pull-ups with controlled depth,
hip line, knee path, knee bend and head position, arm exercises, rests, fidgets and walking; rendered to
MediaPipe-like world landmarks (metres, hip-centred, y down) and image coordinates, at any frame rate.

A body is built in its sagittal plane (forward, up) from joint angles, given lateral offsets, and placed in the
world by the camera view: side (facing image right) or front (facing the camera).
"""
from __future__ import annotations

import math

import numpy as np

from coach.types import LM, N_LANDMARKS, PoseSequence

SHANK, THIGH, TRUNK, NECK, UPPER_ARM, FOREARM = 0.42, 0.42, 0.50, 0.22, 0.30, 0.27
LATERAL = {"shoulder": 0.18, "elbow": 0.20, "wrist": 0.19, "hip": 0.10, "knee": 0.11, "ankle": 0.12,
           "ear": 0.07, "eye": 0.03, "mouth": 0.025, "heel": 0.12, "foot_index": 0.13, "pinky": 0.2,
           "index": 0.19, "thumb": 0.17}
VIEWS = {  # forward, up, right unit vectors in world coordinates (x right, y down, z away from the camera)
    "side": (np.array([1.0, 0, 0]), np.array([0, -1.0, 0]), np.array([0, 0, -1.0])),
    "front": (np.array([0, 0, -1.0]), np.array([0, -1.0, 0]), np.array([-1.0, 0, 0])),
}


def _pt(fu: tuple[float, float], lat: float, view: str) -> np.ndarray:
    f, u, r = VIEWS[view]
    return fu[0] * f + fu[1] * u + lat * r


def _body(sag: dict[str, tuple[float, float]], view: str, lateral: dict[str, float] | None = None) -> np.ndarray:
    """33 absolute 3-D points from sagittal joint positions (both sides alike unless ``lateral`` says)."""
    lat = dict(LATERAL, **(lateral or {}))
    out = np.zeros((N_LANDMARKS, 3))
    for side, sign in (("left", -1.0), ("right", 1.0)):
        for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "ear", "heel", "foot_index"):
            out[LM[f"{side}_{j}"]] = _pt(sag[j], sign * lat[j], view)
        for j, base in (("pinky", "hand"), ("index", "hand"), ("thumb", "hand")):
            out[LM[f"{side}_{j}"]] = _pt(sag[base], sign * lat[j], view)
        for j in ("eye", "eye_inner", "eye_outer"):
            k = {"eye": 0.03, "eye_inner": 0.015, "eye_outer": 0.045}[j]
            out[LM[f"{side}_{j}"]] = _pt(sag["eye"], sign * k, view)
    out[LM["mouth_left"]] = _pt(sag["mouth"], -lat["mouth"], view)
    out[LM["mouth_right"]] = _pt(sag["mouth"], lat["mouth"], view)
    out[LM["nose"]] = _pt(sag["nose"], 0.0, view)
    return out


def _head(shoulder, direction_deg, sag) -> None:
    """Ears, eyes, nose and mouth along a neck direction (degrees from straight up, + forward)."""
    a = math.radians(direction_deg)
    ear = (shoulder[0] + NECK * math.sin(a), shoulder[1] + NECK * math.cos(a))
    fwd = (math.cos(a), -math.sin(a))  # the face points forward, perpendicular to the neck
    sag["ear"] = ear
    sag["eye"] = (ear[0] + 0.08 * fwd[0] + 0.02 * math.sin(a), ear[1] + 0.08 * fwd[1] + 0.02 * math.cos(a))
    sag["nose"] = (ear[0] + 0.10 * fwd[0], ear[1] + 0.10 * fwd[1])
    sag["mouth"] = (ear[0] + 0.09 * fwd[0] - 0.04 * math.sin(a), ear[1] + 0.09 * fwd[1] - 0.04 * math.cos(a))


def squat_pose(knee_deg: float, view: str = "side", lean_extra: float = 0.0, knee_in: float = 0.0,
               arms_forward: bool = True) -> np.ndarray:
    """A squatting body with this knee flexion (0 standing). ``knee_in``: how far (m) the knees cave in."""
    k = math.radians(knee_deg)
    a = 0.45 * k  # shank tilts forward
    ankle = (0.0, 0.08)
    knee = (ankle[0] + SHANK * math.sin(a), ankle[1] + SHANK * math.cos(a))
    hip = (knee[0] + THIGH * math.sin(a - k), knee[1] + THIGH * math.cos(a - k))
    lean = math.radians(0.38 * knee_deg + lean_extra)
    shoulder = (hip[0] + TRUNK * math.sin(lean), hip[1] + TRUNK * math.cos(lean))
    sag = {"ankle": ankle, "knee": knee, "hip": hip, "shoulder": shoulder,
           "heel": (-0.05, 0.03), "foot_index": (0.16, 0.01)}
    arm = math.radians(min(knee_deg, 90.0)) if arms_forward else 0.0  # arms swing forward as the hips drop
    elbow = (shoulder[0] + UPPER_ARM * math.sin(arm), shoulder[1] - UPPER_ARM * math.cos(arm))
    wrist = (elbow[0] + FOREARM * math.sin(arm), elbow[1] - FOREARM * math.cos(arm))
    sag.update(elbow=elbow, wrist=wrist, hand=(wrist[0] + 0.06 * math.sin(arm), wrist[1] - 0.06 * math.cos(arm)))
    _head(shoulder, math.degrees(lean), sag)
    frac = knee_deg / 100.0
    return _body(sag, view, {"knee": LATERAL["knee"] - knee_in * frac})


def pushup_pose(depth: float, view: str = "side", sag_m: float = 0.0, head_drop_deg: float = 0.0,
                knee_deg: float = 0.0) -> np.ndarray:
    """A push-up at ``depth`` 0 (arms straight) .. 1 (chest near the floor). ``sag_m``: how far the hips hang
    below the shoulder-ankle line (negative: piked); ``knee_deg``: the knees bent this much, hanging towards
    the floor."""
    body = 1.45  # ankle to shoulder
    top = math.asin((0.05 + FOREARM + UPPER_ARM - 0.06) / body)
    bottom = math.asin(0.16 / body)
    th = top + (bottom - top) * depth
    ankle = (0.0, 0.06)
    shoulder = (body * math.cos(th), ankle[1] + body * math.sin(th))
    wrist = (body * math.cos(top) + 0.02, 0.05)
    # elbow: two-link chain wrist -> shoulder, bending towards the feet and up
    d = math.dist(wrist, shoulder)
    d = min(d, FOREARM + UPPER_ARM - 1e-6)
    cos_w = (FOREARM ** 2 + d ** 2 - UPPER_ARM ** 2) / (2 * FOREARM * d)
    base = math.atan2(shoulder[1] - wrist[1], shoulder[0] - wrist[0])
    ang = base + math.acos(max(-1.0, min(1.0, cos_w)))
    elbow = (wrist[0] + FOREARM * math.cos(ang), wrist[1] + FOREARM * math.sin(ang))
    line = (math.cos(th), math.sin(th))
    down = (math.sin(th), -math.cos(th))  # perpendicular to the body line, towards the floor

    def on(frac: float, off: float = 0.0) -> tuple[float, float]:
        return (ankle[0] + frac * body * line[0] + off * down[0], ankle[1] + frac * body * line[1] + off * down[1])

    hip = on(0.62, sag_m)
    knee = on(0.31, sag_m * 0.5 + 0.31 * body * math.tan(math.radians(knee_deg) / 2))
    sag = {"ankle": ankle, "knee": knee, "hip": hip, "shoulder": shoulder, "elbow": elbow, "wrist": wrist,
           "hand": (wrist[0] + 0.07, wrist[1]), "heel": (-0.03, 0.13), "foot_index": (0.05, 0.0)}
    _head(shoulder, 90.0 - math.degrees(th) + head_drop_deg, sag)
    return _body(sag, view)


def arm_pose(shoulder_deg: float, elbow_deg: float, view: str = "side", lean_deg: float = 0.0,
             shrug_m: float = 0.0) -> np.ndarray:
    """A standing body working its arms: the upper arm ``shoulder_deg`` forward of hanging (90 = level with the
    shoulder), the elbow bent ``elbow_deg``, the trunk leaning ``lean_deg`` (+ back), the shoulders lifted
    ``shrug_m`` towards the ears (the head stays)."""
    ankle = (0.0, 0.08)
    knee = (0.0, ankle[1] + SHANK)
    hip = (0.0, knee[1] + THIGH)
    lean = math.radians(-lean_deg)
    shoulder0 = (hip[0] + TRUNK * math.sin(lean), hip[1] + TRUNK * math.cos(lean))
    sag = {"ankle": ankle, "knee": knee, "hip": hip, "heel": (-0.05, 0.03), "foot_index": (0.16, 0.01)}
    _head(shoulder0, -lean_deg, sag)
    shoulder = (shoulder0[0], shoulder0[1] + shrug_m)
    a, e = math.radians(shoulder_deg) - lean, math.radians(elbow_deg)  # the arm angle is against the trunk
    elbow = (shoulder[0] + UPPER_ARM * math.sin(a), shoulder[1] - UPPER_ARM * math.cos(a))
    wrist = (elbow[0] + FOREARM * math.sin(a + e), elbow[1] - FOREARM * math.cos(a + e))
    sag.update(shoulder=shoulder, elbow=elbow, wrist=wrist,
               hand=(wrist[0] + 0.06 * math.sin(a + e), wrist[1] - 0.06 * math.cos(a + e)))
    return _body(sag, view)


def pullup_pose(depth: float, bottom_elbow_deg: float = 10.0, view: str = "front") -> np.ndarray:
    """A pull-up (elbows forward, as in a chin-up) at ``depth`` 0 (hanging, elbows bent ``bottom_elbow_deg``) ..
    1 (top: upper arms down beside the trunk, elbows bent 135 degrees); the hands stay on the bar and the body
    rises to them."""
    p = arm_pose(175.0 - 145.0 * depth, bottom_elbow_deg + (135.0 - bottom_elbow_deg) * depth, view)
    hands = (p[LM["left_wrist"], 1] + p[LM["right_wrist"], 1]) / 2
    p[:, 1] += -1.9 - hands  # y is down: the bar 1.9 m above the floor
    return p


def walk_pose(phase: float, view: str = "side") -> np.ndarray:
    """Walking: legs swing (hip flexion +-25 deg), knees bend in swing, arms swing."""
    s = math.sin(phase)
    sag_l, sag_r = {}, {}
    pts = {}
    for side, sgn in (("left", 1.0), ("right", -1.0)):
        hip_a = math.radians(25 * sgn * s)
        knee_b = math.radians(max(0.0, 40 * sgn * math.cos(phase)))
        hip = (0.0, SHANK + THIGH + 0.08)
        knee = (hip[0] + THIGH * math.sin(hip_a), hip[1] - THIGH * math.cos(hip_a))
        ankle = (knee[0] + SHANK * math.sin(hip_a - knee_b), knee[1] - SHANK * math.cos(hip_a - knee_b))
        pts[side] = (hip, knee, ankle)
    hip = (0.0, SHANK + THIGH + 0.08)
    shoulder = (0.02, hip[1] + TRUNK)
    sag = {"hip": hip, "shoulder": shoulder, "elbow": (shoulder[0] + 0.1 * s, shoulder[1] - UPPER_ARM),
           "wrist": (shoulder[0] + 0.2 * s, shoulder[1] - UPPER_ARM - FOREARM)}
    sag["hand"] = (sag["wrist"][0], sag["wrist"][1] - 0.06)
    _head(shoulder, 0.0, sag)
    # both legs from the left side's swing; the right is mirrored in time by a half period
    out = None
    for side in ("left", "right"):
        hip_s, knee_s, ankle_s = pts[side]
        sag2 = dict(sag, knee=knee_s, ankle=ankle_s, heel=(ankle_s[0] - 0.05, ankle_s[1] - 0.05),
                    foot_index=(ankle_s[0] + 0.15, ankle_s[1] - 0.07))
        b = _body(sag2, view)
        if out is None:
            out = b
        else:
            for j in ("knee", "ankle", "heel", "foot_index"):
                out[LM[f"right_{j}"]] = b[LM[f"right_{j}"]]
    del sag_l, sag_r
    return out


def render(poses: list[np.ndarray], fps: float = 30.0, view: str = "side", travel_m_s: float = 0.0,
           jitter_m: float = 0.003, seed: int = 0, visibility: np.ndarray | None = None,
           image_size: tuple[int, int] = (640, 480)) -> PoseSequence:
    """Absolute bodies -> a PoseSequence: world = hip-centred (+ jitter), image = orthographic projection of
    the absolute position (+ sideways travel), visibility 0.95 unless given (T, 33) or (33,)."""
    rng = np.random.default_rng(seed)
    n = len(poses)
    t = np.arange(n) / fps
    absolute = np.stack(poses)
    absolute = absolute + rng.normal(0, jitter_m, absolute.shape)
    hips = (absolute[:, LM["left_hip"]] + absolute[:, LM["right_hip"]]) / 2
    world = absolute - hips[:, None]
    w, h = image_size
    scale = 0.42 * h  # pixels per metre
    px = np.empty((n, N_LANDMARKS, 2))
    shift = travel_m_s * t
    px[..., 0] = w / 2 + (absolute[..., 0] + shift[:, None] - 0.5 * (view == "side")) * scale
    px[..., 1] = h * 0.92 - (-absolute[..., 1]) * scale
    img = px / np.array([w, h])
    vis = np.full((n, N_LANDMARKS), 0.95) if visibility is None else np.broadcast_to(visibility, (n, N_LANDMARKS))
    return PoseSequence(t, img, world, vis, fps=fps, source="synthetic", image_size=image_size)


def profile(n_reps: int, period_s: float, fps: float, rest_s: float = 1.0, depths=None, hold_bottom_s: float = 0.0,
            end_rest_s: float | None = None) -> tuple[np.ndarray, list[float]]:
    """Depth 0..1 over time: rest, ``n_reps`` smooth reps (depth per rep from ``depths``), rest. Returns the
    depth series and the times of the turning points."""
    depths = list(depths) if depths is not None else [1.0] * n_reps
    end_rest_s = rest_s if end_rest_s is None else end_rest_s
    seg = []
    turns = []
    t0 = rest_s
    seg.append(np.zeros(int(round(rest_s * fps))))
    for d in depths:
        m = int(round(period_s * fps))
        x = np.arange(m) / m
        down = d * 0.5 * (1 - np.cos(2 * np.pi * x))
        if hold_bottom_s:
            k = int(round(hold_bottom_s * fps))
            down = np.concatenate([down[: m // 2], np.full(k, d), down[m // 2:]])
        seg.append(down)
        turns.append(t0 + period_s / 2)
        t0 += len(down) / fps
    seg.append(np.zeros(int(round(end_rest_s * fps))))
    return np.concatenate(seg), turns


def squat_set(n_reps: int = 5, depth_deg: float = 110.0, fps: float = 30.0, period_s: float = 2.2,
              view: str = "side", knee_in: float = 0.0, lean_extra: float = 0.0, depths=None, seed: int = 0,
              rest_s: float = 1.0, end_rest_s: float | None = None, **render_kw) -> tuple[PoseSequence, list[float]]:
    prof, turns = profile(n_reps, period_s, fps, rest_s, depths, end_rest_s=end_rest_s)
    poses = [squat_pose(depth_deg * d, view, lean_extra * d, knee_in) for d in prof]
    return render(poses, fps, view, seed=seed, **render_kw), turns


def two_squat_sets(rest_s: float, fps: float = 30.0) -> tuple[PoseSequence, list[float]]:
    """3 brisk squats (2 s each), ``rest_s`` standing, 4 slow ones (3 s each): each set at an even pace."""
    a, turns_a = profile(3, 2.0, fps, rest_s=1.0, end_rest_s=rest_s)
    b, turns_b = profile(4, 3.0, fps, rest_s=0.0, end_rest_s=1.0)
    seq = render([squat_pose(125 * d) for d in np.concatenate([a, b])], fps)
    return seq, turns_a + [t + len(a) / fps for t in turns_b]


def pushup_set(n_reps: int = 4, fps: float = 30.0, period_s: float = 2.0, view: str = "side", sag_m: float = 0.0,
               head_drop_deg: float = 0.0, depths=None, seed: int = 0, rest_s: float = 1.0, knee_deg: float = 0.0,
               **render_kw) -> tuple[PoseSequence, list[float]]:
    prof, turns = profile(n_reps, period_s, fps, rest_s, depths)
    poses = [pushup_pose(d, view, sag_m, head_drop_deg, knee_deg) for d in prof]
    return render(poses, fps, view, seed=seed, **render_kw), turns


def arm_set(kind: str, n_reps: int = 4, fps: float = 30.0, period_s: float = 2.4, view: str = "side",
            swing_deg: float = 0.0, top_deg: float | None = None, elbow_deg: float | None = None,
            lift_m: float = 0.08, lean_deg: float = 0.0, seed: int = 0,
            rest_s: float = 1.0, **render_kw) -> tuple[PoseSequence, list[float]]:
    """Sets of ``kind`` "curl" (elbow to ``top_deg``, default 140; the upper arm swinging ``swing_deg``
    forward at the top), "raise" (straight arms, ``elbow_deg`` default 5, up to ``top_deg``, default 90) or
    "shrug" (shoulders up ``lift_m``, elbows bent ``elbow_deg``, default 5), ``lean_deg`` back at the top."""
    prof, turns = profile(n_reps, period_s, fps, rest_s)
    poses = []
    for d in prof:
        if kind == "curl":
            poses.append(arm_pose(swing_deg * d, 10 + ((top_deg or 140.0) - 10) * d, view, lean_deg * d))
        elif kind == "raise":
            poses.append(arm_pose((top_deg or 90.0) * d, 5.0 if elbow_deg is None else elbow_deg, view,
                                  lean_deg * d))
        elif kind == "shrug":
            poses.append(arm_pose(0.0, 5.0 if elbow_deg is None else elbow_deg, view, lean_deg * d, lift_m * d))
        else:
            raise ValueError(kind)
    return render(poses, fps, view, seed=seed, **render_kw), turns


def pullup_set(n_reps: int = 4, fps: float = 30.0, period_s: float = 2.4, view: str = "front",
               bottom_elbow_deg: float = 10.0, seed: int = 0, rest_s: float = 1.0,
               **render_kw) -> tuple[PoseSequence, list[float]]:
    prof, turns = profile(n_reps, period_s, fps, rest_s)
    poses = [pullup_pose(d, bottom_elbow_deg, view) for d in prof]
    return render(poses, fps, view, seed=seed, **render_kw), turns


def walking(seconds: float = 6.0, fps: float = 30.0, speed_m_s: float = 0.8, seed: int = 0) -> PoseSequence:
    n = int(seconds * fps)
    poses = [walk_pose(2 * np.pi * 0.9 * i / fps) for i in range(n)]
    return render(poses, fps, "side", travel_m_s=speed_m_s, seed=seed)
