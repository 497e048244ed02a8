"""One app's broker queue in one process: its queue topic written to, and followed into a table.

Routing writes ``Routed`` records; retrieving catches the table up with the queue's partition,
claims the head entry with a ``Claimed`` record keyed by that entry, waits until the table
applied the claim and reads whether it won (the first claim after the entry's ``Routed`` wins,
in every process alike). A claim that lost tries the next head: the table has then applied
everything up to the claim, so the queue is empty only if nothing is queued behind it.
"""

from __future__ import annotations

import functools
import os
import random
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pynenc_kafka.core.client_settings import KafkaClientSettings
from pynenc_kafka.core.cluster import ClusterClients
from pynenc_kafka.core.conf import ConfigBrokerKafka
from pynenc_kafka.producers.publisher import OutgoingEvent, Position
from pynenc_kafka.producers.topics import TopicInfo
from pynenc_kafka.projections.barrier import EndOffsets
from pynenc_kafka.projections.queue_follower import QueueFollower
from pynenc_kafka.projections.queue_state import QueueEntry, QueueState
from pynenc_kafka.schemas.queue_codec import QueueCodec, QueueKind
from pynenc_kafka.schemas.topology import AppTopics, partition_for

#: Settings of a new queue topic. Compacted: an entry's latest record stays, the rest goes; once
#: a claim won, its retriever writes the entry's tombstone, so a decided entry leaves nothing
#: behind. Segments roll every minute so the cleaner can reach them; a record is kept at least
#: ``min.compaction.lag.ms`` (5 min, well past the read barrier's 30 s), so a table that keeps up
#: within that time sees every record; a tombstone stays a day (``delete.retention.ms``), so a
#: table reading from the start must reach the end within a day to see it; the cleaner runs once
#: 10% of a log is dirty.
QUEUE_TOPIC_CONFIG = {
    "segment.ms": "60000",
    "min.compaction.lag.ms": "300000",
    "delete.retention.ms": "86400000",
    "min.cleanable.dirty.ratio": "0.1",
}

#: Entries of the head's priority a retriever draws its next claim from after losing claims.
MAX_SPREAD = 8


@dataclass(frozen=True)
class QueueSpec:
    """One app's queue as a process opens it.

    :param KafkaClientSettings settings: How to reach the cluster.
    :param AppTopics topics: The app's topics.
    :param int partitions: Partitions of the queue topic if this process creates it.
    :param int replication: Replication factor if created.
    :param int min_insync: ``min.insync.replicas`` if created.
    :param float timeout: Seconds a retrieval may wait for the table.
    :param int max_open: Queue tables the process keeps open at once.
    """

    settings: KafkaClientSettings
    topics: AppTopics
    partitions: int
    replication: int
    min_insync: int
    timeout: float
    max_open: int

    @classmethod
    def from_config(cls, conf: ConfigBrokerKafka, app_id: str) -> QueueSpec:
        """The queue of ``app_id`` under the broker's settings."""
        return cls(
            settings=KafkaClientSettings.from_config(conf),
            topics=AppTopics(conf.kafka_topic_prefix, app_id),
            partitions=conf.queue_partitions,
            replication=int(conf.kafka_replication_factor),
            min_insync=int(conf.kafka_min_insync_replicas),
            timeout=float(conf.kafka_read_barrier_timeout),
            max_open=int(conf.kafka_max_open_projections),
        )

    @property
    def key(self) -> tuple[str, str]:
        """What makes two specs the same table in a process."""
        return (self.settings.identity, self.topics.queue)


