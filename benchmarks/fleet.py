"""Fleet throughput: the demo's worker fleet (``python -m pynenc_kafka.demo``) on each stack.

Each run is the README's main job with the same tasks, runner and worker count; only the
demo's ``--stack`` varies:

- ``kafka``: Kafka alone (every pynenc-kafka component), the workers in two groups with a
  projection folder each, as the demo runs by default;
- ``sqlite``: pynenc's SQLite components, all of them (one host's file);
- ``sqlite+kafka-state`` and ``sqlite+redis-state``: pynenc's SQLite components but the state
  backend, for the side-by-side of state backends.

No workflows: pynenc's PersistentProcessRunner can stall when workflows waiting for their
sub-invocations hold every process slot, whatever the stack, and a stalled run measures nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from benchmarks.backends import Backend, Servers
from benchmarks.core_split import CoreSplit
from pynenc_kafka.demo.stacks import Stack

#: The runners pynenc ships, each measured.
RUNNERS = ("ThreadRunner", "MultiThreadRunner", "ProcessRunner", "PersistentProcessRunner")
#: The stacks measured, and the column each one's figure goes to: the side-by-side of state
#: backends (pynenc's SQLite components around each) and the whole stacks (``STACK_ROWS``).
STATE_COLUMNS = {
    Stack.SQLITE: Backend.SQLITE,
    Stack.SQLITE_REDIS_STATE: Backend.REDIS,
    Stack.SQLITE_KAFKA_STATE: Backend.KAFKA,
}
STACK_COLUMNS = {Stack.SQLITE: Backend.SQLITE, Stack.KAFKA: Backend.KAFKA}
#: Every stack a round runs, each once per runner (``sqlite`` serves both comparisons).
STACKS = (Stack.SQLITE, Stack.SQLITE_REDIS_STATE, Stack.SQLITE_KAFKA_STATE, Stack.KAFKA)
_RATE = re.compile(r"ran (\d+) tasks in ([\d.]+)s")


class FleetRunError(RuntimeError):
    """A fleet run failed or did not say how fast it went."""


def fleet_rate(
    stack: Stack, runner: str, servers: Servers, tasks: int, workers: int, split: CoreSplit | None = None
) -> float:
    """Run one fleet; return its tasks per second.

    :param Stack stack: The components of every process.
    :param str runner: The pynenc runner class of each worker.
    :param Servers servers: The run's servers.
    :param int tasks: Tasks in all.
    :param int workers: Worker processes.
    :param split: Cores to pin every process of the fleet to (``None``: every core).
    :raises FleetRunError: If the run failed.
    """
    env = {**os.environ, **servers.environment()}
    command = [
        sys.executable, "-m", "pynenc_kafka.demo",
        "--stack", stack.value,
        "--workers", str(workers),
        "--tasks", str(tasks),
        "--workflows", "0",
        "--runner", runner,
        "--log-dir", str(servers.work_dir / "fleet-logs"),
    ]  # fmt: skip
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            preexec_fn=None if split is None else split.pin_fleet,
        )
    except subprocess.TimeoutExpired as exc:
        raise FleetRunError(f"the {runner} fleet on {stack.label} did not finish within 600 s") from exc
    match = _RATE.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise FleetRunError(
            f"the {runner} fleet on {stack.label} failed (exit {done.returncode}):\n"
            f"{done.stdout[-1500:]}\n{done.stderr[-1500:]}"
        )
    return int(match.group(1)) / float(match.group(2))
