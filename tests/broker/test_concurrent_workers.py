"""KafkaBroker between real processes: every invocation handed out once, and no worker starved."""

from __future__ import annotations

import multiprocessing
import uuid

from pynenc.identifiers.invocation_id import InvocationId

from tests.broker.support import broker_app, broker_of, busy_worker, drain_worker, idle_worker
from tests.conftest import unique_app_id

RACERS = 8
INVOCATIONS = 240


def test_racing_processes_retrieve_every_invocation_exactly_once() -> None:
    """8 spawned processes drain one queue at once: each invocation comes out once, over all of them."""
    app_id = unique_app_id("race")
    broker = broker_of(broker_app(app_id))
    routed = [InvocationId(str(uuid.uuid4())) for _ in range(INVOCATIONS)]
    broker.route_invocations(routed[: INVOCATIONS // 2], "default", 0.0)
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(RACERS + 1), ctx.Queue()
    racers = [ctx.Process(target=drain_worker, args=(app_id, start, results)) for _ in range(RACERS)]
    for racer in racers:
        racer.start()
    start.wait(120)
    broker.route_invocations(routed[INVOCATIONS // 2 :], "default", 0.0)  # more arrive mid-race
    got = dict(results.get(timeout=240) for _ in racers)
    for racer in racers:
        racer.join(30)
        assert racer.exitcode == 0
    everything = [invocation for taken in got.values() for invocation in taken]
    late = []
    while (invocation_id := broker.retrieve_invocation()) is not None:  # routed after a racer found it empty
        late.append(str(invocation_id))
    assert sorted(everything + late) == sorted(routed)
    assert sum(1 for taken in got.values() if taken) >= 2, "the race had a single winner: no race"
    assert broker.count_invocations() == 0


def test_an_idle_worker_takes_every_short_task_while_the_other_is_busy() -> None:
    """Worker A holds a long task; worker B, on the same queue, takes all the short ones meanwhile."""
    app_id = unique_app_id("starve")
    broker = broker_of(broker_app(app_id))
    long_task = InvocationId("long-" + uuid.uuid4().hex)
    short = [InvocationId(f"short-{n}-" + uuid.uuid4().hex) for n in range(20)]
    broker.route_invocation(long_task, "default", 0.0)
    broker.route_invocations(short, "default", 0.0)
    ctx = multiprocessing.get_context("spawn")
    holding, release, results = ctx.Event(), ctx.Event(), ctx.Queue()
    busy = ctx.Process(target=busy_worker, args=(app_id, holding, release, results))
    busy.start()
    assert holding.wait(120)
    idle = ctx.Process(target=idle_worker, args=(app_id, len(short), results))
    idle.start()
    first = results.get(timeout=180)
    assert first[0] == "idle", "the idle worker waited for the busy one"
    assert sorted(first[1]) == sorted(short)
    assert broker.count_invocations() == 0
    release.set()
    assert results.get(timeout=60) == ("busy", [long_task])
    for worker in (busy, idle):
        worker.join(30)
        assert worker.exitcode == 0
