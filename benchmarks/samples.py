"""Timing samples and the statistics the report gives of them (median of rounds, p50, p99)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Latency:
    """Percentiles of one call's latency, in microseconds.

    :param float p50: Median.
    :param float p99: 99th percentile.
    """

    p50: float
    p99: float

    @classmethod
    def of(cls, samples: list[float]) -> Latency:
        """Percentiles of ``samples`` (microseconds).

        :param samples: One duration per call.
        """
        ordered = sorted(samples)
        return cls(statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))])


def timed_calls(call: Callable[[int], object], count: int) -> list[float]:
    """Call ``call(i)`` for ``i`` in ``range(count)``; return each call's duration in microseconds.

    :param call: The call to time.
    :param int count: How many calls.
    """
    samples = []
    for i in range(count):
        started = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


def median_of_rounds(rounds: list[float]) -> float:
    """The figure reported for several rounds of one measurement: their median."""
    return statistics.median(rounds)
