"""The live projector: a thread that consumes an app's log and hands it to the view writer.

Consuming is all it does: what the records change, and how a purge holds partitions, is
the :class:`~pynenc_kafka.projections.writer.ViewWriter`'s business. The projector only
assigns its consumer from the writer's checkpoint, keeps the partitions the writer holds
paused, and tells waiting readers how far the views have come.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from pynenc_kafka.projections.checkpoint import CheckpointState
from pynenc_kafka.projections.progress import ProjectionProgress
from pynenc_kafka.projections.writer import ViewWriter

logger = logging.getLogger("pynenc_kafka.projector")

#: Records applied in one WriteBatch at most.
MAX_BATCH = 5000


class Projector:
    """Feeds one app's log to its :class:`ViewWriter`, in a daemon thread or step by step.

    :param ViewWriter writer: Applies the records to the projection.
    :param Callable consumer_factory: Creates a consumer from nothing (called once, lazily).
    :param int partitions: The log's partition count.
    """

    def __init__(self, writer: ViewWriter, consumer_factory: Callable[[], Consumer], partitions: int) -> None:
        self.writer = writer
        self.topic = writer.topic
        self.partitions = partitions
        self.progress = ProjectionProgress(writer.state.next_offsets)
        self._consumer_factory = consumer_factory
        self._consumer: Consumer | None = None
        self._paused: frozenset[int] = frozenset()
        #: Records consumed since this projector started (a restart that resumes from its
        #: checkpoint consumes none of the records applied before).
        self.consumed = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failure: BaseException | None = None

    @property
    def state(self) -> CheckpointState:
        """The writer's checkpoint state (where the projection stands)."""
        return self.writer.state

    def _assigned_consumer(self) -> Consumer:
        if self._consumer is None:
            consumer = self._consumer_factory()
            next_offsets = self.writer.state.next_offsets
            consumer.assign(
                [
                    TopicPartition(self.topic, p, next_offsets.get(p, OFFSET_BEGINNING))
                    for p in range(self.partitions)
                ]
            )
            self._consumer = consumer
        return self._consumer

    def step(self, timeout: float = 0.1) -> int:
        """Consume and apply one batch; return how many records it consumed.

        :param float timeout: Seconds to wait for the first record.
        """
        consumer = self._assigned_consumer()
        self._follow_hold(consumer)
        first = consumer.poll(timeout)
        if first is None:
            return 0
        messages = [first, *consumer.consume(MAX_BATCH - 1, 0)]
        self.consumed += len(messages)
        records = []
        for msg in messages:
            if msg.error() is None:
                records.append(msg)
            else:
                logger.warning("consumer error on %s: %s", self.topic, msg.error())
        advanced = self.writer.apply(records)
        if advanced:
            self.progress.advance(advanced)
        self._follow_hold(consumer)
        return len(messages)

    def _follow_hold(self, consumer: Consumer) -> None:
        """Pause the partitions the writer holds behind a purge marker; resume released ones."""
        held = self.writer.hold.partitions
        if held == self._paused:
            return
        if held - self._paused:
            consumer.pause([TopicPartition(self.topic, p) for p in sorted(held - self._paused)])
        if self._paused - held:
            consumer.resume([TopicPartition(self.topic, p) for p in sorted(self._paused - held)])
        self._paused = held

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
