"""Status history: every ``StatusRecorded`` event, by invocation and by time.

Rows (the same :class:`HistoryRow` JSON in both):

- ``history``: ``<invocation id>\\0`` + time + position -> row;
- ``history_by_time``: time + position + invocation id -> row.

The time is pynenc's own history timestamp, never Kafka's; the position (partition,
offset) keeps two entries of the same microsecond apart and makes re-applying idempotent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypedDict

from pynenc_kafka.projections import keys, row_json
from pynenc_kafka.projections.store import View, ViewBatch, ViewStore, dump
from pynenc_kafka.schemas.kinds import EventKind
from pynenc_kafka.schemas.timestamps import to_micros


class HistoryRow(TypedDict):
    """One history entry; times are microseconds since the epoch."""

    invocation_id: str
    status: str
    owner_runner_id: str | None
    status_at: int
    history_at: int
    runner_context_id: str
    registered_by_inv_id: str | None


def write_status_recorded(
    batch: ViewBatch, app_id: str, p: dict[str, Any], partition: int, offset: int
) -> None:
    """Stage the rows of a ``StatusRecorded`` event at its position in the log."""
    inv_id = p["invocation_id"]
    at = to_micros(p["history_at"])
    row: HistoryRow = {
        "invocation_id": inv_id,
        "status": p["status"],
        "owner_runner_id": p["owner_runner_id"],
        "status_at": to_micros(p["status_at"]),
        "history_at": at,
        "runner_context_id": p["runner_context_id"],
        "registered_by_inv_id": p["registered_by_inv_id"],
    }
    entry = dump(row)
    pos = keys.position(partition, offset)
    batch.put(View.HISTORY, keys.prefix(inv_id) + keys.micros(at) + pos, entry)
    batch.put(View.HISTORY_BY_TIME, keys.micros(at) + pos + keys.text(inv_id), entry)


WRITERS = {EventKind.STATUS_RECORDED: write_status_recorded}


def of_invocation(store: ViewStore, invocation_id: str) -> list[HistoryRow]:
    """The invocation's history, oldest first."""
    return [row_json.load(v) for _, v in store.scan_prefix(View.HISTORY, keys.prefix(invocation_id))]


def in_timerange(store: ViewStore, start_micros: int, end_micros: int) -> Iterator[HistoryRow]:
    """Every history entry with ``start <= time <= end`` (microseconds), oldest first."""
    for _, value in store.scan(View.HISTORY_BY_TIME, keys.micros(start_micros), keys.micros(end_micros + 1)):
        yield row_json.load(value)
