"""Per-rep diagnosis: interpretable measurements that name a fault with its evidence in numbers, the learned
model's verdict from the physics simulator's error signature, a quality score, and the rep's metrics.

Two kinds of evidence, side by side:

* **Measurements** (always): each fault rule of the exercise file aggregates one measure over the rep (at the
  turning point, its mean, range, ...) and compares it with the rule's threshold. They are computed in the
  body's own frame (see :mod:`coach.measures`), so they hold for people, cameras and places never seen.
* **The learned model** (where an exercise has one): the simulator's per-joint prediction errors over the rep
  -> the mean-squared-error series, resampled -> its FFT magnitudes (the *error signature*) -> a random forest
  -> "correct" or a failure mode with a probability (Jaiswal, Chauhan & Srivastava, RecSys 2023). Its evidence
  names the joint that strayed most from the learned movement and where in the rep.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from coach.exercises import Check, Exercise, FaultRule, value_key
from coach.measures import MEASURES, Frames, compute, scale_m, velocity_series
from coach.reps import Rep

log = logging.getLogger(__name__)

SIGNATURE_POINTS = 64
SIGNATURE_BINS = 16
TURN_WINDOW_S = 0.1  # "at the turning point" is the median over +-0.1 s around it

#: Landmarks to highlight on the video for a fault on this measure.
MEASURE_JOINTS: dict[str, tuple[str, ...]] = {
    "hip_line_offset": ("left_hip", "right_hip"),
    "hip_below_knee": ("left_hip", "right_hip", "left_knee", "right_knee"),
    "knee_width_ratio": ("left_knee", "right_knee"),
    "neck_flexion": ("nose", "left_ear", "right_ear"),
    "nose_above_wrist": ("nose",),
    "trunk_lean": ("left_shoulder", "right_shoulder", "left_hip", "right_hip"),
    "ankle_spread": ("left_ankle", "right_ankle"),
    "wrist_above_shoulder": ("left_wrist", "right_wrist"),
    "shoulder_above_wrist": ("left_shoulder", "right_shoulder"),
    "shoulder_to_ear": ("left_shoulder", "right_shoulder"),
    "arm_trunk_angle": ("left_wrist", "right_wrist"),
    "upper_arm_angle": ("left_elbow", "right_elbow"),
}


def measure_joints(measure: str) -> tuple[str, ...]:
    if measure in MEASURE_JOINTS:
        return MEASURE_JOINTS[measure]
    for joint, lms in (("knee", "knee"), ("elbow", "elbow"), ("hip", "hip"), ("shoulder", "elbow"),
                       ("ankle", "ankle")):
        if measure.startswith(joint):
            return (f"left_{lms}", f"right_{lms}")
    return ()


@dataclass(frozen=True)
class Fault:
    """A technique fault found in a rep (or a stretch of a hold), with its evidence."""

    code: str
    name: str
    severity: int  # 1 minor .. 3 major
    cue: str
    evidence: str  # in words and numbers: "hips 9 cm below the shoulder-ankle line (keep within 8 cm)"
    source: str = "measure"  # "measure" or "model"
    value: float | None = None
    threshold: float | None = None
    probability: float | None = None  # for model faults
    cue_repeat: str = ""
    joints: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "severity": self.severity, "source": self.source,
                "evidence": self.evidence, "value": _num(self.value), "threshold": _num(self.threshold),
                "probability": _num(self.probability)}


@dataclass(frozen=True)
class ModelVerdict:
    label: str  # "correct" or a failure mode
    probability: float  # of that label
    p_fault: float  # probability that the rep is not correct
    deviation_joint: str = ""  # the joint that strayed most from the learned movement
    deviation_phase: float | None = None  # where in the rep (0 start .. 1 end)


@dataclass(frozen=True)
class RepReport:
    """A rep with everything the coach says about it."""

    rep: Rep
    faults: tuple[Fault, ...]
    quality: int  # 0..100
    metrics: dict  # tempo, range of motion, velocity (see rep_metrics)
    measures: dict  # the fault rules' values, "<measure>@<at>" -> value
    view: str
    model: ModelVerdict | None = None
    cue: str = ""

    @property
    def index(self) -> int:
        return self.rep.index

    @property
    def good(self) -> bool:
        return not self.rep.partial and not self.faults

    def to_dict(self) -> dict:
        r = self.rep
        return {
            "index": r.index, "start_s": round(r.start_s, 3), "turn_s": round(r.turn_s, 3), "end_s": round(r.end_s, 3),
            "partial": r.partial, "partial_reason": r.reason or None, "quality": self.quality,
            "faults": [f.code for f in self.faults], "fault_details": [f.to_dict() for f in self.faults],
            "cue": self.cue, "view": self.view,
            "metrics": {k: _num(v) for k, v in self.metrics.items()},
            "measures": {k: _num(v) for k, v in self.measures.items()},
            "model": None if self.model is None else {
                "label": self.model.label, "probability": _num(self.model.probability),
                "p_fault": _num(self.model.p_fault), "deviation_joint": self.model.deviation_joint or None,
                "deviation_phase": _num(self.model.deviation_phase)},
        }


def _num(v, nd: int = 4):
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v
    return round(f, nd) if np.isfinite(f) else None


# ---------------------------------------------------------------------------------------------------------------
# aggregation over a rep
def aggregate(values: np.ndarray, t_s: np.ndarray, at: str, turn_s: float | None = None) -> float:
    """A measure over a rep's frames reduced to one number: at the turning point (median over +-0.1 s), its
    mean (median, robust to a stray frame), min/max (5th/95th percentile), range (95th - 5th), range_frac (the
    range over the larger of the two percentiles' magnitudes: a push-up's shoulders that drop from 1.0 to 0.4
    torso lengths above the hands give 0.6), start or end (median of the first/last 0.15 s). NaN when the
    measure was never visible."""
    v = np.asarray(values, np.float64)
    ok = np.isfinite(v)
    if not ok.any():
        return float("nan")
    t = np.asarray(t_s, np.float64)
    if at == "turn":
        if turn_s is None:
            raise ValueError("turn_s needed for at='turn'")
        near = ok & (np.abs(t - turn_s) <= TURN_WINDOW_S)
        if not near.any():
            near = ok & (np.abs(t - turn_s) <= 3 * TURN_WINDOW_S)
        return float(np.median(v[near])) if near.any() else float("nan")
    vv = v[ok]
    if at == "mean":
        return float(np.median(vv))
    if at == "min":
        return float(np.percentile(vv, 5))
    if at == "max":
        return float(np.percentile(vv, 95))
    if at == "range":
        return float(np.percentile(vv, 95) - np.percentile(vv, 5))
    if at == "range_frac":  # the range as a fraction of the larger magnitude: how far of the way down it went
        lo, hi = np.percentile(vv, 5), np.percentile(vv, 95)
        big = max(abs(lo), abs(hi))
        return float((hi - lo) / big) if big > 1e-9 else float("nan")
    if at in ("start", "end"):
        tt = t[ok]
        sel = tt <= tt[0] + 0.15 if at == "start" else tt >= tt[-1] - 0.15
        return float(np.median(vv[sel]))
    raise ValueError(f"unknown aggregate {at!r}")


def camera_view(frames: Frames) -> str:
    """"front", "back", "side" or "oblique": the body's left-right axis against the camera, from the shoulders
    and hips in world coordinates (depth z against width x), over the frames given. "" for 2-D data (OpenPose
    keypoints, no depth): the view cannot be told, and every rule applies."""
    w = frames.raw
    if not (np.abs(np.nan_to_num(w[..., 2])) > 1e-9).any():
        return ""
    angles, facing = [], []
    for a, b in (("left_shoulder", "right_shoulder"), ("left_hip", "right_hip")):
        from coach.types import LM

        d = w[:, LM[b]] - w[:, LM[a]]  # left -> right in the body
        ok = np.isfinite(d).all(axis=1)
        if not ok.any():
            continue
        angles.append(np.degrees(np.arctan2(np.abs(d[ok, 2]), np.abs(d[ok, 0]))))
        # Facing the camera, the person's right side is on the image's left (x smaller): d_x < 0.
        facing.append(-np.sign(d[ok, 0]))
    if not angles:
        return "side"
    yaw = float(np.median(np.concatenate(angles)))
    if yaw >= 60:
        return "side"
    if yaw <= 30:
        return "front" if float(np.mean(np.concatenate(facing))) >= 0 else "back"
    return "oblique"


def view_matches(rule_views: tuple[str, ...], view: str) -> bool:
    """Whether a rule limited to ``rule_views`` applies in this view (always, when the view is unknown)."""
    return not rule_views or not view or view in rule_views


# ---------------------------------------------------------------------------------------------------------------
def rule_values(ex: Exercise, frames: Frames, t_s: np.ndarray, turn_s: float | None = None,
                checks: bool = True) -> dict[str, float]:
    """Values of every measure the exercise's fault rules (and, with ``checks``, its checks) aggregate over
    these frames: a rep's (with its turning point), or a hold's last second. Each measure is computed once."""
    need = [pair for f in ex.faults for pair in f.reads] + ([(c.measure, c.at) for c in ex.checks] if checks else [])
    out, series = {}, {}
    for measure, at in dict.fromkeys(need):
        if measure not in series:
            series[measure] = compute(measure, frames)
        out[value_key(measure, at)] = aggregate(series[measure], t_s, at, turn_s)
    return out


def rep_values(ex: Exercise, frames: Frames, t_s: np.ndarray, rep: Rep) -> dict[str, float]:
    """Values of every measure the exercise's fault rules and checks aggregate over this rep."""
    return rule_values(ex, frames, t_s, rep.turn_s)


