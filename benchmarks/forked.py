"""A forked task process's whole overhead: fork, two writes and a read, exit.

pynenc's ProcessRunner forks a process per task; that process stores its runner context,
records a status, reads what it needs and exits. This times each from ``fork`` to the
parent seeing it exit, then checks from the parent that every write is there: acknowledged
and durable, not lost with the process.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import uuid

from pynenc import Pynenc
from pynenc.identifiers.invocation_id import InvocationId
from pynenc.invocation.status import InvocationStatus
from pynenc.runner.runner_context import RunnerContext

from benchmarks.backends import Backend, Servers, build_app, release_app
from benchmarks.samples import Latency
from benchmarks.workload import Lives, runner_context

FORK = multiprocessing.get_context("fork")


def _task_process(app: Pynenc, parent: RunnerContext, invocation_id: str) -> None:
    """In the forked process: the writes and the read of a task process, then exit."""
    own = RunnerContext(
        runner_cls="BenchTask",
        runner_id=f"task-{uuid.uuid4().hex[:8]}",
        pid=os.getpid(),
        hostname="bench",
        thread_id=0,
        parent_ctx=parent,
    )
    lives = Lives(app, own)
    app.state_backend._store_runner_context(own)
    lives.status(invocation_id, InvocationStatus.RUNNING)
    if app.state_backend._get_result(InvocationId("known")) != "3":
        os._exit(3)


def fork_to_exit(
    backend: Backend, servers: Servers, app_id: str, forks: int, bridge: bool = False
) -> Latency:
    """p50/p99, in microseconds, of a task process from fork to exit.

    :param Backend backend: A backend processes share.
    :param Servers servers: The run's servers.
    :param str app_id: A new app.
    :param int forks: Task processes, one after another.
    :param bool bridge: Kafka only: with the fork bridge on (``KAFKA_FORK_BRIDGE_SECONDS``).
    :raises AssertionError: If a process failed or a write of one is missing afterwards.
    """
    parent = runner_context("parent")
    os.environ["PYNENC__KAFKA_FORK_BRIDGE_SECONDS"] = "30" if bridge else "0"
    try:
        lives = Lives(build_app(backend, servers, app_id), parent)
        lives.backend.conf  # noqa: B018 -- read the setting now, while the environment says it
    finally:
        os.environ.pop("PYNENC__KAFKA_FORK_BRIDGE_SECONDS")
    lives.backend.store_runner_context(parent)
    lives.result("known")
    samples, ids = [], [f"forked-{n}" for n in range(forks)]
    for invocation_id in ids:
        process = FORK.Process(target=_task_process, args=(lives.app, parent, invocation_id))
        started = time.perf_counter()
        process.start()
        process.join(120)
        samples.append((time.perf_counter() - started) * 1e6)
        if process.exitcode != 0:
            raise AssertionError(f"a task process on {backend.label} exited with {process.exitcode}")
    missing = [i for i in ids if len(lives.backend._get_history(InvocationId(i))) != 1]
    release_app(lives.app)
    if missing:
        raise AssertionError(f"{backend.label} lost the writes of task processes {missing[:5]}")
    return Latency.of(samples)
