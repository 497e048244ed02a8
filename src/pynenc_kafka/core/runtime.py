"""Per-process sharing of Kafka clients and projections, fork-safe and bounded.

A test session or a long-lived worker may create hundreds of apps. Clients are shared
per cluster, projections per (cluster, app), inside one process; at most
``kafka_max_open_projections`` projections stay open (the least recently used closes
first, once its readers are done, and reopens from its checkpoint); everything closes at
exit. librdkafka clients and RocksDB handles never cross a fork: a forked child drops
what it inherited and builds its own on first use.

The runtime's lock guards its dictionaries only. Opening a projection (topic creation,
waiting for the projecting process, opening RocksDB), closing one and taking one over
happen outside it, so one slow app never stalls another app's reads.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from pynenc_kafka.core.app_projection import AppProjection, AppSpec, ProjectionClosedError
from pynenc_kafka.core.client_settings import KafkaClientSettings
from pynenc_kafka.core.cluster import ClusterClients
from pynenc_kafka.producers.topics import ClusterFacts
from pynenc_kafka.schemas.codec import EventCodec
from pynenc_kafka.schemas.topology import AppTopics

logger = logging.getLogger("pynenc_kafka.core.runtime")


class _Opening:
    """A projection being opened by one thread; other threads wanting it wait here."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.projection: AppProjection | None = None
        self.error: BaseException | None = None

    def result(self) -> AppProjection:
        self.done.wait()
        if self.error is not None:
            raise self.error
        if self.projection is None:
            raise ProjectionClosedError("the projection failed to open")
        return self.projection


