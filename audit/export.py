"""Writing an app's events, or a table of rows, as an Avro object container file.

The events file's schema is the event envelope with the record's place in the log added
(``org.pynenc.kafka.export.ExportedEvent``: ``event_id``, ``app_id``, ``event_type``,
``occurred_at``, ``partition``, ``offset``, ``payload``), so any Avro reader (Spark, DuckDB,
pandas through fastavro, ...) reads it with no pynenc-kafka code, and a tool that shows the
payload union as numbered branches still has ``event_type`` to group by. Records are written
each partition in log order; the file header's metadata names the app, the topic and the
offsets exported.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from fastavro import parse_schema, writer

from pynenc_kafka.audit.export_rows import (
    DOUBLE,
    MAP,
    TIMESTAMP,
    Column,
    ReadCounts,
    app_events,
)
from pynenc_kafka.audit.gc_pause import cyclic_gc_paused
from pynenc_kafka.audit.log_reader import LogReader, OffsetRange
from pynenc_kafka.schemas.codec import load_event_schema

#: Full name of the record of an exported events file.
EXPORTED_EVENT = "org.pynenc.kafka.export.ExportedEvent"


def exported_event_schema() -> Any:
    """The envelope schema with ``event_type``, ``partition`` and ``offset`` added (parsed)."""
    envelope = load_event_schema()
    fields = {f["name"]: f for f in envelope["fields"]}
    return parse_schema(
        {
            "type": "record",
            "name": EXPORTED_EVENT,
            "doc": "One event of a pynenc-kafka app's log, with its place in the log.",
            "fields": [
                fields["event_id"],
                fields["app_id"],
                {"name": "event_type", "type": "string", "doc": "The payload's type, e.g. StatusRecorded."},
                fields["occurred_at"],
                {"name": "partition", "type": "int", "doc": "Partition of the app's log."},
                {"name": "offset", "type": "long", "doc": "Offset within the partition."},
                fields["payload"],
            ],
        }
    )


def export_metadata(
    app_id: str, topic: str, offsets: OffsetRange, until: datetime | None, table: str
) -> dict[str, str]:
    """What an exported file's header (or a dataset's manifest) says about its contents."""
    return {
        "pynenc_kafka.app_id": app_id,
        "pynenc_kafka.topic": topic,
        "pynenc_kafka.table": table,
        "pynenc_kafka.start_offsets": json.dumps({str(p): o for p, o in offsets.start.items()}),
        "pynenc_kafka.stop_offsets": json.dumps({str(p): o for p, o in offsets.stop.items()}),
        "pynenc_kafka.until": "" if until is None else until.isoformat(),
    }


def write_avro_events(
    out: IO[bytes],
    reader: LogReader,
    app_id: str,
    offsets: OffsetRange,
    metadata: dict[str, str],
    compression: str = "deflate",
    on_progress: Callable[[int, int], None] | None = None,
) -> ReadCounts:
    """Write the app's events of ``offsets`` to ``out`` as one Avro object container file.

    :param out: A binary stream (a file, a part, standard output).
    :param LogReader reader: Reads the app's log.
    :param str app_id: The app; records of other apps are skipped.
    :param OffsetRange offsets: What to export.
    :param dict metadata: The header's metadata (:func:`export_metadata`).
    :param str compression: Avro block codec: ``"deflate"`` or ``"null"``.
    :param on_progress: Called after each batch with (records read, records to read).
    """
    counts = ReadCounts()

    def records() -> Iterator[dict[str, Any]]:
        for event, partition, offset in app_events(reader, app_id, offsets, counts, on_progress):
            yield {
                "event_id": event.event_id,
                "app_id": event.app_id,
                "event_type": event.kind.value,
                "occurred_at": event.occurred_at,
                "partition": partition,
                "offset": offset,
                "payload": (event.kind.schema_name, event.payload),
            }

    with cyclic_gc_paused():
        writer(out, exported_event_schema(), records(), codec=compression, metadata=metadata)
    return counts


def _avro_type(column: Column) -> Any:
    kind: Any = column.type
    if column.type == TIMESTAMP:
        kind = {"type": "long", "logicalType": "timestamp-micros"}
    elif column.type == MAP:
        kind = {"type": "map", "values": "string"}
    elif column.type == DOUBLE:
        kind = "double"
    return ["null", kind] if column.nullable else kind


def write_avro_rows(
    out: IO[bytes],
    name: str,
    columns: Iterable[Column],
    rows: Iterable[dict[str, Any]],
    metadata: dict[str, str],
    compression: str = "deflate",
) -> int:
    """Write a table of flat rows as an Avro object container file.

    :param out: A binary stream.
    :param str name: The record's full name.
    :param columns: The table's columns.
    :param rows: Its rows, column name -> value (timestamps as microseconds since the epoch).
    :param dict metadata: The header's metadata.
    :param str compression: Avro block codec.
    :return: The rows written.
    """
    schema = parse_schema(
        {"type": "record", "name": name, "fields": [{"name": c.name, "type": _avro_type(c)} for c in columns]}
    )
    count = 0

    def counted() -> Iterator[dict[str, Any]]:
        nonlocal count
        for row in rows:
            count += 1
            yield row

    writer(out, schema, counted(), codec=compression, metadata=metadata)
    return count
