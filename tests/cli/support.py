"""Helpers of the CLI tests: writing an invocation's life through the backend, running the CLI."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pynenc.identifiers.call_id import CallId
from pynenc.identifiers.invocation_id import InvocationId
from pynenc.identifiers.task_id import TaskId
from pynenc.invocation.status import InvocationStatus, InvocationStatusRecord
from pynenc.models.call_dto import CallDTO
from pynenc.models.invocation_dto import InvocationDTO
from pynenc.state_backend.base_state_backend import InvocationHistory
from pynenc.workflow.workflow_identity import WorkflowIdentity

from pynenc_kafka.audit.digest import ViewDigest, digests
from pynenc_kafka.cli.main import main
from pynenc_kafka.components.state_backend import KafkaStateBackend
from pynenc_kafka.projections.store import View, ViewStore

TASK = TaskId("tests.cli", "audited_task")


@dataclass(frozen=True)
class CliRun:
    """One in-process run of ``pynenc-kafka``."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> CliRun:
    """Run the CLI in this process and capture what it printed."""
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return CliRun(code, captured.out, captured.err)


def record_status(
    be: KafkaStateBackend, invocation_id: str, status: InvocationStatus, runner: str = "runner-1"
) -> None:
    """Write one history entry, stamped now."""
    at = datetime.now(UTC)
    entry = InvocationHistory(
        invocation_id=invocation_id,
        status_record=InvocationStatusRecord(status=status, runner_id=runner, timestamp=at),
        runner_context_id="ctx-1",
    )
    entry._timestamp = at
    be._add_histories([InvocationId(invocation_id)], entry)


def register(be: KafkaStateBackend, invocation_id: str, workflow_id: str | None = None) -> None:
    """Upsert an invocation (in a workflow if asked)."""
    call = CallDTO(call_id=CallId(TASK, f"args-{invocation_id}"), serialized_arguments={"x": "1"})
    workflow = WorkflowIdentity(InvocationId(workflow_id), TASK) if workflow_id else None
    inv = InvocationDTO(
        invocation_id=InvocationId(invocation_id),
        call_id=call.call_id,
        workflow=workflow,
        parent_invocation_id=None,
    )
    be._upsert_invocations([(inv, call)])


def moment_between() -> datetime:
    """A moment strictly after every write so far and before every later one (Kafka stamps in ms)."""
    time.sleep(0.05)
    moment = datetime.now(UTC)
    time.sleep(0.05)
    return moment


def folder_digests(folder: Path) -> dict[View, ViewDigest]:
    """The digest of every view of a projection folder, opened read-only."""
    store = ViewStore(folder, read_only=True)
    try:
        return digests(store)
    finally:
        store.close()