def failed_checks(ex: Exercise, values: dict[str, float]) -> list[Check]:
    return [c for c in ex.checks if not c.passes(values.get(value_key(c.measure, c.at), float("nan")))]


def posture_ok(ex: Exercise, frames: Frames) -> bool:
    """The exercise's posture ranges hold for the median of these frames (unknown posture does not block)."""
    for r in ex.posture:
        v = compute(r.measure, frames)
        if np.isfinite(v).any() and not r.contains(float(np.nanmedian(v))):
            return False
    return True


def _format_evidence(rule: FaultRule, value: float, frames: Frames) -> str:
    units = MEASURES[rule.measure].units
    m = scale_m(units, frames)
    thr = rule.threshold
    fields = {"value": value, "threshold": thr, "abs_value": abs(value), "threshold_abs": abs(thr)}
    if m is not None:
        fields.update(value_cm=value * m * 100, threshold_cm=thr * m * 100, abs_cm=abs(value) * m * 100,
                      threshold_abs_cm=abs(thr) * m * 100)
    if rule.evidence:
        try:
            return rule.evidence.format(**fields)
        except (KeyError, ValueError, IndexError):
            log.warning("evidence template of %s is broken: %r", rule.code, rule.evidence)
    unit = {"deg": "°", "body": " body lengths", "torso": " torso lengths", "thigh": " thigh lengths"}.get(units, "")
    op = ">" if rule.above is not None else "<"
    return f"{rule.measure.replace('_', ' ')} {value:.2f}{unit} ({op} {thr:.2f}{unit})"


