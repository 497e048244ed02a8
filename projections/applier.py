"""How each event changes the views: blind puts into a WriteBatch, never a read.

Applying the same event twice writes the same rows (keys carry the event's position
where an aggregate has many rows), so the views are a pure function of the log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rocksdict import WriteBatch

from pynenc_kafka.projections import keys
from pynenc_kafka.projections.views import STATE_VIEWS, View, ViewStore, dump
from pynenc_kafka.schemas.codec import Event
from pynenc_kafka.schemas.timestamps import to_micros

_EMPTY = b""


class EventApplier:
    """Turns decoded events into view rows of one :class:`ViewStore`.

    :param ViewStore store: The projection being written.
    """

    def __init__(self, store: ViewStore) -> None:
        self._store = store
        self._handlers: dict[str, Callable[[WriteBatch, dict[str, Any], int, int], None]] = {
            "InvocationRegistered": self._invocation_registered,
            "StatusRecorded": self._status_recorded,
            "ResultSet": self._result_set,
            "ExceptionSet": self._exception_set,
            "WorkflowRunStored": self._workflow_run_stored,
            "WorkflowDataSet": self._workflow_data_set,
            "SubInvocationStored": self._sub_invocation_stored,
            "RunnerContextStored": self._runner_context_stored,
        }

    def apply(self, batch: WriteBatch, event: Event, partition: int, offset: int) -> None:
        """Stage the rows ``event`` writes.

        :param WriteBatch batch: The batch being built.
        :param Event event: A decoded event of this app (purges are the projector's business).
        :param int partition: Its partition.
        :param int offset: Its offset.
        """
        if event.kind == "AppInfoStored":
            self._put(batch, View.APP_INFO, keys.text(event.app_id), event.payload["app_info_json"].encode())
            return
        self._handlers[event.kind](batch, event.payload, partition, offset)

    def purge(self, batch: WriteBatch) -> None:
        """Stage the deletion of every state row (the checkpoint stays)."""
        for view in STATE_VIEWS:
            batch.delete_range(b"", keys.END, self._store.handle(view))

    def _put(self, batch: WriteBatch, view: View, key: bytes, value: bytes = _EMPTY) -> None:
        batch.put(key, value, self._store.handle(view))

    def _invocation_registered(self, batch: WriteBatch, p: dict[str, Any], _: int, __: int) -> None:
        inv_id = p["invocation_id"]
        workflow = p["workflow"]
        self._put(
            batch,
            View.INVOCATIONS,
            keys.text(inv_id),
            dump(
                {
                    "invocation_id": inv_id,
                    "call_id_key": p["call_id_key"],
                    "parent_invocation_id": p["parent_invocation_id"],
                    "parent_event_id": p["parent_event_id"],
                    "workflow": workflow,
                }
            ),
        )
        self._put(batch, View.CALLS, keys.text(p["call_id_key"]), dump(p["serialized_arguments"]))
        if p["parent_invocation_id"]:
            self._put(batch, View.CHILDREN, keys.joined(p["parent_invocation_id"], inv_id))
        if p["parent_event_id"]:
            self._put(batch, View.BY_PARENT_EVENT, keys.joined(p["parent_event_id"], inv_id))
        if workflow:
            self._put(batch, View.BY_WORKFLOW, keys.joined(workflow["workflow_id"], inv_id))
            self._put(batch, View.BY_WORKFLOW_TYPE, keys.joined(workflow["workflow_type_key"], inv_id))

    def _status_recorded(self, batch: WriteBatch, p: dict[str, Any], partition: int, offset: int) -> None:
        inv_id = p["invocation_id"]
        at = to_micros(p["history_at"])
        entry = dump(
            {
                "invocation_id": inv_id,
                "status": p["status"],
                "owner_runner_id": p["owner_runner_id"],
                "status_at": to_micros(p["status_at"]),
                "history_at": at,
                "runner_context_id": p["runner_context_id"],
                "registered_by_inv_id": p["registered_by_inv_id"],
            }
        )
        pos = keys.position(partition, offset)
        self._put(batch, View.HISTORY, keys.prefix(inv_id) + keys.micros(at) + pos, entry)
        self._put(batch, View.HISTORY_BY_TIME, keys.micros(at) + pos + keys.text(inv_id), entry)

    def _result_set(self, batch: WriteBatch, p: dict[str, Any], _: int, __: int) -> None:
        self._put(batch, View.RESULTS, keys.text(p["invocation_id"]), p["serialized_result"].encode())

    def _exception_set(self, batch: WriteBatch, p: dict[str, Any], _: int, __: int) -> None:
        self._put(batch, View.EXCEPTIONS, keys.text(p["invocation_id"]), p["serialized_exception"].encode())

    def _workflow_run_stored(self, batch: WriteBatch, p: dict[str, Any], _: int, __: int) -> None:
        wf = p["workflow"]
        self._put(batch, View.WORKFLOW_RUNS, keys.text(wf["workflow_id"]), dump(wf))
        self._put(batch, View.WORKFLOW_TYPES, keys.text(wf["workflow_type_key"]))
        self._put(batch, View.WORKFLOW_RUNS_BY_TYPE, keys.joined(wf["workflow_type_key"], wf["workflow_id"]))

    def _workflow_data_set(self, batch: WriteBatch, p: dict[str, Any], _: int, __: int) -> None:
        self._put(
            batch, View.WORKFLOW_DATA, keys.joined(p["workflow_id"], p["key"]), p["serialized_value"].encode()
        )

    def _sub_invocation_stored(self, batch: WriteBatch, p: dict[str, Any], _: int, __: int) -> None:
        self._put(batch, View.SUB_INVOCATIONS, keys.joined(p["workflow_id"], p["sub_invocation_id"]))

    def _runner_context_stored(self, batch: WriteBatch, p: dict[str, Any], _: int, __: int) -> None:
        self._put(batch, View.RUNNER_CONTEXTS, keys.text(p["runner_id"]), dump(p))
