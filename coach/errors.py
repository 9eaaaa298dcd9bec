"""Errors a user can cause. Each message says what to do; the CLI prints it on one line and exits non-zero."""
from __future__ import annotations


class CoachError(Exception):
    """Base class: something the user can fix. ``str(err)`` is a one-line message that says how."""

    exit_code = 2


class InputNotFoundError(CoachError):
    """A file or folder the user named does not exist."""


class VideoReadError(CoachError):
    """A file is not a readable video (wrong format, truncated, corrupt, zero frames)."""


class NoPersonError(CoachError):
    """Nobody (or too little of a body) was visible to analyse."""


class OutputError(CoachError):
    """The output location cannot be written."""


class ModelFileError(CoachError):
    """A model or bundle file is missing, corrupt or made for something else."""


class ExerciseError(CoachError):
    """An unknown exercise id or an invalid exercise file."""


class DataFormatError(CoachError):
    """A landmark or data file is not in the expected format."""
