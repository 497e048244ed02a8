"""The view writer: applies batches of log records to a projection, exactly once.

It has no thread and no consumer: the live :class:`~pynenc_kafka.projections.projector.Projector`
feeds it what its consumer reads, a replay feeds it what a bounded log read returns, and a
test feeds it records built in memory (:class:`~pynenc_kafka.projections.purge_hold.LogRecord`).

Each batch's rows and the offsets after it are one RocksDB WriteBatch, so a crash never
half-applies a batch and a restart resumes exactly after the last applied record. Records
that are not our events (undecodable bytes, another app's events) are skipped with a warning
naming their partition and offset, and counted in the checkpoint; they never stop the writer.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from typing import Any, cast

from pynenc_kafka.projections.batch_codec import BatchEventCodec
from pynenc_kafka.projections.checkpoint import CheckpointState, ProjectionCheckpoint
from pynenc_kafka.projections.observer import UNOBSERVED, ProjectionObserver
from pynenc_kafka.projections.purge_hold import LogRecord, PurgeHold
from pynenc_kafka.projections.staged import StagedView
from pynenc_kafka.projections.store import (
    CLIENT_DATA_VIEWS,
    ORCHESTRATION_VIEWS,
    STATE_VIEWS,
    TRIGGER_VIEWS,
    View,
    ViewStore,
)
from pynenc_kafka.projections.views import DECIDERS, ROW_WRITERS
from pynenc_kafka.schemas.codec import UndecodableEventError
from pynenc_kafka.schemas.kinds import EventKind, PurgeScope

logger = logging.getLogger("pynenc_kafka.projector")


class ViewWriter:
    """Applies one app's log records to its :class:`ViewStore` (opened as primary).

    :param ViewStore store: The projection.
    :param str app_id: The app; records of other apps are skipped.
    :param str topic: The app's log, named in warnings.
    :param codec: Decoder of the records; a new one by default (it holds a batch, so one a writer).
    :param ProjectionObserver observer: Told what each batch applied and skipped.
    """

    def __init__(
        self,
        store: ViewStore,
        app_id: str,
        topic: str,
        codec: BatchEventCodec | None = None,
        observer: ProjectionObserver = UNOBSERVED,
    ) -> None:
        self.store = store
        self.observer = observer
        self.app_id = app_id
        self.topic = topic
        self._codec = codec if codec is not None else BatchEventCodec()
        self._checkpoint = ProjectionCheckpoint(store)
        #: Where the projection stands; updated by every :meth:`apply`.
        self.state: CheckpointState = self._checkpoint.load()
        #: Partitions waiting behind a purge marker.
        self.hold = PurgeHold(self.state.pending_purges)

    def apply(self, records: Iterable[LogRecord]) -> dict[int, int]:
        """Apply records (each partition in log order) and their offsets in one WriteBatch.

        :param records: Records of the app's log, without consumer errors.
        :return: The next offset of each partition the batch advanced (empty if none).
        """
        batch = self.store.new_batch()
        staged = StagedView(self.store, batch)
        touched: set[int] = set()
        work = deque(records)
        self._codec.prime(record.value() for record in work)
        state, hold = self.state, self.hold
        kinds: dict[str, int] = {}
        skipped_before = sum(state.skipped.values())
        while work:
            record = work.popleft()
            partition, offset = cast(int, record.partition()), cast(int, record.offset())
            if hold.holds(partition):
                hold.keep(partition, record)
                continue
            touched.add(partition)
            state.next_offsets[partition] = offset + 1
            try:
                event = self._codec.decode(record.value())
            except UndecodableEventError as exc:
                self._skip(partition, offset, str(exc))
                continue
            if event.app_id != self.app_id:
                self._skip(partition, offset, f"event of app {event.app_id!r}, not {self.app_id!r}")
                continue
            state.applied[partition] = state.applied.get(partition, 0) + 1
            kinds[event.kind.value] = kinds.get(event.kind.value, 0) + 1
            if event.kind is EventKind.PURGED:
                released = hold.marker(event.payload, partition)
                if released is not None:
                    for view in self._purged_views(event.payload, partition, offset):
                        staged.clear(view)
                    work.extendleft(reversed(released))
            elif (decide := DECIDERS.get(event.kind)) is not None:
                decide(staged, event.app_id, event.payload, partition, offset)
            elif (write := ROW_WRITERS.get(event.kind)) is not None:
                write(batch, event.app_id, event.payload, partition, offset)
            else:
                self._skip(partition, offset, f"a {event.kind} event does not belong in an app's log")
        if not touched:
            return {}
        self._checkpoint.stage(batch, state, touched)
        self.store.write(batch)
        if kinds:
            self.observer.applied(kinds)
        if (skipped := sum(state.skipped.values()) - skipped_before) > 0:
            self.observer.skipped(skipped)
        return {p: state.next_offsets[p] for p in touched}

    def _purged_views(self, marker: dict[str, Any], partition: int, offset: int) -> tuple[View, ...]:
        """The views a completed purge empties: its scope's (a marker from before scopes: the state's).

        A scope this version does not know (a newer writer's) empties nothing and is reported:
        dropping views it was not meant for would lose data nobody purged.
        """
        scope = marker.get("scope") or PurgeScope.STATE
        if scope == PurgeScope.STATE:
            return STATE_VIEWS
        if scope == PurgeScope.CLIENT_DATA:
            return CLIENT_DATA_VIEWS
        if scope == PurgeScope.ORCHESTRATION:
            return ORCHESTRATION_VIEWS
        if scope == PurgeScope.TRIGGER:
            return TRIGGER_VIEWS
        logger.warning(
            "purge %s at %s partition %d offset %d has scope %r, unknown to this version: nothing dropped",
            marker["purge_id"],
            self.topic,
            partition,
            offset,
            scope,
        )
        return ()

    def _skip(self, partition: int, offset: int, why: str) -> None:
        self.state.skipped[partition] = self.state.skipped.get(partition, 0) + 1
        logger.warning("skipped record at %s partition %d offset %d: %s", self.topic, partition, offset, why)
