"""The purge hold: records behind a purge marker wait until every partition's marker arrived.

A purge writes one ``Purged`` marker to every partition of the log. A partition whose
marker has been applied stops (its later records are held) until the markers of all
partitions have arrived; then the app's state is dropped at once and the held records
follow. So nothing written before the purge survives it, and nothing written after it
is lost, whatever order the partitions are read in.

The pending purges are part of the checkpoint (:class:`CheckpointState`), so a restart
holds the same partitions again; the held records themselves are not stored: their
offsets were never committed, so they are read again.
"""

from __future__ import annotations

from typing import Any, Protocol


class LogRecord(Protocol):
    """One record of the log, as the view writer needs it (a confluent-kafka ``Message`` is one).

    Tests build records in memory; the projector hands over what its consumer returned.
    """

    def partition(self) -> int | None:
        """The record's partition."""

    def offset(self) -> int | None:
        """The record's offset in its partition."""

    def key(self) -> bytes | None:
        """The record's key (the aggregate id)."""

    def value(self) -> bytes | None:
        """The record's value (single-object encoded event)."""


class PurgeHold:
    """Which partitions wait behind a purge marker, and the records held meanwhile.

    :param dict pending: Purge id -> partitions whose marker was already applied; shared
        with (and persisted by) the checkpoint state, updated in place.
    """

    def __init__(self, pending: dict[str, list[int]]) -> None:
        self.pending = pending
        self._held: dict[int, list[LogRecord]] = {p: [] for ps in pending.values() for p in ps}

    @property
    def partitions(self) -> frozenset[int]:
        """Partitions held now: the consumer should not fetch them."""
        return frozenset(self._held)

    def holds(self, partition: int) -> bool:
        """Whether records of ``partition`` must wait."""
        return partition in self._held

    def keep(self, partition: int, record: LogRecord) -> None:
        """Hold ``record`` of a held partition until the purge completes."""
        self._held[partition].append(record)

    def marker(self, payload: dict[str, Any], partition: int) -> list[LogRecord] | None:
        """Register one partition's ``Purged`` marker.

        :param dict payload: The marker's payload (``purge_id``, ``partitions``).
        :param int partition: The partition it arrived on.
        :return: ``None`` while other partitions' markers are missing (this partition is now
            held); once all arrived, the held records to apply after the purge, in partition order.
        """
        seen = self.pending.setdefault(payload["purge_id"], [])
        if partition not in seen:
            seen.append(partition)
        if len(seen) < payload["partitions"]:
            self._held.setdefault(partition, [])
            return None
        del self.pending[payload["purge_id"]]
        released: list[LogRecord] = []
        for held_partition in sorted(self._held):
            released.extend(self._held.pop(held_partition))
        return released
