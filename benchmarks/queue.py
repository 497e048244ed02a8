"""KafkaBroker's queue: route-to-retrieve latency and throughput, with 1 and 4 worker processes.

``python -m benchmarks.queue`` against the broker ``KAFKA_BOOTSTRAP_SERVERS`` names; it also
runs :mod:`benchmarks.share_group` (why the queue is not a share group nor a classic group).
``python -m benchmarks`` (``deploy/bench``) runs :func:`latency` and :func:`throughput` in its report.

- Latency: a router process routes one invocation at a time (a few ms apart); the workers
  retrieve in a loop. An invocation's id carries its routing time, so a worker measures
  route-call-start to retrieve-returned on the same clock.
- Throughput: invocations routed beforehand in batches, then drained by the workers: how
  many a second come out of ``retrieve_invocation`` over all workers.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import time
import uuid
from multiprocessing.synchronize import Barrier
from typing import Any

from benchmarks.samples import Latency
from pynenc_kafka.components.broker import KafkaBroker
from pynenc_kafka.core.queue_tables import QUEUE_TABLES

#: Claims that lost to another worker's, per run (``latency.4w``, ...).
LOST: dict[str, int] = {}


def _broker(bootstrap: str, app_id: str) -> KafkaBroker:
    from pynenc import PynencBuilder

    app = (
        PynencBuilder()
        .app_id(app_id)
        .memory()
        .custom_config(
            broker_cls="KafkaBroker",
            kafka_bootstrap_servers=bootstrap,
            kafka_topic_prefix="bench-queue",
        )
        .build()
    )
    broker = app.broker
    assert isinstance(broker, KafkaBroker)
    return broker


def _worker(bootstrap: str, app_id: str, start: Barrier, results: Any) -> None:
    """Retrieve until an ``end-`` marker comes out (routed last, one a worker, at the lowest priority)."""
    broker = _broker(bootstrap, app_id)
    broker.count_invocations()  # the table is open and caught up before timing starts
    start.wait(120)
    latencies, taken, started = [], 0, time.perf_counter()
    while True:
        found = broker.retrieve_invocation()
        if found is None:
            continue
        if found.startswith("end-"):
            break
        taken += 1
        routed_ns = int(found.split("-", 1)[0])
        latencies.append((time.time_ns() - routed_ns) / 1e3)
    lost = QUEUE_TABLES.use(broker.spec, lambda table: table.claims_lost)
    results.put((taken, time.perf_counter() - started, latencies, lost))


def _run_workers(bootstrap: str, app_id: str, workers: int, route: Any) -> tuple[int, float, list[float]]:
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(workers + 1), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(bootstrap, app_id, start, results)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    start.wait(120)
    began = time.perf_counter()
    route()
    outs = [results.get(timeout=600) for _ in procs]
    elapsed = time.perf_counter() - began
    for proc in procs:
        proc.join(30)
    LOST[f"{app_id.split('-')[1]}.{workers}w"] = sum(o[3] for o in outs)
    return sum(o[0] for o in outs), elapsed, [lat for o in outs for lat in o[2]]


def latency(bootstrap: str, workers: int, count: int, gap: float) -> Latency:
    """p50/p99 (us) from the start of ``route_invocation`` to ``retrieve_invocation`` returning it."""
    app_id = f"bench-latency-{uuid.uuid4().hex[:8]}"
    router = _broker(bootstrap, app_id)

    def route() -> None:
        for _ in range(count):
            router.route_invocation(f"{time.time_ns()}-{uuid.uuid4()}", "default", 0.0)
            time.sleep(gap)
        router.route_invocations([f"end-{n}" for n in range(workers)], "default", -100.0)

    taken, _, samples = _run_workers(bootstrap, app_id, workers, route)
    assert taken == count, (taken, count)
    return Latency.of(samples)


def throughput(bootstrap: str, workers: int, count: int) -> float:
    """Invocations a second that ``retrieve_invocation`` hands out over all workers (routed beforehand)."""
    app_id = f"bench-throughput-{uuid.uuid4().hex[:8]}"
    router = _broker(bootstrap, app_id)
    for first in range(0, count, 200):
        batch = [f"{time.time_ns()}-{n}" for n in range(first, min(count, first + 200))]
        router.route_invocations(batch, "default", 0.0)
    taken, elapsed, _ = _run_workers(
        bootstrap,
        app_id,
        workers,
        lambda: router.route_invocations([f"end-{n}" for n in range(workers)], "default", -100.0),
    )
    assert taken == count, (taken, count)
    return count / elapsed


def route_latency(bootstrap: str, count: int) -> Latency:
    """p50/p99 (us) of one ``route_invocation`` call (Kafka's acknowledgement included)."""
    router = _broker(bootstrap, f"bench-route-{uuid.uuid4().hex[:8]}")
    router.route_invocation("warm", "default", 0.0)
    samples = []
    for n in range(count):
        began = time.perf_counter()
        router.route_invocation(f"inv-{n}", "default", 0.0)
        samples.append((time.perf_counter() - began) * 1e6)
    return Latency.of(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-count", type=int, default=400)
    parser.add_argument("--throughput-count", type=int, default=2000)
    parser.add_argument("--skip-share-group", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    figures: dict[str, Any] = {"route": vars_of(route_latency(bootstrap, 200))}
    for workers in (1, 4):
        figures[f"latency.{workers}w"] = vars_of(latency(bootstrap, workers, args.latency_count, 0.005))
        figures[f"throughput.{workers}w"] = round(throughput(bootstrap, workers, args.throughput_count), 1)
    if not args.skip_share_group:
        from benchmarks import share_group

        figures.update(share_group.measure(bootstrap))
    figures["claims_lost"] = LOST
    print(json.dumps(figures, indent=2))


def vars_of(latency: Latency) -> dict[str, float]:
    """A latency's percentiles, rounded to the microsecond."""
    return {"p50_us": round(latency.p50), "p99_us": round(latency.p99)}


if __name__ == "__main__":
    main()
