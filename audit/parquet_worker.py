"""A worker process of a parallel Parquet export: decodes its partitions into Arrow tables.

It reads its share of the partitions (:func:`~pynenc_kafka.audit.replay_worker.serve`), decodes
each read batch, and sends one Arrow table per event type met, with the flat columns of
:mod:`pynenc_kafka.audit.export_rows`; the exporting process writes them to each type's file.
Arrow tables cross the pipe as Arrow's own IPC buffers, not row by row.
"""

from __future__ import annotations

from multiprocessing.connection import Connection
from typing import Any

from confluent_kafka import Message

from pynenc_kafka.audit.export_rows import COLUMNS, flat_row
from pynenc_kafka.audit.parquet_export import arrow_schema, arrow_table
from pynenc_kafka.audit.replay_worker import WorkerTask, serve
from pynenc_kafka.projections.batch_codec import BatchEventCodec
from pynenc_kafka.schemas.codec import UndecodableEventError
from pynenc_kafka.schemas.kinds import EventKind


class ArrowBatches:
    """A Parquet export's conversion of a read batch: ``(events, skipped, {event type: table})``.

    :param str app_id: The app; records of other apps are skipped.
    """

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self._codec = BatchEventCodec()
        self._schemas = {kind: arrow_schema(COLUMNS[kind]) for kind in EventKind}

    def __call__(self, batch: list[Message]) -> tuple[int, int, dict[str, Any]]:
        codec, app_id = self._codec, self.app_id
        codec.prime(msg.value() for msg in batch)
        columns: dict[EventKind, list[list[Any]]] = {}
        events = skipped = 0
        for msg in batch:  # the hot loop of a parallel Parquet export's workers
            try:
                event = codec.decode(msg.value())
            except UndecodableEventError:
                skipped += 1
                continue
            if event.app_id != app_id:
                skipped += 1
                continue
            events += 1
            target = columns.get(event.kind)
            if target is None:
                target = columns[event.kind] = [[] for _ in COLUMNS[event.kind]]
            for values, value in zip(
                target, flat_row(event, msg.partition() or 0, msg.offset() or 0), strict=True
            ):
                values.append(value)
        tables = {
            kind.value: arrow_table(self._schemas[kind], values, [c.type for c in COLUMNS[kind]])
            for kind, values in columns.items()
        }
        return events, skipped, tables


def run_parquet_worker(task: WorkerTask, out: Connection) -> None:
    """A Parquet export's worker: sends each read batch's Arrow tables (see :func:`serve`)."""
    serve(task, out, ArrowBatches(task.app_id))
