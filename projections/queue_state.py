"""The queue table's applier: the broker's queues, decided in the queue topic's log order.

It has no thread, no consumer and no I/O: the live follower
(:class:`~pynenc_kafka.projections.queue_follower.QueueFollower`) feeds it what its consumer
reads, and a test feeds it records built in memory
(:class:`~pynenc_kafka.projections.purge_hold.LogRecord`). Every process that applies the same
records in the same order holds the same queues and reaches the same decisions:

- ``Routed`` queues an entry (its ``entry_id`` is the record's key); an entry seen again is ignored.
- ``Claimed`` names the entry it wants: the first claim after the entry's ``Routed`` wins and
  takes the entry out of its queue; a later one, or one for an entry this table never saw
  queued, loses.
- ``QueuePurged`` drops every entry queued before it on its partition.
- A tombstone (no value, keyed by an entry id) follows a claim that won; the entry is gone already.

Within a queue, entries are handed out by exact priority (higher first), then in log order.
The queue topic is compacted: once an entry was claimed its latest record is a claim (then its
tombstone), so compaction may drop its ``Routed``; a table built from the compacted log then
never sees the entry, which is the state the full log leads to as well (the entry is not queued).
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import cast

from pynenc_kafka.projections.purge_hold import LogRecord
from pynenc_kafka.schemas.codec import UndecodableEventError
from pynenc_kafka.schemas.queue_codec import QueueCodec, QueueKind, QueueRecord

logger = logging.getLogger("pynenc_kafka.queue")


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One queued invocation.

    :param str entry_id: The entry (one routing of one invocation).
    :param str invocation_id: The invocation it hands out.
    :param str queue_name: Its queue.
    :param float priority: Its priority.
    :param int partition: The partition of its ``Routed`` record.
    :param int offset: The offset of its ``Routed`` record (its place in line).
    """

    entry_id: str
    invocation_id: str
    queue_name: str
    priority: float
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class ClaimOutcome:
    """What the table decided for one ``Claimed`` record.

    :param str claim_id: The claim.
    :param str entry_id: The entry it named.
    :param entry: The entry it won, or ``None`` if it lost.
    """

    claim_id: str
    entry_id: str
    entry: QueueEntry | None

    @property
    def won(self) -> bool:
        """Whether this claim took the entry."""
        return self.entry is not None


@dataclass
class _PartitionQueues:
    """The queues of one partition: queued entries and, per queue, a heap by (-priority, offset)."""

    entries: dict[str, QueueEntry] = field(default_factory=dict)
    lines: dict[str, list[tuple[float, int, str]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, entry: QueueEntry) -> None:
        self.entries[entry.entry_id] = entry
        line = self.lines.setdefault(entry.queue_name, [])
        heapq.heappush(line, (-entry.priority, entry.offset, entry.entry_id))
        self.counts[entry.queue_name] = self.counts.get(entry.queue_name, 0) + 1

    def take(self, entry_id: str) -> QueueEntry | None:
        entry = self.entries.pop(entry_id, None)
        if entry is not None:  # its heap item goes when it reaches the top (see head)
            self.counts[entry.queue_name] -= 1
        return entry

    def head(self, queue_name: str) -> QueueEntry | None:
        line = self.lines.get(queue_name)
        while line:
            entry = self.entries.get(line[0][2])
            if entry is not None:
                return entry
            heapq.heappop(line)
        return None


class QueueState:
    """Every queue of one app's queue topic, as its records decided them.

    :param str app_id: The app; records of other apps are skipped.
    :param str topic: The queue topic, named in warnings.
    :param QueueCodec codec: Decoder of the records.
    """

    def __init__(self, app_id: str, topic: str, codec: QueueCodec) -> None:
        self.app_id = app_id
        self.topic = topic
        self._codec = codec
        self._partitions: dict[int, _PartitionQueues] = {}
        #: Records skipped (not queue records of this app), per partition.
        self.skipped: dict[int, int] = {}

    def apply(self, record: LogRecord) -> ClaimOutcome | None:
        """Apply one record (each partition in log order).

        :return: The outcome if the record was a claim, else ``None``.
        """
        partition, offset = cast(int, record.partition()), cast(int, record.offset())
        if record.value() is None:  # a tombstone: its entry was claimed (and is gone) already
            key = record.key()
            if key is not None and partition in self._partitions:
                self._partitions[partition].take(key.decode(errors="replace"))
            return None
        try:
            decoded = self._codec.decode(record.value())
        except UndecodableEventError as exc:
            self._skip(partition, offset, str(exc))
            return None
        if decoded.app_id != self.app_id:
            self._skip(partition, offset, f"record of app {decoded.app_id!r}, not {self.app_id!r}")
            return None
        return self.apply_decoded(partition, offset, decoded)

    def apply_decoded(self, partition: int, offset: int, record: QueueRecord) -> ClaimOutcome | None:
        """Apply one decoded record found at ``(partition, offset)``."""
        queues = self._partitions.setdefault(partition, _PartitionQueues())
        payload = record.payload
        if record.kind is QueueKind.ROUTED:
            if payload["entry_id"] not in queues.entries:
                queues.add(
                    QueueEntry(
                        payload["entry_id"],
                        payload["invocation_id"],
                        payload["queue_name"],
                        float(payload["priority"]),
                        partition,
                        offset,
                    )
                )
            return None
        if record.kind is QueueKind.CLAIMED:
            entry = queues.take(payload["entry_id"])
            return ClaimOutcome(payload["claim_id"], payload["entry_id"], entry)
        self._partitions[partition] = _PartitionQueues()  # QueuePurged
        return None

    def head(self, partition: int, queue_name: str) -> QueueEntry | None:
        """The entry ``queue_name`` hands out next: highest priority, then earliest in the log."""
        queues = self._partitions.get(partition)
        return queues.head(queue_name) if queues is not None else None

    def heads(self, partition: int, queue_name: str, most: int) -> list[QueueEntry]:
        """The first ``most`` entries of ``queue_name`` that share the head's priority, in line order.

        Retrievers that lost a claim to another spread their next claims over these instead of
        all claiming the one head again; a lower priority is never among them.
        """
        head = self.head(partition, queue_name)
        if head is None or most <= 1:
            return [] if head is None else [head]
        queues = self._partitions[partition]
        found = []
        for _, _, entry_id in heapq.nsmallest(2 * most + 8, queues.lines[queue_name]):
            entry = queues.entries.get(entry_id)
            if entry is not None and entry.priority == head.priority:
                found.append(entry)
        return found[:most]

    def count(self, queue_names: Iterable[str]) -> int:
        """Entries queued now in ``queue_names`` (over every partition)."""
        names = set(queue_names)
        return sum(n for q in self._partitions.values() for name, n in q.counts.items() if name in names)

    def queued(self, partition: int, queue_name: str) -> list[QueueEntry]:
        """Every entry queued in ``queue_name``, in the order they would be handed out (tests compare)."""
        queues = self._partitions.get(partition)
        if queues is None:
            return []
        found = [e for e in queues.entries.values() if e.queue_name == queue_name]
        return sorted(found, key=lambda e: (-e.priority, e.offset))

    def _skip(self, partition: int, offset: int, why: str) -> None:
        self.skipped[partition] = self.skipped.get(partition, 0) + 1
        logger.warning("skipped record at %s partition %d offset %d: %s", self.topic, partition, offset, why)
