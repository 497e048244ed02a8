"""The worker OS processes of the fleet: start them in groups, notice one that died, stop them.

The workers are split into two groups that stand for two hosts: each group has a projection
folder of its own (its RocksDB views, its projector), so the groups share nothing but Kafka,
as two machines would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from pynenc_kafka.demo.logs import RunLogs

#: Seconds a worker has to finish its running tasks after SIGTERM before it is SIGKILLed.
STOP_GRACE_SECONDS = 20
#: The hosts the worker groups stand for (fewer groups when there are fewer workers).
HOSTS = ("host-1", "host-2")


@dataclass(frozen=True)
class WorkerGroup:
    """Workers that stand for one host: they share a projection folder, and nothing else with the others.

    :param host: the host it stands for, also its folder's name.
    :param first: its first worker's number, from 1.
    :param last: its last worker's number.
    :param projection_dir: its projection folder.
    """

    host: str
    first: int
    last: int
    projection_dir: Path

    @property
    def indexes(self) -> range:
        """:return: its workers' numbers."""
        return range(self.first, self.last + 1)

    def __str__(self) -> str:
        workers = f"worker {self.first}" if self.first == self.last else f"workers {self.first}-{self.last}"
        return f"{self.host}: {workers}"


def worker_groups(count: int, projection_root: Path) -> list[WorkerGroup]:
    """Split ``count`` workers into (at most) two groups, the first one the larger.

    :param count: worker processes.
    :param projection_root: the folder under which each group gets its own (``<root>/<host>``).
    :return: the groups, in order.
    """
    sizes = [size for size in ((count + 1) // 2, count // 2) if size > 0]
    groups, first = [], 1
    for host, size in zip(HOSTS, sizes, strict=False):
        groups.append(WorkerGroup(host, first, first + size - 1, projection_root / host))
        first += size
    return groups


@dataclass(frozen=True)
class DeadWorker:
    """A worker process that exited while the fleet ran.

    :param index: its number, from 1.
    :param pid: its process id.
    :param returncode: its exit code (negative: the signal that ended it).
    """

    index: int
    pid: int
    returncode: int


class WorkerDied(Exception):
    """A worker process exited while the fleet ran: the work it held may never finish.

    :param dead: the worker.
    """

    def __init__(self, dead: DeadWorker) -> None:
        super().__init__(f"worker {dead.index} (pid {dead.pid}) exited with {dead.returncode}")
        self.dead = dead


def start_workers(groups: list[WorkerGroup], logs: RunLogs | None = None) -> list[subprocess.Popen[bytes]]:
    """Start the worker OS processes of ``groups``, each with its group's projection folder.

    :param groups: the worker groups, as :func:`worker_groups` made them.
    :param logs: the run's log folder: each worker's stdout and stderr go to its own file there
        (``None``: they share this process' stdout and stderr). Logged workers run in their own
        process group, so a Ctrl-C reaches only this process, which stops them.
    :return: the worker processes, in order (worker 1 first).
    """
    command = [sys.executable, "-m", "pynenc_kafka.demo.worker"]
    workers = []
    for group in groups:
        env = {**os.environ, "PYNENC__KAFKA_PROJECTION_DIR": str(group.projection_dir)}
        for index in group.indexes:
            if logs is None:
                workers.append(subprocess.Popen(command, env=env))
                continue
            with logs.worker(index).open("ab") as log:
                workers.append(
                    subprocess.Popen(
                        command,
                        env=env,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        process_group=0,
                    )
                )
    return workers


def first_dead(workers: list[subprocess.Popen[bytes]]) -> DeadWorker | None:
    """:param workers: the fleet's worker processes, as :func:`start_workers` returned them.
    :return: the first of them that has exited, if any.
    """
    for index, worker in enumerate(workers, start=1):
        returncode = worker.poll()
        if returncode is not None:
            return DeadWorker(index, worker.pid, returncode)
    return None


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every worker, then wait for each (SIGKILL after :data:`STOP_GRACE_SECONDS`).

    :param workers: the worker processes.
    """
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        try:
            worker.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
