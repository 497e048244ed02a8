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
from dataclasses import dataclass
from pathlib import Path

_secondary_ids = itertools.count()


@dataclass(frozen=True)
class ProjectionLayout:
    """The paths of one app's projection on this host.

    :param Path root: Host folder of projections (``kafka_projection_dir``).
    :param str cluster_id: The Kafka cluster's id.
    :param str topic: The app's event log topic.
    """

    root: Path
    cluster_id: str
    topic: str

    @property
    def folder(self) -> Path:
        """The RocksDB folder of the views."""
        return self.root / self.cluster_id / self.topic

    @property
    def lock_file(self) -> Path:
        """The projector lease's lock file, beside the folder."""
        return self.folder.with_name(self.topic + ".projector.lock")

    @property
    def ready_file(self) -> Path:
        """Created by the projecting process once the RocksDB and its column families exist."""
        return self.folder.with_name(self.topic + ".ready")

    @property
    def is_created(self) -> bool:
        """Whether the projecting process has fully created the RocksDB."""
        return self.ready_file.exists()

    def mark_created(self) -> None:
        """Say that the RocksDB is fully created (by the process holding the lease)."""
        self.ready_file.touch()

    def new_secondary_folder(self) -> Path:
        """A private folder for one more secondary instance of this process (not created)."""
        return self.root / ".secondary" / self.topic / f"{os.getpid()}-{next(_secondary_ids)}"
