"""Reading a bounded stretch of an app's log: from given offsets up to per-partition stop offsets.

Audits read the log, they do not follow it: every read has an end fixed before it starts
(the log's end, the offsets Kafka stamped before a moment, or a projection's checkpoint),
so a read finishes even while writers keep appending.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from pynenc_kafka.schemas.access import AUTHORIZATION_CODES, authorization_refused
from pynenc_kafka.schemas.errors import KafkaUnavailableError
from pynenc_kafka.schemas.kafka_calls import call_kafka, learn_leaders
from pynenc_kafka.schemas.timestamps import to_micros

#: Consumer options that make a bounded read fast; the user's consumer options win over these.
BULK_READ_OPTIONS: dict[str, object] = {
    "fetch.max.bytes": 64 << 20,
    "max.partition.fetch.bytes": 16 << 20,
    "queued.max.messages.kbytes": 256 << 10,
    "queued.min.messages": 500_000,
    "fetch.wait.max.ms": 10,
}

#: Options a bounded read depends on: an offset out of range restarts at the log's start, never its end.
REQUIRED_READ_OPTIONS: dict[str, object] = {"auto.offset.reset": "earliest"}

_FATAL_CODES = {
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._UNKNOWN_PARTITION,
    KafkaError._UNKNOWN_TOPIC,
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.GROUP_AUTHORIZATION_FAILED,
    KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    KafkaError.SASL_AUTHENTICATION_FAILED,
    KafkaError._AUTHENTICATION,
}


class LogReadError(KafkaUnavailableError):
    """The log could not be read: Kafka did not answer, or refused, within the timeout."""


def bulk_read_config(consumer_config: Mapping[str, object], user_options: Mapping[str, object]) -> dict:
    """Consumer options for a bounded read: fast fetch defaults unless the user set them.

    :param consumer_config: The consumer configuration the backend uses.
    :param user_options: Options the user configured for consumers (``kafka_consumer_options``).
    :return: ``consumer_config`` with :data:`BULK_READ_OPTIONS` the user did not set, and
        :data:`REQUIRED_READ_OPTIONS`.
    """
    tuning = {k: v for k, v in BULK_READ_OPTIONS.items() if k not in user_options}
    return {**consumer_config, **tuning, **REQUIRED_READ_OPTIONS}


@dataclass(frozen=True)
class OffsetRange:
    """What to read of each partition: ``start <= offset < stop``.

    :param dict start: First offset to read, per partition.
    :param dict stop: Offset to stop before, per partition.
    """

    start: dict[int, int]
    stop: dict[int, int]

    def pending(self) -> dict[int, tuple[int, int]]:
        """Partitions with something to read: partition -> (start, stop)."""
        return {p: (self.start.get(p, 0), s) for p, s in self.stop.items() if self.start.get(p, 0) < s}

    @property
    def total(self) -> int:
        """Records in the range (an upper bound where retention removed some)."""
        return sum(stop - start for start, stop in self.pending().values())


class LogReader:
    """Reads one topic's partitions between offsets, with one consumer it owns.

    :param Consumer consumer: A consumer with no subscription (manual assignment).
    :param str topic: The topic.
    :param int partitions: Its partition count.
    :param float timeout: Seconds a request, or a read that makes no progress, may take.
    :param str describe: Safe description of the connection, for error messages.
    :param consumer_config: The consumer's options, when the reads may be split among worker
        processes (each builds its own consumer from them); ``None`` keeps every read here.
    """

    def __init__(
        self,
        consumer: Consumer,
        topic: str,
        partitions: int,
        timeout: float,
        describe: str,
        consumer_config: Mapping[str, object] | None = None,
    ) -> None:
        self._consumer = consumer
        self.topic = topic
        self.partitions = partitions
        self.timeout = timeout
        self.describe = describe
        self.consumer_config = None if consumer_config is None else dict(consumer_config)
        self._timeout = timeout
        self._describe = describe

    def __enter__(self) -> LogReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the consumer."""
        self._consumer.close()

    # -- bounds ------------------------------------------------------------------------------

    def watermarks(self, partitions: list[int] | None = None) -> dict[int, tuple[int, int]]:
        """The first and the next offset of each partition: ``(low, high)``."""
        found: dict[int, tuple[int, int]] = {}
        for p in range(self.partitions) if partitions is None else partitions:
            low, high = self._request(
                partial(
                    self._consumer.get_watermark_offsets, TopicPartition(self.topic, p), self._timeout, False
                ),
                f"read the offsets of {self.topic} partition {p}",
            )
            found[p] = (int(low), int(high))
        return found

    def whole_log(self) -> OffsetRange:
        """The range of every record the log holds now."""
        marks = self.watermarks()
        return OffsetRange({p: low for p, (low, _) in marks.items()}, {p: hi for p, (_, hi) in marks.items()})

    def offsets_after(self, moment: datetime) -> dict[int, int]:
        """Per partition, the first offset Kafka stamped after ``moment`` (the end if none).

        Kafka stamps a record with the producer's clock when it is sent (``CreateTime``), within
        milliseconds of the event's ``occurred_at``; the cut has Kafka's millisecond precision.

        :param datetime moment: An aware datetime.
        """
        after_ms = to_micros(moment) // 1000 + 1
        marks = self.watermarks()
        if after_ms <= 0:  # before 1970: nothing was stamped then (and Kafka reads -1, -2 as "end", "start")
            return {p: low for p, (low, _) in marks.items()}
        request = [TopicPartition(self.topic, p, after_ms) for p in range(self.partitions)]
        found = self._request(
            lambda: self._consumer.offsets_for_times(request, self._timeout),
            f"find the offsets of {self.topic} at {moment.isoformat()}",
        )
        ends = {p: hi for p, (_, hi) in marks.items()}
        stops: dict[int, int] = {}
        for tp in found:
            if tp.error is not None:
                raise LogReadError(
                    f"could not find offsets of {self.topic} at {moment.isoformat()}: {tp.error}"
                )
            stops[tp.partition] = ends[tp.partition] if tp.offset < 0 else tp.offset
        return stops

    # -- reading -----------------------------------------------------------------------------

    def read(self, offsets: OffsetRange, batch_size: int = 10_000) -> Iterator[list[Message]]:
        """Yield the records of ``offsets`` in batches, each partition in log order.

        A partition is done when its position reaches its stop offset; records at or past it
        are never yielded.

        :param OffsetRange offsets: What to read.
        :param int batch_size: Records per batch at most.
        :raises LogReadError: If Kafka refuses the read, or it makes no progress for the timeout.
        """
        remaining = {p: stop for p, (_, stop) in offsets.pending().items()}
        if not remaining:
            return
        assignment = [TopicPartition(self.topic, p, offsets.start.get(p, 0)) for p in remaining]
        learn_leaders(self._consumer, self.topic, self._timeout)
        self._consumer.assign(assignment)
        try:
            last_progress = time.monotonic()
            while remaining:
                messages = self._request(
                    lambda: self._consumer.consume(batch_size, 0.2), f"read {self.topic}"
                )
                kept = self._within(messages, remaining) if messages else []
                if kept:
                    last_progress = time.monotonic()
                    yield kept
                elif self._skip_finished(remaining):
                    last_progress = time.monotonic()
                elif time.monotonic() - last_progress > self._timeout:
                    raise LogReadError(
                        f"reading {self.topic} made no progress for {self._timeout:g}s "
                        f"(still to read, partition -> stop offset: {remaining}); check that the cluster "
                        f"at {self._describe} is up (PYNENC__KAFKA_BOOTSTRAP_SERVERS)"
                    )
        finally:
            self._consumer.resume(assignment)
            self._consumer.unassign()

    def _within(self, messages: list[Message], remaining: dict[int, int]) -> list[Message]:
        """The records before their partition's stop offset; finished partitions leave ``remaining``."""
        kept: list[Message] = []
        keep = kept.append
        partition: Any
        offset: Any
        for msg in messages:  # the hot loop of every bulk read: no helper calls in it
            err = msg.error()
            if err is not None:
                if err.code() in AUTHORIZATION_CODES:
                    raise authorization_refused(f"read topic {self.topic!r}", err, self._describe)
                if err.fatal() or err.code() in _FATAL_CODES:
                    raise LogReadError(f"Kafka refused to serve {self.topic}: {err.str()}", err)
                continue
            partition, offset = msg.partition(), msg.offset()
            stop = remaining.get(partition)
            if stop is None or offset >= stop:
                continue
            keep(msg)
            if offset + 1 >= stop:
                self._finish(partition, remaining)
        return kept

    def _skip_finished(self, remaining: dict[int, int]) -> bool:
        """Finish partitions whose position passed their stop without a record (retention, markers)."""
        positions = self._consumer.position([TopicPartition(self.topic, p) for p in remaining])
        done = [tp.partition for tp in positions if tp.offset >= 0 and tp.offset >= remaining[tp.partition]]
        for p in done:
            self._finish(p, remaining)
        return bool(done)

    def _finish(self, partition: int, remaining: dict[int, int]) -> None:
        del remaining[partition]
        self._consumer.pause([TopicPartition(self.topic, partition)])

    def _request[T](self, call: Callable[[], T], what: str) -> T:
        return call_kafka(call, what, self._timeout, self._describe, LogReadError)
