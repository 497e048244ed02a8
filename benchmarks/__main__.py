"""``python -m benchmarks``: every workload on every backend, interleaved, one report.

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

from benchmarks import crossprocess, fleet, floor, forked, replay, workload
from benchmarks.backends import Backend, Servers, build_app, new_app_id, release_app
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

    @classmethod
    def of(cls, args: argparse.Namespace) -> Sizes:
        if args.smoke:
            return cls(1, 20, 5, 2, 20, 2, ("ThreadRunner",), 2_000)
        return cls(args.rounds, args.lives, 300, 30, args.fleet_tasks, 2, fleet.RUNNERS, args.replay_events)


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
            for runner in sizes.runners:
                metric = Metric(f"fleet.{runner}", f"fleet, {runner}", "tasks/s")
                for backend in rotated(list(fleet.FLEET_BACKENDS), n):
                    say(f"round {n + 1}/{sizes.rounds}: fleet of {runner} on {backend.label}")
                    try:
                        rate = fleet.fleet_rate(
                            backend, runner, servers, sizes.fleet_tasks, sizes.fleet_workers
                        )
                    except fleet.FleetRunError as exc:  # reported, and the round goes on without it
                        say(f"skipped: {exc}")
                        continue
                    results.add(metric, backend, rate)
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
    parser.add_argument("--fleet-tasks", type=int, default=400, help="tasks per fleet run (default 400)")
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
