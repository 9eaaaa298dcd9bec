"""Held-out evaluation helpers: pooled one-step error and the comparison with the baselines."""
from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from physics.baselines import ConstantPosition, ConstantVelocity
from physics.predictor import Predictor
from physics.sequence import MotionSequence

log = logging.getLogger(__name__)


def squared_errors(predictor: Predictor, sequences: Sequence[MotionSequence]) -> np.ndarray:
    """All valid squared one-step residuals on the grid, pooled over sequences and joints (1-D array)."""
    out = []
    for s in sequences:
        _, r = predictor.grid_residuals(s)
        r = r[np.isfinite(r)]
        out.append(r.astype(np.float64) ** 2)
    return np.concatenate(out) if out else np.zeros(0)


def one_step_rmse(predictor: Predictor, sequences: Sequence[MotionSequence]) -> float:
    """Root of the mean squared one-step error (body units) over every valid joint and grid frame."""
    e = squared_errors(predictor, sequences)
    return float(np.sqrt(e.mean())) if e.size else float("nan")


def compare_to_baselines(predictor: Predictor, sequences: Sequence[MotionSequence]) -> dict[str, float]:
    """One-step RMSE of ``predictor`` and of both baselines on the same grid frames, and the ratios."""
    rm = one_step_rmse(predictor, sequences)
    cp = one_step_rmse(ConstantPosition.like(predictor), sequences)
    cv = one_step_rmse(ConstantVelocity.like(predictor), sequences)
    return {"rmse": rm, "rmse_constant_position": cp, "rmse_constant_velocity": cv,
            "ratio_constant_position": rm / cp, "ratio_constant_velocity": rm / cv}
