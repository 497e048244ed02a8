"""The compiled decoder reads every event exactly as fastavro does, and refuses what it cannot read."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import to_parsing_canonical_form
from hypothesis import given, settings
from hypothesis import strategies as st

from pynenc_kafka.projections.avro_decoder import UnsupportedSchemaError, compile_decoder
from pynenc_kafka.schemas.codec import EventCodec
from pynenc_kafka.schemas.kinds import EventKind

CODEC = EventCodec()
CANONICAL = json.loads(to_parsing_canonical_form(CODEC.schema))
PLAIN = parse_schema(CANONICAL)
DECODE = compile_decoder(CANONICAL)
SKIPPING = compile_decoder(CANONICAL, frozenset({"event_id", "occurred_at"}))

text = st.text(max_size=20)
optional = st.none() | text
longs = st.integers(min_value=-(2**63), max_value=2**63 - 1)
workflow = st.none() | st.fixed_dictionaries(
    {"workflow_id": text, "workflow_type_key": text, "parent_workflow_id": optional}
)
PAYLOADS: dict[EventKind, st.SearchStrategy[dict[str, Any]]] = {
    EventKind.INVOCATION_REGISTERED: st.fixed_dictionaries(
        {
            "invocation_id": text,
            "call_id_key": text,
            "serialized_arguments": st.dictionaries(text, text, max_size=4),
            "parent_invocation_id": optional,
            "parent_event_id": optional,
            "workflow": workflow,
        }
    ),
    EventKind.STATUS_RECORDED: st.fixed_dictionaries(
        {
            "invocation_id": text,
            "status": text,
            "owner_runner_id": optional,
            "status_at": longs,
            "history_at": longs,
            "runner_context_id": text,
            "registered_by_inv_id": optional,
        }
    ),
    EventKind.RESULT_SET: st.fixed_dictionaries({"invocation_id": text, "serialized_result": text}),
    EventKind.RUNNER_CONTEXT_STORED: st.fixed_dictionaries(
        {
            "runner_id": text,
            "runner_cls": text,
            "parent_runner_id": optional,
            "pid": longs,
            "hostname": text,
            "thread_id": longs,
        }
    ),
    EventKind.PURGED: st.fixed_dictionaries(
        {"purge_id": text, "partitions": st.integers(-(2**31), 2**31 - 1), "scope": text}
    ),
    EventKind.STATUS_TRANSITION_REQUESTED: st.fixed_dictionaries(
        {
            "request_id": text,
            "invocation_id": text,
            "decision_key": text,
            "status": text,
            "runner_id": optional,
            "requested_at": longs,
            "concurrency_group": optional,
        }
    ),
    EventKind.ARGUMENTS_INDEXED: st.fixed_dictionaries(
        {"invocation_id": text, "decision_key": text, "arguments": st.dictionaries(text, text, max_size=4)}
    ),
    EventKind.WAITING_FOR_RESULTS: st.fixed_dictionaries(
        {"caller_id": text, "waited_ids": st.lists(text, max_size=5)}
    ),
    EventKind.RUNNER_HEARTBEAT: st.fixed_dictionaries(
        {
            "runner_id": text,
            "created_at": longs,
            "heartbeat_at": longs,
            "can_run_atomic_service": st.booleans(),
            "consumed_queues": st.none() | st.lists(text, max_size=3),
        }
    ),
}


@given(
    st.sampled_from(sorted(PAYLOADS, key=str)).flatmap(lambda k: st.tuples(st.just(k), PAYLOADS[k])), longs
)
@settings(max_examples=300, deadline=None)
def test_it_reads_what_fastavro_reads(kind_payload: tuple[EventKind, dict[str, Any]], occurred: int) -> None:
    kind, payload = kind_payload
    body = io.BytesIO()
    record = {
        "event_id": "e",
        "app_id": "app-é",
        "occurred_at": occurred,
        "payload": (kind.schema_name, payload),
    }
    schemaless_writer(body, PLAIN, record)
    data = body.getvalue()
    expected = schemaless_reader(
        io.BytesIO(data), PLAIN, None, return_record_name=True, return_record_name_override=True
    )
    assert isinstance(expected, dict)
    assert DECODE(data, 0) == (expected, len(data))
    rest = {k: v for k, v in expected.items() if k not in ("event_id", "occurred_at")}
    assert SKIPPING(data, 0) == (rest, len(data))


def test_truncated_bytes_raise_and_unknown_types_are_refused() -> None:
    data = CODEC.encode(
        "app",
        EventKind.RESULT_SET,
        {"invocation_id": "inv-1", "serialized_result": "3"},
        "e",
        datetime.now(UTC),
    )
    body = data[10:]
    for cut in range(len(body)):
        with pytest.raises((IndexError, ValueError)):
            DECODE(body[:cut], 0)
    with pytest.raises(UnsupportedSchemaError):
        compile_decoder({"type": "record", "name": "r", "fields": [{"name": "x", "type": "double"}]})
