"""Fleet throughput: KafkaStateBackend against pynenc's SQLiteStateBackend (a benchmark, not a test).

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 .venv/bin/python tests/benchmarks/bench_fleet.py --tasks 2000

Runs the demo fleet (``python -m pynenc_kafka.demo``) twice in one run, with the same runner,
workers, broker and orchestrator (pynenc's SQLite ones): once on pynenc's SQLite state backend,
once on ours, alternating ``--rounds`` times, and prints tasks/s of each and their ratio.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys

_RATE = re.compile(r"ran (\d+) tasks in ([\d.]+)s: (\d+) tasks/s")


def run_fleet(state: str, args: argparse.Namespace) -> float:
    """One fleet run; return its tasks/s."""
    env = {**os.environ, "PYNENC_KAFKA_DEMO_STATE": state}
    if "KAFKA_BOOTSTRAP_SERVERS" in os.environ:
        env["PYNENC__KAFKA_BOOTSTRAP_SERVERS"] = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    command = [
        sys.executable,
        "-m",
        "pynenc_kafka.demo",
        "--workers",
        str(args.workers),
        "--tasks",
        str(args.tasks),
        "--runner",
        args.runner,
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
    match = _RATE.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise SystemExit(f"fleet run on {state} failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    tasks, seconds = int(match.group(1)), float(match.group(2))
    print(f"  {state:<7} {tasks} tasks in {seconds:6.1f}s: {tasks / seconds:7.1f} tasks/s", flush=True)
    return tasks / seconds


def main() -> None:
    """Alternate the two backends and print the medians and their ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runner", default="ThreadRunner")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    rates: dict[str, list[float]] = {"sqlite": [], "kafka": []}
    for _ in range(args.rounds):
        for state in rates:
            rates[state].append(run_fleet(state, args))
    sqlite, kafka = (statistics.median(rates[s]) for s in ("sqlite", "kafka"))
    print(
        f"{args.runner} x {args.workers} workers, {args.tasks} tasks: SQLiteStateBackend {sqlite:.1f} tasks/s, "
        f"KafkaStateBackend {kafka:.1f} tasks/s, ratio kafka/sqlite {kafka / sqlite:.2f}"
    )


if __name__ == "__main__":
    main()