def measure_faults(ex: Exercise, values: dict[str, float], frames: Frames, view: str) -> list[Fault]:
    out = []
    for rule in ex.faults:
        if not view_matches(rule.views, view):
            continue
        if rule.fires(values):
            v = values[rule.key]
            out.append(Fault(rule.code, rule.name, rule.severity, rule.cue, _format_evidence(rule, v, frames),
                             "measure", v, rule.threshold, None, rule.cue_repeat, measure_joints(rule.measure)))
    return out


def rep_metrics(ex: Exercise, frames: Frames, t_s: np.ndarray, rep: Rep, signal: np.ndarray) -> dict[str, float]:
    """Tempo, range of motion and concentric velocity of a rep: what velocity-based training and dosing need."""
    spec = ex.signal
    into = rep.turn_s - rep.start_s
    out_of = rep.end_s - rep.turn_s
    concentric_in = spec is not None and spec.concentric == "in"
    m = {
        "duration_s": rep.end_s - rep.start_s,
        "eccentric_s": out_of if concentric_in else into,
        "concentric_s": into if concentric_in else out_of,
        "rom": rep.amplitude,
        "rom_in": rep.in_amplitude,
        "rom_out": rep.out_amplitude,
    }
    if spec is not None:
        sel = (t_s >= rep.start_s) & (t_s <= rep.end_s)
        sig = signal[sel]
        if np.isfinite(sig).any():
            m["signal_min"] = float(np.nanmin(sig))
            m["signal_max"] = float(np.nanmax(sig))
    if ex.velocity is not None and len(t_s) > 2:
        v = velocity_series(frames, ex.velocity.point, ex.velocity.relative_to, t_s)
        lo, hi = (rep.start_s, rep.turn_s) if concentric_in else (rep.turn_s, rep.end_s)
        sel = (t_s >= lo) & (t_s <= hi) & np.isfinite(v)
        if sel.sum() >= 2:
            # lifting is upward movement of the point relative to its anchor; report it positive
            vv = np.abs(v[sel])
            m["concentric_velocity_m_s"] = float(np.mean(vv))
            m["peak_velocity_m_s"] = float(np.max(vv))
    return m


