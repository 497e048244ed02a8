"""``python -m benchmarks``: every workload on every backend, interleaved, one report.

Beside the state backends side by side, each round runs the demo fleet on Kafka alone and on
pynenc's SQLite stack for every runner, and times KafkaBroker's queue (route to retrieve, and
how many a second it hands out).

bash deploy/bench              # a full run (about 20 minutes on 2 cores)
bash deploy/bench --smoke      # a tiny round: checks the command works, figures meaningless
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from benchmarks import crossprocess, fleet, floor, forked, queue, replay, workload
from benchmarks.backends import Backend, Servers, build_app, new_app_id, release_app
from benchmarks.core_split import CoreSplit
from benchmarks.machine import machine_facts
from benchmarks.report import Metric, Results
from benchmarks.servers import REPO, KafkaBroker, RedisServer
from pynenc_kafka.core.runtime import RUNTIME

WRITES_1 = Metric("write.1", "write ops/s, 1 thread", "ops/s")
WRITES_8 = Metric("write.8", "write ops/s, 8 threads", "ops/s")
SET_RESULT = Metric("write.latency", "set_result p50, sequential", "us")
FLOOR = Metric("write.floor", "bare confluent-kafka produce round trip p50 (the floor)", "us")
FORK = Metric("fork.exit", "task process: fork, 2 writes + 1 read, exit (p50)", "us")
FORK_BRIDGED = Metric("fork.exit.bridge", "same, with KAFKA_FORK_BRIDGE_SECONDS on (p50)", "us")
REPLAY = Metric("replay", "replay into a new projection", "events/s")
QUEUE_ROUTE = Metric("queue.route", "queue: route_invocation p50 (acknowledged)", "us")
QUEUE_ROUTE_P99 = Metric("queue.route.p99", "queue: route_invocation p99", "us")


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much each workload does in one round."""

    rounds: int
    lives: int
    cross_reads: int
    forks: int
    fleet_tasks: int
    fleet_workers: int
    runners: tuple[str, ...]
    replay_events: int
    queue_latency: int
    queue_throughput: int
    #: Worker processes retrieving in the queue's latency and throughput runs (the fleet runs 2).
    queue_workers: tuple[int, ...]

    @classmethod
    def of(cls, args: argparse.Namespace) -> Sizes:
        if args.smoke:
            return cls(1, 20, 5, 2, 20, 2, ("ThreadRunner",), 2_000, 10, 40, (2,))
        return cls(
            args.rounds,
            args.lives,
            300,
            30,
            args.fleet_tasks,
            2,
            fleet.RUNNERS,
            args.replay_events,
            300,
            2_000,
            (1, 2),
        )


def rotated(items: list[Backend], by: int) -> list[Backend]:
    """``items`` started at position ``by``: each round puts another backend first."""
    by %= len(items)
    return items[by:] + items[:by]


def micro_round(backend: Backend, servers: Servers, sizes: Sizes, results: Results) -> None:
    """Writes, reads and, for shared backends, reads across processes and forked task processes."""
    lives = workload.Lives(
        build_app(backend, servers, new_app_id(backend, "w")), workload.runner_context("w")
    )
    ids = [f"inv-{n}" for n in range(sizes.lives)]
    sequential = workload.write_lives(lives, ids, threads=1)
    results.add(WRITES_1, backend, sequential.ops_per_s)
    if sequential.latency is not None:
        results.add(SET_RESULT, backend, sequential.latency.p50)
    for name, latency in workload.read_latencies(lives, ids).items():
        results.add(Metric(f"read.{name}", f"{name} p50", "us"), backend, latency.p50)
        results.add(Metric(f"read.{name}.p99", f"{name} p99", "us"), backend, latency.p99)
    threaded = workload.Lives(
        build_app(backend, servers, new_app_id(backend, "t")), workload.runner_context("t")
    )
    results.add(WRITES_8, backend, workload.write_lives(threaded, ids, threads=8).ops_per_s)
    release_app(lives.app)
    release_app(threaded.app)
    if not backend.shared:
        return
    cross = crossprocess.read_after_other_write(backend, servers, new_app_id(backend, "x"), sizes.cross_reads)
    for name, latency in cross.items():
        results.add(Metric(f"cross.{name}", f"{name} p50", "us"), backend, latency.p50)
        results.add(Metric(f"cross.{name}.p99", f"{name} p99", "us"), backend, latency.p99)
    results.add(
        FORK, backend, forked.fork_to_exit(backend, servers, new_app_id(backend, "f"), sizes.forks).p50
    )
    if backend is Backend.KAFKA:
        bridged = forked.fork_to_exit(backend, servers, new_app_id(backend, "b"), sizes.forks, bridge=True)
        results.add(FORK_BRIDGED, backend, bridged.p50)


