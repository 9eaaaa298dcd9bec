"""The app server's working folders: its own go when it exits; a killed server's go when the next one makes its
own; a running server's stay, whoever sweeps."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coach.workdirs import PREFIX, UNLOCKED_GRACE_S, ServerFolder

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the sweep needs POSIX file locks")

SERVER = """
import sys, time
from coach.workdirs import ServerFolder
d = ServerFolder(sys.argv[1]).make("coach-review-")
(d / "annotated.mp4").write_bytes(b"x" * 1000)
print(d, flush=True)
if sys.argv[2] == "run":
    time.sleep(120)
"""


def server(tmp: Path, how: str) -> tuple[subprocess.Popen, Path]:
    """A process that makes a review folder like the app's, then runs on ("run") or exits ("exit")."""
    p = subprocess.Popen([sys.executable, "-c", SERVER, str(tmp), how], stdout=subprocess.PIPE, text=True)
    return p, Path(p.stdout.readline().strip())


def test_a_killed_servers_folder_goes_when_the_next_one_starts_a_running_ones_stays(tmp_path):
    killed, kdir = server(tmp_path, "run")
    running, rdir = server(tmp_path, "run")
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        assert (kdir / "annotated.mp4").is_file()  # killed outright, it could not clean up
        mine = ServerFolder(tmp_path)
        work = mine.make("coach-upload-")
        assert not kdir.parent.exists()  # its server is gone: removed
        assert (rdir / "annotated.mp4").is_file()  # its server runs: left alone
        assert work.is_dir() and work.parent == mine.path and mine.path.name.startswith(PREFIX)
        assert ServerFolder(tmp_path).sweep() == []  # nothing else is gone: both live folders stay
        assert mine.path.is_dir() and rdir.is_dir()
        mine.remove()
        assert sorted(p.name for p in tmp_path.iterdir()) == [rdir.parent.name]
    finally:
        running.kill()
        running.wait()


def test_a_server_removes_its_folder_when_it_exits(tmp_path):
    p, d = server(tmp_path, "exit")
    assert p.wait() == 0
    assert not d.exists() and list(tmp_path.iterdir()) == []


def test_a_folder_without_its_lock_is_removed_only_when_old(tmp_path):
    young, old = tmp_path / f"{PREFIX}young", tmp_path / f"{PREFIX}old"  # a server died while making them
    young.mkdir()
    old.mkdir()
    past = time.time() - UNLOCKED_GRACE_S - 60
    os.utime(old, (past, past))
    other = tmp_path / "someone-elses"
    other.mkdir()
    assert ServerFolder(tmp_path).sweep() == [old]
    assert young.is_dir() and not old.exists() and other.is_dir()
