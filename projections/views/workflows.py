"""Workflows: their runs, types, data and sub-invocations.

Rows:

- ``workflow_runs``: workflow id -> :class:`~pynenc_kafka.projections.views.invocations.WorkflowRef` (JSON);
- ``workflow_types``: type key, a set member; ``workflow_runs_by_type``: ``<type key>\\0<workflow id>``;
- ``workflow_data``: ``<workflow id>\\0<data key>`` -> the serialized value (UTF-8);
- ``sub_invocations``: ``<workflow id>\\0<sub-invocation id>``, a set member.
"""

from __future__ import annotations

from typing import Any

from pynenc_kafka.projections import keys, row_json
from pynenc_kafka.projections.store import View, ViewBatch, ViewStore, dump
from pynenc_kafka.projections.views.invocations import WorkflowRef
from pynenc_kafka.schemas.kinds import EventKind


def write_run(batch: ViewBatch, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """Stage the rows of a ``WorkflowRunStored`` event."""
    wf = p["workflow"]
    row: WorkflowRef = {
        "workflow_id": wf["workflow_id"],
        "workflow_type_key": wf["workflow_type_key"],
        "parent_workflow_id": wf["parent_workflow_id"],
    }
    batch.put(View.WORKFLOW_RUNS, keys.text(wf["workflow_id"]), dump(row))
    batch.put(View.WORKFLOW_TYPES, keys.text(wf["workflow_type_key"]))
    batch.put(View.WORKFLOW_RUNS_BY_TYPE, keys.joined(wf["workflow_type_key"], wf["workflow_id"]))


def write_data(batch: ViewBatch, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """Stage the row of a ``WorkflowDataSet`` event."""
    batch.put(View.WORKFLOW_DATA, keys.joined(p["workflow_id"], p["key"]), p["serialized_value"].encode())


def write_sub_invocation(
    batch: ViewBatch, app_id: str, p: dict[str, Any], partition: int, offset: int
) -> None:
    """Stage the row of a ``SubInvocationStored`` event."""
    batch.put(View.SUB_INVOCATIONS, keys.joined(p["workflow_id"], p["sub_invocation_id"]))


WRITERS = {
    EventKind.WORKFLOW_RUN_STORED: write_run,
    EventKind.WORKFLOW_DATA_SET: write_data,
    EventKind.SUB_INVOCATION_STORED: write_sub_invocation,
}


def types(store: ViewStore) -> list[str]:
    """Every workflow type key, in key order."""
    return [key.decode() for key, _ in store.scan(View.WORKFLOW_TYPES)]


def runs(store: ViewStore) -> list[WorkflowRef]:
    """Every workflow run, in workflow id order."""
    return [row_json.load(v) for _, v in store.scan(View.WORKFLOW_RUNS)]


def runs_of_type(store: ViewStore, type_key: str) -> list[WorkflowRef]:
    """The runs of one workflow type, in workflow id order."""
    ids = [keys.last_part(k) for k, _ in store.scan_prefix(View.WORKFLOW_RUNS_BY_TYPE, keys.prefix(type_key))]
    found = (store.get_json(View.WORKFLOW_RUNS, keys.text(i)) for i in ids)
    return [row for row in found if row is not None]


def data(store: ViewStore, workflow_id: str, key: str) -> str | None:
    """A workflow data value as serialized, or ``None``."""
    value = store.get(View.WORKFLOW_DATA, keys.joined(workflow_id, key))
    return None if value is None else value.decode()


def sub_invocations(store: ViewStore, workflow_id: str) -> list[str]:
    """The sub-invocation ids of a workflow, in key order."""
    return [keys.last_part(k) for k, _ in store.scan_prefix(View.SUB_INVOCATIONS, keys.prefix(workflow_id))]
