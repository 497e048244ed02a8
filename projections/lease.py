"""Who projects: an exclusive file lock on the projection folder.

One process per host and app holds the lease and writes the views; every other
process reads them as a RocksDB secondary. The lock is the kernel's (``flock``), so
it is released the moment its holder dies, even by SIGKILL, and the next process
that tries takes over.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from pynenc_kafka.projections.errors import ProjectionFolderError


class ProjectionLease:
    """The projector lease of one projection folder.

    :param Path lock_path: The lock file (see :class:`~pynenc_kafka.projections.layout.ProjectionLayout`).
    """

    def __init__(self, lock_path: Path) -> None:
        self.lock_path = lock_path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; never blocks.

        :return: Whether this process now holds it.
        """
        if self._fd is not None:
            return True
        try:
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise ProjectionFolderError(
                f"cannot use {exc.filename or self.lock_path.parent} for projections ({exc.strerror or exc}); "
                "point PYNENC__KAFKA_PROJECTION_DIR at a folder this process may write"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def holder_pid(self) -> int | None:
        """The pid written by the last holder, for diagnostics."""
        try:
            return int(self.lock_path.read_text().strip() or 0) or None
        except (OSError, ValueError):
            return None

    def holder(self) -> int | None:
        """The pid of the process holding the lease now, or ``None`` if nobody does.

        Asks the kernel with a shared lock that is released at once; a process trying to take
        the lease in that instant fails this attempt and tries again at its next one.
        """
        if self._fd is not None:
            return os.getpid()
        try:
            fd = os.open(self.lock_path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return self.holder_pid()
        finally:
            os.close(fd)  # closing drops the shared lock, if taken
        return None

    def release(self) -> None:
        """Give the lease up (in a forked child: drop the inherited descriptor only).

        The lock belongs to the open file description; a forked child closing its copy
        leaves the parent's lease intact, and once both are closed the lease is free.
        """
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
