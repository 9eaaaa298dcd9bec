"""Training an exercise model from recordings: the physics simulator on correct reps and, where faulty
examples exist, a random forest on the simulator's per-rep error signatures. ``coach train`` and the Teach page
call :func:`train_exercise`; ``coach evaluate`` uses the same pieces inside its cross-validation.

A training folder holds recordings (videos, or landmark files: coach ``.npz``/``.csv``, PushFit ``.json``) in
sub-folders named by their label: ``correct/`` for good form and ``wrong/`` or ``<fault code>/`` for faulty
form. Files directly in the folder count as correct. Reps are found with the coach itself (the exercise's rep
signal and checks), so the models learn from reps, not from walking into frame or setting up.

Honest verdicts: the simulator never sees the reps whose error signatures train the forest. The correct
recordings are split in two halves by recording: one trains the simulator used for the forest's training
signatures, the other gives the correct signatures; then the shipped simulator is trained on all of them.
"""
from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from coach.errors import CoachError, InputNotFoundError
from coach.exercises import Exercise, get_exercise
from coach.types import PoseSequence
from coach.video import VIDEO_SUFFIXES

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
LANDMARK_SUFFIXES = {".npz", ".csv", ".json"}
REP_MARGIN_S = 0.3  # each rep is taken with this much before and after for the simulator


class TrainingError(CoachError):
    """Not enough (or unusable) training data."""


@dataclass
class Recording:
    path: Path
    label: str  # "correct", "wrong" or a fault code
    group: str  # recordings of one group never sit on both sides of a split
    sequence: PoseSequence | None = None
    reps: list = field(default_factory=list)  # RepReports (full reps that passed the exercise's checks)


def find_recordings(data_dir: str | Path) -> list[Recording]:
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputNotFoundError(f"training folder not found: {data_dir}")
    out = []
    paths = [Path(root) / f for root, _dirs, files in os.walk(data_dir, followlinks=True) for f in files]
    for p in sorted(paths):
        if not p.is_file() or p.name.startswith("."):
            continue
        suffix = p.suffix.lower()
        if suffix not in VIDEO_SUFFIXES and suffix not in LANDMARK_SUFFIXES:
            continue
        rel = p.relative_to(data_dir).parts
        label = rel[0] if len(rel) > 1 else "correct"
        out.append(Recording(p, label, p.stem))
    if not out:
        raise TrainingError(f"no videos or landmark files in {data_dir}: put good reps in {data_dir}/correct/ "
                            f"(and faulty ones in {data_dir}/wrong/ or {data_dir}/<fault code>/)")
    # videos filmed in one place (one person's takes) form one group: never on both sides of a split
    from coach.scenes import scene_groups

    groups = scene_groups([r.path for r in out if r.path.suffix.lower() in VIDEO_SUFFIXES])
    for r in out:
        r.group = groups.get(r.path, r.group)
    return out


def load_sequence(path: Path, progress: bool = False) -> PoseSequence:
    """Landmarks of a recording: extracted (and cached) for a video, read for a landmark file."""
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        from coach.datasets import cached_landmarks

        return cached_landmarks(path, progress=progress)
    if suffix == ".npz":
        from coach.io import load_npz

        return load_npz(path)
    from coach.formats import read_landmark_file

    return read_landmark_file(path)


def find_reps(ex: Exercise, seq: PoseSequence) -> list:
    """Full reps of ``ex`` in a recording, found by the coach with no model (its checks applied)."""
    from coach.session import replay

    return [r for r in replay(ex, seq).reports if not r.rep.partial]


def rep_motions(recs: list[Recording], skeleton, margin_s: float = REP_MARGIN_S) -> list:
    """Motion sequences of the reps (with a margin) of ``recs``, for training the simulator."""
    from coach.body import to_physics

    out = []
    for rec in recs:
        motion = to_physics(rec.sequence, skeleton)
        t = rec.sequence.t_s
        for r in rec.reps:
            sel = np.flatnonzero((t >= r.rep.start_s - margin_s) & (t <= r.rep.end_s + margin_s))
            if len(sel) >= 8:
                out.append(motion.slice(int(sel[0]), int(sel[-1]) + 1))
    return out


def feature_names(ex: Exercise) -> tuple[str, ...]:
    """The rep measures (body frame) and metrics the forest reads beside the error signature."""
    keys = sorted({f.key for f in ex.faults})
    return tuple(keys) + ("duration_s", "rom", "eccentric_s", "concentric_s")


def rep_residuals(sim, recs: list[Recording]):
    """Per rep of ``recs``: (recording, rep, simulator residuals, constant-velocity residuals) over the rep."""
    from physics import ConstantVelocity

    from coach.body import to_physics

    cv = ConstantVelocity.like(sim)
    for rec in recs:
        motion = to_physics(rec.sequence, sim.skeleton)
        res, ref = sim.residuals(motion), cv.residuals(motion)
        t = rec.sequence.t_s
        for r in rec.reps:
            sel = (t >= r.rep.start_s) & (t <= r.rep.end_s)
            yield rec, r, res[sel], ref[sel]


