"""Learnable physics of movement: an interaction network over a skeleton graph.

Give it joint positions over time (:class:`MotionSequence`) and a :class:`Skeleton`; it learns how correct
movement evolves and reports, joint by joint over time, how far real movement strays from its prediction
(:meth:`LearnedSimulator.residuals`, or live with :meth:`LearnedSimulator.stream`). It knows nothing of video,
pose estimators or exercises.

After Battaglia et al., "Interaction Networks for Learning about Objects, Relations and Physics" (2016), as used
by Jaiswal, Chauhan & Srivastava, "Using Learnable Physics for Real-Time Exercise Form Recommendations"
(RecSys 2023).
"""
from __future__ import annotations

import logging

__version__ = "1.0.0"

from physics.baselines import ConstantPosition, ConstantVelocity  # noqa: E402
from physics.errors import (  # noqa: E402
    NotFittedError, PhysicsError, SequenceError, SimulatorFileError, SkeletonError, TrainingDataError)
from physics.evaluate import compare_to_baselines, one_step_rmse  # noqa: E402
from physics.frame import FrameSpec  # noqa: E402
from physics.predictor import BodyState, Predictor, ResidualStream  # noqa: E402
from physics.sequence import MotionSequence  # noqa: E402
from physics.simulator import LearnedSimulator  # noqa: E402
from physics.skeleton import HUMAN_13, RELATION_KINDS, Relation, Skeleton, get_skeleton  # noqa: E402
from physics.training import TrainConfig, TrainProgress  # noqa: E402

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "BodyState", "ConstantPosition", "ConstantVelocity", "FrameSpec", "HUMAN_13", "LearnedSimulator",
    "MotionSequence", "NotFittedError", "PhysicsError", "Predictor", "RELATION_KINDS", "Relation",
    "ResidualStream", "SequenceError", "SimulatorFileError", "Skeleton", "SkeletonError", "TrainConfig",
    "TrainProgress", "TrainingDataError", "compare_to_baselines", "get_skeleton", "one_step_rmse",
    "__version__",
]
