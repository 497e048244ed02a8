"""Invocations: who was called with what, and the indexes that find them.

Rows, all from ``InvocationRegistered``:

- ``invocations``: invocation id -> :class:`InvocationRow` (JSON);
- ``calls``: call id key -> serialized arguments (JSON object);
- ``children``, ``by_parent_event``, ``by_workflow``, ``by_workflow_type``:
  ``<owner>\\0<invocation id>`` set members.
"""

from __future__ import annotations

from typing import Any, TypedDict

from pynenc_kafka.projections import keys
from pynenc_kafka.projections.store import View, ViewBatch, ViewStore, dump
from pynenc_kafka.schemas.kinds import EventKind


class WorkflowRef(TypedDict):
    """The workflow an invocation belongs to, as the ``WorkflowIdentity`` record holds it."""

    workflow_id: str
    workflow_type_key: str
    parent_workflow_id: str | None


class InvocationRow(TypedDict):
    """One ``invocations`` row."""

    invocation_id: str
    call_id_key: str
    parent_invocation_id: str | None
    parent_event_id: str | None
    workflow: WorkflowRef | None


def write_registered(batch: ViewBatch, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """Stage the rows of an ``InvocationRegistered`` event."""
    inv_id = p["invocation_id"]
    workflow = p["workflow"]
    row: InvocationRow = {
        "invocation_id": inv_id,
        "call_id_key": p["call_id_key"],
        "parent_invocation_id": p["parent_invocation_id"],
        "parent_event_id": p["parent_event_id"],
        "workflow": workflow,
    }
    batch.put(View.INVOCATIONS, keys.text(inv_id), dump(row))
    batch.put(View.CALLS, keys.text(p["call_id_key"]), dump(p["serialized_arguments"]))
    if p["parent_invocation_id"]:
        batch.put(View.CHILDREN, keys.joined(p["parent_invocation_id"], inv_id))
    if p["parent_event_id"]:
        batch.put(View.BY_PARENT_EVENT, keys.joined(p["parent_event_id"], inv_id))
    if workflow:
        batch.put(View.BY_WORKFLOW, keys.joined(workflow["workflow_id"], inv_id))
        batch.put(View.BY_WORKFLOW_TYPE, keys.joined(workflow["workflow_type_key"], inv_id))


WRITERS = {EventKind.INVOCATION_REGISTERED: write_registered}


def invocation(store: ViewStore, invocation_id: str) -> InvocationRow | None:
    """The invocation's row, or ``None``."""
    return store.get_json(View.INVOCATIONS, keys.text(invocation_id))


def arguments(store: ViewStore, call_id_key: str) -> dict[str, str] | None:
    """The serialized arguments of a call, or ``None``."""
    return store.get_json(View.CALLS, keys.text(call_id_key))


def all_ids(store: ViewStore) -> list[str]:
    """Every invocation id, in key order."""
    return [key.decode() for key, _ in store.scan(View.INVOCATIONS)]


def members(store: ViewStore, view: View, owner: str) -> list[str]:
    """The invocation ids indexed under ``owner`` in one of the set views, in key order.

    :param View view: ``CHILDREN``, ``BY_PARENT_EVENT``, ``BY_WORKFLOW`` or ``BY_WORKFLOW_TYPE``.
    :param str owner: The parent invocation, trigger event, workflow or workflow type key.
    """
    return [keys.last_part(key) for key, _ in store.scan_prefix(view, keys.prefix(owner))]