class QueueTable:
    """One app's queue topic, written through the cluster's producer and followed here.

    :param ClusterClients clients: The cluster's clients.
    :param QueueSpec spec: The app's queue.
    :param TopicInfo topic: The queue topic as the cluster serves it.
    :param QueueCodec codec: Encoder and decoder of queue records.
    """

    def __init__(self, clients: ClusterClients, spec: QueueSpec, topic: TopicInfo, codec: QueueCodec) -> None:
        self.clients = clients
        self.spec = spec
        self.topic = topic
        self.app_id = spec.topics.app_id
        self.pid = os.getpid()
        self._codec = codec
        self._follower: QueueFollower | None = None
        #: Entries of the head's priority the next claim is drawn from (1: the head), see retrieve.
        self._spread = 1
        #: Claims of this process that another process's claim beat (the benchmark reports them).
        self.claims_lost = 0
        self.last_used = time.monotonic()
        self.users = 0
        self.closing = False
        self._guard = threading.Lock()

    @property
    def follower(self) -> QueueFollower:
        """The table's follower, started on first need (a process that only routes never reads the topic)."""
        follower = self._follower
        if follower is not None:
            return follower
        with self._guard:
            if self._follower is None:
                clients, topic = self.clients, self.topic
                end_offsets = EndOffsets(
                    clients.offsets_consumer,
                    clients.admin,
                    topic.name,
                    clients.settings.timeout,
                    clients.describe,
                )
                self._follower = QueueFollower(
                    QueueState(self.app_id, topic.name, self._codec),
                    lambda: clients.new_consumer("pynenc-kafka-queue", {"enable.partition.eof": True}),
                    topic.partitions,
                    end_offsets,
                    self.spec.timeout,
                )
                self._follower.start()
            return self._follower

    def partition_of(self, queue_name: str) -> int:
        """The partition that carries every record of ``queue_name``."""
        return partition_for(queue_name, self.topic.partitions)

    # -- the broker's operations -----------------------------------------------------------

    def route(self, invocation_ids: Sequence[str], queue_name: str, priority: float) -> list[Position]:
        """Queue one entry per invocation id (in order), acknowledged by Kafka before returning."""
        partition = self.partition_of(queue_name)
        records = []
        for invocation_id in invocation_ids:
            entry_id = str(uuid.uuid4())
            payload = {
                "entry_id": entry_id,
                "invocation_id": str(invocation_id),
                "queue_name": queue_name,
                "priority": float(priority),
            }
            records.append(self._record(QueueKind.ROUTED, payload, partition, entry_id, invocation_id))
        return self._publish(records)

    def retrieve(self, queue_name: str) -> str | None:
        """Take the next invocation of ``queue_name`` for this process, or ``None`` if none is queued.

        A lone retriever's claim names the head. When claims lose (other processes took those
        entries at the same moment), the next ones name an entry drawn from the first few of the
        head's priority, as many as the recent losses suggest, so retrievers racing for one queue
        stop naming the same entry; the spread shrinks again as claims win at once.
        """
        partition = self.partition_of(queue_name)
        self.follower.catch_up([partition])
        while True:
            most = self._spread
            entries = self.follower.read(
                functools.partial(_heads, partition=partition, queue_name=queue_name, most=most)
            )
            if not entries:
                return None
            entry = entries[0] if len(entries) == 1 else random.choice(entries)
            won = self._claim(entry)
            self.claims_lost += not won
            self._spread = max(1, self._spread // 2) if won else min(MAX_SPREAD, self._spread + 1)
            if won:
                return entry.invocation_id

    def _claim(self, entry: QueueEntry) -> bool:
        """Write a claim of ``entry``, wait until the table applied it, and say whether it won."""
        claim_id = str(uuid.uuid4())
        payload = {
            "entry_id": entry.entry_id,
            "claim_id": claim_id,
            "queue_name": entry.queue_name,
            "invocation_id": entry.invocation_id,
        }
        self.follower.want(claim_id)
        try:
            (position,) = self._publish(
                [
                    self._record(
                        QueueKind.CLAIMED, payload, entry.partition, entry.entry_id, entry.invocation_id
                    )
                ]
            )
            self.follower.wait_applied(position.partition, position.offset)
        finally:
            outcome = self.follower.outcome(claim_id)
        if outcome is None:
            raise RuntimeError(
                f"the queue table of {self.topic.name} applied claim {claim_id} without a decision"
            )
        if outcome.won:  # the entry is decided: compaction may now drop every record of it
            tombstone = OutgoingEvent(
                self.topic.name,
                entry.partition,
                entry.entry_id.encode(),
                None,
                f"tombstone of {entry.entry_id}",
            )
            self.clients.publisher.publish_unwaited([tombstone])
        return outcome.won

    def count(self, queue_names: Iterable[str]) -> int:
        """Entries queued in ``queue_names`` now (behind the barrier of their partitions)."""
        names = list(queue_names)
        if not names:
            return 0
        self.follower.catch_up(sorted({self.partition_of(name) for name in names}))
        return self.follower.read(lambda state: state.count(names))

    def purge(self) -> None:
        """Drop every queued entry: a ``QueuePurged`` marker on every partition, acknowledged."""
        purge_id = str(uuid.uuid4())
        self._publish(
            [
                self._record(QueueKind.QUEUE_PURGED, {"purge_id": purge_id}, p, purge_id, "every entry")
                for p in range(self.topic.partitions)
            ]
        )

    # -- plumbing ----------------------------------------------------------------------------

    def _record(
        self, kind: QueueKind, payload: dict[str, Any], partition: int, key: str, about: str
    ) -> OutgoingEvent:
        return OutgoingEvent(
            topic=self.topic.name,
            partition=partition,
            key=key.encode(),
            value=self._codec.encode(self.app_id, kind, payload),
            label=f"{kind} of {about} in app {self.app_id!r}",
        )

    def _publish(self, records: list[OutgoingEvent]) -> list[Position]:
        publisher = self.clients.publisher
        publisher.check_sizes(records, self.topic.max_message_bytes)
        return publisher.publish(records)

    # -- held while used, closed after its last user -------------------------------------------

    def acquire(self) -> bool:
        """Hold the table for one call; ``False`` if it is closing (open a new one)."""
        with self._guard:
            if self.closing:
                return False
            self.users += 1
            self.last_used = time.monotonic()
            return True

    def release(self) -> None:
        """End one call's hold; the last one out of a closing table stops it."""
        with self._guard:
            self.users -= 1
            stop = self.closing and self.users == 0
        if stop:
            self._stop()

    def close(self) -> None:
        """Stop following once no call holds the table."""
        with self._guard:
            self.closing = True
            stop = self.users == 0
        if stop:
            self._stop()

    def _stop(self) -> None:
        if self._follower is not None:
            self._follower.stop()


def _heads(state: QueueState, partition: int, queue_name: str, most: int) -> list[QueueEntry]:
    return state.heads(partition, queue_name, most)
