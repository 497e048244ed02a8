"""One app's projection in one process: projected here (lease held) or read as a secondary.

A process opens an app's projection on its first read or write. If it takes the lease,
it becomes the host's projector of the app; otherwise it opens the folder as a RocksDB
secondary and catches up before reads that need it, and the runtime's lease watcher
takes over when the projecting process dies.

Readers hold the projection while they read (:meth:`AppProjection.acquire`), so a
projection the runtime closes (the least recently used one, or at exit) closes only
once its last reader is done.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pynenc_kafka.core.client_settings import KafkaClientSettings
from pynenc_kafka.core.cluster import ClusterClients
from pynenc_kafka.core.conf import ConfigKafkaProjection
from pynenc_kafka.observability.metrics import ProjectionMetrics
from pynenc_kafka.producers.topics import TopicInfo
from pynenc_kafka.projections.barrier import EndOffsets, ReadBarrier
from pynenc_kafka.projections.checkpoint import ProjectionCheckpoint
from pynenc_kafka.projections.errors import DamagedProjectionError, StaleProjectionError
from pynenc_kafka.projections.layout import ProjectionLayout
from pynenc_kafka.projections.lease import ProjectionLease
from pynenc_kafka.projections.progress import ProjectionProgress
from pynenc_kafka.projections.projector import Projector
from pynenc_kafka.projections.store import ViewStore
from pynenc_kafka.projections.writer import ViewWriter
from pynenc_kafka.schemas.errors import KafkaBackendError
from pynenc_kafka.schemas.topology import AppTopics

logger = logging.getLogger("pynenc_kafka.core.runtime")


@dataclass(frozen=True)
class AppSpec:
    """One app as a process opens it: cluster, topics, and how its projection is kept here.

    :param KafkaClientSettings settings: How to reach the cluster.
    :param AppTopics topics: The app's topics.
    :param int partitions: Partitions of the log if this process creates it.
    :param int replication: Replication factor of topics this process creates.
    :param int min_insync: ``min.insync.replicas`` of topics this process creates (``0``: chosen).
    :param Path root: Host folder of projections.
    :param float barrier_timeout: Seconds a read may wait for the projection.
    :param float takeover_interval: Seconds between takeover attempts of a reader.
    :param int max_open: Projections the process keeps open at once.
    """

    settings: KafkaClientSettings
    topics: AppTopics
    partitions: int
    replication: int
    min_insync: int
    root: Path
    barrier_timeout: float
    takeover_interval: float
    max_open: int

    @classmethod
    def from_config(cls, conf: ConfigKafkaProjection, app_id: str) -> AppSpec:
        """The spec of ``app_id`` under a backend configuration.

        :param ConfigKafkaProjection conf: The ``kafka_*`` settings of any component.
        :param str app_id: The pynenc app id.
        """
        return cls(
            settings=KafkaClientSettings.from_config(conf),
            topics=AppTopics(conf.kafka_topic_prefix, app_id),
            partitions=int(conf.kafka_partitions),
            replication=int(conf.kafka_replication_factor),
            min_insync=int(conf.kafka_min_insync_replicas),
            root=conf.projection_root,
            barrier_timeout=float(conf.kafka_read_barrier_timeout),
            takeover_interval=float(conf.kafka_takeover_interval),
            max_open=int(conf.kafka_max_open_projections),
        )

    @cached_property
    def key(self) -> tuple[str, AppTopics, Path]:
        """What makes two specs the same projection in a process (computed once)."""
        return (self.settings.identity, self.topics, self.root)


class AppProjection:
    """One app's views in this process.

    :param ClusterClients clients: The cluster's clients.
    :param AppSpec spec: The app and where to keep its views.
    :param TopicInfo log: The app's event log as the cluster serves it.
    """

    def __init__(self, clients: ClusterClients, spec: AppSpec, log: TopicInfo) -> None:
        self.clients = clients
        self.spec = spec
        self.topics = spec.topics
        self.log = log
        self.layout = ProjectionLayout(spec.root, clients.cluster_id, log.name)
        self.folder = self.layout.folder
        self.lease = ProjectionLease(self.layout.lock_file)
        self.pid = os.getpid()
        self.projector: Projector | None = None
        self.last_used = time.monotonic()
        self._retired_stores: list[ViewStore] = []
        self._secondary_path: Path | None = None
        self._end_offsets = EndOffsets(
            clients.offsets_consumer, clients.admin, log.name, clients.settings.timeout, clients.describe
        )
        self._ready_stamp: tuple[int, int] | None = None
        self._retired = False
        self._guard = threading.Lock()
        self._readers = 0
        self.metrics = ProjectionMetrics(spec.topics.app_id)
        self._closing = False
        self.closed = False
        self.store: ViewStore
        self.barrier: ReadBarrier
        if self.lease.try_acquire():
            self._become_primary()
        else:
            self._become_secondary()

    @property
    def is_primary(self) -> bool:
        """Whether this process projects the app."""
        return self.projector is not None

    # -- opening ---------------------------------------------------------------------------

    def _become_primary(self) -> None:
        store = self._open_primary_store()
        self.layout.mark_created(self.log.topic_id)
        writer = ViewWriter(store, self.topics.app_id, self.log.name, observer=self.metrics)
        projector = Projector(
            writer,
            lambda: self.clients.new_consumer("pynenc-kafka-projector", {"auto.offset.reset": "error"}),
            self.log.partitions,
            self._is_still_the_log,
        )
        projector.start()
        self.store, self.projector = store, projector
        self.barrier = self._barrier(projector.progress)

    def _open_primary_store(self) -> ViewStore:
        """Open (or create) the views; views found damaged, or built from a deleted topic, are rebuilt."""
        if self.layout.damaged_file.exists():
            logger.warning("the projection %s was found damaged: rebuilding it from the log", self.folder)
            self.layout.discard()
        try:
            return self._bound(ViewStore(self.folder))
        except (StaleProjectionError, DamagedProjectionError) as exc:
            logger.warning("%s: rebuilding it from the log", exc)
            self.layout.discard()
            return self._bound(ViewStore(self.folder))

    def _bound(self, store: ViewStore) -> ViewStore:
        """``store``, checked to hold views of this app's log (claimed for it if new)."""
        try:
            ProjectionCheckpoint(store).bind(
                self.clients.cluster_id, self.log.name, self.topics.app_id, self.log.topic_id
            )
        except BaseException:
            store.close()
            raise
        return store

    def _is_still_the_log(self) -> bool:
        """Whether Kafka still serves the log this projection was built from (False: recreated)."""
        try:
            return self.clients.topics.topic_id(self.log.name, patient=False) == self.log.topic_id
        except KafkaBackendError:  # unreachable, or deleted and not created again yet: nothing to rebuild
            return True

    def _become_secondary(self) -> None:
        if self._await_primary_folder():
            return
        self._ready_stamp = self.layout.ready_stamp()
        self.layout.sweep_dead_secondaries()
        self._secondary_path = self.layout.new_secondary_folder()
        store = self._bound(ViewStore(self.folder, secondary_path=self._secondary_path))
        checkpoint = ProjectionCheckpoint(store)

        def refresh() -> dict[int, int]:
            self._check_build()
            store.catch_up()
            return checkpoint.load().next_offsets

        self.store = store
        self.barrier = self._barrier(ProjectionProgress(checkpoint.load().next_offsets, refresh))

    def _await_primary_folder(self) -> bool:
        """Wait until the projecting process built the views of this log; True if we took over instead."""
        deadline = time.monotonic() + self.spec.barrier_timeout
        while not self._built_for_this_log():
            if self.lease.try_acquire():
                self._become_primary()
                return True
            if time.monotonic() > deadline:
                raise KafkaBackendError(
                    f"projection folder {self.folder} was not created by the projecting process "
                    f"(pid {self.lease.holder_pid()}) within {self.spec.barrier_timeout:g}s"
                )
            time.sleep(0.01)
        return False

    def _built_for_this_log(self) -> bool:
        built_from = self.layout.built_from()
        fresh = built_from is not None and built_from.split(" ")[0] == self.log.topic_id
        return fresh and not self.layout.damaged_file.exists()

    @property
    def closing(self) -> bool:
        """Whether the projection is closed, or closes once its readers are done."""
        return self._closing

    def retire(self) -> None:
        """Stop serving these views (found damaged): the next use opens the projection again."""
        self._retired = True

    def _check_build(self) -> None:
        """Raise if the views this process opened were replaced since (rebuilt, or a new log)."""
        if self._retired:
            raise ProjectionReplacedError(f"the projection {self.folder} is being rebuilt")
        if self.projector is not None:
            if self.projector.replaced:
                raise ProjectionReplacedError(f"the topic {self.log.name} was deleted and created again")
        elif self.layout.ready_stamp() != self._ready_stamp:
            raise ProjectionReplacedError(f"the projection {self.folder} was rebuilt")

    def _barrier(self, progress: ProjectionProgress) -> ReadBarrier:
        return ReadBarrier(
            self._end_offsets,
            progress,
            self.log.partitions,
            self.spec.barrier_timeout,
            self._check_health,
            observer=self.metrics,
        )

    def _check_health(self) -> None:
        if self.projector is not None and self.projector.failure is not None:
            raise KafkaBackendError(f"the projector of {self.log.name} failed: {self.projector.failure!r}")

    def try_takeover(self) -> bool:
        """A reader's attempt to become the projector when the holder died.

        The secondary store stays open (readers may still use it) until :meth:`close`.
        """
        with self._guard:
            if self._closing or self.is_primary or not self.lease.try_acquire():
                return False
            logger.info("taking over the projection of %s (previous holder gone)", self.log.name)
            self._retired_stores.append(self.store)
            self._become_primary()
            self.metrics.took_over()
            return True

    # -- readers and closing -----------------------------------------------------------------

    def acquire(self) -> None:
        """Hold the projection open for a read or write; pair with :meth:`release`.

        :raises ProjectionClosedError: If it was closed meanwhile (open it again through the runtime).
        """
        self._check_build()
        with self._guard:
            if self._closing:
                raise ProjectionClosedError(f"the projection of {self.log.name} was closed")
            self._readers += 1
        self.last_used = time.monotonic()

    def release(self) -> None:
        """Let the projection go; the last reader of a closing projection closes it."""
        with self._guard:
            self._readers -= 1
            close_now = self._closing and self._readers == 0 and not self.closed
            if close_now:
                self.closed = True
        if close_now:
            self._release()

    def close(self) -> None:
        """Close now, or as soon as the last reader is done: stop projecting, close the stores."""
        with self._guard:
            self._closing = True
            close_now = self._readers == 0 and not self.closed
            if close_now:
                self.closed = True
        if close_now:
            self._release()

    def _release(self) -> None:
        if self.projector is not None:
            self.projector.stop()
        for store in (*self._retired_stores, self.store):
            store.close()
        self.lease.release()
        if self._secondary_path is not None:
            shutil.rmtree(self._secondary_path, ignore_errors=True)


class ProjectionClosedError(KafkaBackendError):
    """A projection closed between its lookup and its use; the runtime opens it again."""


class ProjectionReplacedError(ProjectionClosedError):
    """The views this process opened were replaced (rebuilt, or the topic created again): reopen them."""
