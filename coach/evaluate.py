"""``coach evaluate DATA_DIR``: how often the coach is right on real recordings.

* **Rep counting**, per exercise, against the counts made by eye (``workouttracker/reps_counted.csv``,
  ``more_exercises/clips.csv``): exact-match rate, mean absolute error, off-by-one accuracy; and how often the
  exercise is recognised when not given. Per exercise and per source, and for the same clips mirrored, at half
  the frame rate and with the camera tilted (other cameras: the counts should not change).
* **Push-up diagnosis** on the PushFit clips (correct / wrong form) with grouped cross-validation: no scene
  (clips filmed in one place, often one person's takes: :mod:`coach.scenes`) is on both sides of a split; the
  simulator and forest are retrained inside every fold. Clip verdicts from the
  measurements alone, the learned model alone, and both; sensitivity, specificity and F1 of "wrong".
* **Landmark tables with labels**: Pose Trainer good/bad bicep curls, front raises and shoulder shrugs
  (OpenPose, 2-D), the Exercise-Correction plank frames (all correct: specificity) and squat phases.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from coach.errors import InputNotFoundError

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]


def binary_scores(truth: list[bool], pred: list[bool]) -> dict:
    """Sensitivity, specificity, precision, F1 and accuracy of a positive class (``True`` = fault)."""
    t, p = np.asarray(truth, bool), np.asarray(pred, bool)
    tp, tn = int((t & p).sum()), int((~t & ~p).sum())
    fp, fn = int((~t & p).sum()), int((t & ~p).sum())
    sens = tp / (tp + fn) if tp + fn else None
    spec = tn / (tn + fp) if tn + fp else None
    prec = tp / (tp + fp) if tp + fp else None
    f1 = 2 * prec * sens / (prec + sens) if prec and sens else (0.0 if tp + fn else None)
    return {"n": int(len(t)), "tp": tp, "tn": tn, "fp": fp, "fn": fn, "sensitivity": sens, "specificity": spec,
            "precision": prec, "f1": f1, "accuracy": float((t == p).mean()) if len(t) else None}


# ---------------------------------------------------------------------------------------------------------------
#: The same recordings as other cameras would give them: a mirrored picture (a selfie camera, or a webcam page
#: that mirrors), half the frame rate (a webcam in dim light, or a phone saving power), and a camera rolled 10
#: degrees either way (a phone propped against something askew).
SEEN_DIFFERENTLY: dict[str, Callable] = {"mirrored": lambda s: s.mirrored(), "half_rate": lambda s: s.every(2),
                                         "tilted_cw": lambda s: s.rolled(10), "tilted_ccw": lambda s: s.rolled(-10)}
SEEN_LABELS = {"mirrored": "mirrored (a selfie camera)", "half_rate": "half the frame rate",
               "tilted_cw": "picture tilted 10° clockwise (camera askew)",
               "tilted_ccw": "picture tilted 10° anticlockwise"}


def farther(image: np.ndarray, scale: float) -> np.ndarray:
    """The picture as a camera farther away would give it: shrunk by ``scale`` in the middle of a blurred copy of
    itself (the room around a smaller picture), at the same size. Used to test and benchmark the pose estimator
    on a person far from the camera."""
    import cv2

    h, w = image.shape[:2]
    small = cv2.resize(image, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
    out = cv2.resize(cv2.GaussianBlur(image, (0, 0), 25), (w, h))
    y0, x0 = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    out[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
    return out


def _collection(path: Path, root: Path) -> str:
    """The collection a clip comes from: ``workouttracker``, or the source folder under ``more_exercises``."""
    parts = path.relative_to(root).parts
    return parts[1] if parts[0] == "more_exercises" and len(parts) > 2 else parts[0]


def evaluate_rep_counting(root: Path, progress: Progress | None = None) -> dict:
    """Rep counts against the counts made by eye, per exercise and per source (a source is one collection of
    clips: other people, cameras and places than the next), with the exercise given and recognised; the same
    clips mirrored, at half the frame rate and filmed by a tilted camera (``SEEN_DIFFERENTLY``), which should
    change nothing."""
    from coach.datasets import cached_landmarks, no_exercise_clips, pushfit_clips, rep_count_clips
    from coach.session import replay

    def run(ex, seq):
        coach = replay(ex, seq)
        return coach.rep_count, coach.exercise.id if coach.exercise else None

    changed = []  # single-exercise clips where the coach thought the person moved on to another exercise

    clips = rep_count_clips(root)
    rows = []
    for i, c in enumerate(clips):
        if progress:
            progress(i / len(clips), f"counting reps in {c.path.name}")
        seq = cached_landmarks(c.path)
        (counted, _), auto = run(c.exercise, seq), replay("auto", seq)
        counted_auto, recognised = auto.rep_count, auto.exercise.id if auto.exercise else None
        if auto.switch is not None:
            changed.append(str(c.path.relative_to(root)))
        rows.append({"clip": str(c.path.relative_to(root)), "exercise": c.exercise, "source": _collection(c.path, root),
                     "truth": c.full_reps, "counted": counted, "counted_auto": counted_auto, "recognised": recognised,
                     **{f"counted_{k}": run(c.exercise, see(seq))[0] for k, see in SEEN_DIFFERENTLY.items()}})

    def stats(rs):
        err = np.array([r["counted"] - r["truth"] for r in rs])
        return {"clips": len(rs), "exact": float(np.mean(err == 0)), "mae": float(np.mean(np.abs(err))),
                "off_by_one": float(np.mean(np.abs(err) <= 1)),
                "recognised": float(np.mean([r["recognised"] == r["exercise"] for r in rs])),
                "exact_auto": float(np.mean([r["counted_auto"] == r["truth"] for r in rs]))}

    def grouped(key):
        per = defaultdict(list)
        for r in rows:
            per[r[key]].append(r)
        return {k: stats(v) for k, v in sorted(per.items())}

    seen = {k: {"exact": float(np.mean([r[f"counted_{k}"] == r["truth"] for r in rows])),
                "same": float(np.mean([r[f"counted_{k}"] == r["counted"] for r in rows]))} for k in SEEN_DIFFERENTLY}
    single = len(clips)
    pushfit = pushfit_clips(root) if (root / "pushfit" / "videos").is_dir() else []
    for c in pushfit:  # single-exercise clips too (push-ups, correct and wrong), counts not known
        if progress:
            progress(0.99, f"watching {c.path.name} for a change of exercise")
        single += 1
        if replay("auto", cached_landmarks(c.path)).switch is not None:
            changed.append(str(c.path.relative_to(root)))
    none = []
    for c in no_exercise_clips(root):
        seq = cached_landmarks(c.path)
        coach = replay("auto", seq)
        none.append({"clip": str(c.path.relative_to(root)), "reps": coach.rep_count,
                     "cues": sum(1 for q in coach.cue_log if q.kind in ("fault", "good"))})
    return {"per_exercise": {**grouped("exercise"), "all": stats(rows)}, "per_source": grouped("source"),
            "seen_differently": seen, "clips": rows, "no_exercise": none,
            "workouts": {**_workouts(clips, rows, changed, progress), "single_clips": single}}


WORKOUT_GAP_S = 3.0  # out of view between two exercises of a made-up workout


def _workouts(clips, rows: list[dict], changed: list[str], progress: Progress | None) -> dict:
    """Workouts of two exercises, made by following each clip with the next clip (in list order) of another
    exercise with at least 2 full reps, the person out of view for WORKOUT_GAP_S between: does the coach, which
    recognises the first, see the change and count both as it counts each clip on its own (with "auto")?
    ``changed``: the single-exercise clips (these and the PushFit push-ups) in which a change was seen (want
    none)."""
    from coach.datasets import cached_landmarks
    from coach.session import replay_workout

    alone = [(r["recognised"], r["counted_auto"]) for r in rows]
    out = []
    for i, c in enumerate(clips):
        later = [k for k in list(range(i + 1, len(clips))) + list(range(i)) if clips[k].exercise != c.exercise
                 and clips[k].full_reps >= 2]
        if not later:
            continue
        j = later[0]
        if progress:
            progress(i / len(clips), f"a workout: {clips[i].path.name} then {clips[j].path.name}")
        seq = cached_landmarks(c.path).then(cached_landmarks(clips[j].path), WORKOUT_GAP_S)
        chain = [(co.exercise.id if co.exercise else None, co.rep_count) for co in replay_workout(seq)]
        want = [alone[i], alone[j]]
        truth = [(c.exercise, c.full_reps), (clips[j].exercise, clips[j].full_reps)]
        out.append({"first": rows[i]["clip"], "then": rows[j]["clip"], "counted": chain, "alone": want,
                    "truth": truth})
    both_alone = [w for w in out if all(ex is not None for ex, _ in w["alone"])]
    return {"pairs": out, "n": len(out), "changes_in_single_clips": changed,
            "as_alone": float(np.mean([w["counted"] == w["alone"] for w in both_alone])) if both_alone else None,
            "n_recognised_alone": len(both_alone),
            "exact": float(np.mean([w["counted"] == w["truth"] for w in out])) if out else None}


# ---------------------------------------------------------------------------------------------------------------
@dataclass
class _ClipVerdict:
    truth_wrong: bool
    reps: int
    measure_bad: float  # share of reps with a measured fault (or cut short)
    model_p: float | None  # mean p(fault) of the reps under the fold's model
    threshold: float = 0.5  # the fold model's decision threshold (balanced)
    strict: float = 0.8  # the threshold at which the coach tells the person (specificity-first)


def _fold_ids(groups: list[str], k: int, seed: int) -> dict[str, int]:
    uniq = sorted(set(groups))
    rng = np.random.default_rng(seed)
    rng.shuffle(uniq)
    return {g: i % k for i, g in enumerate(uniq)}


def _all_reps(ex, seq) -> list:
    """Every rep the coach reports in a recording, full and cut short (no model)."""
    from coach.session import replay

    return [r for r in replay(ex, seq).reports if not r.rep.partial or r.rep.reason == "cut short"]


def evaluate_pushups(root: Path, folds: int = 5, seed: int = 0, steps: int | None = None,
                     progress: Progress | None = None) -> dict:
    """Clip verdicts as a coach would give them: a clip is wrong when at least half its reps are not good (a
    fault, or cut short), or when no full push-up was found in it at all."""
    from coach.datasets import pushfit_clips
    from coach.exercises import get_exercise
    from coach.train import Recording, build_model, load_sequence, rep_residuals

    ex = get_exercise("push-up")
    recs, every = [], {}
    clips = pushfit_clips(root)
    for i, c in enumerate(clips):
        if progress:
            progress(0.2 * i / len(clips), f"finding reps in {c.path.name}")
        rec = Recording(c.path, c.form, c.source)
        rec.sequence = load_sequence(c.path)
        every[c.path] = _all_reps(ex, rec.sequence)
        rec.reps = [r for r in every[c.path] if not r.rep.partial]
        recs.append(rec)
    fold_of = _fold_ids([r.group for r in recs], folds, seed)
    verdicts: list[_ClipVerdict] = []
    rep_rows = []
    for k in range(folds):
        train = [r for r in recs if fold_of[r.group] != k and r.reps]
        test = [r for r in recs if fold_of[r.group] == k]

        def sub(frac, text, k=k):
            if progress:
                progress(0.2 + 0.8 * (k + frac) / folds, f"fold {k + 1} of {folds}: {text}")

        model = build_model(ex, train, seed=seed + k, steps=steps, progress=sub)
        for rec in test:
            p_of = {id(r): model.verdict(res, ref, {**r.measures, **r.metrics}).p_fault
                    for _, r, res, ref in rep_residuals(model.simulator, [rec])}  # the full reps
            ps, bad = [], []
            for rep in every[rec.path]:
                measured = any(f.source == "measure" for f in rep.faults) or rep.rep.partial
                bad.append(measured)
                p = None
                if not rep.rep.partial:
                    p = p_of[id(rep)]
                    ps.append(p)
                rep_rows.append({"clip": rec.path.name, "truth": rec.label, "partial": rep.rep.partial,
                                 "p_fault": p, "faults": [f.code for f in rep.faults]})
            verdicts.append(_ClipVerdict(rec.label != "correct", len(rec.reps),
                                         float(np.mean(bad)) if bad else 1.0,
                                         float(np.mean(ps)) if ps else None, model.threshold,
                                         model.fault_threshold))
    truth = [v.truth_wrong for v in verdicts]
    no_reps = [v for v in verdicts if v.reps == 0]
    measure = [v.reps == 0 or v.measure_bad >= 0.5 for v in verdicts]
    model = [v.reps == 0 or v.model_p >= v.threshold for v in verdicts]
    strict = [v.reps == 0 or v.model_p >= v.strict for v in verdicts]
    both = [m or d for m, d in zip(measure, model)]
    coach = [m or d for m, d in zip(measure, strict)]
    return {"clips": len(verdicts), "clips_without_reps": len(no_reps),
            "clips_without_reps_correct": sum(1 for v in no_reps if not v.truth_wrong), "folds": folds,
            "groups": len(fold_of),
            "measures": binary_scores(truth, measure), "model": binary_scores(truth, model),
            "model_strict": binary_scores(truth, strict), "combined": binary_scores(truth, both),
            "coach": binary_scores(truth, coach), "reps": rep_rows}


# ---------------------------------------------------------------------------------------------------------------
def evaluate_pose_trainer(root: Path) -> dict:
    """Good/bad files of Pose Trainer: a file is called bad when most of its reps have a fault."""
    from coach.formats import read_openpose18_npy
    from coach.session import replay

    base = root / "pose_trainer" / "poses_compressed"
    if not base.is_dir():
        return {}
    out = {}
    for folder, ex_id in (("bicep", "bicep-curl"), ("frontraise", "front-raise"), ("shouldershrug", "shoulder-shrug")):
        truth, pred, per_fault, reps_found = [], [], defaultdict(int), 0
        for p in sorted((base / folder).glob("*.npy")):
            seq = read_openpose18_npy(p)
            coach = replay(ex_id, seq)
            reps = [r for r in coach.reports if not r.rep.partial]
            reps_found += len(reps)
            bad = np.mean([bool(r.faults) for r in reps]) >= 0.5 if reps else False
            truth.append("_bad_" in p.name)
            pred.append(bool(bad))
            for r in reps:
                for f in r.faults:
                    per_fault[f.code] += 1
        out[ex_id] = {**binary_scores(truth, pred), "reps_found": reps_found, "fault_counts": dict(per_fault)}
    return out


def evaluate_plank(root: Path) -> dict:
    """The Exercise-Correction plank frames are all labelled correct: how often does the coach agree?"""
    from coach.exercises import get_exercise, value_key
    from coach.formats import read_exercise_correction_csv
    from coach.measures import Frames

    path = root / "exercise_correction" / "core" / "plank_model" / "kaggle.csv"
    if not path.is_file():
        return {}
    from coach.measures import compute

    seq = read_exercise_correction_csv(path).sequence
    f = Frames.of(seq)
    flagged = np.zeros(len(seq), bool)
    for rule in get_exercise("plank").faults:
        series = {value_key(m, a): compute(m, f) for m, a in rule.reads}  # per frame: each `at` is the frame
        flagged |= np.array([rule.fires({k: v[i] for k, v in series.items()}) for i in range(len(seq))])
    return {"frames": len(seq), "specificity": float(1 - flagged.mean())}


def evaluate_squat_phase(root: Path) -> dict:
    """Exercise-Correction squat frames labelled up / down: does the knee bend tell them apart? Per video block,
    a frame is called "down" when its knee flexion is past the middle of that block's range."""
    from coach.formats import read_exercise_correction_csv
    from coach.measures import Frames, compute

    path = root / "exercise_correction" / "core" / "squat_model" / "train.csv"
    if not path.is_file():
        return {}
    lf = read_exercise_correction_csv(path)
    knee = compute("knee_flexion", Frames.of(lf.sequence))
    labels = np.asarray(lf.labels)
    blocks = np.asarray(lf.block)
    right, total = 0, 0
    for b in np.unique(blocks):
        sel = (blocks == b) & np.isfinite(knee)
        if sel.sum() < 2:
            continue
        k = knee[sel]
        mid = (np.nanmin(k) + np.nanmax(k)) / 2
        pred = np.where(k > mid, "down", "up")
        right += int((pred == labels[sel]).sum())
        total += int(sel.sum())
    return {"frames": total, "accuracy": right / total if total else None}


