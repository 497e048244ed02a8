"""Event kinds are named once: the enum and the envelope's union list the same kinds."""

from __future__ import annotations

import json

import pytest

from pynenc_kafka.schemas import EVENT_SCHEMA_NAME, SCHEMA_DIR
from pynenc_kafka.schemas.kinds import EventKind


def _union() -> list[str]:
    envelope = json.loads((SCHEMA_DIR / f"{EVENT_SCHEMA_NAME}.avsc").read_text())
    (payload,) = [f for f in envelope["fields"] if f["name"] == "payload"]
    return list(payload["type"])


def test_every_union_branch_is_a_kind_and_every_kind_a_branch() -> None:
    assert [kind.schema_name for kind in EventKind] == _union()


@pytest.mark.parametrize("kind", list(EventKind), ids=str)
def test_each_kinds_aggregate_path_names_fields_of_its_schema(kind: EventKind) -> None:
    schema = json.loads((SCHEMA_DIR / f"{kind.schema_name}.avsc").read_text())
    fields = {f["name"]: f for f in schema["fields"]}
    if not kind.aggregate_path:
        return
    first, *rest = kind.aggregate_path
    assert first in fields
    if rest:
        nested = json.loads((SCHEMA_DIR / f"{fields[first]['type']}.avsc").read_text())
        assert rest[0] in {f["name"] for f in nested["fields"]}


def test_aggregate_keys() -> None:
    assert EventKind.RESULT_SET.aggregate_key("app", {"invocation_id": "i"}) == "i"
    workflow = {"workflow": {"workflow_id": "w", "workflow_type_key": "t", "parent_workflow_id": None}}
    assert EventKind.WORKFLOW_RUN_STORED.aggregate_key("app", workflow) == "w"
    assert EventKind.RUNNER_CONTEXT_STORED.aggregate_key("app", {"runner_id": "r"}) == "r"
    assert EventKind.PURGED.aggregate_key("app", {"purge_id": "x", "partitions": 3}) == "app"


def test_a_kind_is_found_by_short_or_full_name_and_equals_its_text() -> None:
    assert EventKind.of("ResultSet") is EventKind.RESULT_SET
    assert EventKind.of("org.pynenc.kafka.events.ResultSet") is EventKind.RESULT_SET
    assert EventKind.RESULT_SET in {"ResultSet"}, "a kind equals its text"
    with pytest.raises(ValueError, match="NoSuchEvent"):
        EventKind.of("NoSuchEvent")
