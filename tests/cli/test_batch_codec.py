"""``BatchEventCodec``: a batch decoded in one pass equals ``EventCodec.decode`` of each record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pynenc_kafka.projections.batch_codec import BatchEventCodec
from pynenc_kafka.schemas.codec import Event, EventCodec, UndecodableEventError
from pynenc_kafka.schemas.timestamps import to_micros

GOLDEN = Path(__file__).parent.parent / "golden"
CURRENT = EventCodec()


def _micros(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _micros(v) for k, v in value.items()}
    return value if isinstance(value, str | int | type(None) | list) else to_micros(value)


def _same(fast: Event, slow: Event) -> bool:
    return (fast.event_id, fast.app_id, fast.occurred_at, fast.kind, _micros(fast.payload)) == (
        slow.event_id,
        slow.app_id,
        slow.occurred_at,
        slow.kind,
        _micros(slow.payload),
    )


def _golden() -> list[bytes]:
    release = sorted(p for p in GOLDEN.iterdir() if (p / "expected.json").is_file())[-1]
    kinds = json.loads((release / "expected.json").read_text())
    return [(release / f"{kind}.bin").read_bytes() for kind in kinds]


def test_every_event_type_decodes_in_a_batch_as_one_by_one() -> None:
    values = _golden()
    assert all(v[2:10] == CURRENT.fingerprint for v in values), "the golden bytes are of the current schema"
    codec = BatchEventCodec()
    codec.prime([*values, None, b"junk"])
    assert len(codec._primed) == len(values)  # the fast path took every one
    for value in values:
        fast, slow = codec.decode(value), CURRENT.decode(value)
        assert _same(fast, slow), slow.kind
        assert fast.occurred_at.tzinfo is not None


def test_a_corrupt_record_in_a_batch_is_reported_and_the_others_still_decode() -> None:
    values = _golden()
    corrupt = values[0][:12]  # the right header, a truncated body
    codec = BatchEventCodec()
    codec.prime([values[1], corrupt, values[2]])
    with pytest.raises(UndecodableEventError):
        codec.decode(corrupt)
    assert _same(codec.decode(values[1]), CURRENT.decode(values[1]))
    assert _same(codec.decode(values[2]), CURRENT.decode(values[2]))
    with pytest.raises(UndecodableEventError):
        codec.decode(b"\xc3\x01" + b"\x00" * 8 + b"unknown schema")
