"""Fleet throughput: the demo's worker fleet, only the state backend varying.

Each run is ``python -m pynenc_kafka.demo`` (the README's main job): the same tasks, runner,
worker count and pynenc's SQLite broker and orchestrator on this host; the state backend is
pynenc's SQLite one, pynenc-redis's, or ours (the demo's ``--stack``). No workflows:
pynenc's process runners can stall on a workflow waiting for its sub-invocations (their
status ownership), whatever the state backend, and a stalled run measures nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from benchmarks.backends import Backend, Servers

#: The runners pynenc ships, each measured.
RUNNERS = ("ThreadRunner", "MultiThreadRunner", "ProcessRunner", "PersistentProcessRunner")
#: Backends a fleet can share (Mem is one process's memory).
FLEET_BACKENDS = (Backend.SQLITE, Backend.REDIS, Backend.KAFKA)
#: The demo's stack of each backend: pynenc's SQLite components, only the state backend varying.
_STACKS = {Backend.SQLITE: "sqlite", Backend.REDIS: "sqlite+redis-state", Backend.KAFKA: "sqlite+kafka-state"}
_RATE = re.compile(r"ran (\d+) tasks in ([\d.]+)s")


class FleetRunError(RuntimeError):
    """A fleet run failed or did not say how fast it went."""


def fleet_rate(backend: Backend, runner: str, servers: Servers, tasks: int, workers: int) -> float:
    """Run one fleet; return its tasks per second.

    :param Backend backend: The state backend of every process.
    :param str runner: The pynenc runner class of each worker.
    :param Servers servers: The run's servers.
    :param int tasks: Tasks in all.
    :param int workers: Worker processes.
    :raises FleetRunError: If the run failed.
    """
    env = {**os.environ, **servers.environment()}
    command = [
        sys.executable, "-m", "pynenc_kafka.demo",
        "--stack", _STACKS[backend],
        "--workers", str(workers),
        "--tasks", str(tasks),
        "--workflows", "0",
        "--runner", runner,
        "--log-dir", str(servers.work_dir / "fleet-logs"),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    except subprocess.TimeoutExpired as exc:
        raise FleetRunError(f"the {runner} fleet on {backend.label} did not finish within 600 s") from exc
    match = _RATE.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise FleetRunError(
            f"the {runner} fleet on {backend.label} failed (exit {done.returncode}):\n"
            f"{done.stdout[-1500:]}\n{done.stderr[-1500:]}"
        )
    return int(match.group(1)) / float(match.group(2))