def fleet_round(n: int, servers: Servers, sizes: Sizes, results: Results, broker_pid: int | None) -> None:
    """Every runner's fleet on every stack, the stacks' order rotated each round; then the whole
    stacks again with the cores split between the fleet and the broker, when the run started the
    broker on a machine of several cores.

    A fleet on pynenc's SQLite stack counts in both comparisons: the state backends side by side
    (pynenc's SQLite broker and orchestrator around each) and the whole stacks (Kafka alone).
    """
    for runner in sizes.runners:
        by_state = Metric(f"fleet.{runner}", f"fleet, {runner}", "tasks/s")
        by_stack = Metric(
            f"stack.{runner}", f"fleet on one whole stack, {runner}", "tasks/s", baseline=Backend.SQLITE
        )
        stacks = list(fleet.STACKS)
        for stack in stacks[n % len(stacks) :] + stacks[: n % len(stacks)]:
            say(f"round {n + 1}/{sizes.rounds}: fleet of {runner} on {stack.label}")
            try:
                rate = fleet.fleet_rate(stack, runner, servers, sizes.fleet_tasks, sizes.fleet_workers)
            except fleet.FleetRunError as exc:  # reported, and the round goes on without it
                say(f"skipped: {exc}")
                continue
            if stack in fleet.STATE_COLUMNS:
                results.add(by_state, fleet.STATE_COLUMNS[stack], rate)
            if stack in fleet.STACK_COLUMNS:
                results.add(by_stack, fleet.STACK_COLUMNS[stack], rate)
    split = CoreSplit.of_machine()
    if broker_pid is not None and split is not None:
        split_round(n, servers, sizes, results, broker_pid, split)


def split_round(
    n: int, servers: Servers, sizes: Sizes, results: Results, broker_pid: int, split: CoreSplit
) -> None:
    """Kafka alone and pynenc's SQLite stack, every runner, the broker on cores of its own."""
    split.pin_broker(broker_pid)
    try:
        for runner in sizes.runners:
            metric = Metric(
                f"split.{runner}",
                f"fleet on one whole stack, {runner}, broker on cores of its own",
                "tasks/s",
                baseline=Backend.SQLITE,
            )
            stacks = list(fleet.STACK_COLUMNS)
            for stack in stacks[n % 2 :] + stacks[: n % 2]:
                say(f"round {n + 1}/{sizes.rounds}: fleet of {runner} on {stack.label}, cores split")
                try:
                    rate = fleet.fleet_rate(
                        stack, runner, servers, sizes.fleet_tasks, sizes.fleet_workers, split
                    )
                except fleet.FleetRunError as exc:
                    say(f"skipped: {exc}")
                    continue
                results.add(metric, fleet.STACK_COLUMNS[stack], rate)
    finally:
        split.release_broker(broker_pid)


