"""Motion sequences: joint positions over time, with a mask of which joints were seen.

:class:`MotionSequence` is what every predictor in this package consumes. On disk (training folders) one
sequence is one ``.npz`` file (``numpy.savez``, no pickled objects) holding:

* ``positions``: ``(T, J, 3)`` float, joint positions in any length unit (the simulator normalises them);
  the joint order is the skeleton's.
* ``t_s``: ``(T,)`` float, strictly increasing timestamps in seconds (any origin, any frame rate, gaps allowed).
* ``mask``: ``(T, J)`` bool, optional: True where the joint was seen. Missing: finite positions count as seen.
* ``joints``: ``(J,)`` str, optional: joint names, checked against the skeleton when given.

Positions of joints that were not seen may hold anything (NaN is usual); they are never used.
"""
from __future__ import annotations

import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from physics.errors import SequenceError, TrainingDataError

log = logging.getLogger(__name__)


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class MotionSequence:
    """``positions (T, J, 3)`` float32, ``mask (T, J)`` bool, ``t_s (T,)`` float64 strictly increasing.

    Validated on construction: the mask is cleared where a position is not finite, and positions where the
    mask is False are set to NaN, so an unseen joint can never be used as if it were seen.
    """

    positions: np.ndarray
    mask: np.ndarray
    t_s: np.ndarray
    joints: tuple[str, ...] | None = None
    source: str = ""

    def __post_init__(self) -> None:
        pos = np.array(self.positions, dtype=np.float32, copy=True)
        if pos.ndim != 3 or pos.shape[2] != 3:
            raise SequenceError(f"positions must have shape (T, J, 3), got {pos.shape}")
        t_count, j_count = pos.shape[:2]
        t = np.array(self.t_s, dtype=np.float64, copy=True).reshape(-1)
        if t.shape != (t_count,):
            raise SequenceError(f"t_s must have shape ({t_count},) to match positions, got {np.shape(self.t_s)}")
        if not np.all(np.isfinite(t)):
            raise SequenceError("t_s must be finite")
        if t_count > 1 and not np.all(np.diff(t) > 0):
            raise SequenceError("t_s must be strictly increasing (drop repeated or out-of-order frames)")
        if self.mask is None:
            mask = np.ones((t_count, j_count), bool)
        else:
            mask = np.array(self.mask, dtype=bool, copy=True)
            if mask.shape != (t_count, j_count):
                raise SequenceError(f"mask must have shape {(t_count, j_count)}, got {mask.shape}")
        mask &= np.isfinite(pos).all(axis=2)
        pos[~mask] = np.nan
        if self.joints is not None:
            joints = tuple(str(j) for j in self.joints)
            if len(joints) != j_count:
                raise SequenceError(f"{len(joints)} joint names for {j_count} joints")
            object.__setattr__(self, "joints", joints)
        object.__setattr__(self, "positions", _readonly(pos))
        object.__setattr__(self, "mask", _readonly(mask))
        object.__setattr__(self, "t_s", _readonly(t))
        object.__setattr__(self, "source", str(self.source))

    @classmethod
    def from_arrays(cls, positions, t_s=None, mask=None, *, fps: float | None = None,
                    joints=None, source: str = "") -> "MotionSequence":
        """Build from arrays; ``t_s`` may be omitted when ``fps`` is given (frames evenly spaced from 0)."""
        positions = np.asarray(positions)
        if t_s is None:
            if not fps or fps <= 0:
                raise SequenceError("give t_s or a positive fps")
            t_s = np.arange(positions.shape[0]) / float(fps)
        return cls(positions, mask, t_s, joints, source)

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    @property
    def n_joints(self) -> int:
        return int(self.positions.shape[1])

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1] - self.t_s[0]) if len(self) > 1 else 0.0

    def slice(self, start: int | None, stop: int | None) -> "MotionSequence":
        return MotionSequence(self.positions[start:stop], self.mask[start:stop], self.t_s[start:stop],
                              self.joints, self.source)

    def check_skeleton(self, skeleton) -> None:
        """Raise :class:`SequenceError` unless this sequence has the skeleton's joints (by count and names)."""
        if self.n_joints != skeleton.n_joints:
            raise SequenceError(f"sequence {self.source or ''} has {self.n_joints} joints but skeleton "
                                f"{skeleton.name!r} has {skeleton.n_joints}; map it to the skeleton first")
        if self.joints is not None and self.joints != skeleton.joints:
            raise SequenceError(f"sequence joints {list(self.joints)} differ from skeleton {skeleton.name!r} "
                                f"joints {list(skeleton.joints)}; map it to the skeleton first")

    # --- files ---------------------------------------------------------------------------------------------
    def save_npz(self, path: str | os.PathLike) -> Path:
        """Write the training-folder ``.npz`` format described in this module's docstring."""
        path = Path(path)
        arrays = {"positions": self.positions, "mask": self.mask, "t_s": self.t_s}
        if self.joints is not None:
            arrays["joints"] = np.array(self.joints, dtype=str)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            np.savez_compressed(f, **arrays)
        return path

    @classmethod
    def load_npz(cls, path: str | os.PathLike) -> "MotionSequence":
        """Read one ``.npz`` sequence; raises :class:`TrainingDataError` saying what is wrong with the file."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                missing = [k for k in ("positions", "t_s") if k not in z.files]
                if missing:
                    raise TrainingDataError(
                        f"{path}: missing array(s) {missing}; a motion .npz needs positions (T,J,3), "
                        f"t_s (T,) and optionally mask (T,J) and joints (J,)")
                joints = tuple(str(j) for j in z["joints"]) if "joints" in z.files else None
                mask = z["mask"] if "mask" in z.files else None
                return cls(z["positions"], mask, z["t_s"], joints, source=str(path))
        except TrainingDataError:
            raise
        except SequenceError as e:
            raise TrainingDataError(f"{path}: {e}") from None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
            raise TrainingDataError(f"cannot read motion file {path} ({type(e).__name__}: {e}); "
                                    f"re-export it as an .npz with positions, t_s and mask") from None
