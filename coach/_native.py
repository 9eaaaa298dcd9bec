"""Quiet native libraries (FFmpeg through OpenCV, MediaPipe's C++ logging) that print to the process's stderr.

The coach reports problems itself, in one line that says what to do; the libraries' own chatter ("moov atom not
found", delegate and graph warnings) would bury it. ``COACH_DEBUG=1`` lets it through.
"""
from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def quiet_native_stderr():
    if os.environ.get("COACH_DEBUG"):
        yield
        return
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