def rep_features(model, recs: list[Recording]) -> tuple[np.ndarray, list[str], list[str]]:
    """Features of every rep of ``recs`` under ``model``'s simulator (see :meth:`ExerciseModel.features`): X,
    the recordings' labels and their groups."""
    X, y, groups = [], [], []
    for rec, r, res, ref in rep_residuals(model.simulator, recs):
        x = model.features(res, ref, {**r.measures, **r.metrics})
        if np.isfinite(x[: len(x) - len(model.feature_names)]).all():
            X.append(x)
            y.append(rec.label)
            groups.append(rec.group)
    return np.array(X), y, groups


def fit_simulator(motions: list, seed: int = 0, steps: int | None = None, progress: Progress | None = None,
                  lo: float = 0.0, hi: float = 1.0):
    from physics import HUMAN_13, LearnedSimulator

    if len(motions) < 2:
        raise TrainingError(f"only {len(motions)} good rep(s) found: the simulator needs at least 2 (record a few "
                            f"more good reps, whole body in view)")
    sim = LearnedSimulator(HUMAN_13, seed=seed, num_threads=1, **({"steps": steps} if steps else {}))

    def cb(p) -> None:
        if progress is not None:
            frac = p.step / max(p.total_steps, 1)
            progress(lo + (hi - lo) * min(frac, 1.0), f"training the simulator (step {p.step} of {p.total_steps})")

    return sim.fit(motions, progress=cb)


def _forest(seed: int, oob: bool = False):
    from sklearn.ensemble import RandomForestClassifier

    # 150 trees: enough for a few hundred reps; a verdict takes ~2 ms at the end of a rep (models.forest_proba)
    return RandomForestClassifier(n_estimators=150, min_samples_leaf=2, class_weight="balanced_subsample",
                                  oob_score=oob, random_state=seed, n_jobs=1)


def held_out_p_fault(X: np.ndarray, y: list[str], groups: list[str] | None, seed: int = 0) -> np.ndarray | None:
    """p(fault) of every rep from forests that did not see its group (up to 5 folds of whole groups): what the
    forest will say of a new person in a new room. ``None`` with fewer than three groups of each kind."""
    from sklearn.model_selection import GroupKFold

    y = np.asarray(y)
    if groups is None:
        return None
    g = np.asarray(groups)
    if min(len(set(g[y == "correct"])), len(set(g[y != "correct"]))) < 3:
        return None
    out = np.full(len(y), np.nan)
    for train, test in GroupKFold(n_splits=min(5, len(set(g)))).split(X, y, g):
        if len(set(y[train])) < 2:
            continue
        clf = _forest(seed).fit(X[train], y[train])
        out[test] = 1.0 - clf.predict_proba(X[test])[:, list(clf.classes_).index("correct")]
    return out


def fit_forest(X: np.ndarray, y: list[str], seed: int = 0, groups: list[str] | None = None):
    """Random forest (missing measures allowed) and two p(fault) thresholds: the one that balances sensitivity
    and specificity (for scoring), and the lowest that keeps specificity at 0.9 (for telling a person their
    form is off: a coach that cries wolf on good reps gets ignored). The thresholds come from predictions on
    held-out groups (:func:`held_out_p_fault`) when there are enough groups: the out-of-bag predictions of one
    forest have seen other reps of the same person and room, and set thresholds that only hold for them."""
    held = held_out_p_fault(X, y, groups, seed)
    clf = _forest(seed, oob=held is None)  # out-of-bag predictions only where they set the thresholds
    clf.fit(X, np.array(y))
    classes = [str(c) for c in clf.classes_]
    threshold, strict = 0.5, 0.8
    if "correct" in classes:
        if held is not None:
            ok = np.isfinite(held)
            p_fault = held[ok]
        else:
            oob = clf.oob_decision_function_
            ok = np.isfinite(oob).all(axis=1)
            p_fault = 1.0 - oob[ok, classes.index("correct")]
        is_fault = np.array([v != "correct" for v in y])[ok]
        best = -1.0
        for thr in np.linspace(0.2, 0.8, 25):
            pred = p_fault >= thr
            sens = (pred & is_fault).sum() / max(is_fault.sum(), 1)
            spec = (~pred & ~is_fault).sum() / max((~is_fault).sum(), 1)
            if (sens + spec) / 2 > best:
                best, threshold = (sens + spec) / 2, float(thr)
        strict = 1.0  # no threshold keeps good reps safe: the forest speaks only when every tree agrees
        for thr in np.linspace(0.3, 1.0, 29):
            if ((p_fault < thr) & ~is_fault).sum() / max((~is_fault).sum(), 1) >= 0.9:
                strict = float(thr)
                break
    return clf, threshold, strict