def evaluate(root: str | Path, folds: int = 5, seed: int = 0, steps: int | None = None,
             progress: Progress | None = None, parts: tuple[str, ...] = ("reps", "pushups", "tables")) -> dict:
    root = Path(root)
    if not root.is_dir():
        raise InputNotFoundError(f"data folder not found: {root} (pass the shared data folder)")
    out = {}
    if "reps" in parts:
        out["rep_counting"] = evaluate_rep_counting(root, progress)
    if "pushups" in parts:
        if not (root / "pushfit").is_dir():
            raise InputNotFoundError(f"{root}/pushfit not found: pass the shared data folder")
        out["pushup_diagnosis"] = evaluate_pushups(root, folds, seed, steps, progress)
    if "tables" in parts:
        out["pose_trainer"] = evaluate_pose_trainer(root)
        out["plank"] = evaluate_plank(root)
        out["squat_phase"] = evaluate_squat_phase(root)
    return out


def _pct(v) -> str:
    return "  -  " if v is None else f"{100 * v:5.1f}"


def format_report(res: dict) -> str:
    lines = []
    if "rep_counting" in res:
        lines.append("Rep counting (counts made by eye)            clips  exact  MAE   off-by-1  recognised  exact(auto)")

        def counts(label, s):
            return (f"{label[:44]:44s} {s['clips']:5d}  {_pct(s['exact'])}  {s['mae']:4.2f}  {_pct(s['off_by_one'])}"
                    f"     {_pct(s['recognised'])}       {_pct(s['exact_auto'])}")

        lines += [counts(f"  {ex}", s) for ex, s in res["rep_counting"]["per_exercise"].items()]
        lines.append("  per source (other people, cameras, places)")
        lines += [counts(f"    {src}", s) for src, s in res["rep_counting"]["per_source"].items()]
        lines.append("  the same clips seen differently (exercise given)  exact  same count as the original")
        for k, v in res["rep_counting"]["seen_differently"].items():
            lines.append(f"    {SEEN_LABELS[k]:46s} {_pct(v['exact'])}  {_pct(v['same'])}")
        for n in res["rep_counting"]["no_exercise"]:
            lines.append(f"  no exercise ({n['clip']}): {n['reps']} reps, {n['cues']} form cues (want 0, 0)")
        w = res["rep_counting"].get("workouts")
        if w:
            lines.append(f"  workouts of two exercises ({w['n']}: each clip, {WORKOUT_GAP_S:.0f} s out of view, then the "
                         f"next clip of another exercise with 2+ reps)")
            lines.append(f"    both exercises and counts as each clip gets on its own   {_pct(w['as_alone'])}   "
                         f"({w['n_recognised_alone']} workouts whose two clips are recognised on their own)")
            lines.append(f"    both exercises and counts exact (the counts made by eye)  {_pct(w['exact'])}")
            ch = w["changes_in_single_clips"]
            lines.append(f"    single-exercise clips (these and the PushFit push-ups) in which a change was seen: "
                         f"{len(ch)} of {w['single_clips']} (want 0)"
                         + (f": {', '.join(ch)}" if ch else ""))
    if "pushup_diagnosis" in res:
        d = res["pushup_diagnosis"]
        lines.append(f"Push-up correct vs wrong, {d['clips']} PushFit clips, {d['folds']}-fold grouped CV by scene "
                     f"({d['groups']} scenes; "
                     f"{d['clips_without_reps']} clips with no full rep found, {d['clips_without_reps_correct']} "
                     f"of them correct)")
        lines.append("  verdict from        accuracy  sensitivity  specificity  F1(wrong)   (model: forest at its balanced "
                     "threshold; model_strict: at the coach's specificity-first threshold; coach: measures or "
                     "model_strict, what the coach tells the person)")
        for k in ("measures", "model", "model_strict", "combined", "coach"):
            s = d[k]
            lines.append(f"  {k:18s}  {_pct(s['accuracy'])}     {_pct(s['sensitivity'])}        "
                         f"{_pct(s['specificity'])}      {_pct(s['f1'])}")
    if res.get("pose_trainer"):
        lines.append("Pose Trainer good/bad files (OpenPose 2-D)   files  accuracy  sensitivity  specificity  F1(bad)  reps")
        for ex, s in res["pose_trainer"].items():
            lines.append(f"  {ex:42s} {s['n']:5d}  {_pct(s['accuracy'])}     {_pct(s['sensitivity'])}        "
                         f"{_pct(s['specificity'])}      {_pct(s['f1'])}  {s['reps_found']}")
    if res.get("plank"):
        lines.append(f"Plank frames labelled correct: {res['plank']['frames']} frames, specificity "
                     f"{_pct(res['plank']['specificity'])}%")
    if res.get("squat_phase"):
        lines.append(f"Squat up/down phase from knee bend: {res['squat_phase']['frames']} frames, accuracy "
                     f"{_pct(res['squat_phase']['accuracy'])}%")
    return "\n".join(lines)
