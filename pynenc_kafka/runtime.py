"""Per-process sharing of Kafka clients and projections, fork-safe and bounded.

A test session or a long-lived worker may create hundreds of apps. Clients are shared
per cluster, projections per (cluster, app), inside one process; at most
``kafka_max_open_projections`` projections stay open (least recently used closes
first, and reopens from its checkpoint); everything closes at exit. librdkafka clients
and RocksDB handles never cross a fork: a forked child drops what it inherited and
builds its own on first use.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import shutil
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient

from pynenc_kafka.client_settings import KafkaClientSettings
from pynenc_kafka.conf import ConfigStateBackendKafka
from pynenc_kafka.producers.publisher import EventPublisher
from pynenc_kafka.producers.topics import ClusterFacts, TopicInfo, TopicProvisioner
from pynenc_kafka.projections.barrier import EndOffsets, ReadBarrier
from pynenc_kafka.projections.batch_codec import BatchEventCodec
from pynenc_kafka.projections.checkpoint import ProjectionCheckpoint
from pynenc_kafka.projections.lease import ProjectionLease
from pynenc_kafka.projections.progress import ProjectionProgress
from pynenc_kafka.projections.projector import Projector
from pynenc_kafka.projections.views import ViewStore
from pynenc_kafka.schemas.codec import EventCodec
from pynenc_kafka.schemas.errors import KafkaBackendError
from pynenc_kafka.schemas.topology import AppTopics

logger = logging.getLogger("pynenc_kafka.runtime")


class ClusterClients:
    """The clients one process keeps for one cluster: admin, topics, a shared producer.

    :param KafkaClientSettings settings: How to reach the cluster.
    :param ClusterFacts facts: What the process already knows of the cluster.
    :param EventCodec codec: The process's event codec (parsed schemas).
    """

    def __init__(self, settings: KafkaClientSettings, facts: ClusterFacts, codec: EventCodec) -> None:
        self.settings = settings
        self.admin = AdminClient(settings.admin_config())
        self.topics = TopicProvisioner(
            self.admin, settings.timeout, settings.describe(), settings.max_message_bytes, facts
        )
        self.codec = codec
        self._publisher: EventPublisher | None = None
        self._lock = threading.Lock()

    @property
    def publisher(self) -> EventPublisher:
        """The process's producer for this cluster, created on first write."""
        with self._lock:
            if self._publisher is None:
                self._publisher = EventPublisher(
                    self.settings.producer_config(), self.settings.timeout, self.settings.describe()
                )
            return self._publisher

    @property
    def cluster_id(self) -> str:
        """The cluster's id (asked once per process, and not again in forked children)."""
        return self.topics.cluster_id()

    def new_consumer(self, client_id: str) -> Consumer:
        """A consumer with manual assignment and no Kafka offset commits."""
        return Consumer(self.settings.consumer_config(client_id))

    def close(self) -> None:
        """Flush the producer; the admin client closes with the object."""
        if self._publisher is not None:
            self._publisher.close()


@dataclass(frozen=True)
class AppSpec:
    """One app as a process opens it: cluster, topics, and how its projection is kept here.

    :param KafkaClientSettings settings: How to reach the cluster.
    :param AppTopics topics: The app's topics.
    :param int partitions: Partitions of the log if this process creates it.
    :param int replication: Replication factor of topics this process creates.
    :param Path root: Host folder of projections.
    :param float barrier_timeout: Seconds a read may wait for the projection.
    :param float takeover_interval: Seconds between takeover attempts of a reader.
    :param int max_open: Projections the process keeps open at once.
    """

    settings: KafkaClientSettings
    topics: AppTopics
    partitions: int
    replication: int
    root: Path
    barrier_timeout: float
    takeover_interval: float
    max_open: int

    @classmethod
    def from_config(cls, conf: ConfigStateBackendKafka, app_id: str) -> AppSpec:
        """The spec of ``app_id`` under a backend configuration.

        :param ConfigStateBackendKafka conf: The ``kafka_*`` settings.
        :param str app_id: The pynenc app id.
        """
        return cls(
            settings=KafkaClientSettings.from_config(conf),
            topics=AppTopics(conf.kafka_topic_prefix, app_id),
            partitions=int(conf.kafka_partitions),
            replication=int(conf.kafka_replication_factor),
            root=conf.projection_root,
            barrier_timeout=float(conf.kafka_read_barrier_timeout),
            takeover_interval=float(conf.kafka_takeover_interval),
            max_open=int(conf.kafka_max_open_projections),
        )

    @property
    def key(self) -> tuple[str, AppTopics, Path]:
        """What makes two specs the same projection in a process."""
        return (self.settings.identity, self.topics, self.root)


