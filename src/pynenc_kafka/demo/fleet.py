"""The worker OS processes of the fleet: start them, notice one that died, stop them."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

from pynenc_kafka.demo.logs import RunLogs

#: Seconds a worker has to finish its running tasks after SIGTERM before it is SIGKILLed.
STOP_GRACE_SECONDS = 20


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


def start_workers(count: int, logs: RunLogs | None = None) -> list[subprocess.Popen[bytes]]:
    """Start ``count`` worker OS processes.

    :param count: how many.
    :param logs: the run's log folder: each worker's stdout and stderr go to its own file there
        (``None``: they share this process' stdout and stderr). Logged workers run in their own
        process group, so a Ctrl-C reaches only this process, which stops them.
    :return: the worker processes, in order (worker 1 first).
    """
    workers = []
    for index in range(1, count + 1):
        if logs is None:
            workers.append(subprocess.Popen([sys.executable, "-m", "pynenc_kafka.demo.worker"]))
            continue
        with logs.worker(index).open("ab") as log:
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "pynenc_kafka.demo.worker"],
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
