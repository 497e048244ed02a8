"""A compacted topic of our events, read whole: the latest event of every key.

The app registry (``<prefix>.apps``) and an app's runner heartbeats (``<prefix>.<app>.runners``)
are tables rather than logs: compaction keeps the latest record of each key, a tombstone removes
one. Reading one means reading every partition from its start to the end Kafka reports when the
read starts, so the answer includes every write acknowledged before the call.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, cast

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from pynenc_kafka.producers.errors import KafkaUnavailableError
from pynenc_kafka.producers.publisher import OutgoingEvent
from pynenc_kafka.projections.barrier import EndOffsets
from pynenc_kafka.schemas.codec import Event, UndecodableEventError
from pynenc_kafka.schemas.kafka_calls import learn_leaders
from pynenc_kafka.schemas.topology import partition_for

logger = logging.getLogger("pynenc_kafka.tables")

if TYPE_CHECKING:
    from datetime import datetime

    from pynenc_kafka.core.cluster import ClusterClients
    from pynenc_kafka.schemas.kinds import EventKind


class CompactedTopic:
    """One compacted topic of pynenc-kafka events, keyed by what it tabulates.

    :param ClusterClients clients: The cluster's clients.
    :param str name: The topic.
    :param int partitions: Its partitions if this process creates it.
    :param int replication: Its replication factor if this process creates it.
    """

    def __init__(
        self, clients: ClusterClients, name: str, partitions: int = 1, replication: int = -1
    ) -> None:
        self._clients = clients
        self.name = name
        self._partitions = partitions
        self._replication = replication

    def partitions(self) -> int:
        """The topic's partition count (created on first use, safely when many processes race)."""
        return self._clients.topics.ensure(
            self.name, self._partitions, self._replication, compacted=True
        ).partitions

    def record(
        self, app_id: str, key: str, kind: EventKind, payload: dict[str, Any], event_id: str, at: datetime
    ) -> OutgoingEvent:
        """The record that sets ``key`` to an event."""
        value = self._clients.codec.encode(app_id, kind, payload, event_id, at)
        return OutgoingEvent(
            self.name, partition_for(key, self.partitions()), key.encode(), value, f"{kind} of {key!r}"
        )

    def tombstone(self, key: str) -> OutgoingEvent:
        """The record that removes ``key`` (compaction drops it)."""
        return OutgoingEvent(
            self.name, partition_for(key, self.partitions()), key.encode(), None, f"removal of {key!r}"
        )

    def read(self, app_id: str | None = None) -> dict[str, dict[str, Any]]:
        """The latest event payload of every key (of one app's events when ``app_id`` is given).

        This process keeps a copy of the table (:class:`TableCopy`, one per cluster and topic) and
        reads only what was written since its last read, up to where Kafka said the topic ended
        when the call started.

        :raises KafkaUnavailableError: If the topic could not be read to its end within the timeout.
        """
        copy = self._clients.table_copy(self.name, self.partitions())
        return copy.read(app_id)


class TableCopy:
    """One process's copy of a compacted topic, brought up to date when read.

    It keeps one consumer, assigned every partition from the start, and the latest payload of every
    key; a read asks Kafka where the partitions end and consumes what is new. No thread: a copy
    nobody reads costs nothing but its consumer, which :meth:`close` releases.

    :param ClusterClients clients: The cluster's clients.
    :param str name: The topic.
    :param int partitions: Its partition count.
    """

    def __init__(self, clients: ClusterClients, name: str, partitions: int) -> None:
        self._clients = clients
        self.name = name
        self._partitions = partitions
        self._lock = threading.Lock()
        self._consumer: Consumer | None = None
        self._next: dict[int, int] = dict.fromkeys(range(partitions), 0)
        self._latest: dict[str, Event] = {}

    def read(self, app_id: str | None) -> dict[str, dict[str, Any]]:
        """The latest payload of every key, after reading what was written before the call."""
        clients = self._clients
        ends = EndOffsets(
            clients.offsets_consumer, clients.admin, self.name, clients.settings.timeout, clients.describe
        )(range(self._partitions))
        with self._lock:
            behind = {p: end for p, end in ends.items() if end > self._next.get(p, 0)}
            if behind:
                self._catch_up(behind)
            return {k: e.payload for k, e in self._latest.items() if app_id is None or e.app_id == app_id}

    def _catch_up(self, ends: dict[int, int]) -> None:
        clients = self._clients
        if self._consumer is None:
            self._consumer = clients.new_consumer(f"pynenc-kafka-table-{self.name}")
            learn_leaders(self._consumer, self.name, clients.settings.timeout)
            self._consumer.assign(
                [TopicPartition(self.name, p, OFFSET_BEGINNING) for p in range(self._partitions)]
            )
        deadline = time.monotonic() + clients.settings.timeout
        while ends:
            if time.monotonic() > deadline:
                raise KafkaUnavailableError(
                    f"could not read {self.name!r} to its end within {clients.settings.timeout:g}s "
                    f"(records left per partition: {ends}; {clients.settings.describe()})"
                )
            for msg in self._consumer.consume(1000, 0.05):
                if msg.error() is not None:
                    continue
                partition, offset = cast(int, msg.partition()), cast(int, msg.offset())
                self._next[partition] = offset + 1
                if offset + 1 >= ends.get(partition, 0):
                    ends.pop(partition, None)
                self._apply(msg.key(), msg.value())
            # A compacted partition may end in a gap: its end offset is then past its last record.
            for partition, end in list(ends.items()):
                position = self._consumer.position([TopicPartition(self.name, partition)])[0].offset
                if position >= end:
                    self._next[partition] = position
                    ends.pop(partition)

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        name = (key or b"").decode()
        if value is None:
            self._latest.pop(name, None)
            return
        try:
            self._latest[name] = self._clients.codec.decode(value)
        except UndecodableEventError:
            logger.warning(
                "skipped a record of %s that is not a pynenc-kafka event (key %r)", self.name, name
            )

    def close(self) -> None:
        """Close the consumer (the copy reads from the start again if used afterwards)."""
        with self._lock:
            if self._consumer is not None:
                self._consumer.close()
                self._consumer = None
            self._next = dict.fromkeys(range(self._partitions), 0)
            self._latest.clear()
