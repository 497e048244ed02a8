"""Orchestration: each invocation's status record, decided in log order, and the indexes that find it.

The orchestrator never writes a status: it *requests* one (``StatusTransitionRequested``) and
this module decides the request when the projection applies it, with pynenc's own
``status_record_transition`` as a pure function of the events before it in the partition. The
time of the new record is the request's, never the applier's clock, so every projection on every
host reaches the same decision and the same record. A request for RUNNING that names a
concurrency group is refused while another invocation of the group is RUNNING: the group's
invocations share a partition (the events are keyed by the decision key), so the check and the
change are one step of one order.

Rows:

- ``orch_invocations``: invocation id -> :class:`OrchestrationRow` (JSON);
- ``orch_index``: ``task|call|status \\0 <value> \\0 <invocation id>``,
  ``arg \\0 <name> \\0 <value digest> \\0 <invocation id>``, ``running \\0 <group> \\0 <invocation id>``,
  ``purge \\0`` + time + ``<invocation id>``: set members;
- ``orch_outcomes``: request id -> :class:`Outcome` (JSON), what the requester reads back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any, Literal, TypedDict

from pynenc.exceptions import InvocationStatusError
from pynenc.invocation.status import InvocationStatus, InvocationStatusRecord, status_record_transition

from pynenc_kafka.projections import keys, row_json
from pynenc_kafka.projections.staged import StagedView
from pynenc_kafka.projections.store import View, ViewStore, dump
from pynenc_kafka.schemas.kinds import EventKind
from pynenc_kafka.schemas.timestamps import from_micros, to_micros

#: The index names of ``orch_index``.
Index = Literal["task", "call", "status", "arg", "args-of", "running", "purge"]


class OrchestrationRow(TypedDict):
    """An invocation as the orchestrator sees it; times are microseconds since the epoch."""

    invocation_id: str
    decision_key: str
    task_id: str
    call_id: str
    status: str
    runner_id: str | None
    status_at: int
    registered_at: int
    retries: int
    running_group: str | None
    purge_at: int | None


class Outcome(TypedDict):
    """What a transition request came to.

    ``verdict`` is ``granted`` (``record`` is the new status record), ``refused`` (pynenc's rules
    said no: ``current`` is the record they were applied to, so the requester raises pynenc's own
    error by applying them again), ``concurrency`` (``holder`` runs in the same group), or
    ``missing`` (no such invocation).
    """

    verdict: Literal["granted", "refused", "concurrency", "missing"]
    current: dict[str, Any] | None
    record: dict[str, Any] | None
    holder: str | None


def index_key(index: Index, *parts: str) -> bytes:
    """A member of ``orch_index``."""
    return keys.joined(index, *parts)


def argument_digest(value: str) -> str:
    """A serialized argument as a key part: arguments may be large, their digest is not."""
    return hashlib.blake2b(value.encode(), digest_size=16).hexdigest()


def _purge_key(at: int, invocation_id: str) -> bytes:
    return keys.prefix("purge") + keys.micros(at) + keys.text(invocation_id)


def _row(view: StagedView, invocation_id: str) -> OrchestrationRow | None:
    value = view.get(View.ORCH_INVOCATIONS, keys.text(invocation_id))
    return None if value is None else row_json.load(value)


def _put_row(view: StagedView, row: OrchestrationRow) -> None:
    view.put(View.ORCH_INVOCATIONS, keys.text(row["invocation_id"]), dump(row))


def _record_json(status: str, runner_id: str | None, at: int) -> dict[str, Any]:
    return {"status": status, "runner_id": runner_id, "status_at": at}


def record_from_json(value: dict[str, Any]) -> InvocationStatusRecord:
    """The pynenc status record of an outcome's ``record`` or ``current``."""
    return InvocationStatusRecord(
        status=InvocationStatus(value["status"]),
        runner_id=value["runner_id"],
        timestamp=from_micros(value["status_at"]),
    )


