"""A component's way to its app's log: events encoded, size-checked, published, acknowledged.

Every Kafka component of an app (state backend, orchestrator, client data store) writes events to
the same log and reads the same projection; this is the one place that keys, partitions, encodes
and checks an event, and waits for Kafka's acknowledgement.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from pynenc_kafka.core.app_projection import AppProjection, AppSpec
from pynenc_kafka.core.fork_bridge import SERVER as FORK_BRIDGE
from pynenc_kafka.core.fork_bridge import through_parent
from pynenc_kafka.core.projection_access import ProjectionAccess
from pynenc_kafka.producers.publisher import LARGE_VALUE_ADVICE, OutgoingEvent, Position
from pynenc_kafka.schemas.kinds import EventKind, PurgeScope
from pynenc_kafka.schemas.topology import partition_for

#: (event kind, payload) of one event to publish; the kind names its aggregate key.
Record = tuple[EventKind, dict[str, Any]]


class _HeldWrites(threading.local):
    """This thread's writes held by :meth:`AppLog.together`, per app."""

    def __init__(self) -> None:
        self.depth: dict[tuple[str, str], int] = {}
        self.records: dict[tuple[str, str], list[Record]] = {}


_HELD = _HeldWrites()


class AppLog:
    """One app's log and projection, as a component of this process uses them.

    Its writes are the one place every component's events go through, so it is also where a
    forked task process hands them to the process it was forked from (see ``fork_bridge``).

    :param AppSpec spec: The app and where its projection lives.
    :param float bridge_seconds: For how long after a fork a forked child's writes go through
        the parent (``KAFKA_FORK_BRIDGE_SECONDS``; 0: never).
    """

    def __init__(self, spec: AppSpec, bridge_seconds: float = 0.0) -> None:
        self.spec = spec
        self.app_id = spec.topics.app_id
        #: Reads of the projection, behind the read barrier where needed.
        self.reads = ProjectionAccess(spec)
        self.bridge_seconds = bridge_seconds
        #: The app's log on its cluster: the components of an app share what a thread holds for it.
        self._held_key = (spec.settings.identity, spec.topics.events)
        FORK_BRIDGE.register(self)

    def publish(
        self, records: Sequence[Record], *extra: OutgoingEvent, advice: str = LARGE_VALUE_ADVICE
    ) -> list[Position]:
        """Publish one call's events, after any this thread holds for the app, and wait once for Kafka
        (see :func:`publish_checked`).

        :return: The positions of every event written, the held ones first.
        """
        return self._write([*self.take_held(), *records], *extra, advice=advice)

    def publish_soon(self, records: Sequence[Record]) -> None:
        """Publish events whose positions nobody needs: held for the next write when this thread is
        in a :meth:`together` block, published (and acknowledged) at once otherwise."""
        if _HELD.depth.get(self._held_key):
            _HELD.records.setdefault(self._held_key, []).extend(records)
        else:
            self.publish(records)

    def partition_of(self, record: Record) -> int:
        """The partition an event goes to: its aggregate's."""
        kind, payload = record
        return partition_for(kind.aggregate_key(self.app_id, payload), self.reads.projection.log.partitions)

    def take_held(self) -> list[Record]:
        """The events this thread holds for the app, handed over (to a write that sends them)."""
        return _HELD.records.pop(self._held_key, [])

    @contextmanager
    def together(self) -> Iterator[None]:
        """Let this thread's writes through :meth:`publish_soon` wait for its next write to the app,
        and go to Kafka in one request with it: one acknowledgement instead of several, and one
        fetch less for every process that follows the log. What is still held when the block ends
        is published then, whether it ends normally or by an exception.

        Used for the steps pynenc takes one after the other with nothing read in between (a
        result and its status change; a status's history entry and follow-ups), so every write is
        acknowledged before pynenc's call returns, as pynenc asks. Reads in the block, on this
        thread, do not see held writes. Blocks may nest: each one's end publishes what is held.
        """
        _HELD.depth[self._held_key] = _HELD.depth.get(self._held_key, 0) + 1
        try:
            yield
        finally:
            _HELD.depth[self._held_key] -= 1
            held = self.take_held()
            if held:
                self._write(held)

    @through_parent(writes=True)
    def _write(
        self, records: Sequence[Record], *extra: OutgoingEvent, advice: str = LARGE_VALUE_ADVICE
    ) -> list[Position]:
        """Publish the events and wait once for Kafka (see :func:`publish_checked`).

        The first write opens the app's projection too, as the first read would: with pynenc's
        fork-based runners, processes that only wrote and opened the views later failed their
        SIGTERM tests (see the README's notes on forked writers).
        """
        return self.reads.use(lambda projection: publish_checked(projection, records, *extra, advice=advice))

    def purge(self, scope: PurgeScope) -> None:
        """Drop ``scope``'s views, and return once this process's views show it (the log keeps all)."""
        positions = self.reads.use(
            lambda projection: publish_checked(projection, [], *purge_markers(projection, scope))
        )
        self.reads.after_written(positions, lambda store: None)


def app_event(
    projection: AppProjection,
    kind: EventKind,
    payload: dict[str, Any],
    partition: int | None = None,
) -> OutgoingEvent:
    """One encoded event of the projection's app, on its aggregate's partition unless told otherwise.

    :param AppProjection projection: The app's projection (its log, its clients' codec).
    :param EventKind kind: The event's kind.
    :param dict payload: Its payload record.
    :param partition: The partition to write to; ``None``: the aggregate's.
    """
    app_id, log = projection.topics.app_id, projection.log
    key = kind.aggregate_key(app_id, payload)
    return OutgoingEvent(
        topic=log.name,
        partition=partition_for(key, log.partitions) if partition is None else partition,
        key=key.encode(),
        value=projection.clients.codec.encode(app_id, kind, payload, str(uuid.uuid4()), datetime.now(UTC)),
        label=f"{kind} of {key!r} in app {app_id!r}",
    )


def publish_checked(
    projection: AppProjection,
    records: Sequence[Record],
    *extra: OutgoingEvent,
    advice: str = LARGE_VALUE_ADVICE,
) -> list[Position]:
    """Encode ``records``, refuse the call if any event is too large, else publish all and wait once.

    :param AppProjection projection: The app's projection.
    :param records: The call's events, in order.
    :param extra: Events already encoded (purge markers, a registry entry), published after them.
    :param str advice: What to do about an event over the limits, ending the error's message.
    :return: Their positions, in order.
    :raises EventTooLargeError: If any is over Kafka's limits; then nothing was written.
    """
    events = [app_event(projection, kind, payload) for kind, payload in records]
    events.extend(extra)
    publisher = projection.clients.publisher
    publisher.check_sizes(events, projection.log.max_message_bytes, advice)
    return publisher.publish(events)


def purge_markers(projection: AppProjection, scope: PurgeScope) -> list[OutgoingEvent]:
    """One ``Purged`` marker of one new purge on every partition of the log.

    The views drop ``scope``'s rows once every partition's marker was applied (see
    :mod:`pynenc_kafka.projections.purge_hold`), so nothing written before survives it.
    """
    partitions = projection.log.partitions
    marker = {"purge_id": str(uuid.uuid4()), "partitions": partitions, "scope": scope.value}
    return [app_event(projection, EventKind.PURGED, marker, partition=p) for p in range(partitions)]
