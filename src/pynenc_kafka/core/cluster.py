"""The Kafka clients one process keeps for one cluster: admin, topics, a shared producer."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient

from pynenc_kafka.core.client_settings import KafkaClientSettings
from pynenc_kafka.core.compacted_topic import TableCopy
from pynenc_kafka.observability.metrics import WRITES
from pynenc_kafka.producers.publisher import EventPublisher
from pynenc_kafka.producers.topics import ClusterFacts, TopicProvisioner
from pynenc_kafka.schemas.access import AuthenticationWatch
from pynenc_kafka.schemas.codec import EventCodec

#: Copies of compacted topics (runner tables of apps) one process keeps open per cluster.
MAX_TABLE_COPIES = 32


class ClusterClients:
    """The clients one process keeps for one cluster, shared by every app and thread.

    :param KafkaClientSettings settings: How to reach the cluster.
    :param ClusterFacts facts: What the process already knows of the cluster.
    :param EventCodec codec: The process's event codec (parsed schemas).
    """

    def __init__(self, settings: KafkaClientSettings, facts: ClusterFacts, codec: EventCodec) -> None:
        self.settings = settings
        self.describe = settings.describe()
        #: Every client's ``error_cb``: remembers a login the cluster refused.
        self.watch = AuthenticationWatch()
        admin_config: dict[str, Any] = {**settings.admin_config(), "error_cb": self.watch}
        self.admin = AdminClient(admin_config)
        self.topics = TopicProvisioner(
            self.admin,
            settings.timeout,
            self.describe,
            settings.max_message_bytes,
            facts,
            self.watch,
            settings.principal,
        )
        self.codec = codec
        self._publisher: EventPublisher | None = None
        self._creating = threading.Lock()
        self._offsets_consumer: Consumer | None = None
        self._tables: OrderedDict[str, TableCopy] = OrderedDict()

    @property
    def publisher(self) -> EventPublisher:
        """The process's producer for this cluster, created (and connected) on first write.

        Threads that write at once wait for the one creating it, so the process has one producer.
        """
        publisher = self._publisher
        if publisher is not None:
            return publisher
        with self._creating:
            if self._publisher is None:
                self._publisher = EventPublisher(
                    {**self.settings.producer_config(), "error_cb": self.watch},
                    self.settings.timeout,
                    self.describe,
                    WRITES,
                )
            return self._publisher

    @property
    def offsets_consumer(self) -> Consumer:
        """The process's consumer for end-offset requests (read barriers), created on first use.

        It is never assigned and never polled: librdkafka's offset queries are thread-safe, so
        every app's barrier shares it.
        """
        consumer = self._offsets_consumer
        if consumer is not None:
            return consumer
        with self._creating:
            if self._offsets_consumer is None:
                self._offsets_consumer = self.new_consumer("pynenc-kafka-end-offsets")
            return self._offsets_consumer

    @property
    def existing_publisher(self) -> EventPublisher | None:
        """The producer if this process wrote already, else ``None`` (never creates one)."""
        return self._publisher

    @property
    def cluster_id(self) -> str:
        """The cluster's id (asked once per process, and not again in forked children)."""
        return self.topics.cluster_id()

    def new_consumer(self, client_id: str, overrides: dict[str, object] | None = None) -> Consumer:
        """A consumer with manual assignment and no Kafka offset commits.

        :param str client_id: Shown in broker logs.
        :param overrides: Options that win over the configured ones (what the caller depends on).
        """
        return Consumer(
            {**self.settings.consumer_config(client_id), "error_cb": self.watch, **(overrides or {})}
        )

    def table_copy(self, topic: str, partitions: int) -> TableCopy:
        """This process's copy of a compacted topic (at most :data:`MAX_TABLE_COPIES` are kept open;
        the least recently read one closes first, and reads from the start when used again)."""
        with self._creating:
            copy = self._tables.get(topic)
            if copy is None:
                copy = self._tables[topic] = TableCopy(self, topic, partitions)
            self._tables.move_to_end(topic)
            evicted = [
                self._tables.popitem(last=False)[1] for _ in range(len(self._tables) - MAX_TABLE_COPIES)
            ]
        for old in evicted:
            old.close()
        return copy

    def close(self) -> None:
        """Flush the producer and close the consumers; the admin client closes with the object."""
        for copy in list(self._tables.values()):
            copy.close()
        self._tables.clear()
        if self._publisher is not None:
            self._publisher.close()
        if self._offsets_consumer is not None:
            self._offsets_consumer.close()
