"""Trained exercise models: the physics simulator (how correct reps move) and, where labelled data exist, a
random forest over the simulator's error signatures (correct or which failure mode).

One folder per exercise, under ``assets/models/<id>/`` (bundled) or ``<user data>/models/<id>/`` (taught):

* ``simulator.zip``   the :class:`physics.LearnedSimulator` (weights + JSON metadata)
* ``classifier.joblib`` (optional) the scikit-learn forest; loaded with joblib, so only load model folders you
  made or trust
* ``model.json``      format, version, exercise id, classes, decision threshold, the residual statistics of the
  correct training reps (for exercises taught without faulty examples), and the training data summary.

Without a classifier (an exercise taught from a few good reps) the verdict is an anomaly score: how far the
rep's prediction error lies above those of the correct training reps.
"""
from __future__ import annotations

import json
import logging
import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coach.diagnosis import ModelVerdict, deviation_where, error_signature, rep_rms
from coach.errors import ModelFileError
from coach.exercises import Exercise
from coach.io import atomic_path
from coach.paths import assets_dir, user_data_dir

log = logging.getLogger(__name__)

FORMAT = "coach.exercise-model"
VERSION = 1


@dataclass
class ExerciseModel:
    exercise: str
    simulator: object  # physics.LearnedSimulator
    classifier: object | None = None
    classes: tuple[str, ...] = ("correct", "wrong")
    threshold: float = 0.5  # p(fault) at or above which the model reports a fault
    residual_log_mean: float | None = None  # of correct training reps' RMS residual (anomaly mode)
    residual_log_std: float | None = None
    feature_names: tuple[str, ...] = ()  # rep measures and metrics the forest reads after the error signature
    meta: dict = field(default_factory=dict)
    path: Path | None = None
    cue_threshold: float | None = None  # p(fault) at which the coach tells the person (specificity-first)

    @property
    def fault_threshold(self) -> float:
        return self.cue_threshold if self.cue_threshold is not None else self.threshold

    @property
    def joints(self) -> tuple[str, ...]:
        return tuple(self.simulator.skeleton.joints)

    def features(self, residuals: np.ndarray, reference: np.ndarray | None = None,
                 values: dict | None = None) -> np.ndarray:
        """The error signature, then the rep's own measures (body frame) named by ``feature_names``."""
        values = values or {}
        extra = [np.nan if values.get(k) is None else float(values[k]) for k in self.feature_names]
        return np.concatenate([error_signature(residuals, reference), np.array(extra, np.float64)])

    def reference(self):
        """The constant-velocity baseline on this simulator's grid (its errors normalise the signature)."""
        from physics import ConstantVelocity

        return ConstantVelocity.like(self.simulator)

    def ready(self) -> "ExerciseModel":
        """Wait for the classifier when it is still loading in the background (see :meth:`load`)."""
        loader = self.__dict__.pop("_loader", None)
        if loader is not None:
            loader.join()
            error = self.__dict__.pop("_load_error", None)
            if error is not None:
                raise error
        return self

    def verdict(self, residuals: np.ndarray, reference: np.ndarray | None = None,
                values: dict | None = None) -> ModelVerdict:
        """The model's verdict on one rep from its (T, J) residuals (and the baseline's, to normalise) and the
        rep's measures (``values``: RepReport.measures and .metrics)."""
        self.ready()
        joint, phase = deviation_where(residuals, self.joints)
        if self.classifier is not None:
            x = self.features(residuals, reference, values)
            if not np.isfinite(x[: len(x) - len(self.feature_names)]).all():
                return ModelVerdict("correct", 0.0, 0.0, joint, phase)
            proba = forest_proba(self.classifier, x)
            classes = [str(c) for c in self.classifier.classes_]
            k = int(np.argmax(proba))
            p_correct = float(proba[classes.index("correct")]) if "correct" in classes else 0.0
            return ModelVerdict(classes[k], float(proba[k]), 1.0 - p_correct, joint, phase)
        # the statistics are of log(rms / reference rms), as in training: without a reference there is no verdict
        rms = rep_rms(residuals)
        ref = rep_rms(reference) if reference is not None else None
        if rms is None or ref is None or self.residual_log_mean is None or not self.residual_log_std:
            return ModelVerdict("correct", 0.0, 0.0, joint, phase)
        z = (math.log(rms / ref) - self.residual_log_mean) / self.residual_log_std
        p = 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))  # share of correct training reps below this one
        return ModelVerdict("correct" if p < self.threshold else "form_deviation", max(p, 1 - p), p, joint, phase)

    def save(self, folder: str | os.PathLike) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / "simulator.zip") as tmp:
            self.simulator.save(tmp)
        if self.classifier is not None:
            import joblib

            with atomic_path(folder / "classifier.joblib") as tmp:
                joblib.dump(self.classifier, tmp, compress=3)
        else:
            (folder / "classifier.joblib").unlink(missing_ok=True)
        meta = dict(self.meta)
        meta.update(format=FORMAT, version=VERSION, exercise=self.exercise, classes=list(self.classes),
                    threshold=self.threshold, residual_log_mean=self.residual_log_mean,
                    residual_log_std=self.residual_log_std, has_classifier=self.classifier is not None,
                    feature_names=list(self.feature_names), cue_threshold=self.cue_threshold)
        with atomic_path(folder / "model.json") as tmp:
            tmp.write_text(json.dumps(meta, indent=1, sort_keys=True))
        self.path = folder
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike) -> "ExerciseModel":
        from physics import LearnedSimulator, SimulatorFileError

        folder = Path(folder)
        meta_path = folder / "model.json"
        hint = f"retrain it with `coach train` (or delete {folder})"
        try:
            meta = json.loads(meta_path.read_text())
        except FileNotFoundError:
            raise ModelFileError(f"{folder} is not an exercise model (no model.json); {hint}") from None
        except (OSError, json.JSONDecodeError) as e:
            raise ModelFileError(f"{meta_path} is damaged ({e}); {hint}") from None
        if meta.get("format") != FORMAT:
            raise ModelFileError(f"{meta_path} is not an exercise model (format {meta.get('format')!r}); {hint}")
        if int(meta.get("version", 0)) > VERSION:
            raise ModelFileError(f"{folder} was written by a newer coach (version {meta['version']}); upgrade coach")
        try:
            sim = LearnedSimulator.load(folder / "simulator.zip")
        except SimulatorFileError as e:
            raise ModelFileError(str(e)) from None
        if meta.get("has_classifier") and not (folder / "classifier.joblib").is_file():
            raise ModelFileError(f"{folder} lacks classifier.joblib; {hint}")
        model = cls(meta["exercise"], sim, None, tuple(meta.get("classes") or ("correct", "wrong")),
                   float(meta.get("threshold", 0.5)), meta.get("residual_log_mean"), meta.get("residual_log_std"),
                   tuple(meta.get("feature_names") or ()), {k: v for k, v in meta.items() if k not in ("format", "version")},
                   folder, meta.get("cue_threshold"))
        if meta.get("has_classifier"):
            # Importing scikit-learn takes about a second: do it beside the first frames' pose estimation; the
            # forest is first needed at the end of the first rep (verdict() waits for it).
            def load_forest() -> None:
                try:
                    import joblib

                    model.classifier = joblib.load(folder / "classifier.joblib")
                except Exception as e:  # unpickling errors come in many types
                    model._load_error = ModelFileError(
                        f"{folder / 'classifier.joblib'} cannot be loaded ({type(e).__name__}); {hint}")

            model._loader = threading.Thread(target=load_forest, daemon=True, name="coach-model-loader")
            model._loader.start()
        return model