def split_halves(recs: list[Recording], seed: int = 0) -> tuple[list[Recording], list[Recording]]:
    """Two halves of whole groups; when every recording shares one group (all filmed in one room, as a person
    training at home records them), halves of whole recordings: nothing else can be held out."""
    key = (lambda r: r.group) if len({r.group for r in recs}) >= 2 else (lambda r: str(r.path))
    groups = sorted({key(r) for r in recs})
    rng = np.random.default_rng(seed)
    rng.shuffle(groups)
    first = set(groups[: (len(groups) + 1) // 2])
    return [r for r in recs if key(r) in first], [r for r in recs if key(r) not in first]


def build_model(ex: Exercise, recs: list[Recording], seed: int = 0, steps: int | None = None,
                progress: Progress | None = None):
    """An :class:`~coach.models.ExerciseModel` from recordings whose reps are already found."""
    from coach.models import ExerciseModel, rep_rms

    correct = [r for r in recs if r.label == "correct" and r.reps]
    faulty = [r for r in recs if r.label != "correct" and r.reps]
    if not correct:
        raise TrainingError("no good reps found in the correct recordings: check the exercise and that the whole "
                            "body is in view")
    t0 = time.perf_counter()
    clf, classes, threshold, strict = None, ("correct",), 0.98, 0.98
    names = feature_names(ex)
    if faulty and len(correct) >= 2:
        half_a, half_b = split_halves(correct, seed)
        sim_a = fit_simulator(rep_motions(half_a, _skeleton()), seed, steps, progress, 0.0, 0.45)
        probe = ExerciseModel(ex.id, sim_a, feature_names=names)
        X, y, groups = rep_features(probe, half_b + faulty)
        if len(set(y)) >= 2:
            clf, threshold, strict = fit_forest(X, y, seed, groups)
            classes = tuple(str(c) for c in clf.classes_)
    sim = fit_simulator(rep_motions(correct, _skeleton()), seed, steps, progress, 0.5 if clf else 0.0, 0.95)
    # residual statistics of the correct reps (anomaly score when there is no forest)
    rms = []
    for _, _, res, ref in rep_residuals(sim, correct):
        v, v_ref = rep_rms(res), rep_rms(ref)
        if v and v_ref:
            rms.append(math.log(v / v_ref))
    mean = float(np.mean(rms)) if rms else None
    std = float(np.std(rms)) if len(rms) > 1 else None
    labels = {}
    for r in recs:
        labels.setdefault(r.label, {"recordings": 0, "reps": 0})
        labels[r.label]["recordings"] += 1
        labels[r.label]["reps"] += len(r.reps)
    meta = {"training_data": {"labels": labels, "recordings": [_rel(r.path) for r in recs],
                              "train_time_s": round(time.perf_counter() - t0, 1)},
            "signature": {"points": 64, "bins": 16, "per_joint": list(sim.skeleton.joints)}}
    return ExerciseModel(ex.id, sim, clf, classes, threshold, mean, std, names if clf is not None else (), meta,
                         cue_threshold=strict)


def _rel(path: Path) -> str:
    """A recording's path relative to the shared data folder when it lies there (portable metadata)."""
    from coach.paths import data_root

    try:
        return str(Path(path).resolve().relative_to(data_root().resolve()))
    except ValueError:
        return Path(path).name


def _skeleton():
    from physics import HUMAN_13

    return HUMAN_13


@dataclass
class TrainResult:
    model: object
    folder: Path
    recordings: list[Recording]

    def report(self) -> str:
        m = self.model
        td = m.meta["training_data"]
        parts = [f"{k}: {v['recordings']} recordings, {v['reps']} reps" for k, v in td["labels"].items()]
        kind = "simulator + forest (" + ", ".join(m.classes) + ")" if m.classifier is not None else \
            "simulator only (anomaly score against the good reps)"
        return (f"trained {m.exercise}: {kind} in {td['train_time_s']:.0f} s\n  " + "\n  ".join(parts) +
                f"\n  saved to {self.folder}")


def train_exercise(exercise: str | Exercise, data_dir: str | Path, out_dir: str | Path | None = None,
                   seed: int = 0, steps: int | None = None, progress: Progress | None = None) -> TrainResult:
    """Train and save the model of ``exercise`` from the recordings in ``data_dir`` (see the module doc)."""
    from coach.paths import user_data_dir

    ex = exercise if isinstance(exercise, Exercise) else get_exercise(exercise)
    if ex.kind != "reps":
        raise TrainingError(f"{ex.id} is a hold: there are no reps to learn from")
    recs = find_recordings(data_dir)
    for i, rec in enumerate(recs):
        if progress:
            progress(0.3 * i / len(recs), f"finding reps in {rec.path.name}")
        try:
            rec.sequence = load_sequence(rec.path)
        except CoachError as e:
            log.warning("skipping %s: %s", rec.path, e)
            continue
        rec.reps = find_reps(ex, rec.sequence)
    usable = [r for r in recs if r.reps]
    if not usable:
        raise TrainingError(f"no full {ex.name.lower()} reps found in {data_dir}: check the exercise id and that "
                            f"the whole body is in view")

    def sub(frac: float, text: str) -> None:
        if progress:
            progress(0.3 + 0.7 * frac, text)

    model = build_model(ex, usable, seed, steps, sub)
    folder = Path(out_dir) if out_dir else user_data_dir() / "models" / ex.id
    model.save(folder)
    if progress:
        progress(1.0, "done")
    return TrainResult(model, folder, recs)
