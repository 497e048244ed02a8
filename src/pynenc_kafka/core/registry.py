"""The app registry: a compacted topic keyed by app id, for ``discover_app_infos``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pynenc_kafka.core.compacted_topic import CompactedTopic
from pynenc_kafka.producers.publisher import OutgoingEvent
from pynenc_kafka.schemas.kinds import EventKind

if TYPE_CHECKING:
    from pynenc_kafka.core.cluster import ClusterClients


class AppRegistry:
    """Reads and writes the ``<prefix>.apps`` topic (one partition, compacted).

    :param ClusterClients clients: The cluster's clients.
    :param str topic: The registry topic.
    """

    def __init__(self, clients: ClusterClients, topic: str) -> None:
        self._table = CompactedTopic(clients, topic)

    def entry(self, app_id: str, app_info: dict[str, Any]) -> OutgoingEvent:
        """The registry record announcing an app (an ``AppInfoStored`` event)."""
        return self._table.record(
            app_id, app_id, EventKind.APP_INFO_STORED, app_info, str(uuid.uuid4()), datetime.now(UTC)
        )

    def tombstone(self, app_id: str) -> OutgoingEvent:
        """The record that removes an app from the registry (compaction drops it)."""
        return self._table.tombstone(app_id)

    def read(self) -> dict[str, dict[str, Any]]:
        """Every registered app: app id -> ``AppInfoStored`` payload (latest wins)."""
        return self._table.read()
