"""How far a projection is behind its log, in records and in seconds: one measure for the
``pynenc-kafka lag`` command and the Prometheus metrics, so both always say the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from confluent_kafka import Consumer, TopicPartition

from pynenc_kafka.schemas.kafka_calls import learn_leaders


@dataclass(frozen=True)
class PartitionLag:
    """One partition's lag.

    :param int partition: The partition.
    :param int end_offset: Offset the next record of the log will get.
    :param int applied_offset: Next offset the projection will apply.
    :param lag_seconds: Seconds since the oldest record not applied yet was written (0 when caught
        up); ``None`` if that record's time could not be read.
    """

    partition: int
    end_offset: int
    applied_offset: int
    lag_seconds: float | None

    @property
    def lag(self) -> int:
        """Records not applied yet."""
        return max(0, self.end_offset - self.applied_offset)


def measure_lag(
    ends: Mapping[int, int],
    applied: Mapping[int, int],
    written_at: Callable[[dict[int, int]], dict[int, float]],
) -> list[PartitionLag]:
    """Each partition's lag, from the log's end offsets and the projection's applied offsets.

    :param ends: Partition -> end offset.
    :param applied: Partition -> next offset applied (missing: nothing applied).
    :param written_at: Reads when the records at some offsets were written (epoch seconds).
    """
    behind = {p: applied.get(p, 0) for p, end in ends.items() if end > applied.get(p, 0)}
    times = written_at(behind) if behind else {}
    now = time.time()
    lags = []
    for partition in sorted(ends):
        seconds: float | None = 0.0
        if partition in behind:
            written = times.get(partition)
            seconds = None if written is None else max(0.0, now - written)
        lags.append(PartitionLag(partition, ends[partition], applied.get(partition, 0), seconds))
    return lags


class RecordTimes:
    """When records of a log were written (Kafka's record timestamps), read with a short-lived consumer.

    :param Callable new_consumer: Creates a consumer of the cluster.
    :param str topic: The log.
    :param float timeout: Seconds the reads may take.
    """

    def __init__(self, new_consumer: Callable[[], Consumer], topic: str, timeout: float) -> None:
        self._new_consumer = new_consumer
        self._topic = topic
        self._timeout = timeout

    def __call__(self, offsets: dict[int, int]) -> dict[int, float]:
        """Partition -> epoch seconds of the record at (or first after) each offset; unread ones missing."""
        consumer = self._new_consumer()
        found: dict[int, float] = {}
        try:
            learn_leaders(consumer, self._topic, self._timeout)
            consumer.assign([TopicPartition(self._topic, p, o) for p, o in offsets.items()])
            deadline = time.monotonic() + self._timeout
            while len(found) < len(offsets) and time.monotonic() < deadline:
                msg = consumer.poll(0.1)
                if msg is None or msg.error() is not None or msg.partition() in found:
                    continue
                partition = int(msg.partition() or 0)
                found[partition] = msg.timestamp()[1] / 1000
                consumer.pause([TopicPartition(self._topic, partition)])
        finally:
            consumer.close()
        return found
