"""The app registry: a compacted topic keyed by app id, for ``discover_app_infos``."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from pynenc_kafka.producers.errors import KafkaUnavailableError
from pynenc_kafka.producers.publisher import OutgoingEvent
from pynenc_kafka.projections.barrier import EndOffsets
from pynenc_kafka.schemas.codec import UndecodableEventError
from pynenc_kafka.schemas.kinds import EventKind

if TYPE_CHECKING:
    from pynenc_kafka.core.cluster import ClusterClients


class AppRegistry:
    """Reads and writes the ``<prefix>.apps`` topic (one partition, compacted).

    :param ClusterClients clients: The cluster's clients.
    :param str topic: The registry topic.
    """

    def __init__(self, clients: ClusterClients, topic: str) -> None:
        self._clients = clients
        self._topic = topic

    def entry(self, app_id: str, app_info: dict[str, Any]) -> OutgoingEvent:
        """The registry record announcing an app (an ``AppInfoStored`` event)."""
        value = self._clients.codec.encode(
            app_id, EventKind.APP_INFO_STORED, app_info, str(uuid.uuid4()), datetime.now(UTC)
        )
        return OutgoingEvent(self._topic, 0, app_id.encode(), value, f"registry entry of app {app_id!r}")

    def tombstone(self, app_id: str) -> OutgoingEvent:
        """The record that removes an app from the registry (compaction drops it)."""
        return OutgoingEvent(self._topic, 0, app_id.encode(), None, f"registry removal of app {app_id!r}")

    def read(self) -> dict[str, dict[str, Any]]:
        """Every registered app: app id -> ``AppInfoStored`` payload (latest wins)."""
        self._clients.topics.ensure(self._topic, 1, compacted=True)
        clients = self._clients
        end = EndOffsets(
            clients.offsets_consumer, clients.admin, self._topic, clients.settings.timeout, clients.describe
        )([0])[0]
        apps: dict[str, dict[str, Any]] = {}
        if end == 0:
            return apps
        consumer = self._clients.new_consumer("pynenc-kafka-registry")
        try:
            consumer.assign([TopicPartition(self._topic, 0, OFFSET_BEGINNING)])
            position, deadline = 0, time.monotonic() + self._clients.settings.timeout
            while position < end:
                if time.monotonic() > deadline:
                    raise KafkaUnavailableError(
                        f"read only {position} of {end} records of {self._topic!r} within "
                        f"{self._clients.settings.timeout:g}s ({self._clients.settings.describe()})"
                    )
                for msg in consumer.consume(1000, 0.2):
                    if msg.error() is not None:
                        continue
                    position = cast(int, msg.offset()) + 1
                    key = (msg.key() or b"").decode()
                    if msg.value() is None:
                        apps.pop(key, None)
                        continue
                    try:
                        apps[key] = self._clients.codec.decode(msg.value()).payload
                    except UndecodableEventError:
                        continue
        finally:
            consumer.close()
        return apps
