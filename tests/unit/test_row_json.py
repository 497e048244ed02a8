"""View rows encoded with orjson are byte-identical to the ``json`` rows of earlier projections."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pynenc_kafka.projections.row_json import dump, load

_REFERENCE = json.JSONEncoder(separators=(",", ":")).encode

texts = st.text(alphabet=st.characters(codec=None), max_size=12) | st.sampled_from(
    ["", "inv-1", "é", "\x7f", "\x00\x1f", "\u2028", "\ud800", 'quote"back\\slash', "日本", "😀"]
)
values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


@given(values)
@settings(max_examples=600, deadline=None)
def test_rows_are_the_bytes_json_wrote(value: Any) -> None:
    assert dump(value) == _REFERENCE(value).encode()


def test_a_status_row_takes_the_fast_path_and_non_ascii_text_the_standard_one() -> None:
    row = {"invocation_id": "inv-1", "owner_runner_id": None, "status_at": 1_700_000_000_000_000}
    assert dump(row) == b'{"invocation_id":"inv-1","owner_runner_id":null,"status_at":1700000000000000}'
    assert dump({"k": "café"}) == b'{"k":"caf\\u00e9"}'


@given(values)
@settings(max_examples=600, deadline=None)
def test_rows_read_back_as_json_reads_them(value: Any) -> None:
    raw = dump(value)
    assert load(raw) == json.loads(raw)


def test_what_orjson_refuses_reads_back_through_json() -> None:
    assert load(b'{"v":NaN}')["v"] != load(b'{"v":NaN}')["v"]  # NaN, as json reads it
    assert load(b'{"big":' + str(2**70).encode() + b"}") == {"big": 2**70}
    assert load(b'{"s":"\\ud800"}') == {"s": "\ud800"}
