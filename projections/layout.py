"""Where an app's projection lives on a host: the one place that spells its paths.

``<root>/<cluster id>/<topic>/`` holds the RocksDB; ``<topic>.projector.lock`` beside it is
the projector lease, and ``<topic>.ready`` says that the projecting process created the
RocksDB with every column family (RocksDB writes ``CURRENT`` before it creates them, so a
secondary that opened on ``CURRENT`` alone could miss one); ``<root>/.secondary/<topic>/<pid>-<n>/`` are the private folders of the
processes that read it as RocksDB secondaries. The cluster id is part of the path, so a
recreated broker (a new cluster) gets a new projection rather than offsets past its log.
"""

from __future__ import annotations

import itertools
import os
import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

_secondary_ids = itertools.count()


def _alive(pid: int) -> bool:
    """Whether a process of that pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


@dataclass(frozen=True)
class ProjectionLayout:
    """The paths of one app's projection on this host (each computed once: readers check one per read).

    :param Path root: Host folder of projections (``kafka_projection_dir``).
    :param str cluster_id: The Kafka cluster's id.
    :param str topic: The app's event log topic.
    """

    root: Path
    cluster_id: str
    topic: str

    @cached_property
    def folder(self) -> Path:
        """The RocksDB folder of the views."""
        return self.root / self.cluster_id / self.topic

    @cached_property
    def lock_file(self) -> Path:
        """The projector lease's lock file, beside the folder."""
        return self.folder.with_name(self.topic + ".projector.lock")

    @cached_property
    def ready_file(self) -> Path:
        """Created by the projecting process once the RocksDB and its column families exist."""
        return self.folder.with_name(self.topic + ".ready")

    @property
    def is_created(self) -> bool:
        """Whether the projecting process has fully created the RocksDB."""
        return self.ready_file.exists()

    def built_from(self) -> str | None:
        """What the ready file says the RocksDB was built from (topic id and build), or ``None``."""
        try:
            return self.ready_file.read_text() or None
        except OSError:
            return None

    def mark_created(self, topic_id: str) -> None:
        """Say that the RocksDB is fully created from the log ``topic_id`` (by the lease holder).

        The ready file names the topic id and RocksDB's own ``IDENTITY`` of this build, and is
        replaced only when they change: a reader that opened an earlier build (of a deleted topic,
        or of a damaged folder since rebuilt) sees the file change (:meth:`ready_stamp`).
        """
        built_from = f"{topic_id} {self.db_identity()}"
        if self.built_from() == built_from:
            return
        partial = self.ready_file.with_name(self.ready_file.name + ".tmp")
        partial.write_text(built_from)
        partial.replace(self.ready_file)

    def db_identity(self) -> str:
        """RocksDB's ``IDENTITY`` of the folder: a new one each time the RocksDB is created."""
        try:
            return (self.folder / "IDENTITY").read_text().strip()
        except OSError:
            return "unknown"

    def ready_stamp(self) -> tuple[int, int] | None:
        """The ready file's inode and change time: it changes when the RocksDB is rebuilt."""
        try:
            found = self.ready_file.stat()
        except OSError:
            return None
        return (found.st_ino, found.st_mtime_ns)

    @cached_property
    def damaged_file(self) -> Path:
        """Left by a process that found the RocksDB damaged; the next projector rebuilds it."""
        return self.folder.with_name(self.topic + ".damaged")

    def mark_damaged(self) -> None:
        """Ask for a rebuild: the next process that takes the lease deletes and rebuilds the RocksDB."""
        self.damaged_file.touch()

    def discard(self) -> None:
        """Delete the RocksDB (by the process holding the lease): it is rebuilt from the log."""
        self.ready_file.unlink(missing_ok=True)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.damaged_file.unlink(missing_ok=True)

    def sweep_dead_secondaries(self) -> list[Path]:
        """Delete the secondary folders of processes that died without closing (a SIGKILL, a crash).

        :return: The folders deleted.
        """
        swept: list[Path] = []
        for folder in (self.root / ".secondary" / self.topic).glob("*-*"):
            pid = folder.name.split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(folder, ignore_errors=True)
                swept.append(folder)
        return swept

    def new_secondary_folder(self) -> Path:
        """A private folder for one more secondary instance of this process (not created)."""
        return self.root / ".secondary" / self.topic / f"{os.getpid()}-{next(_secondary_ids)}"
