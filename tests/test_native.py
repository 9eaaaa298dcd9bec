"""Silencing the native libraries' chatter (MediaPipe, FFmpeg): file descriptor 2 only, and safe across threads."""
from __future__ import annotations

import os
import sys
import threading

import pytest

from coach._native import quiet_native_stderr


@pytest.fixture(autouse=True)
def _not_debug(monkeypatch):
    monkeypatch.delenv("COACH_DEBUG", raising=False)


def test_descriptor_2_is_silenced_and_the_file_behind_sys_stderr_is_left_alone(capfd, monkeypatch, tmp_path):
    own = open(tmp_path / "err.txt", "w+")  # sys.stderr on a file of its own, as a test runner's capture is
    monkeypatch.setattr(sys, "stderr", own)
    with quiet_native_stderr():
        os.write(2, b"native chatter\n")
        own.write("python line\n")
        own.flush()
    os.write(2, b"after\n")
    own.close()
    assert (tmp_path / "err.txt").read_text() == "python line\n"
    err = capfd.readouterr().err
    assert "native chatter" not in err and "after" in err


@pytest.mark.parametrize("a_leaves_first", [True, False])
def test_overlapping_blocks_in_two_threads_give_stderr_back(capfd, monkeypatch, a_leaves_first):
    monkeypatch.setattr(sys, "stderr", sys.__stderr__)  # the process's own stderr, descriptor 2
    a_in, b_in, a_go, b_go, b_out = (threading.Event() for _ in range(5))

    def a():
        with quiet_native_stderr():
            a_in.set()
            a_go.wait(5)
            os.write(2, b"chatter a\n")

    def b():
        a_in.wait(5)
        with quiet_native_stderr():
            b_in.set()
            b_go.wait(5)
            os.write(2, b"chatter b\n")
        b_out.set()

    ta, tb = threading.Thread(target=a), threading.Thread(target=b)
    ta.start()
    tb.start()
    assert b_in.wait(5)  # both inside now
    if a_leaves_first:  # a saved the real stderr, b saved a's /dev/null
        a_go.set()
        ta.join(5)
    else:
        b_go.set()
        assert b_out.wait(5)
    os.write(2, b"still quiet\n")  # one block is still open
    (b_go if a_leaves_first else a_go).set()
    ta.join(5)
    tb.join(5)
    os.write(2, b"stderr is back\n")
    err = capfd.readouterr().err
    assert "chatter" not in err and "still quiet" not in err
    assert "stderr is back" in err


def test_nested_blocks_restore_on_the_outer_exit(capfd, monkeypatch):
    monkeypatch.setattr(sys, "stderr", sys.__stderr__)
    with quiet_native_stderr():
        with quiet_native_stderr():
            os.write(2, b"inner\n")
        os.write(2, b"outer\n")
    os.write(2, b"back\n")
    err = capfd.readouterr().err
    assert "inner" not in err and "outer" not in err and "back" in err


def test_coach_debug_lets_the_chatter_through(capfd, monkeypatch):
    monkeypatch.setenv("COACH_DEBUG", "1")
    with quiet_native_stderr():
        os.write(2, b"visible\n")
    assert "visible" in capfd.readouterr().err
