"""The shared recordings (``COACH_DATA``, default ``../shared/data``) and a cache of their landmarks.

Running the pose model over every clip takes minutes, so landmarks are cached per (clip content, pose model)
under :func:`coach.paths.cache_dir`. Labels come from the by-eye counts (``workouttracker/reps_counted.csv``,
``more_exercises/clips.csv``), which are the truth for rep counts.
"""
from __future__ import annotations

import csv
import hashlib
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from coach.errors import InputNotFoundError
from coach.io import load_npz, save_npz
from coach.paths import cache_dir, data_root, default_pose_model
from coach.types import PoseSequence

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Clip:
    """A real recording with what is known about it."""

    path: Path
    exercise: str  # catalogue id
    source: str  # group for cross-validation (never on both sides of a split)
    form: str | None = None  # "correct" / "wrong" where labelled
    full_reps: int | None = None
    partial_reps: int | None = None
    turning_frames: tuple[int, ...] = ()
    view: str = ""
    people: str = "1"
    note: str = ""


def _require(path: Path) -> Path:
    if not path.exists():
        raise InputNotFoundError(f"{path} not found: set COACH_DATA to the shared data folder")
    return path


def _frames(s: str) -> tuple[int, ...]:
    return tuple(int(x) for x in s.replace(" ", "").split(",") if x)


def _int_or_none(s: str) -> int | None:
    s = (s or "").strip()
    return int(s) if s else None


def pushfit_clips(root: Path | None = None) -> list[Clip]:
    """The 101 PushFit push-up clips, labelled correct / wrong. The upstream set does not say which clips share
    a person; clips filmed in one place do (several are one person's takes), so the source group is the scene
    (:func:`coach.scenes.scene_groups`): folds hold out whole scenes, not single clips."""
    base = _require((root or data_root()) / "pushfit" / "videos")
    found = [(form, p) for form in ("correct", "wrong")
             for p in sorted((base / form).glob("*.mp4"), key=lambda p: (len(p.stem), p.stem))]
    groups = _pushfit_groups(tuple(p for _, p in found))
    return [Clip(p, "push-up", f"pushfit/{groups[p]}", form=form) for form, p in found]


@lru_cache(maxsize=4)
def _pushfit_groups(paths: tuple[Path, ...]) -> dict[Path, str]:
    from coach.scenes import scene_groups

    return scene_groups(list(paths))


def workouttracker_clips(root: Path | None = None) -> list[Clip]:
    base = _require((root or data_root()) / "workouttracker")
    out = []
    with open(base / "reps_counted.csv", newline="") as f:
        for row in csv.DictReader(f):
            p = base / row["video"]
            out.append(Clip(p, row["exercise"], f"workouttracker/{p.stem}", full_reps=int(row["full_reps"]),
                            partial_reps=_int_or_none(row["partial_reps"]),
                            turning_frames=_frames(row["turning_frames"]), note=row["note"]))
    return out


def more_exercise_clips(root: Path | None = None) -> list[Clip]:
    base = _require((root or data_root()) / "more_exercises")
    out = []
    with open(base / "clips.csv", newline="") as f:
        for row in csv.DictReader(f):
            p = base / row["video"]
            out.append(Clip(p, row["exercise"], row["source"], full_reps=_int_or_none(row["full_reps"]),
                            partial_reps=_int_or_none(row["partial_reps"]),
                            turning_frames=_frames(row["turning_frames"]), view=row["view"],
                            people=row["people"], note=row["note"]))
    return out


def no_exercise_clips(root: Path | None = None) -> list[Clip]:
    base = _require((root or data_root()) / "no_exercise")
    return [Clip(p, "none", f"no_exercise/{p.stem}", full_reps=0, partial_reps=0)
            for p in sorted(base.glob("*.mp4"))]


def rep_count_clips(root: Path | None = None) -> list[Clip]:
    """Every clip with a rep count made by eye (holds such as plank have none)."""
    return [c for c in workouttracker_clips(root) + more_exercise_clips(root) if c.full_reps is not None]


@lru_cache(maxsize=8)
def _file_digest(path: str, size: int, mtime: float) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def digest(path: Path) -> str:
    st = path.stat()
    return _file_digest(str(path), st.st_size, st.st_mtime)


def cached_landmarks(video: Path, pose_model: Path | None = None, progress: bool = False) -> PoseSequence:
    """Landmarks of ``video`` from the cache, extracting (and caching) them on first use."""
    from coach.landmarks import extract_landmarks

    from coach.pose import DEFAULT_CONFIDENCE, DEFAULT_TRACKING, FAR_VERSION

    model = Path(pose_model or default_pose_model())
    key = f"{digest(Path(video))}-{digest(model)}-c{DEFAULT_CONFIDENCE:g}-t{DEFAULT_TRACKING:g}-f{FAR_VERSION}"
    path = cache_dir() / "landmarks" / f"{Path(video).stem}-{key}.npz"
    if path.is_file():
        try:
            return load_npz(path)
        except Exception as e:  # a damaged cache entry is re-computed, not fatal
            log.warning("re-extracting %s: cached landmarks unreadable (%s)", video, e)
    seq = extract_landmarks(video, pose_model=model, progress=progress)
    save_npz(seq, path)
    return seq
