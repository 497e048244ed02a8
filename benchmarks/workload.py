"""The micro-benchmark workload: invocation lives written, then read back, on one backend.

One invocation's life is six writes, as a runner makes them: its registration, four status
records (REGISTERED, PENDING, RUNNING, SUCCESS) and its result. The calls are the backend's
own (pynenc's ``_get_*``/``_set_*`` methods), below pynenc's argument and result
(de)serialization, which is the same code for every backend.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

from pynenc import Pynenc
from pynenc.identifiers.call_id import CallId
from pynenc.identifiers.invocation_id import InvocationId
from pynenc.identifiers.task_id import TaskId
from pynenc.invocation.status import InvocationStatus, InvocationStatusRecord
from pynenc.models.call_dto import CallDTO
from pynenc.models.invocation_dto import InvocationDTO
from pynenc.runner.runner_context import RunnerContext
from pynenc.state_backend.base_state_backend import BaseStateBackend, InvocationHistory
from pynenc.workflow import WorkflowIdentity

from benchmarks.samples import Latency, timed_calls

TASK = TaskId("benchmarks.tasks", "add")
STATUSES = (
    InvocationStatus.REGISTERED,
    InvocationStatus.PENDING,
    InvocationStatus.RUNNING,
    InvocationStatus.SUCCESS,
)
#: Writes of one invocation's life.
WRITES_PER_LIFE = 1 + len(STATUSES) + 1


def runner_context(name: str) -> RunnerContext:
    """A runner context of this process, as a runner stores before its first status record."""
    return RunnerContext(
        runner_cls="BenchRunner",
        runner_id=f"{name}-{os.getpid()}",
        pid=os.getpid(),
        hostname="bench",
        thread_id=0,
    )


@dataclass(frozen=True, slots=True)
class Lives:
    """Writes invocation lives on one app's state backend.

    :param Pynenc app: The app.
    :param RunnerContext runner: The runner the status records name (stored once, first).
    """

    app: Pynenc
    runner: RunnerContext

    @property
    def backend(self) -> BaseStateBackend:
        """The app's state backend."""
        return self.app.state_backend

    @staticmethod
    def workflow(invocation_id: str) -> WorkflowIdentity:
        """The workflow an invocation of the workload runs (its own)."""
        return WorkflowIdentity(InvocationId(invocation_id), TASK)

    def register(self, invocation_id: str) -> None:
        """Write an invocation's registration."""
        call_id = CallId(TASK, f"args-{invocation_id}")
        invocation = InvocationDTO(InvocationId(invocation_id), call_id, self.workflow(invocation_id), None)
        call = CallDTO(call_id, {"x": "1", "y": "2"})
        self.backend._upsert_invocations([(invocation, call)])

    def status(self, invocation_id: str, status: InvocationStatus) -> None:
        """Write one status record of an invocation."""
        record = InvocationStatusRecord(status, self.runner.runner_id)
        history = InvocationHistory(InvocationId(invocation_id), record, self.runner.runner_id)
        self.backend._add_histories([InvocationId(invocation_id)], history)

    def result(self, invocation_id: str) -> None:
        """Write an invocation's result."""
        self.backend._set_result(InvocationId(invocation_id), "3")

    def live(self, invocation_id: str) -> None:
        """Write a whole life: registration, status records, result."""
        self.register(invocation_id)
        for status in STATUSES:
            self.status(invocation_id, status)
        self.result(invocation_id)


@dataclass(frozen=True, slots=True)
class WriteFigures:
    """Write throughput and sequential write latency.

    :param float ops_per_s: Writes per second over the run.
    :param Latency latency: Latency of one write (``set_result``), sequential runs only.
    """

    ops_per_s: float
    latency: Latency | None


def write_lives(lives: Lives, ids: list[str], threads: int) -> WriteFigures:
    """Write the lives of ``ids`` with ``threads`` writer threads; time the whole.

    :param Lives lives: The writer.
    :param ids: Invocation ids, split evenly across the threads.
    :param int threads: Writer threads.
    """
    lives.backend.store_runner_context(lives.runner)
    if threads == 1:
        started = time.perf_counter()
        for invocation_id in ids:
            lives.register(invocation_id)
            for status in STATUSES:
                lives.status(invocation_id, status)
        results = timed_calls(lambda i: lives.result(ids[i]), len(ids))
        seconds = time.perf_counter() - started
        return WriteFigures(len(ids) * WRITES_PER_LIFE / seconds, Latency.of(results))

    def write_share(share: list[str]) -> None:
        for invocation_id in share:
            lives.live(invocation_id)

    workers = [threading.Thread(target=write_share, args=(ids[t::threads],)) for t in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return WriteFigures(len(ids) * WRITES_PER_LIFE / (time.perf_counter() - started), None)


#: The reads measured, in the report's order.
READS = ("get_result", "get_invocation", "get_history", "get_runner_context", "get_workflow_data")


def read_latencies(lives: Lives, ids: list[str]) -> dict[str, Latency]:
    """p50/p99 of each read of :data:`READS`, over ``ids`` (whose lives are written).

    Each read's answer is checked, so a fast wrong answer cannot pass for a figure.

    :param Lives lives: The app's writer (its backend answers the reads).
    :param ids: Invocations with whole lives written.
    """
    backend, runner_id = lives.backend, lives.runner.runner_id
    for invocation_id in ids:
        backend.set_workflow_data(lives.workflow(invocation_id), "progress", invocation_id)

    def result(i: int) -> None:
        assert backend._get_result(InvocationId(ids[i])) == "3"

    def invocation(i: int) -> None:
        assert backend._get_invocation(InvocationId(ids[i])) is not None

    def history(i: int) -> None:
        assert len(backend._get_history(InvocationId(ids[i]))) == len(STATUSES)

    def context(i: int) -> None:
        assert backend._get_runner_context(runner_id) is not None

    def data(i: int) -> None:
        assert backend.get_workflow_data(lives.workflow(ids[i]), "progress") == ids[i]

    calls = (result, invocation, history, context, data)
    return {name: Latency.of(timed_calls(call, len(ids))) for name, call in zip(READS, calls, strict=True)}
