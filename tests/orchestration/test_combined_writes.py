"""Steps pynenc takes one after the other go to Kafka in fewer writes, in the same order, all acknowledged.

A result and the request for ``SUCCESS`` are one write when they share a partition; what follows
a decided status (its history entry, and for a final status its waiters released and its auto
purge scheduled) is one write. A record nobody waits for (a queue entry's tombstone) is produced
at once, ahead of the writes after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from pynenc import Pynenc
from pynenc.invocation.dist_invocation import DistributedInvocation
from pynenc.invocation.status import InvocationStatus
from pynenc.runner.runner_context import RunnerContext

from pynenc_kafka.producers.publisher import EventPublisher, OutgoingEvent
from pynenc_kafka.schemas.kinds import EventKind
from tests.conftest import unique_app_id
from tests.orchestration.race_app import make

Writes = list[list[str]]


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Writes]:
    """The labels of every acknowledged write's events, one list a write, in order."""
    seen: Writes = []
    original = EventPublisher.publish

    def recording(self: EventPublisher, events: list[OutgoingEvent]) -> Any:
        positions = original(self, events)
        seen.append([event.label.split(" of ")[0] for event in events])
        return positions

    monkeypatch.setattr(EventPublisher, "publish", recording)
    yield seen


def _running(app: Pynenc, invocation: DistributedInvocation, ctx: RunnerContext) -> None:
    for status in (InvocationStatus.PENDING, InvocationStatus.RUNNING):
        app.orchestrator.set_invocation_status(invocation.invocation_id, status, ctx)


def _context(app: Pynenc) -> RunnerContext:
    ctx = RunnerContext.from_runner(app.runner)
    app.state_backend.store_runner_context(ctx)
    return ctx


def test_a_result_and_its_success_are_one_write_and_the_follow_ups_another(
    tmp_path: Path, writes: Writes
) -> None:
    app, free, _ = make(unique_app_id("combined"), str(tmp_path))
    invocation: DistributedInvocation = free(1)
    ctx = _context(app)
    _running(app, invocation, ctx)
    writes.clear()
    app.orchestrator.set_invocation_result(invocation, 42, ctx)
    assert writes[:2] == [
        [EventKind.RESULT_SET, EventKind.STATUS_TRANSITION_REQUESTED],
        [EventKind.WAITERS_RELEASED, EventKind.AUTO_PURGE_SCHEDULED, EventKind.STATUS_RECORDED],
    ]
    assert app.state_backend.get_result(invocation.invocation_id) == 42
    assert app.orchestrator.get_invocation_status(invocation.invocation_id) is InvocationStatus.SUCCESS
    history = [h.status_record.status for h in app.state_backend.get_history(invocation.invocation_id)]
    assert history[-1] is InvocationStatus.SUCCESS


def test_an_exception_and_its_failure_are_one_write(tmp_path: Path, writes: Writes) -> None:
    app, free, _ = make(unique_app_id("combined-failure"), str(tmp_path))
    invocation: DistributedInvocation = free(2)
    ctx = _context(app)
    _running(app, invocation, ctx)
    writes.clear()
    app.orchestrator.set_invocation_exception(invocation, ValueError("bad input"), ctx)
    assert writes[0] == [EventKind.EXCEPTION_SET, EventKind.STATUS_TRANSITION_REQUESTED]
    assert "bad input" in str(app.state_backend.get_exception(invocation.invocation_id))
    assert app.orchestrator.get_invocation_status(invocation.invocation_id) is InvocationStatus.FAILED


