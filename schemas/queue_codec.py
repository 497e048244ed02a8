"""Avro single-object encoding of the queue topic's records (``org.pynenc.kafka.queue.QueueRecord``).

The queue topic carries the broker's traffic, not audit history, so its records have an
envelope of their own (the app's event envelope would make them look like app state). They
are framed as the events are (``C3 01`` + CRC-64-AVRO fingerprint + Avro body), so any Avro
reader tells the schema from the bytes, and every record carries the invocation id it is about.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from fastavro import schemaless_reader, schemaless_writer
from fastavro.schema import load_schema

from pynenc_kafka.schemas import SCHEMA_DIR
from pynenc_kafka.schemas.codec import SINGLE_OBJECT_MAGIC, UndecodableEventError, schema_fingerprint

#: Avro namespace of the queue records.
QUEUE_NAMESPACE = "org.pynenc.kafka.queue"
#: Full name of the queue topic's envelope record.
QUEUE_SCHEMA_NAME = f"{QUEUE_NAMESPACE}.QueueRecord"
_HEADER_LEN = len(SINGLE_OBJECT_MAGIC) + 8


class QueueKind(StrEnum):
    """A payload type of the queue envelope's union (its short Avro name)."""

    ROUTED = "Routed"
    CLAIMED = "Claimed"
    QUEUE_PURGED = "QueuePurged"

    @property
    def schema_name(self) -> str:
        """The payload record's full Avro name."""
        return f"{QUEUE_NAMESPACE}.{self.value}"


@dataclass(frozen=True, slots=True)
class QueueRecord:
    """One decoded queue record.

    :param str app_id: The app it belongs to.
    :param datetime occurred_at: When it was written (UTC).
    :param QueueKind kind: The payload's type.
    :param dict payload: The payload's fields.
    """

    app_id: str
    occurred_at: datetime
    kind: QueueKind
    payload: dict[str, Any]


class QueueCodec:
    """Encodes and decodes queue records (the current schema; none is released yet)."""

    def __init__(self) -> None:
        self.schema = load_schema(str(SCHEMA_DIR / f"{QUEUE_SCHEMA_NAME}.avsc"))
        self.fingerprint = schema_fingerprint(self.schema)
        self._header = SINGLE_OBJECT_MAGIC + self.fingerprint

    def encode(self, app_id: str, kind: QueueKind, payload: dict[str, Any]) -> bytes:
        """Encode one record, stamped now.

        :param str app_id: The app.
        :param QueueKind kind: The payload's type.
        :param dict payload: The payload's fields.
        """
        buf = io.BytesIO()
        buf.write(self._header)
        record = {"app_id": app_id, "occurred_at": datetime.now(UTC), "payload": (kind.schema_name, payload)}
        schemaless_writer(buf, self.schema, record)
        return buf.getvalue()

    def decode(self, data: bytes | None) -> QueueRecord:
        """Decode one record of the queue topic.

        :raises UndecodableEventError: If the bytes are not a queue record.
        """
        if not data or len(data) < _HEADER_LEN or data[:2] != SINGLE_OBJECT_MAGIC:
            raise UndecodableEventError("not Avro single-object encoded (no C3 01 marker)")
        if data[2:_HEADER_LEN] != self.fingerprint:
            raise UndecodableEventError(
                f"not a queue record (schema fingerprint {data[2:_HEADER_LEN].hex()})"
            )
        try:
            record = schemaless_reader(
                io.BytesIO(data[_HEADER_LEN:]), self.schema, None, return_record_name=True
            )
        except Exception as exc:  # fastavro raises many types on corrupt bodies
            raise UndecodableEventError(f"corrupt Avro body: {exc!r}") from exc
        if not isinstance(record, dict):
            raise UndecodableEventError("Avro body is not a queue record")
        name, payload = record["payload"]
        occurred_at = record["occurred_at"]
        if occurred_at.tzinfo is None:
            occurred_at = occurred_at.replace(tzinfo=UTC)
        fields = {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in payload.items()}
        return QueueRecord(record["app_id"], occurred_at, QueueKind(name.rsplit(".", 1)[-1]), fields)
