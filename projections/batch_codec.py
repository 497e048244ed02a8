"""Decoding a batch of events in one pass of fastavro's reader, for bulk reads of the log.

:meth:`EventCodec.decode` pays fastavro's schema preparation on every call (``schemaless_reader``
parses the writer schema each time), which dominates decoding a small event. A bulk reader
such as a replay instead wraps a whole batch of bodies in one in-memory Avro object container,
one record per block, and reads it with :func:`fastavro.reader`: the schema is prepared once per
batch, and each record is still decoded from exactly its own bytes, as ``decode`` does.

The container declares the schema's parsing canonical form (the same binary encoding, without
logical types), so values are not converted to objects a projection turns straight back:
payload timestamps stay microseconds since the epoch (ints, which
:func:`~pynenc_kafka.schemas.timestamps.to_micros` and fastavro's writer take as they take
datetimes) and ``event_id`` stays the text written. ``occurred_at`` is a UTC datetime, as always.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from fastavro import parse_schema, reader, writer
from fastavro.schema import to_parsing_canonical_form

from pynenc_kafka.schemas.codec import SINGLE_OBJECT_MAGIC, Event, EventCodec
from pynenc_kafka.schemas.kinds import EventKind
from pynenc_kafka.schemas.timestamps import EPOCH

_HEADER_LEN = len(SINGLE_OBJECT_MAGIC) + 8
_SYNC = b"pynenc-kafka-bat"
_ONE_RECORD = b"\x02"  # Avro long 1, zig-zag encoded
_SMALL_LENGTHS = 1 << 14


def avro_long(value: int) -> bytes:
    """The Avro binary encoding (zig-zag varint) of a non-negative long."""
    value <<= 1
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_LENGTHS = [avro_long(n) for n in range(_SMALL_LENGTHS)]


def _length(n: int) -> bytes:
    return _LENGTHS[n] if n < _SMALL_LENGTHS else avro_long(n)


def _container_header(schema: Any) -> bytes:
    """An Avro container header declaring ``schema``'s parsing canonical form (no logical types)."""
    plain = parse_schema(json.loads(to_parsing_canonical_form(schema)))
    buf = io.BytesIO()
    writer(buf, plain, [], sync_marker=_SYNC, codec="null")
    return buf.getvalue()


def events_from_plain_records(values: list[bytes], records: Iterable[Any]) -> dict[bytes, Event]:
    """Each value's :class:`Event`, from its envelope record read without logical types.

    :param list values: The message values, in the order of ``records``.
    :param records: Their decoded records.
    :raises ValueError: If there are more or fewer records than values.
    """
    events: dict[bytes, Event] = {}
    kinds: dict[str, EventKind] = {}
    for value, record in zip(values, records, strict=True):  # the hot loop of a replay
        name, payload = record["payload"]
        kind = kinds.get(name)
        if kind is None:
            kind = kinds[name] = EventKind.of(name)
        events[value] = Event(
            record["event_id"],
            record["app_id"],
            EPOCH + timedelta(microseconds=record["occurred_at"]),
            kind,
            payload,
        )
    return events


class BatchEventCodec(EventCodec):
    """An :class:`EventCodec` whose :meth:`prime` decodes a batch at once.

    After ``prime(values)``, ``decode`` of any of those values is a lookup (payload timestamps as
    microseconds, see the module docstring); anything else (an event of an earlier schema,
    undecodable bytes, a batch the fast path refused) is decoded one by one exactly as
    :class:`EventCodec` does, errors included.
    """

    def __init__(self) -> None:
        super().__init__()
        self._own_header = SINGLE_OBJECT_MAGIC + self.fingerprint
        self._container = _container_header(self.schema)
        self._primed: dict[bytes, Event] = {}

    def prime(self, values: Iterable[bytes | None]) -> None:
        """Decode the events among ``values`` written with the current schema, in one pass.

        :param values: Message values of one batch; replaces the previous batch's.
        """
        own = self._own_header
        fast = [v for v in values if v is not None and v[:_HEADER_LEN] == own]
        self._primed = {}
        if not fast:
            return
        parts = [self._container]
        for value in fast:
            parts += (_ONE_RECORD, _length(len(value) - _HEADER_LEN), value[_HEADER_LEN:], _SYNC)
        try:
            records = reader(
                io.BytesIO(b"".join(parts)), return_record_name=True, return_record_name_override=True
            )
            self._primed = events_from_plain_records(fast, records)
        except Exception:  # a corrupt body: decode() reports it, record by record
            self._primed = {}

    def decode(self, data: bytes | None) -> Event:
        """The primed event of ``data``, or :meth:`EventCodec.decode` of it."""
        if data is not None:
            event = self._primed.get(data)
            if event is not None:
                return event
        return super().decode(data)
