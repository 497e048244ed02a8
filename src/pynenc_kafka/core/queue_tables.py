"""Per-process sharing of the broker's queue tables, fork-safe and bounded.

Every broker of one app in one process shares one :class:`QueueTable` (one follower thread),
created on first use. At most ``kafka_max_open_projections`` tables stay open (the least
recently used one closes first, once its calls are done; its next use reads the compacted
queue topic again), so a test session's hundreds of apps leave no threads behind; everything
closes at exit. A forked child drops what it inherited (never closing librdkafka handles
across a fork) and builds its own on first use.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable

from pynenc_kafka.core.queue_table import QUEUE_TOPIC_CONFIG, QueueSpec, QueueTable
from pynenc_kafka.core.runtime import RUNTIME
from pynenc_kafka.schemas.queue_codec import QueueCodec
from pynenc_kafka.schemas.topology import AppTopics

logger = logging.getLogger("pynenc_kafka.queue")

#: Times a call opens a table again when the one it took was closing.
_REOPENS = 5


class QueueTables:
    """Every queue table this process keeps open."""

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._opening = threading.Lock()
        self._tables: dict[tuple[str, str], QueueTable] = {}
        self._codec: QueueCodec | None = None
        self._abandoned: list[QueueTable] = []

    def use[T](self, spec: QueueSpec, work: Callable[[QueueTable], T]) -> T:
        """Run ``work`` on the app's table, held open meanwhile (opened on first use)."""
        for _ in range(_REOPENS):
            table = self._table(spec)
            if not table.acquire():
                self._forget(table)
                continue
            try:
                return work(table)
            finally:
                table.release()
        raise RuntimeError(f"the queue table of {spec.topics.queue} kept closing; try again")

    def _table(self, spec: QueueSpec) -> QueueTable:
        table = self._tables.get(spec.key)
        if table is not None and not table.closing:
            return table
        with self._opening:  # one table opens at a time: creating the topic waits on the network
            table = self._tables.get(spec.key)
            if table is None or table.closing:
                table = self._open(spec)
                with self._lock:
                    self._tables[spec.key] = table
                self._evict(spec.max_open)
        return table

    def _open(self, spec: QueueSpec) -> QueueTable:
        if self._codec is None:
            self._codec = QueueCodec()
        clients = RUNTIME.cluster(spec.settings)
        topic = clients.topics.ensure(
            spec.topics.queue,
            spec.partitions,
            spec.replication,
            compacted=True,
            min_insync=spec.min_insync,
            config=QUEUE_TOPIC_CONFIG,
        )
        return QueueTable(clients, spec, topic, self._codec)

    def _evict(self, max_open: int) -> None:
        with self._lock:
            ready = sorted(self._tables.items(), key=lambda item: item[1].last_used)
            evicted = [self._tables.pop(key) for key, _ in ready[: max(0, len(ready) - max(1, max_open))]]
        for table in evicted:
            table.close()

    def _forget(self, table: QueueTable) -> None:
        with self._lock:
            key = table.spec.key
            if self._tables.get(key) is table:
                del self._tables[key]

    def open_tables(self) -> list[QueueTable]:
        """The tables open now (tests count them)."""
        with self._lock:
            return list(self._tables.values())

    def close_cluster(self, bootstrap_servers: str | None) -> None:
        """Close the tables of one cluster (every table if ``None``), so nothing here polls it any more."""
        self._close_where(
            lambda table: (
                bootstrap_servers is None or table.spec.settings.bootstrap_servers == bootstrap_servers
            )
        )

    def _close_where(self, chosen: Callable[[QueueTable], bool]) -> None:
        """Close the tables ``chosen`` picks (none in a forked child: they are its parent's)."""
        if os.getpid() != self._pid:
            return
        with self._lock:
            keys = [key for key, table in self._tables.items() if chosen(table)]
            closing = [self._tables.pop(key) for key in keys]
        for table in closing:
            try:
                table.close()
            except Exception:
                logger.exception("closing the queue table of %s", table.topic.name)

    def close_app(self, topics: AppTopics) -> None:
        """Close the app's tables (every cluster), as ``RUNTIME.close_app`` closes its projections."""
        self._close_where(lambda table: table.spec.topics == topics)

    def close(self) -> None:
        """Close every table (at exit)."""
        self.close_cluster(None)

    def after_fork_in_child(self) -> None:
        """Drop (never use, never close) what the parent opened."""
        self._abandoned.extend(self._tables.values())
        self._tables = {}
        self._lock = threading.Lock()
        self._opening = threading.Lock()
        self._pid = os.getpid()


QUEUE_TABLES = QueueTables()
atexit.register(QUEUE_TABLES.close)  # registered after the runtime's: runs before it closes the clients
os.register_at_fork(after_in_child=QUEUE_TABLES.after_fork_in_child)
RUNTIME.on_close_cluster(QUEUE_TABLES.close_cluster)
