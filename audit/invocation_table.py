"""One row per invocation, from a projection's views: what analysts ask for first.

The rows are read from a projection folder (a replay of the log, see
:mod:`pynenc_kafka.audit.replay`), the same views the backend answers from, so the table says
what the backend says: the history rows give the final status, the times and the counts, the
``exceptions`` view the exception's class. An invocation registered twice (logs written before
duplicate registrations were dropped) is one row of the ``invocations`` view, so one row here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from pynenc.identifiers.call_id import CallId
from pynenc.invocation.status import InvocationStatus

from pynenc_kafka.audit.export_rows import DOUBLE, INT, STRING, TIMESTAMP, Column
from pynenc_kafka.projections import keys
from pynenc_kafka.projections.store import View, ViewStore
from pynenc_kafka.projections.views import outcomes
from pynenc_kafka.projections.views.history import HistoryRow
from pynenc_kafka.projections.views.invocations import InvocationRow

#: Full name of the record of an exported invocations table (Avro).
INVOCATION_RECORD = "org.pynenc.kafka.export.Invocation"

INVOCATION_COLUMNS = (
    Column("app_id", STRING),
    Column("invocation_id", STRING),
    Column("task_id", STRING),
    Column("call_id_key", STRING),
    Column("parent_invocation_id", STRING, True),
    Column("workflow_id", STRING, True),
    Column("workflow_type_key", STRING, True),
    Column("parent_workflow_id", STRING, True),
    Column("final_status", STRING, True),
    Column("registered_at", TIMESTAMP, True),
    Column("first_running_at", TIMESTAMP, True),
    Column("finished_at", TIMESTAMP, True),
    Column("duration_seconds", DOUBLE, True),
    Column("run_seconds", DOUBLE, True),
    Column("status_records", INT),
    Column("retries", INT),
    Column("last_runner_id", STRING, True),
    Column("exception_class", STRING, True),
)

_RUNNING = {InvocationStatus.RUNNING.value, InvocationStatus.RUNNING_RECOVERY.value}
_FINAL = {s.value for s in InvocationStatus if s.is_final()}


def _task_id(call_id_key: str) -> str:
    try:
        return CallId.from_key(call_id_key).task_id.key
    except ValueError:
        return call_id_key


def invocation_row(app_id: str, row: InvocationRow, entries: list[HistoryRow], exception: str | None) -> dict:
    """The table's row of one invocation.

    :param str app_id: The app.
    :param row: Its ``invocations`` view row.
    :param entries: Its history, oldest first, as the backend returns it.
    :param exception: Its serialized exception, if any.
    """
    workflow: dict[str, Any] = dict(row.get("workflow") or {})
    last = entries[-1] if entries else None
    registered = next((e["history_at"] for e in entries if e["status"] == InvocationStatus.REGISTERED), None)
    if registered is None and entries:
        registered = entries[0]["history_at"]
    running = next((e["history_at"] for e in entries if e["status"] in _RUNNING), None)
    finished = last["history_at"] if last is not None and last["status"] in _FINAL else None
    owners = [e["owner_runner_id"] or e["runner_context_id"] for e in entries]
    return {
        "app_id": app_id,
        "invocation_id": row["invocation_id"],
        "task_id": _task_id(row["call_id_key"]),
        "call_id_key": row["call_id_key"],
        "parent_invocation_id": row.get("parent_invocation_id"),
        "workflow_id": workflow.get("workflow_id"),
        "workflow_type_key": workflow.get("workflow_type_key"),
        "parent_workflow_id": workflow.get("parent_workflow_id"),
        "final_status": None if last is None else last["status"],
        "registered_at": registered,
        "first_running_at": running,
        "finished_at": finished,
        "duration_seconds": None if finished is None or registered is None else (finished - registered) / 1e6,
        "run_seconds": None if finished is None or running is None else (finished - running) / 1e6,
        "status_records": len(entries),
        "retries": sum(1 for e in entries if e["status"] == InvocationStatus.RETRY),
        "last_runner_id": owners[-1] if owners else None,
        "exception_class": None if exception is None else outcomes.error_name(exception) or None,
    }


def invocation_rows(store: ViewStore, app_id: str) -> Iterator[dict[str, Any]]:
    """One row per invocation of the views, in invocation id order.

    The ``invocations``, ``history`` and ``exceptions`` views are all keyed by invocation id first,
    so one scan of each, walked together, finds every invocation's history and exception (a seek
    per invocation cost more than building its row).

    :param ViewStore store: A projection folder (a replay), opened read-only.
    :param str app_id: The app the views are of.
    """
    histories = store.scan(View.HISTORY)
    exceptions = store.scan(View.EXCEPTIONS)
    entry, failure = next(histories, None), next(exceptions, None)
    for key, value in store.scan(View.INVOCATIONS):
        row: InvocationRow = orjson.loads(value)
        own = key + keys.SEP
        while entry is not None and entry[0] < own:  # history of an invocation never registered
            entry = next(histories, None)
        entries: list[HistoryRow] = []
        while entry is not None and entry[0].startswith(own):
            entries.append(orjson.loads(entry[1]))
            entry = next(histories, None)
        while failure is not None and failure[0] < key:
            failure = next(exceptions, None)
        exception = failure[1].decode() if failure is not None and failure[0] == key else None
        yield invocation_row(app_id, row, entries, exception)
