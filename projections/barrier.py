"""The read barrier: read-your-writes across processes and hosts.

Before a read that the local views may not answer yet (a miss, or a list such as a
history), the barrier asks Kafka for the end offsets of the partitions involved and
waits, bounded, until the projection has applied them. Reads of facts that never
change once written are served at once when present: no round trip on a hit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping

from confluent_kafka import OFFSET_END, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from pynenc_kafka.projections.errors import LogRewoundError, ReadBarrierTimeoutError
from pynenc_kafka.projections.observer import UNOBSERVED, ProjectionObserver
from pynenc_kafka.projections.progress import ProjectionProgress
from pynenc_kafka.schemas.errors import KafkaUnavailableError
from pynenc_kafka.schemas.kafka_calls import call_kafka


class EndOffsets:
    """Asks Kafka for the end (high watermark) offsets of a topic's partitions.

    One ListOffsets request to the partitions' leaders, made with a consumer's
    ``offsets_for_times`` for the latest offset: a synchronous call that costs a
    fraction of the admin client's future-based ``list_offsets`` (see the README's figures),
    and it runs on every read behind the barrier. The consumer is never polled, so after a
    broker restart or a leader change its metadata can stay stale (a fenced leader epoch, a
    leader gone): then the request goes through the admin client, which refreshes its
    metadata, for :data:`SLOW_PATH_SECONDS`, and the consumer's metadata is refreshed.

    :param Consumer consumer: A consumer of the cluster, used only for offset requests (thread-safe).
    :param AdminClient admin: The cluster's admin client, for the path that refreshes metadata.
    :param str topic: The topic.
    :param float timeout: Seconds the request may take.
    :param str describe: Safe description of the connection, for error messages.
    """

    def __init__(
        self, consumer: Consumer, admin: AdminClient, topic: str, timeout: float, describe: str
    ) -> None:
        self._consumer = consumer
        self._admin = admin
        self._slow_until = 0.0
        self._topic = topic
        self._timeout = timeout
        self._describe = describe
        self._flights = SharedEndOffsetRequests()

    def __call__(self, partitions: Iterable[int]) -> dict[int, int]:
        """End offset of each partition: the offset the next record will get.

        Threads asking at once share requests (see :class:`SharedEndOffsetRequests`).

        :raises KafkaUnavailableError: If Kafka did not answer within the timeout.
        """
        return self._flights.ask(set(partitions), self._request)

    def _request(self, partitions: Iterable[int]) -> dict[int, int]:
        """One request for the end offsets of ``partitions``, retried within the timeout."""
        request = [TopicPartition(self._topic, p, OFFSET_END) for p in sorted(partitions)]
        # One attempt may meet a leader that just died: give it part of the timeout, so the
        # retries (with refreshed metadata) still fit in the rest.
        attempt = max(1.0, self._timeout / 3)

        def ask() -> dict[int, int]:
            if time.monotonic() >= self._slow_until:
                try:
                    return self._fast(request, attempt)
                except KafkaException:
                    self._slow_until = time.monotonic() + SLOW_PATH_SECONDS
                    try:
                        self._consumer.list_topics(self._topic, timeout=attempt)  # fresh leaders and epochs
                    except KafkaException:
                        pass  # the admin request below fails too and says why
            return self._through_admin(request, attempt)

        return call_kafka(
            ask,
            f"read the end offsets of {self._topic}",
            self._timeout,
            self._describe,
            KafkaUnavailableError,
        )

    def _fast(self, request: list[TopicPartition], attempt: float) -> dict[int, int]:
        """The end offsets through the consumer's metadata (the common, cheap path)."""
        answered = self._consumer.offsets_for_times(request, timeout=attempt)
        failed = next((tp.error for tp in answered if tp.error is not None), None)
        if failed is not None:
            raise KafkaException(failed)
        return _known({tp.partition: tp.offset for tp in answered})

    def _through_admin(self, request: list[TopicPartition], attempt: float) -> dict[int, int]:
        """The end offsets through the admin client, which refreshes stale metadata itself."""
        futures = self._admin.list_offsets(
            {TopicPartition(tp.topic, tp.partition): OffsetSpec.latest() for tp in request},
            request_timeout=attempt,
        )
        return _known({tp.partition: future.result().offset for tp, future in futures.items()})


#: Seconds the barrier asks through the admin client after the consumer's request failed.
SLOW_PATH_SECONDS = 10.0


class _Flight:
    """One end-offset request, and the threads waiting for its answer."""

    def __init__(self) -> None:
        self.partitions: set[int] = set()
        self.done = False
        self.answer: dict[int, int] = {}
        self.error: BaseException | None = None


