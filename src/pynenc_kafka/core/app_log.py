"""A component's way to its app's log: events published and acknowledged, reads behind the barrier.

Every Kafka component of an app (state backend, orchestrator, client data store) writes events to
the same log and reads the same projection; this is the one place that encodes an event, sends it
to its aggregate's partition and waits for Kafka's acknowledgement.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pynenc_kafka.core.app_projection import AppProjection, AppSpec
from pynenc_kafka.core.projection_access import ProjectionAccess
from pynenc_kafka.producers.publisher import OutgoingEvent, Position
from pynenc_kafka.schemas.kinds import EventKind
from pynenc_kafka.schemas.topology import partition_for

#: (event kind, payload) of one event to publish; the kind names its aggregate key.
Record = tuple[EventKind, dict[str, Any]]


class AppLog:
    """One app's log and projection, as a component of this process uses them.

    :param AppSpec spec: The app and where its projection lives.
    """

    def __init__(self, spec: AppSpec) -> None:
        self.spec = spec
        self.app_id = spec.topics.app_id
        #: Reads of the projection, behind the read barrier where needed.
        self.reads = ProjectionAccess(spec)

    def publish(self, records: Sequence[Record], *extra: OutgoingEvent) -> list[Position]:
        """Encode and size-check one call's events, publish them all, wait once for Kafka.

        The first write opens the app's projection too, as the first read would: with pynenc's
        fork-based runners, processes that only wrote and opened the views later failed their
        SIGTERM tests (see the README's notes on forked writers).

        :param records: The events, each to its aggregate's partition.
        :param extra: Events already encoded (markers to chosen partitions, registry entries).
        :return: Where Kafka stored each event, in order.
        """

        def publish(projection: AppProjection) -> list[Position]:
            events = [self.event(projection, kind, payload) for kind, payload in records]
            events.extend(extra)
            publisher = projection.clients.publisher
            publisher.check_sizes(events, projection.log.max_message_bytes)
            return publisher.publish(events)

        return self.reads.use(publish)

    def event(
        self,
        projection: AppProjection,
        kind: EventKind,
        payload: dict[str, Any],
        partition: int | None = None,
    ) -> OutgoingEvent:
        """One encoded event of this app, on its aggregate's partition unless told otherwise."""
        app_id, log = self.app_id, projection.log
        key = kind.aggregate_key(app_id, payload)
        return OutgoingEvent(
            topic=log.name,
            partition=partition_for(key, log.partitions) if partition is None else partition,
            key=key.encode(),
            value=projection.clients.codec.encode(
                app_id, kind, payload, str(uuid.uuid4()), datetime.now(UTC)
            ),
            label=f"{kind} of {key!r} in app {app_id!r}",
        )
