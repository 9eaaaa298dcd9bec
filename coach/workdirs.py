"""The app server's working folders (uploads, reviews, a live set's landmarks), swept when their server is gone.

Each server process keeps its working folders inside one folder of its own, ``<tmp>/coach-server-*``, and holds
an exclusive lock (``flock``) on the ``.lock`` file in it for as long as it runs. It removes that folder when it
exits; when it is killed outright (SIGKILL, the out-of-memory killer, a container stopped hard) the folder stays,
but the lock goes with the process. So the next server, when it makes its own folder, removes every other
``coach-server-*`` folder whose lock it can take: their server is gone. Two servers may share one temporary
folder; neither removes the other's while it runs.
"""
from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # not a POSIX system: no sweeping, the folders are still removed at a normal exit
    fcntl = None

log = logging.getLogger(__name__)

PREFIX = "coach-server-"
LOCK = ".lock"
UNLOCKED_GRACE_S = 3600.0  # a folder without its lock file yet (a server starting) is left alone this long


class ServerFolder:
    """This process's folder under ``tmp`` (default: the system's temporary folder), made on first use."""

    def __init__(self, tmp: str | os.PathLike | None = None):
        self.tmp = tmp
        self.path: Path | None = None
        self._fd: int | None = None
        self._lock = threading.Lock()

    def make(self, prefix: str) -> Path:
        """A new working folder inside this process's folder (remove it when done; the rest goes at exit)."""
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.root()))

    def root(self) -> Path:
        with self._lock:
            if self.path is None or not self.path.is_dir():
                self.sweep()
                self.path = Path(tempfile.mkdtemp(prefix=PREFIX, dir=self.tmp))
                self._fd = self._hold_lock(self.path)
                atexit.register(self.remove)
            return self.path

    @staticmethod
    def _hold_lock(folder: Path) -> int | None:
        if fcntl is None:
            return None
        # Locked under another name, then renamed: a sweeping server never finds the lock file unlocked.
        fd = os.open(folder / (LOCK + ".new"), os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(folder / (LOCK + ".new"), folder / LOCK)
        return fd

    def sweep(self) -> list[Path]:
        """Remove the folders of servers that are gone (their lock is free); returns them."""
        if fcntl is None:
            return []
        gone = []
        for d in Path(self.tmp or tempfile.gettempdir()).glob(PREFIX + "*"):
            if d == self.path or not d.is_dir():
                continue
            try:
                fd = os.open(d / LOCK, os.O_RDWR)
            except FileNotFoundError:
                try:
                    old = time.time() - d.stat().st_mtime > UNLOCKED_GRACE_S
                except OSError:
                    continue
                if old:  # its server died while making it
                    gone.append(d)
                continue
            except OSError:
                continue  # another user's, or unreadable: not ours to judge
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # its server is running
            else:
                gone.append(d)
            finally:
                os.close(fd)
        for d in gone:
            shutil.rmtree(d, ignore_errors=True)
            log.info("removed %s, left by a server that is gone", d)
        return gone

    def remove(self) -> None:
        """Remove this process's folder (at exit)."""
        with self._lock:
            if self.path is not None:
                shutil.rmtree(self.path, ignore_errors=True)
                self.path = None
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


_server = ServerFolder()


def work_dir(prefix: str) -> Path:
    """A new working folder of this server (see the module's docstring)."""
    return _server.make(prefix)


def work_file(prefix: str, suffix: str) -> Path:
    """A new empty file in this server's folder (remove it when done; the rest goes at exit)."""
    fd, path = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=_server.root())
    os.close(fd)
    return Path(path)
