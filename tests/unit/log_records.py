"""Log records built in memory, for the view writer's brokerless tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pynenc_kafka.schemas.codec import EventCodec
from pynenc_kafka.schemas.kinds import EventKind

CODEC = EventCodec()


class MemoryRecord:
    """A record of the log as :class:`~pynenc_kafka.projections.purge_hold.LogRecord` describes it.

    :param int partition: Its partition.
    :param int offset: Its offset.
    :param value: Its value.
    :param bytes key: Its key.
    """

    def __init__(self, partition: int, offset: int, value: bytes | None, key: bytes = b"k") -> None:
        self._partition, self._offset, self._value, self._key = partition, offset, value, key

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return self._key

    def value(self) -> bytes | None:
        return self._value


class MemoryLog:
    """An app's log in memory: append events, get records with their offsets.

    :param str app_id: The app the events belong to.
    :param int partitions: Partition count.
    """

    def __init__(self, app_id: str, partitions: int = 2) -> None:
        self.app_id = app_id
        self.partitions = partitions
        self.records: list[MemoryRecord] = []
        self._next = dict.fromkeys(range(partitions), 0)

    def append_bytes(self, partition: int, value: bytes | None) -> MemoryRecord:
        """Append raw bytes (our event or not) to ``partition``."""
        record = MemoryRecord(partition, self._next[partition], value)
        self._next[partition] += 1
        self.records.append(record)
        return record

    def append(
        self, partition: int, kind: EventKind, payload: dict[str, Any], app_id: str = ""
    ) -> MemoryRecord:
        """Append one encoded event of this app (or of ``app_id``) to ``partition``."""
        value = CODEC.encode(app_id or self.app_id, kind, payload, str(uuid.uuid4()), datetime.now(UTC))
        return self.append_bytes(partition, value)

    def result(self, partition: int, invocation_id: str, result: str = "1") -> MemoryRecord:
        """Append a ``ResultSet`` event."""
        return self.append(
            partition, EventKind.RESULT_SET, {"invocation_id": invocation_id, "serialized_result": result}
        )

    def purge(self, purge_id: str = "p1") -> list[MemoryRecord]:
        """Append one ``Purged`` marker to every partition."""
        marker = {"purge_id": purge_id, "partitions": self.partitions}
        return [self.append(p, EventKind.PURGED, marker) for p in range(self.partitions)]
