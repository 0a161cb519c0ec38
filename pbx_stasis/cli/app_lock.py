"""One `pbx run` per ARI application: an advisory file lock keyed by the ARI URL and the app.

Asterisk hands an application to the last connection that asks for it (the one before gets
ApplicationReplaced and no more events), so a second `pbx run` on the same app would make the
first one deaf. The lock (a file in $XDG_RUNTIME_DIR, else the temp dir) is taken before the app
connects: a second process on the same machine refuses to start, naming the holder. The kernel
drops a flock when its process dies, however it dies (kill -9 too): nothing stale to clean up.
Asking ARI instead (GET /applications) cannot tell a connected app from one whose socket just
dropped (Asterisk keeps an app listed while it has channels), and two processes could both ask
before either subscribed. Processes on other machines are not covered by a file lock: they are
caught by ApplicationReplaced (the app exits, see cli/run.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
from pathlib import Path


class AppInUse(Exception):
    """Another process on this machine holds the ARI application."""


class AppLock:
    """The lock of one ARI application at one Asterisk, held from acquire() to release()."""

    def __init__(self, ari_url: str, app: str, directory: Path | None = None) -> None:
        key = hashlib.sha256(f"{ari_url.rstrip('/')}\n{app}".encode()).hexdigest()[:16]
        # The service user's runtime dir when there is one (systemd's, not writable by other
        # users: none can hold the lock to keep pbx run from starting), else the temp dir.
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        where = directory or Path(runtime if runtime else tempfile.gettempdir())
        self.path = where / f"pbx-stasis-{key}.lock"
        self.ari_url = ari_url
        self.app = app
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # e.g. another user's file in a sticky temp dir
            raise AppInUse(f"cannot open the lock of the ARI application {self.app!r} "
                           f"({self.path}): {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise AppInUse(
                f"another pbx run (pid {holder}) holds the ARI application {self.app!r} at "
                f"{self.ari_url}: two would take each other's calls; stop it first "
                f"(lock file {self.path})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock
            self._fd = None