class Runtime:
    """Everything pynenc-kafka keeps open in one process."""

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._clusters: dict[str, ClusterClients] = {}
        self._facts: dict[str, ClusterFacts] = {}
        self._codec: EventCodec | None = None
        self._apps: dict[tuple[Any, ...], _Opening] = {}
        self._abandoned: list[Any] = []
        self._watcher: threading.Thread | None = None
        self._takeover_interval = 1.0
        self._cluster_closers: list[Callable[[str | None], None]] = []

    def on_close_cluster(self, close: Callable[[str | None], None]) -> None:
        """Have ``close(bootstrap_servers)`` called before this process closes a cluster's clients.

        For what keeps clients of its own elsewhere (the broker's queue tables): ``None`` means
        every cluster (at exit).
        """
        self._cluster_closers.append(close)

    def codec(self) -> EventCodec:
        """The process's event codec (parsed once, kept across fork)."""
        codec = self._codec
        if codec is None:
            codec = EventCodec()  # parsing the schemas reads files: outside the lock
            with self._lock:
                if self._codec is None:
                    self._codec = codec
                codec = self._codec
        return codec

    def cluster(self, settings: KafkaClientSettings) -> ClusterClients:
        """The shared clients of a cluster."""
        clients = self._clusters.get(settings.identity)
        if clients is not None:
            return clients
        codec = self.codec()
        with self._lock:  # creating librdkafka handles does not wait on the network
            clients = self._clusters.get(settings.identity)
            if clients is None:
                facts = self._facts.setdefault(settings.identity, ClusterFacts())
                clients = self._clusters[settings.identity] = ClusterClients(settings, facts, codec)
            return clients

    def app(self, spec: AppSpec) -> AppProjection:
        """The open projection of an app, opening it (and creating its topics) on first use.

        One thread opens it; others that want it meanwhile wait for that thread, holding no lock.
        """
        key = spec.key
        with self._lock:
            opening = self._apps.get(key)
            mine = opening is None
            if opening is None:
                opening = self._apps[key] = _Opening()
        if not mine:
            return opening.result()
        try:
            projection = self._open(spec)
        except BaseException as exc:
            with self._lock:
                self._apps.pop(key, None)
            opening.error = exc
            opening.done.set()
            raise
        opening.projection = projection
        opening.done.set()
        self._evict(spec.max_open)
        if not projection.is_primary:
            self._watch_leases(spec.takeover_interval)
        return projection

    def _open(self, spec: AppSpec) -> AppProjection:
        clients = self.cluster(spec.settings)
        topics = clients.topics
        log = topics.ensure(spec.topics.events, spec.partitions, spec.replication, min_insync=spec.min_insync)
        topics.ensure(spec.topics.registry, 1, spec.replication, compacted=True, min_insync=spec.min_insync)
        return AppProjection(clients, spec, log)

    def _evict(self, max_open: int) -> None:
        """Close the least recently used projections beyond ``max_open`` (after their readers)."""
        with self._lock:
            ready = [(o.projection.last_used, key) for key, o in self._apps.items() if o.projection]
            ready.sort(key=lambda pair: pair[0])
            evicted = [self._apps.pop(key) for _, key in ready[: max(0, len(ready) - max(1, max_open))]]
        for opening in evicted:
            assert opening.projection is not None
            opening.projection.close()

    def discard(self, projection: AppProjection, replaced: bool = False) -> None:
        """Close a projection and drop it, so the next use opens it again.

        :param AppProjection projection: It closed, or its views were replaced.
        :param bool replaced: Its topic may have been created again: learn the topic anew too.
        """
        with self._lock:
            opening = self._apps.get(projection.spec.key)
            if opening is not None and opening.projection is projection:
                del self._apps[projection.spec.key]
        projection.close()
        if replaced:
            projection.clients.topics.forget(projection.log.name)

    def _watch_leases(self, interval: float) -> None:
        with self._lock:
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
            readers = [p for p in self.open_projections() if not p.is_primary]
            for projection in readers:
                try:
                    projection.try_takeover()
                except Exception:
                    logger.exception("takeover of %s failed", projection.log.name)
            if not readers:
                with self._lock:
                    self._watcher = None
                return

    def open_projections(self) -> list[AppProjection]:
        """The projections open now (tests count them)."""
        with self._lock:
            return [o.projection for o in self._apps.values() if o.projection is not None]

    def open_clusters(self) -> list[ClusterClients]:
        """The clusters this process has clients of now (the metrics read them)."""
        with self._lock:
            return list(self._clusters.values())

    def close_app(self, topics: AppTopics) -> None:
        """Close every open projection of an app (all clusters and folders)."""
        with self._lock:
            keys = [k for k, o in self._apps.items() if k[1] == topics and o.projection is not None]
            closing = [self._apps.pop(k) for k in keys]
        for opening in closing:
            assert opening.projection is not None
            opening.projection.close()

    def close_cluster(self, bootstrap_servers: str) -> None:
        """Close every projection and client of one cluster, so nothing here polls it any more.

        For a process done with a cluster (or about to see it stopped): its clients would
        otherwise reconnect for as long as the process lives. A later use opens new ones.

        :param str bootstrap_servers: The cluster, as its settings name it.
        """
        for close in self._cluster_closers:
            close(bootstrap_servers)
        with self._lock:
            ids = [i for i, c in self._clusters.items() if c.settings.bootstrap_servers == bootstrap_servers]
            clients = [self._clusters.pop(i) for i in ids]
            apps = [key for key in self._apps if key[0] in ids]  # keyed by the cluster's identity first
            closing = [o.projection for o in map(self._apps.pop, apps) if o.projection is not None]
        for projection in closing:
            projection.close()
        for cluster in clients:
            cluster.close()

    def close(self) -> None:
        """Close every projection and flush every producer (at exit)."""
        if os.getpid() != self._pid:
            return
        for close in self._cluster_closers:
            close(None)
        with self._lock:
            closing = [o.projection for o in self._apps.values() if o.projection is not None]
            self._apps.clear()
            clusters = list(self._clusters.values())
            self._clusters.clear()
        for projection in closing:
            try:
                projection.close()
            except Exception:
                logger.exception("closing projection %s", projection.log.name)
        for clients in clusters:
            clients.close()

    def after_fork_in_child(self) -> None:
        """Drop (never use, never close) what the parent opened; release inherited leases.

        Only plain Python data stays: the :class:`ClusterFacts` (cluster ids and topics do
        not change with a fork) and the event codec (parsed schemas), so a forked worker's
        first write pays for neither again.
        """
        for opening in self._apps.values():
            if opening.projection is not None:
                opening.projection.lease.release()
        self._abandoned.extend([*self._clusters.values(), *self._apps.values()])
        self._clusters = {}
        self._apps = {}
        self._lock = threading.Lock()
        self._watcher = None
        self._pid = os.getpid()


RUNTIME = Runtime()
atexit.register(RUNTIME.close)
os.register_at_fork(after_in_child=RUNTIME.after_fork_in_child)