def test_a_result_on_another_partition_than_its_request_is_written_first(
    tmp_path: Path, writes: Writes
) -> None:
    """A task that limits concurrency decides on the task's partition: Kafka could write one
    partition's part of a write and fail the other's, so the result goes in a write of its own."""
    app, _, limited = make(unique_app_id("combined-limited"), str(tmp_path))
    ctx = _context(app)
    invocation = next(
        inv
        for inv in (limited(n) for n in range(40))
        if app.orchestrator._log.partition_of(
            (EventKind.RESULT_SET, {"invocation_id": inv.invocation_id, "serialized_result": ""})
        )
        != app.orchestrator._log.partition_of(
            (
                EventKind.STATUS_TRANSITION_REQUESTED,
                {"decision_key": app.orchestrator._decision(inv.invocation_id)[0]},
            )
        )
    )
    _running(app, invocation, ctx)
    writes.clear()
    app.orchestrator.set_invocation_result(invocation, 7, ctx)
    assert writes[:2] == [[EventKind.RESULT_SET], [EventKind.STATUS_TRANSITION_REQUESTED]]
    assert app.state_backend.get_result(invocation.invocation_id) == 7


def test_a_refused_success_leaves_the_result_written_as_pynenc_does(tmp_path: Path) -> None:
    """pynenc sets the result, then the status: a refused status change keeps the result."""
    app, free, _ = make(unique_app_id("combined-refused"), str(tmp_path))
    invocation: DistributedInvocation = free(3)
    ctx = _context(app)
    with pytest.raises(Exception, match="(?i)registered"):
        app.orchestrator.set_invocation_result(invocation, 5, ctx)
    assert app.state_backend.get_result(invocation.invocation_id) == 5
    assert app.orchestrator.get_invocation_status(invocation.invocation_id) is InvocationStatus.REGISTERED


def test_held_writes_go_with_the_next_write_and_none_outlives_its_block(
    tmp_path: Path, writes: Writes
) -> None:
    app, free, _ = make(unique_app_id("held"), str(tmp_path))
    log = app.orchestrator._log
    first: DistributedInvocation = free(4)
    second: DistributedInvocation = free(5)
    retry = (
        EventKind.RETRY_COUNTED,
        {"invocation_id": first.invocation_id, "decision_key": first.invocation_id},
    )
    writes.clear()
    log.publish_soon([retry])  # outside a block: written and acknowledged at once
    assert writes == [[EventKind.RETRY_COUNTED]]
    writes.clear()
    with log.together():
        log.publish_soon([retry])
        assert writes == []
        positions = log.publish(
            [(EventKind.RETRY_COUNTED, {**retry[1], "invocation_id": second.invocation_id})]
        )
        assert len(positions) == 2 and writes == [[EventKind.RETRY_COUNTED, EventKind.RETRY_COUNTED]]
        log.publish_soon([retry])
    assert len(writes) == 2  # what the block still held, written at its end
    writes.clear()
    with pytest.raises(RuntimeError, match="step failed"), log.together():
        log.publish_soon([retry])
        raise RuntimeError("step failed")
    assert writes == [[EventKind.RETRY_COUNTED]]
    assert app.orchestrator.get_invocation_retries(first.invocation_id) == 4  # every one written once


def test_a_record_nobody_waits_for_is_delivered_ahead_of_the_writes_after_it(kafka_bootstrap: str) -> None:
    topic = unique_app_id("unwaited")
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    publisher = EventPublisher(
        {"bootstrap.servers": kafka_bootstrap, "acks": "all", "enable.idempotence": True}, 15.0, "test"
    )
    try:
        publisher.publish_unwaited([OutgoingEvent(topic, 0, b"k", None, "tombstone")])
        publisher.publish([OutgoingEvent(topic, 0, b"w", b"write", "write")])
        publisher.publish_unwaited([OutgoingEvent(topic, 0, b"alone", b"alone", "alone")])
        assert publisher.flush(15) == 0 and publisher.queued == 0
    finally:
        publisher.close()
    consumer = Consumer(
        {"bootstrap.servers": kafka_bootstrap, "group.id": topic, "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    keys: list[bytes | None] = []
    while len(keys) < 3:
        message = consumer.poll(10)
        assert message is not None, f"only {keys} came back"
        keys.append(message.key())
    consumer.close()
    assert keys == [b"k", b"w", b"alone"]
