"""The event trail of one invocation: every event about it, in log order, with where it sits.

Where to look, so that a trail reads at most two partitions of a long log:

- every event keyed by the invocation (``InvocationRegistered``, ``StatusRecorded``, ``ResultSet``,
  ``ExceptionSet``, and for a workflow its ``WorkflowRunStored``, ``WorkflowDataSet`` and
  ``SubInvocationStored`` records) is on ``partition_for(invocation_id)``; records are matched by
  their Kafka key, and only matching ones are decoded;
- the ``SubInvocationStored`` that links it into a parent workflow is keyed by the workflow id,
  named in the invocation's own ``InvocationRegistered``: that workflow's partition is read next;
- a ``Purged`` marker on the invocation's partition dropped its state, so it is listed too.

``deep`` reads every partition and decodes every record, and also lists events of other
aggregates whose payload names the invocation (its children's registrations, for instance).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from pynenc_kafka.audit.log_reader import LogReader, OffsetRange
from pynenc_kafka.schemas.codec import Event, EventCodec, UndecodableEventError
from pynenc_kafka.schemas.kinds import EventKind, PurgeScope
from pynenc_kafka.schemas.topology import partition_for


@dataclass(frozen=True)
class TrailEntry:
    """One event of a trail.

    :param int partition: Its partition.
    :param int offset: Its offset.
    :param str aggregate: Its Kafka key (the aggregate it belongs to).
    :param Event event: The decoded event.
    :param str summary: A one-line description.
    """

    partition: int
    offset: int
    aggregate: str
    event: Event
    summary: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly dict of the entry, with the full payload."""
        return {
            "partition": self.partition,
            "offset": self.offset,
            "occurred_at": self.event.occurred_at.isoformat(),
            "event_id": self.event.event_id,
            "kind": self.event.kind,
            "aggregate": self.aggregate,
            "summary": self.summary,
            "payload": {k: _jsonable(v) for k, v in self.event.payload.items()},
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _time(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def summarize(event: Event, invocation_id: str) -> str:
    """A one-line description of ``event`` as seen from ``invocation_id``."""
    p = event.payload
    kind = event.kind
    if kind is EventKind.STATUS_RECORDED:
        text = f"{p['status']} runner={p['owner_runner_id'] or '-'} context={p['runner_context_id']}"
        text += f" at {_time(p['history_at'])}"
        return text + (f" registered_by={p['registered_by_inv_id']}" if p["registered_by_inv_id"] else "")
    if kind is EventKind.INVOCATION_REGISTERED:
        text = f"call {p['call_id_key']}"
        if p["invocation_id"] != invocation_id:
            text = f"invocation {p['invocation_id']} {text}"
        if p["parent_invocation_id"]:
            text += f" parent={p['parent_invocation_id']}"
        if p["parent_event_id"]:
            text += f" trigger_event={p['parent_event_id']}"
        if p["workflow"]:
            text += f" workflow={p['workflow']['workflow_id']} ({p['workflow']['workflow_type_key']})"
        return text
    if kind is EventKind.RESULT_SET:
        return f"result set ({len(p['serialized_result'])} chars)"
    if kind is EventKind.EXCEPTION_SET:
        return f"exception {p['error_name'] or '(unnamed)'} ({len(p['serialized_exception'])} chars)"
    if kind is EventKind.SUB_INVOCATION_STORED:
        if p["workflow_id"] == invocation_id:
            return f"workflow runs sub-invocation {p['sub_invocation_id']}"
        return f"runs inside workflow {p['workflow_id']} (sub-invocation {p['sub_invocation_id']})"
    if kind is EventKind.WORKFLOW_RUN_STORED:
        wf = p["workflow"]
        parent = f" parent_workflow={wf['parent_workflow_id']}" if wf["parent_workflow_id"] else ""
        return f"workflow run {wf['workflow_id']} of type {wf['workflow_type_key']}{parent}"
    if kind is EventKind.WORKFLOW_DATA_SET:
        return f"workflow data {p['key']!r} set ({len(p['serialized_value'])} chars)"
    if kind is EventKind.PURGED:
        if p.get("scope", PurgeScope.STATE) == PurgeScope.CLIENT_DATA:
            return f"the app's client data purged (purge {p['purge_id']})"
        return f"all state of the app purged (purge {p['purge_id']})"
    if kind is EventKind.CLIENT_DATA_STORED:
        return f"client data {p['key']} stored ({len(p['value'])} chars)"
    if kind is EventKind.RUNNER_CONTEXT_STORED:
        return f"runner {p['runner_id']} ({p['runner_cls']}) on {p['hostname']} pid {p['pid']}"
    return kind


def _purges_state(event: Event) -> bool:
    """Whether ``event`` is a purge of the app's state (a client data purge leaves invocations be)."""
    return event.kind is EventKind.PURGED and event.payload.get("scope", PurgeScope.STATE) == PurgeScope.STATE


def _mentions(value: Any, invocation_id: str) -> bool:
    if isinstance(value, dict):
        return any(_mentions(v, invocation_id) for v in value.values())
    return bool(value == invocation_id)


class InvocationTrail:
    """Collects the trail of invocations of one app's log.

    :param LogReader reader: Reads the app's log.
    :param EventCodec codec: Decodes its records.
    :param str app_id: The app (records of other apps are ignored).
    """

    def __init__(self, reader: LogReader, codec: EventCodec, app_id: str) -> None:
        self._reader = reader
        self._codec = codec
        self._app_id = app_id
        self._app_key = app_id.encode()
        #: Records that could not be decoded among those the trail had to look at.
        self.undecodable = 0

    def collect(self, invocation_id: str, deep: bool = False) -> list[TrailEntry]:
        """Every event about ``invocation_id``, in log order (merged by time across partitions).

        :param str invocation_id: The invocation.
        :param bool deep: Read every partition, and list events of other aggregates naming it.
        """
        if deep:
            every = self._scan(
                range(self._reader.partitions),
                lambda key: True,
                lambda key, event: key == invocation_id or _mentions(event.payload, invocation_id),
                invocation_id,
            )
            return self._in_log_order(every)
        own_key = invocation_id.encode()
        own = self._scan(
            [partition_for(invocation_id, self._reader.partitions)],
            lambda key: key == own_key or key == self._app_key,
            lambda key, event: key == invocation_id or _purges_state(event),
            invocation_id,
        )
        links: list[TrailEntry] = []
        for workflow_id in self._parent_workflows(own, invocation_id):
            workflow_key = workflow_id.encode()
            links += self._scan(
                [partition_for(workflow_id, self._reader.partitions)],
                workflow_key.__eq__,
                lambda key, event: (
                    event.kind is EventKind.SUB_INVOCATION_STORED
                    and event.payload["sub_invocation_id"] == invocation_id
                ),
                invocation_id,
            )
        return self._in_log_order(own + links)

    @staticmethod
    def _parent_workflows(entries: list[TrailEntry], invocation_id: str) -> list[str]:
        found: list[str] = []
        for entry in entries:
            workflow = (
                entry.event.payload.get("workflow")
                if entry.event.kind is EventKind.INVOCATION_REGISTERED
                else None
            )
            if workflow and workflow["workflow_id"] != invocation_id and workflow["workflow_id"] not in found:
                found.append(workflow["workflow_id"])
        return found

    def _scan(
        self,
        partitions: Iterable[int],
        key_filter: Callable[[bytes], bool],
        keep: Callable[[str, Event], bool],
        invocation_id: str,
    ) -> list[TrailEntry]:
        """Decode the records of ``partitions`` whose key passes ``key_filter``; keep matching events."""
        wanted = list(partitions)
        marks = self._reader.watermarks(wanted)
        offsets = OffsetRange({p: marks[p][0] for p in wanted}, {p: marks[p][1] for p in wanted})
        entries: list[TrailEntry] = []
        for batch in self._reader.read(offsets):
            for msg in batch:
                raw_key = msg.key() or b""
                if not key_filter(raw_key):
                    continue
                try:
                    event = self._codec.decode(msg.value())
                except UndecodableEventError:
                    self.undecodable += 1
                    continue
                key = raw_key.decode(errors="replace")
                if event.app_id == self._app_id and keep(key, event):
                    entries.append(
                        TrailEntry(
                            cast(int, msg.partition()),
                            cast(int, msg.offset()),
                            key,
                            event,
                            summarize(event, invocation_id),
                        )
                    )
        return entries

    @staticmethod
    def _in_log_order(entries: list[TrailEntry]) -> list[TrailEntry]:
        """Each partition in offset order; partitions interleaved by event time."""
        by_partition: dict[int, list[TrailEntry]] = {}
        for entry in entries:
            by_partition.setdefault(entry.partition, []).append(entry)
        runs = [sorted(run, key=lambda e: e.offset) for run in by_partition.values()]
        return list(heapq.merge(*runs, key=lambda e: (e.event.occurred_at, e.partition)))
