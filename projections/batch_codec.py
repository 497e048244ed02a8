"""Decoding a batch of events without logical-type conversions, for the projector and bulk reads.

The records are read against the schema's parsing canonical form (the same binary encoding,
without logical types), parsed once per codec, so values are not converted to objects a
projection turns straight back: payload timestamps stay microseconds since the epoch (ints,
which :func:`~pynenc_kafka.schemas.timestamps.to_micros` and fastavro's writer take as they take
datetimes) and ``event_id`` stays the text written. ``occurred_at`` is a UTC datetime, as always.

Each record is decoded from exactly its own bytes by a decoder compiled from that canonical form
(:mod:`~pynenc_kafka.projections.avro_decoder`, which reads what fastavro reads, ~15% faster
here); bytes it cannot read go to fastavro's ``schemaless_reader`` as before. An earlier version wrapped each batch in an in-memory
Avro container to share the schema's preparation; that paid a fixed cost per batch larger than
decoding one record, and the live projector's batches are mostly of one record (see the
README's figures).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from fastavro import parse_schema, schemaless_reader
from fastavro.schema import to_parsing_canonical_form

from pynenc_kafka.projections.avro_decoder import RecordDecoder, compile_decoder
from pynenc_kafka.schemas.codec import SINGLE_OBJECT_MAGIC, Event, EventCodec
from pynenc_kafka.schemas.kinds import EventKind
from pynenc_kafka.schemas.timestamps import EPOCH

_HEADER_LEN = len(SINGLE_OBJECT_MAGIC) + 8
_KINDS = {kind.schema_name: kind for kind in EventKind}


def event_from_plain_record(record: Any) -> Event:
    """The :class:`Event` of an envelope record read without logical types.

    :param record: The decoded envelope (``return_record_name`` on, so the payload is ``(name, fields)``).
    :raises KeyError: If the payload is of no kind this version knows.
    """
    name, payload = record["payload"]
    kind = _KINDS.get(name) or EventKind.of(name)
    return Event(
        record["event_id"],
        record["app_id"],
        EPOCH + timedelta(microseconds=record["occurred_at"]),
        kind,
        payload,
    )


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
        canonical = json.loads(to_parsing_canonical_form(self.schema))
        self._plain = parse_schema(canonical)
        self._fast: RecordDecoder = compile_decoder(canonical)
        self._primed: dict[bytes, Event] = {}

    def prime(self, values: Iterable[bytes | None]) -> None:
        """Decode the events among ``values`` written with the current schema.

        :param values: Message values of one batch; replaces the previous batch's.
        """
        own, plain, fast = self._own_header, self._plain, self._fast
        primed: dict[bytes, Event] = {}
        for value in values:  # the hot loop of a replay and of the live projector
            if value is None or value[:_HEADER_LEN] != own:
                continue
            try:
                record, _ = fast(value, _HEADER_LEN)
            except Exception:  # unexpected bytes: fastavro decides, as it always did
                try:
                    record = schemaless_reader(
                        io.BytesIO(value[_HEADER_LEN:]),
                        plain,
                        None,
                        return_record_name=True,
                        return_record_name_override=True,
                    )
                except Exception:  # a corrupt body: decode() reports it
                    continue
            try:
                primed[value] = event_from_plain_record(record)
            except Exception:  # a payload of no kind this version knows: decode() reports it
                continue
        self._primed = primed

    def decode(self, data: bytes | None) -> Event:
        """The primed event of ``data``, or :meth:`EventCodec.decode` of it."""
        if data is not None:
            event = self._primed.get(data)
            if event is not None:
                return event
        return super().decode(data)
