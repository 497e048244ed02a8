"""The projector: consumes an app's log and applies it to the views, exactly once.

Each batch of records and the offsets after it are written in one RocksDB WriteBatch.
Records that are not our events are skipped with a warning naming their offset, and
counted; the projector never stops on them. A purge is written to every partition;
the views drop the app's state once every partition's marker has arrived, and records
behind a marker wait until then, so no write from before the purge survives it.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, cast

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from pynenc_kafka.projections.applier import EventApplier
from pynenc_kafka.projections.batch_codec import BatchEventCodec
from pynenc_kafka.projections.checkpoint import CheckpointState, ProjectionCheckpoint
from pynenc_kafka.projections.progress import ProjectionProgress
from pynenc_kafka.projections.views import ViewStore
from pynenc_kafka.schemas.codec import UndecodableEventError

logger = logging.getLogger("pynenc_kafka.projector")

#: Records applied in one WriteBatch at most.
MAX_BATCH = 5000


class Projector:
    """Applies one app's log to its :class:`ViewStore`.

    :param ViewStore store: The projection (opened as primary).
    :param Callable consumer_factory: Creates a consumer from nothing (called once, lazily).
    :param str topic: The app's event log.
    :param int partitions: Its partition count.
    :param str app_id: The app; records of other apps are skipped.
    :param BatchEventCodec codec: Decoder of the records (this projector's own: it holds a batch).
    """

    def __init__(
        self,
        store: ViewStore,
        consumer_factory: Callable[[], Consumer],
        topic: str,
        partitions: int,
        app_id: str,
        codec: BatchEventCodec,
    ) -> None:
        self.store = store
        self.topic = topic
        self.partitions = partitions
        self.app_id = app_id
        self._codec = codec
        self._checkpoint = ProjectionCheckpoint(store)
        self._applier = EventApplier(store)
        self.state: CheckpointState = self._checkpoint.load()
        self.progress = ProjectionProgress(self.state.next_offsets)
        self._consumer_factory = consumer_factory
        self._consumer: Consumer | None = None
        self._held: dict[int, list[Message]] = {
            p: [] for ps in self.state.pending_purges.values() for p in ps
        }
        #: Records consumed since this projector started (a restart that resumes from its
        #: checkpoint consumes none of the records applied before).
        self.consumed = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failure: BaseException | None = None

    # -- consumption ---------------------------------------------------------------

    def _assigned_consumer(self) -> Consumer:
        if self._consumer is None:
            consumer = self._consumer_factory()
            consumer.assign(
                [
                    TopicPartition(self.topic, p, self.state.next_offsets.get(p, OFFSET_BEGINNING))
                    for p in range(self.partitions)
                ]
            )
            paused = [TopicPartition(self.topic, p) for p in self._held]
            if paused:
                consumer.pause(paused)
            self._consumer = consumer
        return self._consumer

    def step(self, timeout: float = 0.1) -> int:
        """Consume and apply one batch; return how many records it consumed.

        :param float timeout: Seconds to wait for the first record.
        """
        consumer = self._assigned_consumer()
        first = consumer.poll(timeout)
        if first is None:
            return 0
        messages = [first, *consumer.consume(MAX_BATCH - 1, 0)]
        self.consumed += len(messages)
        self.apply_messages(messages)
        return len(messages)

    def apply_messages(self, messages: Iterable[Message]) -> None:
        """Apply records (in log order per partition) and their offsets in one WriteBatch."""
        batch = self.store.new_batch()
        touched: set[int] = set()
        work = deque(messages)
        self._codec.prime(msg.value() for msg in work)
        while work:
            msg = work.popleft()
            if msg.error() is not None:
                logger.warning("consumer error on %s: %s", self.topic, msg.error())
                continue
            partition, offset = cast(int, msg.partition()), cast(int, msg.offset())
            if partition in self._held:
                self._held[partition].append(msg)
                continue
            touched.add(partition)
            self.state.next_offsets[partition] = offset + 1
            try:
                event = self._codec.decode(msg.value())
            except UndecodableEventError as exc:
                self._skip(partition, offset, str(exc))
                continue
            if event.app_id != self.app_id:
                self._skip(partition, offset, f"event of app {event.app_id!r}, not {self.app_id!r}")
                continue
            self.state.applied[partition] = self.state.applied.get(partition, 0) + 1
            if event.kind == "Purged":
                work.extendleft(reversed(self._purge_marker(batch, event.payload, partition)))
            else:
                self._applier.apply(batch, event, partition, offset)
        if touched:
            self._checkpoint.stage(batch, self.state, touched)
            self.store.write(batch)
            self.progress.advance({p: self.state.next_offsets[p] for p in touched})

    def _skip(self, partition: int, offset: int, why: str) -> None:
        self.state.skipped[partition] = self.state.skipped.get(partition, 0) + 1
        logger.warning("skipped record at %s partition %d offset %d: %s", self.topic, partition, offset, why)

    def _purge_marker(self, batch: Any, payload: dict[str, Any], partition: int) -> list[Message]:
        """Record one partition's purge marker; purge once all arrived. Return released records."""
        seen = self.state.pending_purges.setdefault(payload["purge_id"], [])
        if partition not in seen:
            seen.append(partition)
        if len(seen) < payload["partitions"]:
            self._held[partition] = []
            if self._consumer is not None:
                self._consumer.pause([TopicPartition(self.topic, partition)])
            return []
        del self.state.pending_purges[payload["purge_id"]]
        self._applier.purge(batch)
        released: list[Message] = []
        for held_partition in sorted(self._held):
            released.extend(self._held.pop(held_partition))
            if self._consumer is not None:
                self._consumer.resume([TopicPartition(self.topic, held_partition)])
        return released

    # -- background thread ----------------------------------------------------------

    def start(self) -> None:
        """Apply the log in a daemon thread until :meth:`stop`."""
        self._thread = threading.Thread(
            target=self._run, name=f"pynenc-kafka-projector[{self.topic}]", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.step(0.1)
        except BaseException as exc:  # surfaced to readers by the barrier
            self.failure = exc
            logger.exception("projector of %s stopped", self.topic)

    @property
    def running(self) -> bool:
        """Whether the background thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop the thread and close the consumer (the store stays open)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
