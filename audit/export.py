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

import io
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from fastavro import parse_schema, schemaless_writer, writer

from pynenc_kafka.audit.avro_container import AvroContainer
from pynenc_kafka.audit.export_rows import DOUBLE, LIST, MAP, TIMESTAMP, Column, ReadCounts
from pynenc_kafka.audit.exported_bytes import ExportedEventBytes
from pynenc_kafka.audit.gc_pause import cyclic_gc_paused
from pynenc_kafka.audit.log_reader import LogReader, OffsetRange
from pynenc_kafka.schemas.codec import (
    SINGLE_OBJECT_MAGIC,
    EventCodec,
    UndecodableEventError,
    load_event_schema,
)
from pynenc_kafka.schemas.kinds import EventKind

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


def payload_kinds(schema: Any) -> list[EventKind]:
    """The payload union's branches of a parsed envelope schema, in order."""
    by_name = {kind.schema_name: kind for kind in EventKind}
    payload = next(f for f in schema["fields"] if f["name"] == "payload")
    return [by_name[branch["name"]] for branch in payload["type"]]


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

    Events of the current schema are spliced from their bytes (:class:`ExportedEventBytes`);
    others are decoded (earlier schemas resolved) and encoded again.

    :param out: A binary stream (a file, a part, standard output).
    :param LogReader reader: Reads the app's log.
    :param str app_id: The app; records of other apps are skipped.
    :param OffsetRange offsets: What to export.
    :param dict metadata: The header's metadata (:func:`export_metadata`).
    :param str compression: Avro block codec: ``"deflate"`` or ``"null"``.
    :param on_progress: Called after each batch with (records read, records to read).
    """
    counts = ReadCounts()
    schema = exported_event_schema()
    codec = EventCodec()
    splicer = ExportedEventBytes(SINGLE_OBJECT_MAGIC + codec.fingerprint, payload_kinds(codec.schema), app_id)
    container = AvroContainer(out, schema, compression, metadata)
    total, done = offsets.total, 0
    try:
        with cyclic_gc_paused():
            for batch in reader.read(offsets):
                for msg in batch:  # the hot loop of an Avro export
                    partition, offset = msg.partition() or 0, msg.offset() or 0
                    value = msg.value()
                    record = splicer.splice(value, partition, offset)
                    if record is None:
                        record = _encoded_again(codec, schema, app_id, value, partition, offset)
                    if record:
                        counts.events += 1
                        container.add(record)
                    else:
                        counts.skipped += 1
                done += len(batch)
                if on_progress is not None:
                    on_progress(done, total)
    finally:
        container.close()
    return counts


def _encoded_again(
    codec: EventCodec, schema: Any, app_id: str, value: bytes | None, partition: int, offset: int
) -> bytes:
    """The exported record of ``value`` decoded and encoded again; ``b""`` to skip it."""
    try:
        event = codec.decode(value)
    except UndecodableEventError:
        return b""
    if event.app_id != app_id:
        return b""
    body = io.BytesIO()
    schemaless_writer(
        body,
        schema,
        {
            "event_id": event.event_id,
            "app_id": event.app_id,
            "event_type": event.kind.value,
            "occurred_at": event.occurred_at,
            "partition": partition,
            "offset": offset,
            "payload": (event.kind.schema_name, event.payload),
        },
    )
    return body.getvalue()


def _avro_type(column: Column) -> Any:
    kind: Any = column.type
    if column.type == TIMESTAMP:
        kind = {"type": "long", "logicalType": "timestamp-micros"}
    elif column.type == MAP:
        kind = {"type": "map", "values": "string"}
    elif column.type == LIST:
        kind = {"type": "array", "items": "string"}
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
