"""Teaching the app an exercise from a few videos of good reps: no code, no labels.

* For an exercise the catalogue already has (or one built on it, ``base``), its definition is kept and a
  simulator is trained on the user's reps: from then on, reps that move unlike the taught ones are flagged.
* For a new movement, the rep signal is found in the videos: every candidate measurement (joint angles, hand,
  hip and shoulder heights) is run through the rep counter, and the one whose reps are the largest and most
  regular across the videos wins. The exercise file (TOML) is written to the user's catalogue with the posture
  seen in the videos, and the trained model beside it.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from coach.errors import CoachError, ExerciseError
from coach.exercises import DEFAULT_CHECKS, Exercise, SignalSpec, load_catalogue, load_exercise_file
from coach.measures import Frames, compute
from coach.paths import user_data_dir
from coach.reps import count_reps

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

#: Measurements tried as the rep signal of a new movement.
CANDIDATE_SIGNALS = ("knee_flexion", "knee_flexion_max", "hip_flexion", "elbow_flexion", "elbow_flexion_max",
                     "shoulder_elevation", "shoulder_elevation_max", "trunk_lean", "wrist_above_shoulder",
                     "shoulder_above_wrist", "hip_below_knee", "ankle_spread")


class TeachError(CoachError):
    """The videos do not hold enough clear reps to learn from."""


@dataclass
class TeachResult:
    exercise: Exercise
    reps_found: int
    report: str
    model_folder: Path | None = None


def slug(name: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
    if not s:
        raise ExerciseError("give the exercise a name with letters or digits")
    return s


#: The least movement (in a measure's units) that can be a rep: below it, a "rep" is the pose model's jitter.
MIN_SPAN = {"deg": 20.0, "body": 0.1, "torso": 0.15, "thigh": 0.2, "ratio": 0.15}


def _signal_quality(seqs, measure: str, turning: str) -> tuple[float, int, float]:
    """(score, full reps, median span) of ``measure`` as the rep signal over the videos.

    The signal that *is* the exercise has reps that cover most of its range, alike in size and evenly spaced,
    few of them partial, and well above the pose model's jitter; a signal that merely wobbles along (an elbow
    during a jumping jack) has smaller, irregular "reps"."""
    from coach.filters import butter_lowpass
    from coach.measures import MEASURES

    min_span = MIN_SPAN.get(MEASURES[measure].units, 0.15)
    amps, intervals, spans, n_full, n_partial, noise = [], [], [], 0, 0, []
    for seq in seqs:
        v = compute(measure, Frames.of(seq))
        if np.isfinite(v).sum() < 10:
            return 0.0, 0, 0.0
        span = float(np.nanpercentile(v, 95) - np.nanpercentile(v, 5))
        if span < min_span:
            return 0.0, 0, 0.0
        spec = SignalSpec(measure, turning, full_range=0.5 * span, min_rep_s=0.5, max_rep_s=12.0)
        reps = count_reps(seq.t_s, v, spec)
        full = [r for r in reps if not r.partial]
        n_full += len(full)
        n_partial += len(reps) - len(full)
        amps += [r.amplitude / span for r in full]
        turns = [r.turn_s for r in full]
        intervals += list(np.diff(turns))
        spans.append(span)
        smooth = butter_lowpass(v, seq.fps, 2.0)
        noise.append(float(np.nanstd(v - smooth)) / span)
    if n_full == 0:
        return 0.0, 0, 0.0
    amp = float(np.median(amps))
    alike = 1.0 - min(float(np.std(amps) / (np.mean(amps) + 1e-9)), 1.0)
    even = 1.0 - min(float(np.std(intervals) / (np.mean(intervals) + 1e-9)), 1.0) if len(intervals) >= 2 else 0.7
    whole = n_full / (n_full + n_partial)
    clean = 1.0 - min(float(np.median(noise)) * 5.0, 1.0)
    return amp * alike * even * whole * clean * min(n_full, 3) / 3.0, n_full, float(np.median(spans))


def infer_signal(seqs) -> SignalSpec:
    best = None
    for m in CANDIDATE_SIGNALS:
        for turning in ("max", "min"):
            score, n, span = _signal_quality(seqs, m, turning)
            if score > 0 and (best is None or score > best[0]):
                best = (score, m, turning, span)
    if best is None:
        raise TeachError("no repeated movement found in the videos: film a few clear reps with the whole body "
                         "in view")
    _, m, turning, span = best
    return SignalSpec(m, turning, full_range=round(0.45 * span, 3), min_rep_s=0.5, max_rep_s=12.0)


def _posture(seqs) -> dict[str, list[float]]:
    lean = np.concatenate([compute("trunk_lean", Frames.of(s)) for s in seqs])
    if not np.isfinite(lean).any():
        return {}
    lo, hi = np.nanpercentile(lean, [5, 95])
    return {"trunk_lean": [round(max(0.0, lo - 15), 1), round(min(180.0, hi + 15), 1)]}


def _toml(ex: Exercise, posture: dict) -> str:
    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["schema = 1", f"id = {q(ex.id)}", f"name = {q(ex.name)}", 'kind = "reps"',
             f"description = {q(ex.description)}", "views = [" + ", ".join(q(v) for v in ex.views) + "]",
             f"preferred_view = {q(ex.preferred_view)}", "required = [" + ", ".join(q(g) for g in ex.required) + "]",
             f"good_cue = {q(ex.good_cue)}", f"setup_cue = {q(ex.setup_cue)}", f"model = {q(ex.model)}", ""]
    if posture:
        lines.append("[posture]")
        for m, (lo, hi) in posture.items():
            lo_s, hi_s = ('""' if v is None else str(v) for v in (lo, hi))
            lines.append(f"{m} = [{lo_s}, {hi_s}]")
        lines.append("")
    s = ex.signal
    lines += ["[signal]", f"measure = {q(s.measure)}", f"turning_point = {q(s.turning_point)}",
              f"concentric = {q(s.concentric)}", f"full_range = {s.full_range}", f"min_rep_s = {s.min_rep_s}",
              f"max_rep_s = {s.max_rep_s}", f"smoothing_hz = {s.smoothing_hz}", ""]
    if ex.velocity:
        lines += ["[velocity]", f"point = {q(ex.velocity.point)}", f"relative_to = {q(ex.velocity.relative_to)}", ""]
    for f in ex.faults:
        lines += ["[[faults]]", f"code = {q(f.code)}", f"name = {q(f.name)}", f"measure = {q(f.measure)}",
                  f"at = {q(f.at)}", f"above = {f.above}" if f.above is not None else f"below = {f.below}",
                  f"severity = {f.severity}", f"cue = {q(f.cue)}", f"evidence = {q(f.evidence)}"]
        if f.cue_repeat:
            lines.append(f"cue_repeat = {q(f.cue_repeat)}")
        if f.views:
            lines.append("views = [" + ", ".join(q(v) for v in f.views) + "]")
        if f.confirm:
            c = f.confirm
            op = f"above = {c.above}" if c.above is not None else f"below = {c.below}"
            lines.append(f"confirm = {{ measure = {q(c.measure)}, at = {q(c.at)}, {op} }}")
        lines.append("")
    for c in ex.checks:
        if c in DEFAULT_CHECKS:
            continue  # added again on load
        lines += ["[[checks]]", f"measure = {q(c.measure)}", f"at = {q(c.at)}"]
        if c.low is not None:
            lines.append(f"min = {c.low}")
        if c.high is not None:
            lines.append(f"max = {c.high}")
        lines += [f"why = {q(c.why)}", ""]
    return "\n".join(lines) + "\n"


def teach_exercise(name: str, videos: list[Path], base: str | None = None,
                   progress: Progress | None = None, steps: int | None = None) -> TeachResult:
    """Learn an exercise from videos of good reps (see the module doc). Saves the exercise file and its model
    under the user's data folder; returns the new :class:`Exercise`."""
    from coach.io import atomic_path
    from coach.train import Recording, build_model, find_reps, load_sequence

    if not videos:
        raise TeachError("add at least one video of good reps")
    catalogue = load_catalogue()
    ex_id = slug(name)
    base_ex = catalogue.get(base) if base else catalogue.get(ex_id)
    if base and base_ex is None:
        raise ExerciseError(f"unknown exercise {base!r} to build on; choose one of {', '.join(sorted(catalogue))}")

    def report(frac: float, text: str) -> None:
        if progress:
            progress(frac, text)

    seqs = []
    for i, v in enumerate(videos):
        report(0.25 * i / len(videos), f"reading {Path(v).name}")
        seqs.append(load_sequence(Path(v)))
    posture = {}
    if base_ex is not None:
        ex = replace(base_ex, id=ex_id, name=name.strip() or base_ex.name, model=ex_id, source="")
        posture = {r.measure: [r.low, r.high] for r in base_ex.posture}
    else:
        report(0.27, "finding the movement that repeats")
        signal = infer_signal(seqs)
        posture = _posture(seqs)
        ex = Exercise(id=ex_id, name=name.strip(), kind="reps", views=("side", "front", "back", "oblique"),
                      description=f"Taught from {len(videos)} video(s) of good reps.", preferred_view="side",
                      required=(), signal=signal, good_cue="Good rep!",
                      setup_cue="Film yourself as in the videos you taught", model=ex_id)
    # the exercise as the coach will read it back (defaults applied), to find the reps with
    text = _toml(ex, posture)
    folder = user_data_dir() / "exercises"
    taught = _reparse(text, ex)
    recs = []
    for i, (v, seq) in enumerate(zip(videos, seqs)):
        report(0.3 + 0.1 * i / len(videos), f"finding reps in {Path(v).name}")
        rec = Recording(Path(v), "correct", Path(v).stem, seq)
        rec.reps = find_reps(taught, seq)
        recs.append(rec)
    n = sum(len(r.reps) for r in recs)
    if n < 2:
        raise TeachError(f"found {n} full rep(s) in the videos: record at least 2-3 clear reps, whole body in view")
    model = build_model(taught, [r for r in recs if r.reps], steps=steps,
                        progress=lambda f, t: report(0.4 + 0.55 * f, t))
    model_folder = user_data_dir() / "models" / ex_id
    model.save(model_folder)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / f"{ex_id}.toml") as tmp:
        tmp.write_text(text)
    saved = load_exercise_file(folder / f"{ex_id}.toml")
    report(1.0, "done")
    how = f"built on {base_ex.name}" if base_ex else f"rep signal: {saved.signal.measure} ({saved.signal.turning_point})"
    return TeachResult(saved, n, f"taught {saved.name} ({saved.id}) from {len(videos)} video(s), {n} reps; {how}; "
                                 f"saved to {folder / (ex_id + '.toml')}", model_folder)


def _reparse(text: str, ex: Exercise) -> Exercise:
    import tomllib

    from coach.exercises import parse_exercise

    return parse_exercise(tomllib.loads(text), f"taught exercise {ex.id}")