def track(view: StagedView, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """``InvocationTracked``: a new invocation in REGISTERED; one already known keeps its state."""
    inv_id = p["invocation_id"]
    if _row(view, inv_id) is not None:
        return
    at = to_micros(p["registered_at"])
    row: OrchestrationRow = {
        "invocation_id": inv_id,
        "decision_key": p["decision_key"],
        "task_id": p["task_id"],
        "call_id": p["call_id"],
        "status": InvocationStatus.REGISTERED.value,
        "runner_id": p["owner_runner_id"],
        "status_at": at,
        "registered_at": at,
        "retries": 0,
        "running_group": None,
        "purge_at": None,
    }
    _put_row(view, row)
    view.put(View.ORCH_INDEX, index_key("task", row["task_id"], inv_id))
    view.put(View.ORCH_INDEX, index_key("call", row["call_id"], inv_id))
    view.put(View.ORCH_INDEX, index_key("status", row["status"], inv_id))


def _running_holder(view: StagedView, group: str, invocation_id: str) -> str | None:
    for key, _ in view.scan_prefix(View.ORCH_INDEX, keys.prefix("running", group)):
        holder = keys.last_part(key)
        if holder != invocation_id:
            return holder
    return None


def decide_transition(view: StagedView, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """``StatusTransitionRequested``: grant or refuse it, and keep the outcome for the requester."""
    inv_id, request_id = p["invocation_id"], p["request_id"]
    row = _row(view, inv_id)
    outcome: Outcome = {"verdict": "missing", "current": None, "record": None, "holder": None}
    if row is not None:
        current = _record_json(row["status"], row["runner_id"], row["status_at"])
        outcome["current"] = current
        wanted = InvocationStatus(p["status"])
        group = p["concurrency_group"] if wanted is InvocationStatus.RUNNING else None
        try:
            granted = status_record_transition(record_from_json(current), wanted, p["runner_id"])
        except InvocationStatusError:
            outcome["verdict"] = "refused"
        else:
            if group is not None and (holder := _running_holder(view, group, inv_id)) is not None:
                outcome["verdict"], outcome["holder"] = "concurrency", holder
            else:
                at = to_micros(p["requested_at"])
                outcome["verdict"] = "granted"
                outcome["record"] = _record_json(wanted.value, granted.runner_id, at)
                _move(view, row, wanted.value, granted.runner_id, at, group)
    view.put(View.ORCH_OUTCOMES, keys.text(request_id), dump(outcome))


def _move(
    view: StagedView, row: OrchestrationRow, status: str, runner_id: str | None, at: int, group: str | None
) -> None:
    inv_id = row["invocation_id"]
    view.delete(View.ORCH_INDEX, index_key("status", row["status"], inv_id))
    view.put(View.ORCH_INDEX, index_key("status", status, inv_id))
    if row["running_group"] is not None:
        view.delete(View.ORCH_INDEX, index_key("running", row["running_group"], inv_id))
    if group is not None:
        view.put(View.ORCH_INDEX, index_key("running", group, inv_id))
    row["status"], row["runner_id"], row["status_at"], row["running_group"] = status, runner_id, at, group
    _put_row(view, row)


def count_retry(view: StagedView, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """``RetryCounted``: one more retry of a known invocation."""
    row = _row(view, p["invocation_id"])
    if row is not None:
        row["retries"] += 1
        _put_row(view, row)


def index_arguments(view: StagedView, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """``ArgumentsIndexed``: the invocation is found by each of its serialized arguments."""
    inv_id = p["invocation_id"]
    for name, value in p["arguments"].items():
        digest = argument_digest(value)
        view.put(View.ORCH_INDEX, index_key("arg", name, digest, inv_id))
        view.put(View.ORCH_INDEX, index_key("args-of", inv_id, name), digest.encode())


def schedule_purge(view: StagedView, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """``AutoPurgeScheduled``: the invocation is forgotten once its final time is old enough."""
    row = _row(view, p["invocation_id"])
    if row is None:
        return
    if row["purge_at"] is not None:
        view.delete(View.ORCH_INDEX, _purge_key(row["purge_at"], row["invocation_id"]))
    at = to_micros(p["final_at"])
    row["purge_at"] = at
    view.put(View.ORCH_INDEX, _purge_key(at, row["invocation_id"]))
    _put_row(view, row)


def forget(view: StagedView, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """``InvocationForgotten``: every row of the invocation leaves the views (the log keeps them)."""
    inv_id = p["invocation_id"]
    row = _row(view, inv_id)
    if row is None:
        return
    for member in (
        index_key("task", row["task_id"], inv_id),
        index_key("call", row["call_id"], inv_id),
        index_key("status", row["status"], inv_id),
    ):
        view.delete(View.ORCH_INDEX, member)
    if row["running_group"] is not None:
        view.delete(View.ORCH_INDEX, index_key("running", row["running_group"], inv_id))
    if row["purge_at"] is not None:
        view.delete(View.ORCH_INDEX, _purge_key(row["purge_at"], inv_id))
    for key, digest in list(view.scan_prefix(View.ORCH_INDEX, keys.prefix("args-of", inv_id))):
        view.delete(View.ORCH_INDEX, index_key("arg", keys.last_part(key), digest.decode(), inv_id))
        view.delete(View.ORCH_INDEX, key)
    view.delete(View.ORCH_INVOCATIONS, keys.text(inv_id))


DECIDERS = {
    EventKind.INVOCATION_TRACKED: track,
    EventKind.STATUS_TRANSITION_REQUESTED: decide_transition,
    EventKind.RETRY_COUNTED: count_retry,
    EventKind.ARGUMENTS_INDEXED: index_arguments,
    EventKind.AUTO_PURGE_SCHEDULED: schedule_purge,
    EventKind.INVOCATION_FORGOTTEN: forget,
}


# -- reads ---------------------------------------------------------------------------------------


def row(store: ViewStore, invocation_id: str) -> OrchestrationRow | None:
    """The invocation's orchestration row, or ``None``."""
    found: OrchestrationRow | None = store.get_json(View.ORCH_INVOCATIONS, keys.text(invocation_id))
    return found


def outcome(store: ViewStore, request_id: str) -> Outcome | None:
    """The outcome of a transition request, or ``None`` if not applied yet."""
    found: Outcome | None = store.get_json(View.ORCH_OUTCOMES, keys.text(request_id))
    return found


def members(store: ViewStore, index: Index, *parts: str) -> set[str]:
    """Invocation ids of one index entry (``members(store, "status", "running")``)."""
    return {keys.last_part(key) for key, _ in store.scan_prefix(View.ORCH_INDEX, keys.prefix(index, *parts))}


def with_arguments(store: ViewStore, arguments: dict[str, str]) -> set[str]:
    """Invocations whose indexed arguments hold every pair of ``arguments`` (none if it is empty)."""
    found: set[str] | None = None
    for name, value in arguments.items():
        ids = members(store, "arg", name, argument_digest(value))
        found = ids if found is None else found & ids
        if not found:
            return set()
    return found or set()


def all_rows(store: ViewStore) -> Iterator[OrchestrationRow]:
    """Every invocation's row, by invocation id."""
    for _, value in store.scan(View.ORCH_INVOCATIONS):
        yield row_json.load(value)


def purge_due(store: ViewStore, until_micros: int) -> list[str]:
    """Invocations final since before ``until_micros``, oldest first."""
    start = keys.prefix("purge")
    end = start + keys.micros(until_micros + 1)
    return [key[len(start) + 8 :].decode() for key, _ in store.scan(View.ORCH_INDEX, start, end)]
