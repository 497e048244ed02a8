"""Decoding a record of an app's log, for consumers of the topic other than pynenc-kafka itself.

:func:`decode_record` turns a message value into ``(event_type, envelope, payload)`` with only
this package (``pynenc_kafka.schemas``) imported: no pynenc, no RocksDB, no Kafka client. It
accepts events of every released schema version; bytes that are not an event raise
:class:`~pynenc_kafka.schemas.codec.UndecodableEventError`, so a consumer can skip them.

Example, with confluent-kafka (the README's *Analytics* section has it in full)::

    from pynenc_kafka.schemas.record import decode_record

    event_type, envelope, payload = decode_record(message.value())
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, NamedTuple

from pynenc_kafka.schemas.codec import EventCodec, UndecodableEventError

__all__ = ["DecodedRecord", "UndecodableEventError", "decode_record"]


class DecodedRecord(NamedTuple):
    """One decoded record of an app's log.

    :param str event_type: The payload's type, e.g. ``"StatusRecorded"`` (see ``EventKind``).
    :param dict envelope: ``event_id`` (str), ``app_id`` (str) and ``occurred_at`` (aware UTC datetime).
    :param dict payload: The event's own fields, as its Avro schema names them (timestamps as
        aware UTC datetimes, the workflow identity as a nested dict).
    """

    event_type: str
    envelope: dict[str, Any]
    payload: dict[str, Any]


_codec: EventCodec | None = None
_codec_lock = threading.Lock()


def _shared_codec() -> EventCodec:
    global _codec
    if _codec is None:
        with _codec_lock:
            if _codec is None:
                _codec = EventCodec()
    return _codec


def decode_record(value: bytes | None) -> DecodedRecord:
    """Decode a message value of an app's log (``<prefix>.<app>.events``).

    :param value: The record's value, as the consumer returned it.
    :return: ``(event_type, envelope, payload)``.
    :raises UndecodableEventError: If the bytes are not a pynenc-kafka event.
    """
    event = _shared_codec().decode(value)
    occurred_at: datetime = event.occurred_at
    envelope = {"event_id": event.event_id, "app_id": event.app_id, "occurred_at": occurred_at}
    return DecodedRecord(event.kind.value, envelope, event.payload)