def quality_score(faults: list[Fault], rep: Rep, model: ModelVerdict | None = None) -> int:
    """0..100. A clean full rep scores 100; each fault costs by its severity and by how far past the line it
    was; a partial rep is capped at 50; the learned model's doubt costs up to 15 more."""
    score = 100.0
    for f in faults:
        base = {1: 12.0, 2: 22.0, 3: 32.0}.get(f.severity, 20.0)
        extra = 0.0
        if f.value is not None and f.threshold not in (None, 0):
            extra = min(abs(f.value - f.threshold) / max(abs(f.threshold), 1e-6), 1.0) * 10.0
        score -= base + extra
    if model is not None and model.p_fault > 0.5:
        score -= 30.0 * (model.p_fault - 0.5)
    if rep.partial:
        score = min(score, 50.0)
    return int(round(float(np.clip(score, 0, 100))))


# ---------------------------------------------------------------------------------------------------------------
# the learned model's error signature
def rep_rms(residuals: np.ndarray) -> float | None:
    """Root mean square of the finite errors over a rep; None with fewer than 4 of them or all zero."""
    r = np.asarray(residuals, np.float64)
    ok = np.isfinite(r)
    if ok.sum() < 4:
        return None
    v = float(np.sqrt(np.mean(r[ok] ** 2)))
    return v if v > 0 else None


def error_signature(residuals: np.ndarray, reference: np.ndarray | None = None, n_points: int = SIGNATURE_POINTS,
                    n_bins: int = SIGNATURE_BINS) -> np.ndarray:
    """(T, J) per-joint prediction errors over one rep -> a fixed-length vector: FFT magnitudes of the rep's
    mean-squared-error series resampled to ``n_points`` (the paper's signature), then the mean error of each
    joint (where it went wrong). NaN samples are interpolated; an all-NaN rep gives NaN.

    With ``reference`` (the constant-velocity baseline's errors on the same frames), errors are divided by the
    reference's RMS over the rep: what is left is how much better or worse than plain momentum the learned
    physics predicted, which does not depend on the camera's frame rate or the pose model's jitter (both scale
    the two alike)."""
    r = np.asarray(residuals, np.float64)
    if reference is not None:
        scale = rep_rms(reference)
        if scale is None or not np.isfinite(scale):
            return np.full(n_bins + (r.shape[1] if r.ndim == 2 else 0), np.nan)
        r = r / scale
    if r.ndim != 2 or r.shape[0] < 2:
        return np.full(n_bins + (r.shape[1] if r.ndim == 2 else 0), np.nan)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mse = np.nanmean(r ** 2, axis=1)
            per_joint = np.sqrt(np.nanmean(r ** 2, axis=0))
    ok = np.isfinite(mse)
    if ok.sum() < 2:
        return np.full(n_bins + r.shape[1], np.nan)
    x = np.flatnonzero(ok)
    series = np.interp(np.arange(len(mse)), x, mse[ok])
    resampled = np.interp(np.linspace(0, len(series) - 1, n_points), np.arange(len(series)), series)
    spectrum = np.abs(np.fft.rfft(resampled))[:n_bins] / n_points
    return np.concatenate([spectrum, np.nan_to_num(per_joint, nan=float(np.nanmean(per_joint)))])


