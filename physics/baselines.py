"""Reference predictors for honest comparison; same preprocessing and interface as the learned simulator."""
from __future__ import annotations

import logging

import numpy as np

from physics.predictor import Predictor

log = logging.getLogger(__name__)


class _Baseline(Predictor):
    @classmethod
    def like(cls, other: Predictor) -> "_Baseline":
        """A baseline with the skeleton and grid settings of ``other`` (so the residuals are comparable)."""
        return cls(other.skeleton, other.spec)


class ConstantPosition(_Baseline):
    """Predicts that every joint stays where it is: ``x[k+1] = x[k]``."""

    kind = "constant_position"

    def _accel(self, x: np.ndarray, v: np.ndarray, m: np.ndarray) -> np.ndarray:
        return -v


class ConstantVelocity(_Baseline):
    """Predicts that every joint keeps its velocity: ``x[k+1] = 2 x[k] - x[k-1]``."""

    kind = "constant_velocity"

    def _accel(self, x: np.ndarray, v: np.ndarray, m: np.ndarray) -> np.ndarray:
        return np.zeros_like(x)
