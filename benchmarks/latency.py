"""Latency of the backend's hot calls on a real broker (a benchmark, not a test).

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 .venv/bin/python tests/benchmarks/bench_latency.py

Prints the median and p95 of: ``set_result`` (a write acknowledged by Kafka), a
``get_result`` hit (local RocksDB, no network), a barrier read (``get_history``: asks Kafka
for the end offset, then reads), and a write-then-read from another process's view.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable

from pynenc import PynencBuilder
from pynenc.identifiers.invocation_id import InvocationId


def measure(label: str, call: Callable[[int], object], rounds: int) -> float:
    """Run ``call`` ``rounds`` times; print and return the median in microseconds."""
    samples = []
    for i in range(rounds):
        started = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - started) * 1e6)
    samples.sort()
    median, p95 = statistics.median(samples), samples[int(len(samples) * 0.95)]
    print(f"{label:<44} median {median:>9.1f} us   p95 {p95:>9.1f} us   ({rounds} calls)")
    return median


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=500)
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    app = (
        PynencBuilder()
        .app_id(f"bench-latency-{uuid.uuid4().hex[:6]}")
        .kafka(bootstrap_servers=bootstrap)
        .build()
    )
    be = app.state_backend
    be._set_result(InvocationId("warm"), "x")
    be._get_result(InvocationId("warm"))

    measure(
        "set_result (acked by Kafka)", lambda i: be._set_result(InvocationId(f"r-{i}"), "42"), args.rounds
    )
    hit = measure(
        "get_result hit (local RocksDB)", lambda i: be._get_result(InvocationId(f"r-{i}")), args.rounds
    )
    barrier = measure(
        "get_history (barrier: end offset + read)",
        lambda i: be.get_history(InvocationId(f"r-{i}")),
        args.rounds,
    )
    measure(
        "set_result then get_result of it",
        lambda i: (be._set_result(InvocationId(f"w-{i}"), "1"), be._get_result(InvocationId(f"w-{i}"))),
        args.rounds,
    )
    print(f"barrier read costs {barrier / hit:.0f}x a plain hit")


if __name__ == "__main__":
    main()