def projection_folder(root: Path, cluster_id: str, topic: str) -> Path:
    """The folder of an app's projection on this host: one per cluster and log topic.

    :param Path root: Host folder of projections (``kafka_projection_dir``).
    :param str cluster_id: The Kafka cluster's id (a recreated broker gets a new folder).
    :param str topic: The app's event log topic.
    """
    return root / cluster_id / topic


class AppProjection:
    """One app's views in this process: projected here (lease held) or read as a secondary.

    :param ClusterClients clients: The cluster's clients.
    :param AppSpec spec: The app and where to keep its views.
    :param TopicInfo log: The app's event log as the cluster serves it.
    """

    _secondary_ids = itertools.count()

    def __init__(self, clients: ClusterClients, spec: AppSpec, log: TopicInfo) -> None:
        self.clients = clients
        self.spec = spec
        self.topics = spec.topics
        self.log = log
        self.folder = projection_folder(spec.root, clients.cluster_id, log.name)
        self.lease = ProjectionLease(self.folder)
        self.projector: Projector | None = None
        self._retired: list[ViewStore] = []
        self._secondary_path: Path | None = None
        self._end_offsets = EndOffsets(clients.admin, log.name, clients.settings.timeout)
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

    def _become_primary(self) -> None:
        store = ViewStore(self.folder)
        ProjectionCheckpoint(store).bind(self.clients.cluster_id, self.log.name, self.topics.app_id)
        projector = Projector(
            store,
            lambda: self.clients.new_consumer("pynenc-kafka-projector"),
            self.log.name,
            self.log.partitions,
            self.topics.app_id,
            BatchEventCodec(),
        )
        projector.start()
        self.store, self.projector = store, projector
        self.barrier = self._barrier(projector.progress)

    def _become_secondary(self) -> None:
        if self._await_primary_folder():
            return
        self._secondary_path = (
            self.spec.root / ".secondary" / self.log.name / f"{os.getpid()}-{next(self._secondary_ids)}"
        )
        store = ViewStore(self.folder, secondary_path=self._secondary_path)
        checkpoint = ProjectionCheckpoint(store)
        checkpoint.bind(self.clients.cluster_id, self.log.name, self.topics.app_id)

        def refresh() -> dict[int, int]:
            store.catch_up()
            return checkpoint.load().next_offsets

        self.store = store
        self.barrier = self._barrier(ProjectionProgress(checkpoint.load().next_offsets, refresh))

    def _await_primary_folder(self) -> bool:
        """Wait until the projecting process created the folder; return True if we took over instead."""
        deadline = time.monotonic() + self.spec.barrier_timeout
        while not (self.folder / "CURRENT").exists():
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

    def _barrier(self, progress: ProjectionProgress) -> ReadBarrier:
        return ReadBarrier(
            self._end_offsets,
            progress,
            self.log.partitions,
            self.spec.barrier_timeout,
            self._check_health,
        )

    def _check_health(self) -> None:
        if self.projector is not None and self.projector.failure is not None:
            raise KafkaBackendError(f"the projector of {self.log.name} failed: {self.projector.failure!r}")

    def try_takeover(self) -> bool:
        """A reader's attempt to become the projector when the holder died.

        The secondary store stays open (readers may still use it) until :meth:`close`.
        """
        if self.is_primary or not self.lease.try_acquire():
            return False
        logger.info("taking over the projection of %s (previous holder gone)", self.log.name)
        self._retired.append(self.store)
        self._become_primary()
        return True

    def close(self) -> None:
        """Stop projecting, close the stores, give the lease up."""
        if self.projector is not None:
            self.projector.stop()
        for store in (*self._retired, self.store):
            store.close()
        self.lease.release()
        if self._secondary_path is not None:
            shutil.rmtree(self._secondary_path, ignore_errors=True)


