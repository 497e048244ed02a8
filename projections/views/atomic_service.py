"""Atomic-service executions: at most one runs across the fleet, decided in the log's order.

pynenc's atomic services (recovery, triggers) run in one runner at a time. A runner asks to start
one (``AtomicServiceExecutionRecorded``); the projection grants it only if no execution is
RUNNING, else records a zero-width BLOCKED attempt, so every host agrees on who runs.

Rows of ``atomic_service``:

- ``exec \\0 <run id>`` -> :class:`ExecutionRow` (JSON);
- ``active \\0 <run id>``: set member while the execution is RUNNING.

The outcome of a start request is an ``orch_outcomes`` row: ``{"allowed": bool}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypedDict

from pynenc_kafka.projections import keys, row_json
from pynenc_kafka.projections.staged import StagedView
from pynenc_kafka.projections.store import View, ViewStore, dump
from pynenc_kafka.schemas.kinds import EventKind
from pynenc_kafka.schemas.timestamps import to_micros

RUNNING, BLOCKED = "running", "blocked"


class ExecutionRow(TypedDict):
    """One execution attempt; times are microseconds since the epoch."""

    run_id: str
    runner_id: str
    start_time: int
    end_time: int | None
    status: str
    reason: str


def _key(run_id: str) -> bytes:
    return keys.joined("exec", run_id)


def _active(view: StagedView) -> list[ExecutionRow]:
    rows = (view.get(View.ATOMIC_SERVICE, _key(keys.last_part(k))) for k, _ in _scan_active(view))
    return [row_json.load(r) for r in rows if r is not None]


def _scan_active(view: StagedView) -> Iterator[tuple[bytes, bytes]]:
    return view.scan_prefix(View.ATOMIC_SERVICE, keys.prefix("active"))


def _put(view: StagedView, row: ExecutionRow) -> None:
    view.put(View.ATOMIC_SERVICE, _key(row["run_id"]), dump(row))
    if row["status"] == RUNNING:
        view.put(View.ATOMIC_SERVICE, keys.joined("active", row["run_id"]))
    else:
        view.delete(View.ATOMIC_SERVICE, keys.joined("active", row["run_id"]))


def record(view: StagedView, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """``AtomicServiceExecutionRecorded``: start it if nothing runs, else keep a BLOCKED attempt."""
    at, status, reason = to_micros(p["started_at"]), p["status"], p["reason"]
    if status == RUNNING and (active := _active(view)):
        prior = max(active, key=lambda row: row["start_time"])
        status = BLOCKED
        reason = reason or f"prior_running:{prior['run_id']} runner:{prior['runner_id']}"
    row: ExecutionRow = {
        "run_id": p["run_id"],
        "runner_id": p["runner_id"],
        "start_time": at,
        "end_time": at if status == BLOCKED else None,
        "status": status,
        "reason": reason,
    }
    _put(view, row)
    view.put(View.ORCH_OUTCOMES, keys.text(p["request_id"]), dump({"allowed": status != BLOCKED}))


def finalize(view: StagedView, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """``AtomicServiceExecutionFinalized``: the first terminal status wins; a run never recorded as
    started gets a zero-width row, so the attempt stays visible."""
    end = to_micros(p["end_time"])
    found = view.get(View.ATOMIC_SERVICE, _key(p["run_id"]))
    if found is not None:
        row: ExecutionRow = row_json.load(found)
        if row["status"] != RUNNING:
            return
        row["end_time"], row["status"], row["reason"] = end, p["status"], p["reason"] or row["reason"]
    else:
        row = {
            "run_id": p["run_id"],
            "runner_id": p["runner_id"],
            "start_time": end,
            "end_time": end,
            "status": p["status"],
            "reason": p["reason"],
        }
    _put(view, row)


def drop(view: StagedView, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """``AtomicServiceExecutionsPurged``: the named runs leave the views."""
    for run_id in p["run_ids"]:
        view.delete(View.ATOMIC_SERVICE, _key(run_id))
        view.delete(View.ATOMIC_SERVICE, keys.joined("active", run_id))


DECIDERS = {
    EventKind.ATOMIC_SERVICE_EXECUTION_RECORDED: record,
    EventKind.ATOMIC_SERVICE_EXECUTION_FINALIZED: finalize,
    EventKind.ATOMIC_SERVICE_EXECUTIONS_PURGED: drop,
}


def executions(store: ViewStore) -> list[ExecutionRow]:
    """Every recorded execution, by run id."""
    return [row_json.load(v) for _, v in store.scan_prefix(View.ATOMIC_SERVICE, keys.prefix("exec"))]


def start_allowed(store: ViewStore, request_id: str) -> bool | None:
    """Whether a start request was granted, or ``None`` if not applied yet."""
    found = store.get_json(View.ORCH_OUTCOMES, keys.text(request_id))
    return None if found is None else bool(found["allowed"])
