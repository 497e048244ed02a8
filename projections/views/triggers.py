"""The trigger's tables, and its claims and cron executions decided in the log's order.

Every trigger event lives on the app's partition, so every host applies them in one order. Rows of
``triggers`` are ``<table> \\0 <row id>`` -> the row (pynenc's own JSON of the record); tables:

- ``condition``, ``trigger``, ``valid_condition``, ``event``, ``run``: a record by its id;
- ``condition_trigger``: ``condition id \\0 trigger id``; ``source_task``: ``task key \\0 condition
  id``; ``event_link``: ``event id \\0 invocation id`` -> when it was linked (set members, indexes);
- ``claim``: claim key -> ``{"expires_at": micros}`` while a trigger-run claim holds;
- ``cron``: condition id -> ``{"at": micros}``, its last recorded execution;
- ``outcome``: request id -> ``{"granted": bool, "at": micros}``, the decision of a claim or cron
  request, kept :data:`OUTCOME_KEPT_MICROS` after the request's time for its requester (who reads
  it at once) and dropped by a later request, so the table holds the recent ones only.

A claim is granted when no claim of its key holds at the requester's time; a cron execution is
recorded when the last one is still the one the requester saw (or it asked unconditionally).
Both are pure functions of the events before them, so every host decides alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pynenc_kafka.projections import keys, row_json
from pynenc_kafka.projections.staged import StagedView
from pynenc_kafka.projections.store import View, ViewStore, dump
from pynenc_kafka.schemas.kinds import EventKind
from pynenc_kafka.schemas.timestamps import to_micros

CLAIM, CRON, OUTCOME = "claim", "cron", "outcome"
#: How long after its request's time an outcome stays for the requester to read.
OUTCOME_KEPT_MICROS = 10 * 60 * 1_000_000


def row_key(table: str, row_id: str) -> bytes:
    """The key of one row of a trigger table."""
    return keys.joined(table, row_id)


def store_row(view: StagedView, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """``TriggerRowStored``: the row replaces the row of its id."""
    view.put(View.TRIGGERS, row_key(p["table"], p["row_id"]), p["value"].encode())


def delete_rows(view: StagedView, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """``TriggerRowsDeleted``: the named rows leave the views."""
    for row_id in p["row_ids"]:
        view.delete(View.TRIGGERS, row_key(p["table"], row_id))


def claim(view: StagedView, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """``TriggerRunClaimRequested``: granted if no claim of the key holds at the request's time.

    Claims expired at the request's time are dropped on the way, so the table holds the live ones.
    """
    now = to_micros(p["requested_at"])
    held = False
    for key, value in list(view.scan_prefix(View.TRIGGERS, keys.prefix(CLAIM))):
        if row_json.load(value)["expires_at"] > now:
            held = held or key == row_key(CLAIM, p["claim_key"])
        else:
            view.delete(View.TRIGGERS, key)
    if not held:
        view.put(
            View.TRIGGERS, row_key(CLAIM, p["claim_key"]), dump({"expires_at": to_micros(p["expires_at"])})
        )
    _decided(view, p["request_id"], not held, now)


def record_cron(view: StagedView, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """``CronExecutionRequested``: recorded if the last execution is the one the requester expected."""
    found = view.get(View.TRIGGERS, row_key(CRON, p["condition_id"]))
    current = None if found is None else row_json.load(found)["at"]
    expected = p.get("expected_last_execution")
    granted = expected is None or current == to_micros(expected)
    if granted:
        view.put(
            View.TRIGGERS, row_key(CRON, p["condition_id"]), dump({"at": to_micros(p["execution_time"])})
        )
    _decided(view, p["request_id"], granted, to_micros(p["execution_time"]))


def _decided(view: StagedView, request_id: str, granted: bool, at: int) -> None:
    """Keep a request's outcome, dropping the outcomes older than :data:`OUTCOME_KEPT_MICROS`."""
    cutoff = at - OUTCOME_KEPT_MICROS
    for key, value in list(view.scan_prefix(View.TRIGGERS, keys.prefix(OUTCOME))):
        if row_json.load(value)["at"] < cutoff:
            view.delete(View.TRIGGERS, key)
    view.put(View.TRIGGERS, row_key(OUTCOME, request_id), dump({"granted": granted, "at": at}))


DECIDERS = {
    EventKind.TRIGGER_ROW_STORED: store_row,
    EventKind.TRIGGER_ROWS_DELETED: delete_rows,
    EventKind.TRIGGER_RUN_CLAIM_REQUESTED: claim,
    EventKind.CRON_EXECUTION_REQUESTED: record_cron,
}


def row(store: ViewStore, table: str, row_id: str) -> str | None:
    """One row's value, or ``None``."""
    found = store.get(View.TRIGGERS, row_key(table, row_id))
    return None if found is None else found.decode()


def rows(store: ViewStore, table: str, *under: str) -> Iterator[tuple[str, str]]:
    """``(row id, value)`` of every row of ``table`` (under the id parts ``under``), in key order.

    The row id is the part after ``under`` (for a composite id, its last part when ``under`` names
    all the others).
    """
    start = len(keys.prefix(table, *under))
    for key, value in store.scan_prefix(View.TRIGGERS, keys.prefix(table, *under)):
        yield key[start:].decode(), bytes(value).decode()


def granted(store: ViewStore, request_id: str) -> bool | None:
    """Whether a claim or cron request was granted, or ``None`` if not applied yet."""
    found = store.get_json(View.TRIGGERS, row_key(OUTCOME, request_id))
    return None if found is None else bool(found["granted"])


def last_cron_execution(store: ViewStore, condition_id: str) -> int | None:
    """A cron condition's last recorded execution in microseconds, or ``None``."""
    found = store.get_json(View.TRIGGERS, row_key(CRON, condition_id))
    return None if found is None else int(found["at"])
