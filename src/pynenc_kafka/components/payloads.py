"""pynenc objects to event payloads, and view rows back to pynenc objects.

The two directions of each mapping stand side by side, so a field added to an event
is added to its view reader in the same place. The rows' shapes are those of
:mod:`pynenc_kafka.projections.views`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pynenc.identifiers.call_id import CallId
from pynenc.identifiers.invocation_id import InvocationId
from pynenc.identifiers.task_id import TaskId
from pynenc.invocation.status import InvocationStatus, InvocationStatusRecord
from pynenc.models.call_dto import CallDTO
from pynenc.models.invocation_dto import InvocationDTO
from pynenc.state_backend.base_state_backend import InvocationHistory
from pynenc.workflow.workflow_identity import WorkflowIdentity

from pynenc_kafka.projections.views.history import HistoryRow
from pynenc_kafka.projections.views.invocations import InvocationRow, WorkflowRef
from pynenc_kafka.projections.views.outcomes import error_name
from pynenc_kafka.projections.views.runners import RunnerContextRow
from pynenc_kafka.schemas.timestamps import from_micros, to_micros

if TYPE_CHECKING:
    from pynenc.invocation.dist_invocation import DistributedInvocation
    from pynenc.runner.runner_context import RunnerContext


# -- workflow identity -----------------------------------------------------------------


def workflow_payload(identity: WorkflowIdentity) -> dict[str, Any]:
    """The ``WorkflowIdentity`` record of a workflow."""
    return {
        "workflow_id": identity.workflow_id,
        "workflow_type_key": identity.workflow_type.key,
        "parent_workflow_id": identity.parent_workflow_id or None,
    }


def workflow_from_row(row: WorkflowRef) -> WorkflowIdentity:
    """Inverse of :func:`workflow_payload`."""
    parent = row.get("parent_workflow_id")
    return WorkflowIdentity(
        workflow_id=InvocationId(row["workflow_id"]),
        workflow_type=TaskId.from_key(row["workflow_type_key"]),
        parent_workflow_id=InvocationId(parent) if parent else None,
    )


# -- invocations -----------------------------------------------------------------------


def invocation_registered(inv: InvocationDTO, call: CallDTO) -> dict[str, Any]:
    """The ``InvocationRegistered`` payload of an upserted invocation."""
    return {
        "invocation_id": inv.invocation_id,
        "call_id_key": call.call_id.key,
        "serialized_arguments": dict(call.serialized_arguments),
        "parent_invocation_id": inv.parent_invocation_id or None,
        "parent_event_id": inv.parent_event_id or None,
        "workflow": workflow_payload(inv.workflow) if inv.workflow else None,
    }


def invocation_from_rows(
    row: InvocationRow, arguments: dict[str, str] | None
) -> tuple[InvocationDTO, CallDTO]:
    """The DTO pair of an ``invocations`` row and its ``calls`` row."""
    call_id = CallId.from_key(row["call_id_key"])
    parent = row.get("parent_invocation_id")
    workflow = row.get("workflow")
    inv = InvocationDTO(
        invocation_id=InvocationId(row["invocation_id"]),
        call_id=call_id,
        workflow=workflow_from_row(workflow) if workflow else None,
        parent_invocation_id=InvocationId(parent) if parent else None,
        parent_event_id=row.get("parent_event_id") or None,
    )
    return inv, CallDTO(call_id=call_id, serialized_arguments=dict(arguments or {}))


# -- history -----------------------------------------------------------------------------


def history_entry(
    inv: DistributedInvocation, status_record: InvocationStatusRecord, runner_context: RunnerContext
) -> InvocationHistory:
    """The history entry ``add_histories`` records for one invocation.

    A ``REGISTERED`` entry names the invocation that registered it (its parent), as pynenc's own
    backends do.
    """
    registered = status_record.status == InvocationStatus.REGISTERED
    return InvocationHistory(
        invocation_id=inv.invocation_id,
        status_record=status_record,
        runner_context_id=runner_context.runner_id,
        registered_by_inv_id=inv.parent_invocation_id if registered else None,
    )


def status_recorded(invocation_id: str, history: InvocationHistory) -> dict[str, Any]:
    """The ``StatusRecorded`` payload of one history entry (pynenc's timestamps, never Kafka's)."""
    record = history.status_record
    return {
        "invocation_id": invocation_id,
        "status": record.status.value,
        "owner_runner_id": record.runner_id,
        "status_at": to_micros(record.timestamp),
        "history_at": to_micros(history.timestamp),
        "runner_context_id": history.runner_context_id,
        "registered_by_inv_id": history.registered_by_inv_id,
    }


def history_from_row(row: HistoryRow) -> InvocationHistory:
    """Inverse of :func:`status_recorded`, from a ``history`` view row."""
    history = InvocationHistory(
        invocation_id=row["invocation_id"],
        status_record=InvocationStatusRecord(
            status=InvocationStatus(row["status"]),
            runner_id=row["owner_runner_id"],
            timestamp=from_micros(row["status_at"]),
        ),
        runner_context_id=row["runner_context_id"],
        registered_by_inv_id=row["registered_by_inv_id"],
    )
    history._timestamp = from_micros(row["history_at"])
    return history


# -- results and exceptions --------------------------------------------------------------


def exception_set(invocation_id: str, serialized_exception: str) -> dict[str, Any]:
    """The ``ExceptionSet`` payload; the class name is lifted out for analytics."""
    return {
        "invocation_id": invocation_id,
        "error_name": error_name(serialized_exception),
        "serialized_exception": serialized_exception,
    }


# -- runner contexts -----------------------------------------------------------------------


def runner_context_stored(ctx: RunnerContext) -> dict[str, Any]:
    """The ``RunnerContextStored`` payload of a runner context (its parent by id)."""
    return {
        "runner_id": ctx.runner_id,
        "runner_cls": ctx.runner_cls,
        "parent_runner_id": ctx.parent_ctx.runner_id if ctx.parent_ctx else None,
        "pid": int(ctx.pid),
        "hostname": ctx.hostname,
        "thread_id": int(ctx.thread_id),
    }


def runner_context_from_row(row: RunnerContextRow, parent: RunnerContext | None) -> RunnerContext:
    """Inverse of :func:`runner_context_stored`, given the already resolved parent."""
    from pynenc.runner.runner_context import RunnerContext

    return RunnerContext(
        runner_cls=row["runner_cls"],
        runner_id=row["runner_id"],
        parent_ctx=parent,
        pid=row["pid"],
        hostname=row["hostname"],
        thread_id=row["thread_id"],
    )
