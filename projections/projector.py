"""The live projector: a thread that consumes an app's log and hands it to the view writer.

Consuming is all it does: what the records change, and how a purge holds partitions, is
the :class:`~pynenc_kafka.projections.writer.ViewWriter`'s business. The projector only
assigns its consumer from the writer's checkpoint, keeps the partitions the writer holds
paused, and tells waiting readers how far the views have come.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import cast

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from pynenc_kafka.projections.checkpoint import CheckpointState
from pynenc_kafka.projections.progress import ProjectionProgress
from pynenc_kafka.projections.writer import ViewWriter
from pynenc_kafka.schemas.access import AUTHORIZATION_CODES, acl_to_add, authorization_refused
from pynenc_kafka.schemas.kafka_calls import learn_leaders

logger = logging.getLogger("pynenc_kafka.projector")

#: Records applied in one WriteBatch at most.
MAX_BATCH = 5000
#: Seconds between two checks that Kafka still serves the log being projected.
LOG_CHECK_SECONDS = 5.0


class Projector:
    """Feeds one app's log to its :class:`ViewWriter`, in a daemon thread or step by step.

    :param ViewWriter writer: Applies the records to the projection.
    :param Callable consumer_factory: Creates a consumer from nothing (called once, lazily), with
        ``auto.offset.reset=error``: an offset the log no longer has is looked into, never skipped.
    :param int partitions: The log's partition count.
    :param still_the_log: Whether Kafka still serves the log the views were built from (``False``
        once the topic was deleted and created again); asked now and then, and when an offset
        is gone. ``None``: never asked.
    """

    def __init__(
        self,
        writer: ViewWriter,
        consumer_factory: Callable[[], Consumer],
        partitions: int,
        still_the_log: Callable[[], bool] | None = None,
    ) -> None:
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
        self._still_the_log = still_the_log
        self._log_checked = time.monotonic()
        #: Set when the topic was deleted and created again: these views belong to a log that is gone.
        self.replaced = False

    @property
    def state(self) -> CheckpointState:
        """The writer's checkpoint state (where the projection stands)."""
        return self.writer.state

    def _assigned_consumer(self) -> Consumer:
        if self._consumer is None:
            consumer = self._consumer_factory()
            learn_leaders(consumer, self.topic, 5.0)
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
            error = msg.error()
            if error is None:
                records.append(msg)
            elif error.code() == KafkaError._AUTO_OFFSET_RESET:
                self._offset_gone(consumer, cast(int, msg.partition()), str(error))
            elif error.code() in AUTHORIZATION_CODES:  # stops the projector: readers get this error
                raise authorization_refused(
                    f"read topic {self.topic!r}",
                    error,
                    "the projector's consumer",
                    acl_to_add("the principal", "READ", self._refused_resource(error)),
                )
            else:
                logger.warning("consumer error on %s: %s", self.topic, error)
        advanced = self.writer.apply(records)
        if advanced:
            self.progress.advance(advanced)
        self._follow_hold(consumer)
        return len(messages)

    def _refused_resource(self, error: KafkaError) -> str:
        """What a refused fetch needed READ on: the log, or our consumer groups' names."""
        if error.code() == KafkaError.GROUP_AUTHORIZATION_FAILED:
            return "the consumer groups prefixed 'pynenc-kafka.'"
        return f"topic {self.topic!r}"

    def _offset_gone(self, consumer: Consumer, partition: int, why: str) -> None:
        """The log has no record at the next offset: it was created again, or retention removed records."""
        if self._still_the_log is not None and not self._still_the_log():
            self.replaced = True
            return
        logger.warning(
            "records of %s partition %d before offset %d are gone (%s): continuing from the earliest kept",
            self.topic,
            partition,
            self.writer.state.next_offsets.get(partition, 0),
            why,
        )
        consumer.seek(TopicPartition(self.topic, partition, OFFSET_BEGINNING))

    def _check_log(self) -> None:
        """Now and then: stop if the topic was deleted and created again (its offsets mean nothing here)."""
        if self._still_the_log is None or time.monotonic() - self._log_checked < LOG_CHECK_SECONDS:
            return
        self._log_checked = time.monotonic()
        if not self._still_the_log():
            self.replaced = True
            logger.warning(
                "the topic %s was deleted and created again: its projection is rebuilt", self.topic
            )

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
            while not self._stop.is_set() and not self.replaced:
                self.step(0.1)
                self._check_log()
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
