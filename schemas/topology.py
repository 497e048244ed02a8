"""Where events travel: topic names per app and the partition of each aggregate.

Both sides agree on this: the producer writes an aggregate's events to
:func:`partition_for` of its key, and the read barrier waits on that same partition.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass
from functools import cached_property

_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]+")
_MAX_READABLE = 120


def partition_for(key: str, partitions: int) -> int:
    """Return the partition that carries every event of the aggregate ``key``.

    :param str key: Aggregate id (invocation id, workflow id, runner id, ...).
    :param int partitions: Partition count of the app's log.
    :return: A partition number in ``range(partitions)``.
    """
    return zlib.crc32(key.encode()) % partitions


def topic_safe(app_id: str) -> str:
    """Return a Kafka-legal, readable, collision-free name part for an app id.

    Characters Kafka does not allow become ``_``; a short hash of the true app id keeps
    two ids that sanitize alike apart. The true id travels inside the events.

    :param str app_id: Any pynenc app id.
    :return: ``<sanitized>-<8 hex chars>``.
    """
    readable = _UNSAFE.sub("_", app_id).strip("_")[:_MAX_READABLE] or "app"
    digest = hashlib.sha256(app_id.encode()).hexdigest()[:8]
    return f"{readable}-{digest}"


@dataclass(frozen=True)
class AppTopics:
    """The topics of one app under one prefix (names computed once, then kept).

    :param str prefix: Topic prefix shared by every app of a deployment.
    :param str app_id: The pynenc app id.
    """

    prefix: str
    app_id: str

    @cached_property
    def events(self) -> str:
        """The app's event log: ``<prefix>.<app>.events``."""
        return f"{self.prefix}.{topic_safe(self.app_id)}.events"

    @cached_property
    def runners(self) -> str:
        """The app's runner heartbeats, compacted by runner id: ``<prefix>.<app>.runners``."""
        return f"{self.prefix}.{topic_safe(self.app_id)}.runners"

    @cached_property
    def queue(self) -> str:
        """The app's broker queue: ``<prefix>.<app>.queue`` (compacted queue traffic, not audit history)."""
        return f"{self.prefix}.{topic_safe(self.app_id)}.queue"

    @property
    def registry(self) -> str:
        """The compacted registry of every app's info: ``<prefix>.apps``."""
        return registry_topic(self.prefix)


def registry_topic(prefix: str) -> str:
    """Return the compacted app registry topic for a prefix.

    :param str prefix: Topic prefix.
    """
    return f"{prefix}.apps"