class SharedEndOffsetRequests:
    """End-offset requests shared by the threads of a process that ask at once (a group commit).

    At most one request is in flight. A thread that asks meanwhile joins the next one, which
    the first of its joiners sends as soon as the one in flight is answered: every joiner
    arrived before it was sent, so its answer is as fresh as a request of its own would be. A
    busy process (a thread runner's tasks, the fork bridge serving its task processes) then
    asks Kafka once per round trip instead of once per read.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._in_flight = False
        self._next: _Flight | None = None

    def ask(self, partitions: set[int], request: Callable[[set[int]], dict[int, int]]) -> dict[int, int]:
        """The end offsets of ``partitions``, from a request sent after this call began.

        :param partitions: The partitions.
        :param request: Sends one request (for the union of the joiners' partitions).
        """
        with self._changed:
            flight = self._next
            if flight is None:
                flight = self._next = _Flight()
            flight.partitions |= partitions
            while not flight.done and (self._in_flight or self._next is not flight):
                self._changed.wait()
            leads = not flight.done
            if leads:
                self._in_flight, self._next = True, None
        if leads:
            try:
                flight.answer = request(flight.partitions)
            except BaseException as exc:
                flight.error = exc
            with self._changed:
                flight.done, self._in_flight = True, False
                self._changed.notify_all()
        if flight.error is not None:
            raise flight.error
        return {p: flight.answer[p] for p in partitions}


def _known(ends: dict[int, int]) -> dict[int, int]:
    """``ends``, or a passing error if a partition has no end offset (no leader answered)."""
    unknown = sorted(p for p, end in ends.items() if end < 0)
    if unknown:  # no leader answered for them: a passing state while leadership moves
        raise KafkaException(
            KafkaError(KafkaError.LEADER_NOT_AVAILABLE, f"no end offset for partitions {unknown}")
        )
    return ends


class ReadBarrier:
    """Waits until the local projection has applied everything Kafka holds.

    :param EndOffsets end_offsets: Source of the log's end offsets.
    :param ProjectionProgress progress: The projection's applied offsets.
    :param int partitions: Partition count of the log.
    :param float timeout: Seconds a read may wait.
    :param Callable health: Raises if the projection can no longer progress.
    :param ProjectionObserver observer: Told how long each wait took and whether it timed out.
    """

    def __init__(
        self,
        end_offsets: Callable[[Iterable[int]], dict[int, int]],
        progress: ProjectionProgress,
        partitions: int,
        timeout: float,
        health: Callable[[], None] = lambda: None,
        observer: ProjectionObserver = UNOBSERVED,
    ) -> None:
        self.observer = observer
        self.end_offsets = end_offsets
        self.progress = progress
        self._all = range(partitions)
        self._timeout = timeout
        self._health = health

    def wait(self, partitions: Iterable[int] | None = None) -> None:
        """Block until the projection reached the end of ``partitions`` (all if ``None``).

        :raises ReadBarrierTimeoutError: If it did not within the timeout.
        :raises KafkaUnavailableError: If Kafka did not say where the log ends: the read could
            not be sure to see other processes' writes.
        :raises LogRewoundError: If the log ends before what the projection applied (a new log).
        """
        started = time.perf_counter()
        # What was applied before asking: records written after Kafka answered may be applied by the
        # time it answers, so only offsets applied before the request can prove the log rewound.
        applied = self.progress.snapshot()
        targets = self.end_offsets(self._all if partitions is None else partitions)
        if self.progress.reached(targets):
            self.observer.barrier_waited(time.perf_counter() - started, False)
            rewound = {p: (end, applied[p]) for p, end in targets.items() if applied.get(p, 0) > end}
            if rewound:
                raise LogRewoundError(
                    f"the log ends before offsets the projection applied (partition -> (end, applied): "
                    f"{rewound}): the topic was deleted and created again"
                )
            return
        self._wait_for(targets, started)

    def wait_for_written(self, next_offsets: Mapping[int, int]) -> None:
        """Block until the projection applied records this process wrote: no need to ask Kafka.

        :param next_offsets: Partition -> the offset after the last record to see.
        :raises ReadBarrierTimeoutError: If it did not within the timeout.
        """
        started = time.perf_counter()
        targets = dict(next_offsets)
        if self.progress.reached(targets):
            self.observer.barrier_waited(time.perf_counter() - started, False)
            return
        self._wait_for(targets, started)

    def _wait_for(self, targets: dict[int, int], started: float) -> None:
        self._health()
        reached = self.progress.wait_for(targets, self._timeout)
        self.observer.barrier_waited(time.perf_counter() - started, not reached)
        if not reached:
            self._health()
            behind = {p: end - self.progress.snapshot().get(p, 0) for p, end in targets.items()}
            raise ReadBarrierTimeoutError(
                f"the projection did not catch up with Kafka within {self._timeout:g}s "
                f"(records behind per partition: {behind}); raise PYNENC__KAFKA_READ_BARRIER_TIMEOUT "
                "or check that a projector runs for this app (pynenc-kafka lag)"
            )
