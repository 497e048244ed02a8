"""What registering a new invocation costs the state backend (a benchmark, not a test).

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 .venv/bin/python -m benchmarks.registration

pynenc registers a new invocation in two steps that both call ``upsert_invocations`` with the
same invocation: ``DistributedInvocation.store_in_backend`` and then the orchestrator's
``register_new_invocations``. This prints, per invocation, the median and p95 time of that pair
of calls on the Kafka backend (each call that publishes waits for Kafka's acknowledgement), the
events the log received per invocation, and the same for a whole ``task(...)`` call through
pynenc's SQLite orchestrator and broker (the demo's app) (registration, REGISTERED history entry, routing).
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import tempfile
import time
import uuid
from types import ModuleType

from pynenc.arguments import Arguments
from pynenc.call import Call
from pynenc.identifiers.invocation_id import InvocationId
from pynenc.invocation.dist_invocation import DistributedInvocation

from pynenc_kafka.components.state_backend import KafkaStateBackend

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")


def demo_tasks() -> ModuleType:
    """The demo's tasks (pynenc's SQLite orchestrator and broker, the Kafka state backend) on a new app."""
    os.environ["PYNENC__KAFKA_BOOTSTRAP_SERVERS"] = BOOTSTRAP
    os.environ["PYNENC_KAFKA_DEMO_APP"] = f"bench-registration-{uuid.uuid4().hex[:6]}"
    os.environ["PYNENC_KAFKA_DEMO_STACK"] = "sqlite+kafka-state"
    os.environ["PYNENC_KAFKA_DEMO_SQLITE"] = os.path.join(tempfile.mkdtemp(), "pynenc.db")
    os.environ.setdefault("PYNENC__LOGGING_LEVEL", "error")
    return importlib.import_module("pynenc_kafka.demo.tasks")


def report(label: str, samples: list[float]) -> None:
    """Print the median and p95 of ``samples`` (seconds) in microseconds."""
    samples = sorted(s * 1e6 for s in samples)
    median, p95 = statistics.median(samples), samples[int(len(samples) * 0.95)]
    print(f"{label:<58} median {median:>8.1f} us   p95 {p95:>8.1f} us   ({len(samples)} invocations)")


def log_size(backend: KafkaStateBackend) -> int:
    """Records in the app's log now."""
    projection = backend.projection
    return sum(projection.barrier.end_offsets(range(projection.log.partitions)).values())


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=400)
    args = parser.parse_args()
    tasks = demo_tasks()
    backend = tasks.app.state_backend
    assert isinstance(backend, KafkaStateBackend)
    tasks.score(-1)  # opens the projection, creates the topic, warms the producer
    pair: list[float] = []
    before = log_size(backend)
    for i in range(args.rounds):
        call = Call(tasks.score, Arguments.from_call(tasks.score.func, i))
        invocation = DistributedInvocation(call, InvocationId(str(uuid.uuid4())), None, None, True)
        started = time.perf_counter()
        backend.upsert_invocations([invocation])  # store_in_backend
        backend.upsert_invocations([invocation])  # register_new_invocations
        pair.append(time.perf_counter() - started)
    per_invocation = (log_size(backend) - before) / args.rounds
    report("upsert_invocations x2 (store + register)", pair)
    print(f"{'':<58} {per_invocation:.2f} InvocationRegistered events per invocation")
    calls: list[float] = []
    for i in range(args.rounds):
        started = time.perf_counter()
        tasks.score(args.rounds + i)
        calls.append(time.perf_counter() - started)
    report("task(...) call: register + REGISTERED entry + route", calls)


if __name__ == "__main__":
    main()