def forest_proba(forest, x: np.ndarray) -> np.ndarray:
    """``forest.predict_proba`` for one sample, the same sum of the trees' probabilities in the same order,
    without the per-tree job dispatch that makes up most of its time for a single rep (9 ms -> 1.6 ms for 150
    trees: it runs at the end of every live rep). Other estimators: their own ``predict_proba``."""
    trees = getattr(forest, "estimators_", None)
    if type(forest).__name__ != "RandomForestClassifier" or not trees:
        return forest.predict_proba(x[None])[0]
    X = np.ascontiguousarray(x[None], dtype=np.float32)  # the trees' input type, as the forest converts it
    total = np.zeros((1, forest.n_classes_))
    for tree in trees:
        total += tree.predict_proba(X, check_input=False)
    return (total / len(trees))[0]


def model_dirs() -> list[Path]:
    """Where models are looked up, later first wins: bundled, then the user's own (taught) models."""
    return [assets_dir() / "models", user_data_dir() / "models"]


class ModelStore:
    """Finds and caches exercise models by exercise id (the exercise file's ``model`` names another folder)."""

    def __init__(self, dirs: list[Path] | None = None):
        self.dirs = dirs if dirs is not None else model_dirs()
        self._cache: dict[str, ExerciseModel | None] = {}

    def folder(self, ex: Exercise) -> Path | None:
        name = ex.model or ex.id
        for d in reversed(self.dirs):
            if (d / name / "model.json").is_file():
                return d / name
        return None

    def get(self, ex: Exercise) -> ExerciseModel | None:
        if ex.id not in self._cache:
            folder = self.folder(ex)
            model = None
            if folder is not None:
                try:
                    model = ExerciseModel.load(folder)
                except ModelFileError as e:
                    log.warning("coaching %s without its model: %s", ex.id, e)
            self._cache[ex.id] = model
        return self._cache[ex.id]
