"""Exceptions raised by :mod:`physics`. Each message says what went wrong and what to do about it."""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class PhysicsError(Exception):
    """Base class of every error this package raises on purpose."""


class SequenceError(PhysicsError, ValueError):
    """A motion sequence (or one frame of it) has the wrong shape, joints or timestamps."""


class SkeletonError(PhysicsError, ValueError):
    """A skeleton definition is inconsistent (unknown joint names, duplicate relations, ...)."""


class NotFittedError(PhysicsError, RuntimeError):
    """The simulator was used before :meth:`LearnedSimulator.fit` or :meth:`LearnedSimulator.load`."""


class SimulatorFileError(PhysicsError):
    """A simulator file is missing, corrupt, of another format or version, or made for another skeleton."""


class TrainingDataError(PhysicsError, ValueError):
    """There is too little usable training data, or a training file cannot be read."""
