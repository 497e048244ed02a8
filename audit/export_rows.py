"""Flat rows of an app's events, for analytics: the columns of each event type, and the rows.

Analytics tools want flat columns, not the envelope's payload union. Each event type gets the
envelope's columns (``event_id``, ``app_id``, ``event_type``, ``occurred_at``, ``partition``,
``offset``) and its own fields, as its Avro schema (``schemas/*.avsc``) declares them: a nested
record (the workflow identity) becomes its fields, timestamps are microseconds since the epoch in
UTC, results, arguments and exceptions stay the serialized text pynenc stores. The columns are
derived from the schemas, so a field added to an event is exported with no change here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pynenc_kafka.audit.log_reader import LogReader, OffsetRange
from pynenc_kafka.projections.batch_codec import BatchEventCodec
from pynenc_kafka.schemas import NAMESPACE, SCHEMA_DIR
from pynenc_kafka.schemas.codec import Event, UndecodableEventError
from pynenc_kafka.schemas.kinds import EventKind
from pynenc_kafka.schemas.timestamps import to_micros

#: Column types: text, 32/64-bit integers, a UTC timestamp (microseconds), a float, a flag, a text ->
#: text map, a list of texts.
STRING, INT, LONG, TIMESTAMP, DOUBLE, BOOLEAN, MAP, LIST = (
    "string",
    "int",
    "long",
    "timestamp",
    "double",
    "boolean",
    "map",
    "list",
)


@dataclass(frozen=True)
class Column:
    """One flat column.

    :param str name: Its name.
    :param str type: One of the column types above.
    :param bool nullable: Whether it may be null.
    :param tuple path: Where its value is in an event's payload (empty: an envelope column).
    """

    name: str
    type: str
    nullable: bool = False
    path: tuple[str, ...] = ()


#: The envelope's columns, first in every event table.
ENVELOPE_COLUMNS = (
    Column("event_id", STRING),
    Column("app_id", STRING),
    Column("event_type", STRING),
    Column("occurred_at", TIMESTAMP),
    Column("partition", INT),
    Column("offset", LONG),
)


def _avsc(name: str) -> dict[str, Any]:
    return dict(json.loads((SCHEMA_DIR / f"{name}.avsc").read_text()))


def _payload_columns(record: dict[str, Any], prefix: tuple[str, ...], nullable: bool) -> list[Column]:
    """The flat columns of an Avro record's fields (nested records become their fields)."""
    columns: list[Column] = []
    for field in record["fields"]:
        kind: Any = field["type"]
        optional = nullable
        if isinstance(kind, list):
            optional = optional or "null" in kind
            kind = next(k for k in kind if k != "null")
        path = (*prefix, field["name"])
        if isinstance(kind, str) and kind.startswith(NAMESPACE + "."):
            columns += _payload_columns(_avsc(kind), path, optional)
        elif isinstance(kind, dict) and kind.get("logicalType") == "timestamp-micros":
            columns.append(Column(field["name"], TIMESTAMP, optional, path))
        elif isinstance(kind, dict) and kind["type"] == "map":
            columns.append(Column(field["name"], MAP, optional, path))
        elif isinstance(kind, dict) and kind["type"] == "array" and kind["items"] == STRING:
            columns.append(Column(field["name"], LIST, optional, path))
        elif kind in (STRING, INT, LONG, DOUBLE, BOOLEAN):
            columns.append(Column(field["name"], kind, optional, path))
        else:
            raise TypeError(f"no flat column for field {field['name']!r} of type {kind!r}")
    return columns


def event_columns(kind: EventKind) -> tuple[Column, ...]:
    """The columns of one event type's table: the envelope's, then the payload's."""
    return ENVELOPE_COLUMNS + tuple(_payload_columns(_avsc(kind.schema_name), (), False))


COLUMNS: dict[EventKind, tuple[Column, ...]] = {kind: event_columns(kind) for kind in EventKind}


def flat_row(event: Event, partition: int, offset: int) -> list[Any]:
    """The values of an event's row, in the order of ``COLUMNS[event.kind]``."""
    row: list[Any] = [
        event.event_id,
        event.app_id,
        event.kind.value,
        to_micros(event.occurred_at),
        partition,
        offset,
    ]
    for column in COLUMNS[event.kind][len(ENVELOPE_COLUMNS) :]:
        value: Any = event.payload
        for name in column.path:
            value = None if value is None else value.get(name)
        if value is not None and column.type == TIMESTAMP:
            value = to_micros(value)
        row.append(value)
    return row


@dataclass
class ReadCounts:
    """What a pass over the log met: the app's events, and records skipped (undecodable, other apps)."""

    events: int = 0
    skipped: int = 0


def app_events(
    reader: LogReader,
    app_id: str,
    offsets: OffsetRange,
    counts: ReadCounts,
    on_progress: Callable[[int, int], None] | None = None,
) -> Iterator[tuple[Event, int, int]]:
    """The events of ``app_id`` in ``offsets`` as (event, partition, offset), each partition in log order.

    :param LogReader reader: Reads the app's log.
    :param str app_id: The app; records of other apps are skipped.
    :param OffsetRange offsets: What to read.
    :param ReadCounts counts: Updated as records are read.
    :param on_progress: Called after each batch with (records read, records to read).
    """
    codec = BatchEventCodec()
    total, done = offsets.total, 0
    for batch in reader.read(offsets):
        codec.prime(msg.value() for msg in batch)
        for msg in batch:
            try:
                event = codec.decode(msg.value())
            except UndecodableEventError:
                counts.skipped += 1
                continue
            if event.app_id != app_id:
                counts.skipped += 1
                continue
            counts.events += 1
            yield event, msg.partition() or 0, msg.offset() or 0
        done += len(batch)
        if on_progress is not None:
            on_progress(done, total)
