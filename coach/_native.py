"""Quiet native libraries (FFmpeg through OpenCV, MediaPipe's C++ logging) that print to the process's stderr.

The coach reports problems itself, in one line that says what to do; the libraries' own chatter ("moov atom not
found", delegate and graph warnings) would bury it. ``COACH_DEBUG=1`` lets it through.

Native code writes to file descriptor 2, whatever Python's ``sys.stderr`` is, so that is the descriptor silenced.
The file behind ``sys.stderr`` is never touched: under pytest it is the capture file, and pointing its descriptor
at a write-only /dev/null from the Live page's model-loading thread made pytest's own read of it fail (EBADF).
Threads share one redirection: the app loads pose models and opens videos from several threads at once, and two
independent save/redirect/restore sequences could interleave so that the second restored the first one's
/dev/null, leaving the process without a stderr for good.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading

_FD = 2
_lock = threading.Lock()
_depth = 0
_saved: int | None = None


def _silence() -> int | None:
    """Point descriptor 2 at /dev/null; return a copy of what it was, or None when it cannot be silenced (no
    stderr at all, no /dev/null): then the chatter goes through rather than anything failing."""
    try:
        saved = os.dup(_FD)
    except OSError:
        return None
    with contextlib.suppress(AttributeError, OSError, ValueError):
        sys.stderr.flush()  # what Python already buffered goes out first
    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        os.close(saved)
        return None
    os.dup2(null, _FD)
    os.close(null)
    return saved


def _enter() -> None:
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = _silence()
        _depth += 1


def _leave() -> None:
    global _depth, _saved
    with _lock:
        _depth -= 1
        if _depth == 0 and _saved is not None:
            try:
                os.dup2(_saved, _FD)
            finally:
                os.close(_saved)
                _saved = None


@contextlib.contextmanager
def quiet_native_stderr():
    """Silence file descriptor 2 for the block; nested and concurrent blocks in any thread are safe, and stderr
    comes back when the last one ends."""
    if os.environ.get("COACH_DEBUG"):
        yield
        return
    _enter()
    try:
        yield
    finally:
        _leave()
