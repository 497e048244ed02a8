"""Read-your-writes across processes: a read issued right after another process's write.

A writer process (spawned, so it shares nothing with this one) writes a status record and
the result of an invocation and says so; this process then reads them at once. The read must
show both: a fast answer without the other process's write would be a wrong one.
"""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.connection import Connection

from pynenc.identifiers.invocation_id import InvocationId
from pynenc.invocation.status import InvocationStatus

from benchmarks.backends import Backend, Servers, build_app, release_app
from benchmarks.samples import Latency
from benchmarks.workload import Lives, runner_context

SPAWN = multiprocessing.get_context("spawn")


def _writer(backend: Backend, servers: Servers, app_id: str, orders: Connection) -> None:
    """The other process: for each invocation id received, write a status record and a result."""
    lives = Lives(build_app(backend, servers, app_id), runner_context("writer"))
    lives.backend.store_runner_context(lives.runner)
    orders.send("ready")
    while (invocation_id := orders.recv()) is not None:
        lives.status(invocation_id, InvocationStatus.RUNNING)
        lives.result(invocation_id)
        orders.send(invocation_id)


def read_after_other_write(backend: Backend, servers: Servers, app_id: str, count: int) -> dict[str, Latency]:
    """p50/p99 of ``get_history`` and ``get_result`` issued right after another process wrote them.

    :param Backend backend: A backend processes share.
    :param Servers servers: The run's servers.
    :param str app_id: The app (its lives need not exist: each read checks the writer's records).
    :param int count: Reads of each kind.
    """
    lives = Lives(build_app(backend, servers, app_id), runner_context("reader"))
    here, there = SPAWN.Pipe()
    writer = SPAWN.Process(target=_writer, args=(backend, servers, app_id, there), daemon=True)
    writer.start()
    samples: dict[str, list[float]] = {
        "get_history after another process's write": [],
        "get_result after it": [],
    }
    try:
        if not here.poll(120) or here.recv() != "ready":
            raise RuntimeError(f"the writer process of {backend.label} did not start")
        for n in range(count):
            invocation_id = f"x-{n}"
            here.send(invocation_id)
            if not here.poll(60):
                raise RuntimeError(f"the writer process of {backend.label} stopped answering")
            here.recv()
            started = time.perf_counter()
            seen = lives.backend._get_history(InvocationId(invocation_id))
            read = time.perf_counter()
            result = lives.backend._get_result(InvocationId(invocation_id))
            done = time.perf_counter()
            if len(seen) != 1 or result != "3":
                raise AssertionError(f"{backend.label} missed another process's acknowledged write")
            samples["get_history after another process's write"].append((read - started) * 1e6)
            samples["get_result after it"].append((done - read) * 1e6)
        here.send(None)
    finally:
        writer.join(30)
        if writer.is_alive():
            writer.kill()
        release_app(lives.app)
    return {name: Latency.of(values) for name, values in samples.items()}
