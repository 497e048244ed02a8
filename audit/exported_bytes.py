"""An exported event's Avro bytes spliced from its log record, without decoding it.

An exported event (``org.pynenc.kafka.export.ExportedEvent``) is the envelope with
``event_type`` after ``app_id`` and ``partition`` and ``offset`` after ``occurred_at``. Avro's
binary encoding is the fields' encodings one after the other, so a record of the current schema
becomes an exported one by reading only where ``app_id`` and ``occurred_at`` end and which
payload branch it holds, and inserting the three fields: no field is decoded into objects and
encoded again. Anything else (an earlier schema's event, bytes this cannot read) returns
``None``, and the caller decodes and encodes it the slow, general way.
"""

from __future__ import annotations

from pynenc_kafka.audit.avro_container import zigzag
from pynenc_kafka.schemas.codec import SINGLE_OBJECT_MAGIC
from pynenc_kafka.schemas.kinds import EventKind

_HEADER_LEN = len(SINGLE_OBJECT_MAGIC) + 8


def _varint_end(buf: bytes, pos: int) -> int:
    while buf[pos] & 0x80:
        pos += 1
    return pos + 1


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    b = buf[pos]
    if b < 0x80:
        return (b >> 1) ^ -(b & 1), pos + 1
    n, shift, pos = b & 0x7F, 7, pos + 1
    while True:
        b = buf[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        if b < 0x80:
            return (n >> 1) ^ -(n & 1), pos
        shift += 7


class ExportedEventBytes:
    """Splices exported events of one app from records of the current schema.

    :param bytes header: The single-object header of the current schema (``C3 01`` + fingerprint).
    :param list kinds: The payload union's branches, in the schema's order.
    :param str app_id: The app; events of other apps give ``b""`` (skip).
    """

    def __init__(self, header: bytes, kinds: list[EventKind], app_id: str) -> None:
        self._header = header
        self._app = app_id.encode()
        self._types = [zigzag(len(k.value.encode())) + k.value.encode() for k in kinds]

    def splice(self, value: bytes | None, partition: int, offset: int) -> bytes | None:
        """The exported record of ``value``; ``b""`` for another app's event; ``None`` if it takes the slow way."""
        if value is None or value[:_HEADER_LEN] != self._header:
            return None
        try:
            size, pos = _varint(value, _HEADER_LEN)  # event_id
            pos += size
            size, start = _varint(value, pos)  # app_id
            app_end = start + size
            if value[start:app_end] != self._app:
                return b"" if app_end <= len(value) else None
            occurred_end = _varint_end(value, app_end)
            branch, _ = _varint(value, occurred_end)
        except IndexError:
            return None
        if not 0 <= branch < len(self._types):
            return None
        event_type = self._types[branch]
        return b"".join(
            (
                value[_HEADER_LEN:app_end],
                event_type,
                value[app_end:occurred_end],
                zigzag(partition),
                zigzag(offset),
                value[occurred_end:],
            )
        )
