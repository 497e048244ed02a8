"""What the orchestrator refuses: pynenc's own errors, and nothing applied."""

from __future__ import annotations

from pathlib import Path

import pytest
from pynenc.exceptions import InvocationStatusOwnershipError, InvocationStatusTransitionError
from pynenc.invocation.dist_invocation import DistributedInvocation
from pynenc.invocation.status import InvocationStatus

from tests.conftest import unique_app_id
from tests.orchestration.race_app import make


def test_a_transition_pynenc_forbids_raises_its_error_and_changes_nothing(tmp_path: Path) -> None:
    app, free, _ = make(unique_app_id("forbidden"), str(tmp_path))
    invocation: DistributedInvocation = free(1)
    orchestrator = app.orchestrator
    before = orchestrator.get_invocation_status_record(invocation.invocation_id)
    with pytest.raises(InvocationStatusTransitionError) as refused:
        orchestrator._atomic_status_transition(invocation.invocation_id, InvocationStatus.SUCCESS, "r1")
    assert "registered" in str(refused.value).lower()
    assert orchestrator.get_invocation_status_record(invocation.invocation_id) == before
    orchestrator._atomic_status_transition(invocation.invocation_id, InvocationStatus.PENDING, "r1")
    with pytest.raises(InvocationStatusOwnershipError):
        orchestrator._atomic_status_transition(invocation.invocation_id, InvocationStatus.RUNNING, "r2")
    after = orchestrator.get_invocation_status_record(invocation.invocation_id)
    assert (after.status, after.runner_id) == (InvocationStatus.PENDING, "r1")


def test_an_unknown_invocation_is_a_key_error(tmp_path: Path) -> None:
    app, _, _ = make(unique_app_id("unknown"), str(tmp_path))
    with pytest.raises(KeyError):
        app.orchestrator.get_invocation_status("no-such-invocation")
    with pytest.raises(KeyError):
        app.orchestrator._atomic_status_transition("no-such-invocation", InvocationStatus.PENDING, "r1")


def test_a_final_status_is_read_from_the_views_and_any_other_behind_the_barrier(tmp_path: Path) -> None:
    """pynenc allows no transition out of a final status, so once the views hold one no end-offset
    request is needed to read it; a status that can still change is read behind the barrier."""
    app, free, _ = make(unique_app_id("settled"), str(tmp_path))
    orchestrator = app.orchestrator
    done, running = free(1), free(2)
    for status in (InvocationStatus.PENDING, InvocationStatus.RUNNING, InvocationStatus.SUCCESS):
        orchestrator._atomic_status_transition(done.invocation_id, status, "r1")
    for status in (InvocationStatus.PENDING, InvocationStatus.RUNNING):
        orchestrator._atomic_status_transition(running.invocation_id, status, "r1")
    barrier = orchestrator._log.reads.projection.barrier
    asked: list[object] = []
    ask = barrier.end_offsets

    def counting(partitions: object) -> dict[int, int]:
        asked.append(partitions)
        return ask(partitions)

    barrier.end_offsets = counting
    assert orchestrator.get_invocation_status(done.invocation_id) is InvocationStatus.SUCCESS
    assert asked == []
    assert orchestrator.get_invocation_status(running.invocation_id) is InvocationStatus.RUNNING
    assert len(asked) == 1