class Runtime:
    """Everything pynenc-kafka keeps open in one process."""

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.RLock()
        self._clusters: dict[str, ClusterClients] = {}
        self._facts: dict[str, ClusterFacts] = {}
        self._codec: EventCodec | None = None
        self._apps: OrderedDict[tuple[Any, ...], AppProjection] = OrderedDict()
        self._abandoned: list[Any] = []
        self._watcher: threading.Thread | None = None
        self._takeover_interval = 1.0

    def cluster(self, settings: KafkaClientSettings) -> ClusterClients:
        """The shared clients of a cluster."""
        with self._lock:
            clients = self._clusters.get(settings.identity)
            if clients is None:
                facts = self._facts.setdefault(settings.identity, ClusterFacts())
                if self._codec is None:
                    self._codec = EventCodec()
                clients = self._clusters[settings.identity] = ClusterClients(settings, facts, self._codec)
            return clients

    def app(self, spec: AppSpec) -> AppProjection:
        """The open projection of an app, opening (and creating its topics) on first use."""
        with self._lock:
            found = self._apps.get(spec.key)
            if found is not None:
                self._apps.move_to_end(spec.key)
                return found
            clients = self.cluster(spec.settings)
            log = clients.topics.ensure(spec.topics.events, spec.partitions, spec.replication)
            clients.topics.ensure(spec.topics.registry, 1, spec.replication, compacted=True)
            opened = self._apps[spec.key] = AppProjection(clients, spec, log)
            while len(self._apps) > max(1, spec.max_open):
                _, evicted = self._apps.popitem(last=False)
                evicted.close()
            if not opened.is_primary:
                self._watch_leases(spec.takeover_interval)
            return opened

    def _watch_leases(self, interval: float) -> None:
        self._takeover_interval = min(self._takeover_interval, interval)
        if self._watcher is None or not self._watcher.is_alive():
            self._watcher = threading.Thread(
                target=self._take_over_orphans, name="pynenc-kafka-lease", daemon=True
            )
            self._watcher.start()

    def _take_over_orphans(self) -> None:
        pid = os.getpid()
        while pid == self._pid:
            time.sleep(self._takeover_interval)
            with self._lock:
                readers = [a for a in self._apps.values() if not a.is_primary]
                for app in readers:
                    try:
                        app.try_takeover()
                    except Exception:
                        logger.exception("takeover of %s failed", app.log.name)
            if not readers:
                return

    def open_projections(self) -> list[AppProjection]:
        """The projections open now (tests count them)."""
        with self._lock:
            return list(self._apps.values())

    def close_app(self, topics: AppTopics) -> None:
        """Close every open projection of an app (all clusters and folders)."""
        with self._lock:
            for key in [k for k in self._apps if k[1] == topics]:
                self._apps.pop(key).close()

    def close(self) -> None:
        """Close every projection and flush every producer (at exit)."""
        if os.getpid() != self._pid:
            return
        with self._lock:
            while self._apps:
                _, app = self._apps.popitem()
                try:
                    app.close()
                except Exception:
                    logger.exception("closing projection %s", app.log.name)
            for clients in self._clusters.values():
                clients.close()
            self._clusters.clear()

    def after_fork_in_child(self) -> None:
        """Drop (never use, never close) what the parent opened; release inherited leases.

        Only plain Python data stays: the :class:`ClusterFacts` (cluster ids and topics do
        not change with a fork) and the event codec (parsed schemas, ~6 ms to build), so a
        forked worker's first write pays for neither again.
        """
        for app in self._apps.values():
            app.lease.release()
        self._abandoned.extend([*self._clusters.values(), *self._apps.values()])
        self._clusters = {}
        self._apps = OrderedDict()
        self._lock = threading.RLock()
        self._watcher = None
        self._pid = os.getpid()


RUNTIME = Runtime()
atexit.register(RUNTIME.close)
os.register_at_fork(after_in_child=RUNTIME.after_fork_in_child)
