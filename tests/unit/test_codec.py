"""The event feed's wire format: Avro single-object encoding, golden bytes of every release."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastavro import schemaless_reader
from fastavro.schema import load_schema

from pynenc_kafka.schemas import EVENT_SCHEMA_NAME, SCHEMA_DIR
from pynenc_kafka.schemas.codec import EventCodec, UndecodableEventError, schema_fingerprint
from pynenc_kafka.schemas.kinds import EventKind

GOLDEN = Path(__file__).parent.parent / "golden"
RELEASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())


def test_current_schema_is_a_released_one() -> None:
    """A schema change must ship as a new ``released/event-<version>.json`` with golden bytes."""
    codec = EventCodec()
    released = {
        schema_fingerprint(EventCodec().known_schemas[fp])
        for fp in EventCodec().known_schemas
        if fp != codec.fingerprint
    } | {codec.fingerprint}
    files = sorted((SCHEMA_DIR / "released").glob("event-*.json"))
    assert files, "no released schema is shipped"
    assert codec.fingerprint in released
    assert len(files) == len(RELEASES)


def _released_payload_types(release: str) -> list[str]:
    schema = json.loads((SCHEMA_DIR / "released" / f"event-{release}.json").read_text())
    (payload,) = [f for f in schema["fields"] if f["name"] == "payload"]
    return [branch["name"].rsplit(".", 1)[-1] for branch in payload["type"]]


def _defaults(kind: str) -> dict[str, object]:
    """The fields of a payload type that the current schema gives a default (added since a release)."""
    schema = json.loads((SCHEMA_DIR / f"{EventKind.of(kind).schema_name}.avsc").read_text())
    return {f["name"]: f["default"] for f in schema["fields"] if "default" in f}


@pytest.mark.parametrize("release", RELEASES)
def test_golden_bytes_of_every_release_decode(release: str) -> None:
    codec = EventCodec()
    expected = json.loads((GOLDEN / release / "expected.json").read_text())
    assert sorted(expected) == sorted(_released_payload_types(release)), "one golden event per payload type"
    for kind, want in expected.items():
        event = codec.decode((GOLDEN / release / f"{kind}.bin").read_bytes())
        assert event.kind == kind
        assert event.event_id == want["event_id"]
        assert event.app_id == want["app_id"]
        assert event.occurred_at == datetime.fromisoformat(want["occurred_at"])
        got = {k: _plain(v) for k, v in event.payload.items()}
        # A field added since the release decodes as its default.
        assert got == {**{k: v for k, v in _defaults(kind).items() if k in got}, **want["payload"]}


def test_the_latest_release_has_every_payload_type() -> None:
    assert sorted(_released_payload_types(RELEASES[-1])) == sorted(kind.value for kind in EventKind)


def test_a_purge_marker_of_an_earlier_release_is_of_the_states_scope() -> None:
    """Markers written before purges had a scope dropped the state: they decode as such."""
    event = EventCodec().decode((GOLDEN / "0.1.0" / "Purged.bin").read_bytes())
    assert event.payload["scope"] == "state"


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return (value - datetime(1970, 1, 1, tzinfo=UTC)) // __import__("datetime").timedelta(microseconds=1)
    return value


def test_any_avro_reader_decodes_our_bytes_from_the_header_alone() -> None:
    """Analytics need no code of ours: header says the schema, fastavro reads the body."""
    codec = EventCodec()
    data = codec.encode(
        "app",
        EventKind.RESULT_SET,
        {"invocation_id": "i", "serialized_result": "1"},
        "0" * 8 + "-0000-4000-8000-" + "0" * 12,
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert data[:2] == b"\xc3\x01"
    schema = load_schema(str(SCHEMA_DIR / f"{EVENT_SCHEMA_NAME}.avsc"))
    assert data[2:10] == schema_fingerprint(schema)
    record = schemaless_reader(io.BytesIO(data[10:]), schema, None, return_record_name=True)
    assert isinstance(record, dict)
    assert record["payload"] == (
        "org.pynenc.kafka.events.ResultSet",
        {"invocation_id": "i", "serialized_result": "1"},
    )


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "single-object"),
        (b"not an event at all", "single-object"),
        (b"\xc3\x01" + b"\x00" * 8 + b"body", "unknown schema fingerprint"),
    ],
)
def test_bytes_that_are_not_our_events_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(UndecodableEventError, match=reason):
        EventCodec().decode(data)


def test_truncated_body_is_refused() -> None:
    codec = EventCodec()
    data = codec.encode(
        "app",
        EventKind.RESULT_SET,
        {"invocation_id": "i", "serialized_result": "x" * 50},
        "00000000-0000-4000-8000-000000000000",
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    with pytest.raises(UndecodableEventError, match="corrupt Avro body"):
        codec.decode(data[:20])
