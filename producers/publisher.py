"""Publishing encoded events: produce, then wait for Kafka's acknowledgement.

pynenc 0.4's contract is that a write is persisted before the call returns, so
:meth:`EventPublisher.publish` waits until every record of the call is acknowledged
(``acks=all``) and returns their positions, the tokens a read barrier waits for.
Concurrent callers share one idempotent producer, so their records batch together.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from pynenc_kafka.producers.errors import (
    EventNotPersistedError,
    EventTooLargeError,
    TopicAccessError,
)
from pynenc_kafka.producers.observer import UNOBSERVED, WriteObserver
from pynenc_kafka.schemas.access import acl_to_add, client_principal

logger = logging.getLogger("pynenc_kafka.producer")

#: Bytes Kafka adds around one record in a batch, kept free below the size limit.
RECORD_OVERHEAD = 128
_PRODUCER_DEFAULT_MAX = 1_000_000
#: What to do about an event over the limits, unless the caller knows better.
RAISE_LIMIT_ADVICE = "Raise PYNENC__KAFKA_MAX_MESSAGE_BYTES (new topics) or the topic's max.message.bytes"
LARGE_VALUE_ADVICE = f"{RAISE_LIMIT_ADVICE}, or keep large values in pynenc's client data store."
#: Delivery errors of records librdkafka dropped because the producer failed for good.
_FATAL_PURGES = frozenset({KafkaError._PURGE_QUEUE, KafkaError._PURGE_INFLIGHT, KafkaError._FATAL})


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    """One encoded event, ready for Kafka.

    :param str topic: Destination topic.
    :param int partition: Destination partition (the aggregate's, see ``partition_for``).
    :param bytes key: Aggregate id.
    :param value: Single-object encoded event; ``None`` is a tombstone (compacted topics).
    :param str label: What the event is, for error messages (``"ResultSet of inv-1"``).
    """

    topic: str
    partition: int
    key: bytes
    value: bytes | None
    label: str


@dataclass(frozen=True, slots=True)
class Position:
    """Where Kafka stored an event.

    :param str topic: Topic.
    :param int partition: Partition.
    :param int offset: Offset within the partition.
    """

    topic: str
    partition: int
    offset: int


class _Acknowledgements:
    """Collects the delivery reports of one ``publish`` call."""

    def __init__(self, events: Sequence[OutgoingEvent]) -> None:
        self.events = events
        self.positions: list[Position | None] = [None] * len(events)
        self.errors: list[tuple[int, KafkaError]] = []
        self._pending = len(events)
        self._lock = threading.Lock()
        self.done = threading.Event()

    def report(self, index: int, err: KafkaError | None, msg: Message) -> None:
        with self._lock:
            if err is not None:
                self.errors.append((index, err))
            else:
                self.positions[index] = Position(
                    cast(str, msg.topic()), cast(int, msg.partition()), cast(int, msg.offset())
                )
            self._pending -= 1
            if self._pending == 0:
                self.done.set()


class EventPublisher:
    """One idempotent producer per process and cluster, shared by every app and thread.

    :param dict config: librdkafka producer options (see ``KafkaClientSettings``).
    :param float timeout: Seconds a publish may wait for acknowledgements.
    :param str describe: Safe description of the connection, for error messages.
    :param WriteObserver observer: Told each call's acknowledgement time or failure cause.
    """

    def __init__(
        self, config: dict[str, Any], timeout: float, describe: str, observer: WriteObserver = UNOBSERVED
    ) -> None:
        self._observer = observer
        self._producer = Producer(config)
        self._connected = False
        self._connecting = threading.Lock()
        self._timeout = timeout
        self._describe = describe
        self._principal = client_principal(config)
        self.max_request_bytes = int(config.get("message.max.bytes", _PRODUCER_DEFAULT_MAX))
        self._running = True
        #: The producer's fatal error (e.g. the principal may not use the idempotent producer).
        self.fatal: KafkaError | None = None
        self._poller = threading.Thread(target=self._serve_reports, name="pynenc-kafka-delivery", daemon=True)
        self._poller.start()

    def _connect(self, topic: str) -> None:
        """Reach the cluster and let the idempotent producer get its producer id, before the first write.

        librdkafka asks for the producer id when a broker's connection-time metadata
        arrives; if our own metadata request is outstanding at that moment the refresh
        is skipped and the id waits for a 500 ms retry timer, which a new (forked)
        process's first write would pay. A second request, once the first has answered,
        always triggers it (the README's figures show how often one request left it waiting).
        The requests name the first write's topic: metadata of the whole cluster can be
        thousands of topics, which a new process would pay for in its first write. An
        unreachable cluster is reported by the write, not here.
        """
        with self._connecting:
            if self._connected:
                return
            try:
                for _ in range(2):
                    self._producer.list_topics(topic, timeout=self._timeout)
            except KafkaException:
                pass
            self._connected = True

    def _serve_reports(self) -> None:
        while self._running:
            try:
                self._producer.poll(0.1)
            except KafkaException as exc:  # a fatal error: the producer can write nothing more
                self.fatal = exc.args[0]

    def _fatal_cause(self, error: KafkaError) -> KafkaError:
        """The error that made the producer fail for good: librdkafka hands it to ``poll``, which
        the delivery thread serves (waited for up to a second)."""
        deadline = time.monotonic() + 1.0
        while self.fatal is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.fatal or error

    def _acknowledged(self, acks: _Acknowledgements) -> bool:
        """Wait for the call's acknowledgements; False at the timeout. A fatal error ends the wait."""
        deadline = time.monotonic() + self._timeout + 5
        while not acks.done.wait(0.05):
            if self.fatal is not None:
                raise self._failed(0, self.fatal, acks)
            if time.monotonic() > deadline:
                return False
        return True

    def check_sizes(
        self, events: Sequence[OutgoingEvent], topic_max_bytes: int, advice: str = LARGE_VALUE_ADVICE
    ) -> None:
        """Refuse the whole call if any event is over Kafka's limits, before producing any.

        :param events: The call's events.
        :param int topic_max_bytes: The destination topic's ``max.message.bytes``.
        :param str advice: What the caller can do, ending the error's message.
        :raises EventTooLargeError: Naming the event, its size and the settings to raise.
        """
        limit = min(self.max_request_bytes, topic_max_bytes) - RECORD_OVERHEAD
        for event in events:
            size = len(event.value or b"") + len(event.key)
            if size > limit:
                self._observer.failed("too_large")
                raise EventTooLargeError(
                    f"{event.label} is {size:,} bytes encoded, over the {limit:,} bytes Kafka accepts "
                    f"per event (producer message.max.bytes={self.max_request_bytes:,}, topic "
                    f"{event.topic!r} max.message.bytes={topic_max_bytes:,}); nothing was written. {advice}"
                )

    def publish(self, events: Sequence[OutgoingEvent]) -> list[Position]:
        """Produce every event, then wait once until Kafka acknowledged them all.

        :param events: Events of one backend call, in order.
        :return: Their positions, in the same order.
        :raises EventNotPersistedError: If any was not acknowledged within the timeout.
        """
        if not events:
            return []
        if not self._connected:
            self._connect(events[0].topic)
        started = time.perf_counter()
        acks = _Acknowledgements(events)
        try:
            for index, event in enumerate(events):
                self._produce(event, lambda err, msg, i=index: acks.report(i, err, msg))
        except EventNotPersistedError:
            self._observer.failed("queue_full")
            raise
        if not self._acknowledged(acks):
            self._observer.failed("timeout")
            raise EventNotPersistedError(
                f"Kafka did not acknowledge {acks.events[0].label} within {self._timeout:g}s "
                f"({self._describe}); the write may not be durable"
            )
        if acks.errors:
            raise self._failed(*acks.errors[0], acks)
        self._observer.acknowledged(time.perf_counter() - started)
        return [p for p in acks.positions if p is not None]

    def publish_unwaited(self, events: Sequence[OutgoingEvent]) -> None:
        """Produce events nobody waits for (housekeeping such as a compacted topic's tombstones).

        A failed delivery is logged, never raised: the caller's answer did not depend on it.
        """

        def report(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                logger.warning("Kafka did not confirm a record for %s: %s", msg.topic(), err.str())

        for event in events:
            self._produce(event, report)

    @property
    def queued(self) -> int:
        """Records in the local producer queue: produced, not yet acknowledged (or failed)."""
        return len(self._producer)

    def _produce(self, event: OutgoingEvent, on_delivery: Any) -> None:
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                self._producer.produce(
                    event.topic, event.value, event.key, partition=event.partition, on_delivery=on_delivery
                )
                return
            except KafkaException as exc:  # the producer had a fatal error
                raise self._failed(0, exc.args[0], _Acknowledgements([event])) from None
            except BufferError:
                if time.monotonic() > deadline:
                    raise EventNotPersistedError(
                        f"the local producer queue stayed full for {self._timeout:g}s while writing "
                        f"{event.label}; Kafka at {self._describe} is not keeping up"
                    ) from None
                time.sleep(0.01)

    def _failed(self, index: int, err: KafkaError, acks: _Acknowledgements) -> Exception:
        """The error to raise for a failed delivery, its cause told to the observer.

        A record the producer dropped because it failed for good (a bare ``_FATAL`` from
        ``produce``, a purge in its delivery report, which can come before ``poll`` hands over
        the fatal error) is reported with that fatal error, its real cause.
        """
        if err.code() in _FATAL_PURGES:
            err = self._fatal_cause(err)
        cause, error = self._delivery_error(index, err, acks)
        self._observer.failed(cause)
        return error

    def _delivery_error(self, index: int, err: KafkaError, acks: _Acknowledgements) -> tuple[str, Exception]:
        """The cause (one of ``WRITE_ERROR_CAUSES``) and the error of a failed delivery."""
        event = acks.events[index]
        code = err.code()
        if code == KafkaError.MSG_SIZE_TOO_LARGE:
            return "too_large", EventTooLargeError(f"Kafka refused {event.label} as too large: {err.str()}")
        if code == KafkaError.TOPIC_AUTHORIZATION_FAILED:
            return "not_authorized", TopicAccessError(
                f"not allowed to write to topic {event.topic!r} as {self._principal} ({err.str()}), so "
                f"{event.label} was not written: "
                + acl_to_add(self._principal, "WRITE", f"topic {event.topic!r}"),
                err,
            )
        if code == KafkaError.CLUSTER_AUTHORIZATION_FAILED or (err.fatal() and "uthoriz" in err.str()):
            return "not_authorized", TopicAccessError(
                f"not allowed to use the idempotent producer as {self._principal} ({err.str()}), so "
                f"{event.label} was not written to topic {event.topic!r}: "
                + acl_to_add(self._principal, "IDEMPOTENT_WRITE", "the cluster"),
                err,
            )
        if code in (
            KafkaError.UNKNOWN_TOPIC_OR_PART,
            KafkaError._UNKNOWN_TOPIC,
            KafkaError._UNKNOWN_PARTITION,
        ):
            return "unknown_topic", EventNotPersistedError(
                f"topic {event.topic!r} does not exist on the cluster at {self._describe} (deleted?), so "
                f"{event.label} was not written: the next use of the app creates it again"
            )
        cause = "timeout" if code == KafkaError._MSG_TIMED_OUT else "not_confirmed"
        return cause, EventNotPersistedError(
            f"Kafka did not confirm {event.label} ({err.str()}), so it may not be persisted; check the "
            f"cluster at {self._describe}"
        )

    def flush(self, timeout: float | None = None) -> int:
        """Wait for everything still in flight; return how many records remain unsent.

        :param timeout: Seconds to wait; defaults to the publisher's timeout.
        """
        return int(self._producer.flush(self._timeout if timeout is None else timeout))

    def close(self) -> None:
        """Flush and stop the delivery thread."""
        self.flush()
        self._running = False
        self._poller.join(timeout=1)
