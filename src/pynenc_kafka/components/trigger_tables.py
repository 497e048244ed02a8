"""The trigger's tables as the component reads and writes them: rows of its views, events of its log.

Both halves of :class:`~pynenc_kafka.components.trigger.KafkaTrigger` (registration and claims,
monitoring) use the same few moves: stage a row, drop rows, publish, read everything of a table
after the read barrier of the app's partition (every trigger event is on it), ask for a decision.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from pynenc_kafka.core.app_log import AppLog, Record
from pynenc_kafka.projections.store import ViewStore
from pynenc_kafka.projections.views import triggers
from pynenc_kafka.schemas.kinds import EventKind

#: Row id parts of a composite id (condition id and trigger id, ...), as the views key them.
SEP = "\x00"


def put(table: str, row_id: str, value: str = "") -> Record:
    """The event storing one row of ``table`` (replacing the row of that id)."""
    return EventKind.TRIGGER_ROW_STORED, {"table": table, "row_id": row_id, "value": value}


def delete(table: str, row_ids: Iterable[str]) -> list[Record]:
    """The event dropping ``row_ids`` of ``table``; none if there are none."""
    ids = list(row_ids)
    return [(EventKind.TRIGGER_ROWS_DELETED, {"table": table, "row_ids": ids})] if ids else []


class TriggerTables:
    """One app's trigger tables in this process.

    :param AppLog log: The app's log and projection.
    """

    def __init__(self, log: AppLog) -> None:
        self.log = log

    def publish(self, records: list[Record]) -> None:
        """Publish the events and wait for Kafka's acknowledgement (nothing if there are none)."""
        if records:
            self.log.publish(records)

    def read[T](self, read: Callable[[ViewStore], T]) -> T:
        """``read`` once the projection applied every trigger event already in Kafka."""
        return self.log.reads.fresh(read, aggregate_key=self.log.app_id)

    def row(self, table: str, row_id: str) -> str | None:
        """One row's value, or ``None``."""
        return self.read(lambda store: triggers.row(store, table, row_id))

    def rows(self, table: str, *under: str) -> list[tuple[str, str]]:
        """``(row id, value)`` of every row of ``table`` under the id parts ``under``."""
        return self.read(lambda store: list(triggers.rows(store, table, *under)))

    def decide(self, kind: EventKind, payload: dict[str, Any]) -> bool:
        """Publish a claim or cron request and return its decision, made in log order.

        :raises RuntimeError: If the projection applied the request without an outcome (a bug).
        """
        request_id = str(uuid.uuid4())
        positions = self.log.publish([(kind, {"request_id": request_id, **payload})])
        granted = self.log.reads.after_written(positions, lambda store: triggers.granted(store, request_id))
        if granted is None:
            raise RuntimeError(f"no outcome of trigger request {request_id} after it was applied")
        return granted
