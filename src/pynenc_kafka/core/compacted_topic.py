"""A compacted topic of our events, read whole: the latest event of every key.

The app registry (``<prefix>.apps``) and an app's runner heartbeats (``<prefix>.<app>.runners``)
are tables rather than logs: compaction keeps the latest record of each key, a tombstone removes
one. Reading one means reading every partition from its start to the end Kafka reports when the
read starts, so the answer includes every write acknowledged before the call.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from pynenc_kafka.producers.errors import KafkaUnavailableError
from pynenc_kafka.producers.publisher import OutgoingEvent
from pynenc_kafka.projections.barrier import EndOffsets
from pynenc_kafka.schemas.codec import UndecodableEventError
from pynenc_kafka.schemas.kafka_calls import learn_leaders
from pynenc_kafka.schemas.topology import partition_for

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

        :raises KafkaUnavailableError: If the topic could not be read to its end within the timeout.
        """
        clients, count = self._clients, self.partitions()
        ends = EndOffsets(
            clients.offsets_consumer, clients.admin, self.name, clients.settings.timeout, clients.describe
        )(range(count))
        latest: dict[str, dict[str, Any]] = {}
        remaining = {p: end for p, end in ends.items() if end > 0}
        if not remaining:
            return latest
        consumer = clients.new_consumer(f"pynenc-kafka-table-{self.name}")
        try:
            learn_leaders(consumer, self.name, clients.settings.timeout)
            consumer.assign([TopicPartition(self.name, p, OFFSET_BEGINNING) for p in remaining])
            deadline = time.monotonic() + clients.settings.timeout
            while remaining:
                if time.monotonic() > deadline:
                    raise KafkaUnavailableError(
                        f"could not read {self.name!r} to its end within {clients.settings.timeout:g}s "
                        f"(records left per partition: {remaining}; {clients.settings.describe()})"
                    )
                for msg in consumer.consume(1000, 0.2):
                    if msg.error() is not None:
                        continue
                    partition, offset = cast(int, msg.partition()), cast(int, msg.offset())
                    if offset + 1 >= remaining.get(partition, 0):
                        remaining.pop(partition, None)
                    key = (msg.key() or b"").decode()
                    if msg.value() is None:
                        latest.pop(key, None)
                        continue
                    try:
                        event = clients.codec.decode(msg.value())
                    except UndecodableEventError:
                        continue
                    if app_id is None or event.app_id == app_id:
                        latest[key] = event.payload
        finally:
            consumer.close()
        return latest
