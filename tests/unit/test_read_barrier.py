"""The read barrier without a broker: end offsets from a stub, progress from the projection."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

import pytest

from pynenc_kafka.projections.barrier import ReadBarrier
from pynenc_kafka.projections.errors import LogRewoundError, ReadBarrierTimeoutError
from pynenc_kafka.projections.progress import ProjectionProgress
from pynenc_kafka.schemas.errors import KafkaBackendError


class LogEnds:
    """End offsets a test sets, counting how often the barrier asked."""

    def __init__(self, ends: dict[int, int]) -> None:
        self.ends = ends
        self.asked: list[list[int]] = []

    def __call__(self, partitions: Iterable[int]) -> dict[int, int]:
        wanted = list(partitions)
        self.asked.append(wanted)
        return {p: self.ends[p] for p in wanted}


def test_a_caught_up_projection_passes_at_once_asking_only_for_the_partitions_read() -> None:
    ends = LogEnds({0: 5, 1: 9})
    barrier = ReadBarrier(ends, ProjectionProgress({0: 5}), 2, timeout=0.2)
    barrier.wait([0])
    assert ends.asked == [[0]]


def test_a_reader_waits_until_the_projector_applied_the_end() -> None:
    progress = ProjectionProgress({0: 5})
    barrier = ReadBarrier(LogEnds({0: 5, 1: 9}), progress, 2, timeout=5)
    threading.Timer(0.05, progress.advance, args=({1: 9},)).start()
    started = time.monotonic()
    barrier.wait()
    assert 0.04 < time.monotonic() - started < 4


def test_a_projection_that_stays_behind_times_out_naming_what_is_missing() -> None:
    barrier = ReadBarrier(LogEnds({0: 5, 1: 9}), ProjectionProgress({0: 5, 1: 4}), 2, timeout=0.1)
    with pytest.raises(ReadBarrierTimeoutError, match=r"\{0: 0, 1: 5\}.*KAFKA_READ_BARRIER_TIMEOUT"):
        barrier.wait()


def test_a_failed_projector_is_reported_instead_of_waiting() -> None:
    def failed() -> None:
        raise KafkaBackendError("the projector failed")

    barrier = ReadBarrier(LogEnds({0: 3}), ProjectionProgress({}), 1, timeout=30, health=failed)
    started = time.monotonic()
    with pytest.raises(KafkaBackendError, match="the projector failed"):
        barrier.wait()
    assert time.monotonic() - started < 1


def test_a_secondary_reader_polls_the_primary_s_checkpoint() -> None:
    applied = {0: 0}

    def refresh() -> dict[int, int]:
        applied[0] = min(applied[0] + 1, 3)
        return dict(applied)

    barrier = ReadBarrier(LogEnds({0: 3}), ProjectionProgress({}, refresh), 1, timeout=5)
    barrier.wait()
    assert applied == {0: 3}


def test_a_log_that_ends_before_what_was_applied_is_a_new_log() -> None:
    barrier = ReadBarrier(LogEnds({0: 2}), ProjectionProgress({0: 5}), 1, timeout=1)
    with pytest.raises(LogRewoundError, match=r"\{0: \(2, 5\)\}"):
        barrier.wait()


def test_records_applied_while_kafka_answers_are_not_taken_for_a_rewound_log() -> None:
    """Another thread's writes, applied between the request and its answer, are past the answer's end."""
    progress = ProjectionProgress({0: 5})

    def ends_then_more_applied(partitions: Iterable[int]) -> dict[int, int]:
        answer = dict.fromkeys(partitions, 5)
        progress.advance({0: 7})  # two more records written and applied before the answer is read
        return answer

    ReadBarrier(ends_then_more_applied, progress, 1, timeout=1).wait()
