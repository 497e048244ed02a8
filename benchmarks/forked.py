"""First writes of a freshly forked process, as pynenc's ProcessRunner makes one per task
(a benchmark, not a test).

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 .venv/bin/python tests/benchmarks/bench_forked_write.py

The parent writes once (topics created, cluster known), then forks ``--forks`` children
one after another; each child times its first write (a runner context, as a task process
starts with) and its second (a status record). Prints median, p95 and max of each, and
how many first writes waited on librdkafka's 500 ms producer-id retry (over 400 ms).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from multiprocessing.queues import Queue

from pynenc import Pynenc, PynencBuilder
from pynenc.identifiers.invocation_id import InvocationId
from pynenc.invocation.status import InvocationStatus, InvocationStatusRecord
from pynenc.runner.runner_context import RunnerContext

FORK = multiprocessing.get_context("fork")


def context(parent: RunnerContext | None = None) -> RunnerContext:
    """A runner context of this process, as a runner or its task process stores."""
    return RunnerContext(
        runner_cls="BenchRunner",
        runner_id=str(uuid.uuid4()),
        pid=os.getpid(),
        hostname="bench",
        thread_id=0,
        parent_ctx=parent,
    )


def child(app: Pynenc, parent: RunnerContext, report: Queue[tuple[float, float]]) -> None:
    """In the forked process: time the first and the second write, in milliseconds."""
    backend = app.state_backend
    started = time.perf_counter()
    own = context(parent)
    backend.store_runner_context(own)
    first = time.perf_counter()
    status = InvocationStatusRecord(InvocationStatus.RUNNING, own.runner_id)
    backend.add_history(InvocationId(f"bench-{uuid.uuid4()}"), status, own)
    second = time.perf_counter()
    report.put(((first - started) * 1e3, (second - first) * 1e3))


def summary(label: str, samples: list[float]) -> str:
    """Median, p95 and max of millisecond samples."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{label:<34} median {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms   max {ordered[-1]:7.1f} ms"


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--forks", type=int, default=50)
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    os.environ.setdefault("PYNENC__KAFKA_PROJECTION_DIR", tempfile.mkdtemp(prefix="bench-fork-"))
    app = (
        PynencBuilder()
        .app_id(f"bench-fork-{uuid.uuid4().hex[:6]}")
        .kafka(bootstrap_servers=bootstrap)
        .build()
    )
    parent = context()
    app.state_backend.store_runner_context(parent)
    firsts, seconds = [], []
    for _ in range(args.forks):
        report: Queue[tuple[float, float]] = FORK.Queue()
        process = FORK.Process(target=child, args=(app, parent, report))
        process.start()
        first, second = report.get(timeout=60)
        process.join(60)
        firsts.append(first)
        seconds.append(second)
    print(summary("first write of a forked process", firsts))
    print(summary("second write", seconds))
    print(f"first writes over 400 ms: {sum(f > 400 for f in firsts)} of {args.forks}")


if __name__ == "__main__":
    main()
