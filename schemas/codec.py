"""Avro single-object encoding of pynenc-kafka events.

Every message value is ``C3 01`` + the 8-byte little-endian CRC-64-AVRO fingerprint of
the writer schema's parsing canonical form + the Avro binary body, as the Avro
specification defines, so any Avro reader can tell the schema from the bytes.

Decoding accepts every fingerprint in :attr:`EventCodec.known_schemas`: the current
schema and every released one (``released/event-<version>.json``), resolved to the current
one, so events written by any release stay readable. A released file is the full schema,
logical types included (its fingerprint is that of its parsing canonical form): Avro readers
convert timestamps by the *writer's* logical types, so a canonical form, which drops them,
would decode an old event's times as bare integers.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, load_schema, to_parsing_canonical_form

from pynenc_kafka.schemas import EVENT_SCHEMA_NAME, SCHEMA_DIR
from pynenc_kafka.schemas.kinds import EventKind

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
_HEADER_LEN = len(SINGLE_OBJECT_MAGIC) + 8


class UndecodableEventError(ValueError):
    """Bytes that are not a pynenc-kafka event (wrong framing, unknown schema, bad body)."""


@dataclass(frozen=True, slots=True)
class Event:
    """One decoded event: the envelope fields and the payload record.

    :param str event_id: Unique id of the event.
    :param str app_id: The pynenc app id the event belongs to.
    :param datetime occurred_at: When the backend emitted it (UTC).
    :param EventKind kind: The payload's type.
    :param dict payload: The payload record's fields.
    """

    event_id: str
    app_id: str
    occurred_at: datetime
    kind: EventKind
    payload: dict[str, Any]


def schema_fingerprint(schema: Any) -> bytes:
    """Return the 8-byte little-endian CRC-64-AVRO fingerprint of a parsed schema.

    :param schema: A schema as returned by :func:`fastavro.parse_schema`.
    :return: The fingerprint bytes as they appear in a single-object header.
    """
    digest = fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO")
    return int(digest, 16).to_bytes(8, "little")


def load_event_schema() -> Any:
    """Load and parse the current envelope schema from :data:`SCHEMA_DIR`."""
    return load_schema(str(SCHEMA_DIR / f"{EVENT_SCHEMA_NAME}.avsc"))


class EventCodec:
    """Encodes events to and decodes them from Avro single-object bytes.

    :param writer_schema: The parsed schema to write with; defaults to the current one.
    """

    def __init__(self, writer_schema: Any | None = None) -> None:
        self.schema = writer_schema if writer_schema is not None else load_event_schema()
        self.fingerprint = schema_fingerprint(self.schema)
        self._header = SINGLE_OBJECT_MAGIC + self.fingerprint
        self.known_schemas: dict[bytes, Any] = {self.fingerprint: self.schema}
        for released in sorted((SCHEMA_DIR / "released").glob("event-*.json")):
            self.accept_writer_schema(released.read_text())

    def accept_writer_schema(self, schema_json: str | dict[str, Any]) -> bytes:
        """Make events written with an earlier schema version decodable.

        :param schema_json: The earlier schema, as JSON text or a parsed dict.
        :return: Its fingerprint.
        """
        raw = json.loads(schema_json) if isinstance(schema_json, str) else schema_json
        parsed = parse_schema(raw)
        fp = schema_fingerprint(parsed)
        self.known_schemas.setdefault(fp, parsed)
        return fp

    def encode(
        self, app_id: str, kind: EventKind, payload: dict[str, Any], event_id: str, occurred_at: datetime
    ) -> bytes:
        """Encode one event.

        :param str app_id: The app the event belongs to.
        :param EventKind kind: The payload's type (its short name is accepted too).
        :param dict payload: The payload record's fields.
        :param str event_id: A unique id (uuid4 text).
        :param datetime occurred_at: Emission time.
        :return: Single-object encoded bytes.
        """
        buf = io.BytesIO()
        buf.write(self._header)
        schemaless_writer(
            buf,
            self.schema,
            {
                "event_id": event_id,
                "app_id": app_id,
                "occurred_at": occurred_at,
                "payload": (EventKind.of(kind).schema_name, payload),
            },
        )
        return buf.getvalue()

    def decode(self, data: bytes | None) -> Event:
        """Decode single-object bytes into an :class:`Event`.

        :param data: The message value.
        :return: The decoded event.
        :raises UndecodableEventError: If the bytes are not one of our events.
        """
        if not data or len(data) < _HEADER_LEN or data[:2] != SINGLE_OBJECT_MAGIC:
            raise UndecodableEventError("not Avro single-object encoded (no C3 01 marker)")
        writer = self.known_schemas.get(data[2:_HEADER_LEN])
        if writer is None:
            raise UndecodableEventError(f"unknown schema fingerprint {data[2:_HEADER_LEN].hex()}")
        try:
            record = schemaless_reader(
                io.BytesIO(data[_HEADER_LEN:]),
                writer,
                None if writer is self.schema else self.schema,
                return_record_name=True,
                return_record_name_override=True,
            )
        except Exception as exc:  # fastavro raises many types on corrupt bodies
            raise UndecodableEventError(f"corrupt Avro body: {exc!r}") from exc
        if not isinstance(record, dict):
            raise UndecodableEventError("Avro body is not an event record")
        name, payload = record["payload"]
        occurred_at = record["occurred_at"]
        if occurred_at.tzinfo is None:
            occurred_at = occurred_at.replace(tzinfo=UTC)
        return Event(
            event_id=str(record["event_id"]),
            app_id=record["app_id"],
            occurred_at=occurred_at,
            kind=EventKind.of(name),
            payload=payload,
        )