def queue_round(n: int, bootstrap: str, sizes: Sizes, results: Results) -> None:
    """KafkaBroker's queue: a route call, route to retrieve, and invocations handed out a second."""
    say(f"round {n + 1}/{sizes.rounds}: KafkaBroker's queue, latency and throughput")
    route = queue.route_latency(bootstrap, sizes.queue_latency)
    results.add(QUEUE_ROUTE, Backend.KAFKA, route.p50)
    results.add(QUEUE_ROUTE_P99, Backend.KAFKA, route.p99)
    for workers in sizes.queue_workers:
        who = f"{workers} worker{'s' if workers > 1 else ''}"
        latency = queue.latency(bootstrap, workers, sizes.queue_latency, 0.005)
        label = f"queue: route → retrieve, {who}"
        results.add(Metric(f"queue.latency.{workers}w", f"{label}, p50", "us"), Backend.KAFKA, latency.p50)
        results.add(
            Metric(f"queue.latency.{workers}w.p99", f"{label}, p99", "us"), Backend.KAFKA, latency.p99
        )
        rate = queue.throughput(bootstrap, workers, sizes.queue_throughput)
        label = f"queue: retrieved, {who}, {sizes.queue_throughput:,} queued"
        results.add(Metric(f"queue.throughput.{workers}w", label, "invocations/s"), Backend.KAFKA, rate)


def run(args: argparse.Namespace, work_dir: Path) -> int:
    sizes = Sizes.of(args)
    broker = KafkaBroker(work_dir / "kafka")
    redis = RedisServer(work_dir / "redis")
    servers = Servers(broker.bootstrap, redis.url, work_dir)
    machine = machine_facts(broker.version(), redis.version())
    results = Results()
    settings = {
        "rounds": sizes.rounds,
        "invocation lives per round": sizes.lives,
        "fleet": f"{sizes.fleet_workers} workers x {sizes.fleet_tasks} tasks",
        "replay events": sizes.replay_events,
        "queue": f"{sizes.queue_latency} routed one by one, {sizes.queue_throughput} queued",
    }
    started = time.monotonic()
    try:
        for n in range(sizes.rounds):
            for backend in rotated(list(Backend), n):
                say(f"round {n + 1}/{sizes.rounds}: {backend.label}: writes, reads, processes")
                micro_round(backend, servers, sizes, results)
            results.add(FLOOR, Backend.KAFKA, floor.produce_round_trip(broker.bootstrap, sizes.lives).p50)
            say(f"round {n + 1}/{sizes.rounds}: replay of {sizes.replay_events:,} events")
            results.add(REPLAY, Backend.KAFKA, replay.replay_rate(broker.bootstrap, sizes.replay_events))
            try:
                queue_round(n, broker.bootstrap, sizes, results)
            except Exception as exc:  # reported, and the round goes on without it, as a failed fleet
                say(f"skipped the queue's figures: {type(exc).__name__}: {exc}")
            fleet_round(n, servers, sizes, results, broker.pid)
    finally:
        RUNTIME.close()
        redis.stop()
        broker.stop()
    machine["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    machine["duration"] = f"{time.monotonic() - started:.0f} s"
    write_report(results, machine, settings, args.out)
    return 0


def write_report(results: Results, machine: dict[str, str], settings: dict[str, object], out: Path) -> None:
    """Print the table; write ``latest.md``, ``latest.json`` and ``latest.png`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    text = results.markdown(machine, settings)
    (out / "latest.md").write_text(text)
    (out / "latest.json").write_text(results.to_json(machine, settings))
    results.chart(out / "latest.png")
    print(text)
    print(f"written: {out / 'latest.md'}, {out / 'latest.json'}, {out / 'latest.png'}")


def say(line: str) -> None:
    """One progress line on standard error."""
    print(f"==> {line}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="one tiny round: the command works, no figures")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, backends interleaved (default 3)")
    parser.add_argument(
        "--lives", type=int, default=1000, help="invocation lives per workload (default 1000)"
    )
    parser.add_argument("--fleet-tasks", type=int, default=200, help="tasks per fleet run (default 200)")
    parser.add_argument("--replay-events", type=int, default=300_000, help="events replayed (default 300000)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results", help="report folder")
    args = parser.parse_args(argv)
    # pynenc and the libraries log at warning; the report is the output.
    logging.getLogger().setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    work_dir = Path(tempfile.mkdtemp(prefix="pynenc-kafka-bench-"))
    try:
        return run(args, work_dir)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
