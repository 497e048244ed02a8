"""An exported event spliced from its log bytes is the same bytes as one decoded and encoded again."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from typing import Any, cast

from fastavro import reader

from pynenc_kafka.audit.avro_container import AvroContainer
from pynenc_kafka.audit.export import _encoded_again, exported_event_schema, payload_kinds
from pynenc_kafka.audit.exported_bytes import ExportedEventBytes
from pynenc_kafka.schemas.codec import SINGLE_OBJECT_MAGIC, EventCodec
from pynenc_kafka.schemas.kinds import EventKind

CODEC = EventCodec()
SCHEMA = exported_event_schema()
AT = datetime(2024, 2, 29, 12, 0, 0, 123_456, tzinfo=UTC)

EVENTS: list[tuple[EventKind, dict[str, Any]]] = [
    (EventKind.RESULT_SET, {"invocation_id": "inv-é", "serialized_result": "3"}),
    (
        EventKind.STATUS_RECORDED,
        {
            "invocation_id": "inv-1",
            "status": "running",
            "owner_runner_id": None,
            "status_at": AT,
            "history_at": AT,
            "runner_context_id": "ctx",
            "registered_by_inv_id": "inv-0",
        },
    ),
    (EventKind.PURGED, {"purge_id": "p", "partitions": 3}),
    (EventKind.APP_INFO_STORED, {"app_info_json": "{}" * 100}),
]


def test_spliced_bytes_equal_the_general_path_and_other_apps_are_skipped() -> None:
    splicer = ExportedEventBytes(SINGLE_OBJECT_MAGIC + CODEC.fingerprint, payload_kinds(CODEC.schema), "app")
    for n, (kind, payload) in enumerate(EVENTS):
        value = CODEC.encode("app", kind, payload, str(uuid.UUID(int=n)), AT)
        spliced = splicer.splice(value, 2, 10**12 + n)
        assert spliced and spliced == _encoded_again(CODEC, SCHEMA, "app", value, 2, 10**12 + n)
        other = CODEC.encode("other", kind, payload, str(uuid.UUID(int=n)), AT)
        assert splicer.splice(other, 0, n) == b""
    assert splicer.splice(b"not an event", 0, 0) is None
    assert splicer.splice(value[:14], 0, 0) is None  # truncated: the general path reports it


def test_the_container_reads_back_with_fastavro() -> None:
    splicer = ExportedEventBytes(SINGLE_OBJECT_MAGIC + CODEC.fingerprint, payload_kinds(CODEC.schema), "app")
    for codec in ("deflate", "null"):
        out = io.BytesIO()
        container = AvroContainer(out, SCHEMA, codec, {"pynenc_kafka.app_id": "app"})
        for n in range(9_000):  # more than two blocks
            kind, payload = EVENTS[n % len(EVENTS)]
            record = splicer.splice(CODEC.encode("app", kind, payload, str(uuid.UUID(int=n)), AT), n % 3, n)
            assert record
            container.add(record)
        container.close()
        out.seek(0)
        back = [cast(dict[str, Any], record) for record in reader(out)]
        assert (
            len(back) == 9_000
            and back[8_999]["offset"] == 8_999
            and back[1]["event_type"] == "StatusRecorded"
        )
        assert back[0]["occurred_at"] == AT and back[0]["payload"]["invocation_id"] == "inv-é"