def deviation_where(residuals: np.ndarray, joints: tuple[str, ...]) -> tuple[str, float | None]:
    """The joint with the largest mean error over the rep, and when (0..1 of the rep) its error peaked."""
    r = np.asarray(residuals, np.float64)
    if r.ndim != 2 or not np.isfinite(r).any():
        return "", None
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            j = int(np.nanargmax(np.nanmean(np.abs(r), axis=0)))
    col = r[:, j]
    if not np.isfinite(col).any():
        return joints[j] if j < len(joints) else "", None
    t = int(np.nanargmax(np.abs(col)))
    return (joints[j] if j < len(joints) else ""), t / max(len(col) - 1, 1)


def strayed_landmarks(joint: str | None) -> tuple[str, ...]:
    """The landmarks that mark the learned model's strayed joint on a picture: a skeleton joint of the model's own
    ("head": the ears' midpoint) by the landmarks it is made of (marking "head" itself failed: no landmark has
    that name)."""
    if not joint:
        return ()
    from coach.body import DERIVED_JOINTS

    return DERIVED_JOINTS.get(joint, (joint,))


def model_fault(ex: Exercise, verdict: ModelVerdict, threshold: float) -> Fault | None:
    """A fault from the learned model when it is confident the rep is not correct."""
    if verdict.p_fault < threshold:
        return None
    where = ""
    if verdict.deviation_joint:
        phase = verdict.deviation_phase
        part = "" if phase is None else (" early in the rep" if phase < 0.33 else " at the turn" if phase < 0.67
                                         else " late in the rep")
        where = f"; largest deviation at the {verdict.deviation_joint.replace('_', ' ')}{part}"
    code = verdict.label if verdict.label not in ("correct", "") else "form_deviation"
    name = "Form deviates from the learned movement" if code in ("wrong", "form_deviation") else code.replace("_", " ")
    try:
        rule = ex.fault(code)
        name, cue, cue_repeat, severity = rule.name, rule.cue, rule.cue_repeat, rule.severity
    except KeyError:
        cue, cue_repeat, severity = "Slow down and control the movement: match your best reps", "", 2
    evidence = (f"movement differs from correct {ex.name.lower()}s the model learned "
                f"(p={verdict.p_fault:.2f}){where}")
    joints = strayed_landmarks(verdict.deviation_joint)
    return Fault("form_deviation" if code == "wrong" else code, name, severity, cue, evidence, "model",
                 None, threshold, verdict.p_fault, cue_repeat, joints)


def explain(faults: list[Fault]) -> list[Fault]:
    """Most important first: severity, then measurement before model, then how far past the threshold."""
    def key(f: Fault):
        margin = 0.0
        if f.value is not None and f.threshold not in (None, 0):
            margin = abs(f.value - f.threshold) / max(abs(f.threshold), 1e-6)
        return (-f.severity, f.source != "measure", -margin)
    return sorted(faults, key=key)


@dataclass
class HoldState:
    """Running totals of a hold (plank): time in position and time under good form."""

    in_position_s: float = 0.0
    good_form_s: float = 0.0
    fault_s: dict = field(default_factory=dict)
