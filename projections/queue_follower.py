"""The queue follower: a thread that applies the queue topic into a :class:`QueueState`.

Like the projector it consumes with partitions assigned by hand, from the beginning, with no
consumer group and no commits: the table lives in memory and the queue topic is compacted,
so a new process reads it whole. Waiting readers are told how far it has come
(:class:`~pynenc_kafka.projections.progress.ProjectionProgress`) and wait for a position
(a claim just written) or for the end offsets Kafka reports (before an "empty" or a count).

End-of-partition events advance the progress to the end offset itself, so a gap left by
compaction at the end of a partition never leaves a reader waiting for a record that is gone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import cast

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from pynenc_kafka.projections.errors import ReadBarrierTimeoutError
from pynenc_kafka.projections.progress import ProjectionProgress
from pynenc_kafka.projections.queue_state import ClaimOutcome, QueueState
from pynenc_kafka.schemas.kafka_calls import learn_leaders

logger = logging.getLogger("pynenc_kafka.queue")

#: Records applied per poll at most.
MAX_BATCH = 5000


class QueueFollowerStoppedError(RuntimeError):
    """The follower's thread stopped: the table can no longer answer."""


class QueueFollower:
    """Follows one queue topic into a :class:`QueueState` in a daemon thread.

    :param QueueState state: The table it applies to (read under :meth:`read`).
    :param Callable consumer_factory: Creates its consumer (called once, in the thread).
    :param int partitions: The topic's partition count.
    :param end_offsets: Asks Kafka for the end offsets of some partitions.
    :param float timeout: Seconds a reader may wait for the table.
    """

    def __init__(
        self,
        state: QueueState,
        consumer_factory: Callable[[], Consumer],
        partitions: int,
        end_offsets: Callable[[Iterable[int]], dict[int, int]],
        timeout: float,
    ) -> None:
        self.state = state
        self.topic = state.topic
        self.partitions = partitions
        self.progress = ProjectionProgress({})
        self._consumer_factory = consumer_factory
        self._end_offsets = end_offsets
        self._timeout = timeout
        self._lock = threading.Lock()
        self._wanted: set[str] = set()
        self._outcomes: dict[str, ClaimOutcome] = {}
        self._stop = threading.Event()
        self.failure: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"pynenc-kafka-queue[{self.topic}]", daemon=True
        )

    def start(self) -> None:
        """Start following in the background."""
        self._thread.start()

    def _run(self) -> None:
        consumer: Consumer | None = None
        try:
            consumer = self._consumer_factory()
            learn_leaders(consumer, self.topic, 5.0)
            consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in range(self.partitions)])
            while not self._stop.is_set():
                first = consumer.poll(0.1)
                if first is not None:
                    self._apply([first, *consumer.consume(MAX_BATCH - 1, 0)])
        except BaseException as exc:  # surfaced to readers
            self.failure = exc
            logger.exception("queue follower of %s stopped", self.topic)
        finally:
            if consumer is not None:
                consumer.close()

    def _apply(self, messages: list[Message]) -> None:
        reached: dict[int, int] = {}
        with self._lock:
            for msg in messages:
                error = msg.error()
                partition = cast(int, msg.partition())
                if error is None:
                    outcome = self.state.apply(msg)
                    if outcome is not None and outcome.claim_id in self._wanted:
                        self._outcomes[outcome.claim_id] = outcome
                    reached[partition] = cast(int, msg.offset()) + 1
                elif error.code() == KafkaError._PARTITION_EOF:
                    reached[partition] = max(reached.get(partition, 0), cast(int, msg.offset()))
                else:
                    logger.warning("consumer error on %s: %s", self.topic, error)
        if reached:
            self.progress.advance(reached)

    def read[T](self, look: Callable[[QueueState], T]) -> T:
        """``look`` at the table, which no record changes meanwhile."""
        with self._lock:
            return look(self.state)

    def want(self, claim_id: str) -> None:
        """Keep the outcome of ``claim_id`` when it is applied (before the claim is written)."""
        with self._lock:
            self._wanted.add(claim_id)

    def outcome(self, claim_id: str) -> ClaimOutcome | None:
        """The outcome of a wanted claim, once applied (forgotten here as it is returned)."""
        with self._lock:
            self._wanted.discard(claim_id)
            return self._outcomes.pop(claim_id, None)

    def catch_up(self, partitions: Iterable[int] | None = None) -> None:
        """Wait until the table applied everything Kafka holds on ``partitions`` (all if ``None``).

        :raises ReadBarrierTimeoutError: If it did not within the timeout.
        :raises KafkaUnavailableError: If Kafka did not say where the partitions end.
        """
        self._wait(self._end_offsets(range(self.partitions) if partitions is None else partitions))

    def wait_applied(self, partition: int, offset: int) -> None:
        """Wait until the table applied the record at ``(partition, offset)``."""
        self._wait({partition: offset + 1})

    def _wait(self, targets: dict[int, int]) -> None:
        deadline = time.monotonic() + self._timeout
        while not self.progress.wait_for(targets, max(0.0, min(0.5, deadline - time.monotonic()))):
            self._check()
            if time.monotonic() >= deadline:
                behind = {p: end - self.progress.snapshot().get(p, 0) for p, end in targets.items()}
                raise ReadBarrierTimeoutError(
                    f"the queue table of {self.topic} did not catch up with Kafka within {self._timeout:g}s "
                    f"(records behind per partition: {behind}); raise PYNENC__KAFKA_READ_BARRIER_TIMEOUT "
                    "or check the cluster"
                )

    def _check(self) -> None:
        if self.failure is not None:
            raise QueueFollowerStoppedError(f"the queue table of {self.topic} stopped: {self.failure!r}")
        if self._stop.is_set():
            raise QueueFollowerStoppedError(f"the queue table of {self.topic} is closed")

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop the thread and close its consumer."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
