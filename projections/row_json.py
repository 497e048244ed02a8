"""The JSON of view rows: orjson where its bytes equal the standard library's, ``json`` otherwise.

Reads decode rows with orjson too (:func:`load`), and with ``json`` what orjson refuses (``NaN``,
an escaped lone surrogate) or reads otherwise (an integer beyond 64 bits, which orjson makes a
float), so a row reads back as ``json`` reads it.

Every applied event encodes one or two rows, live and in a replay, so the encoder is on the hot
path of both; orjson is ~5x faster than ``json``. The rows must stay byte-identical to the ones
projections written before orjson hold (``verify`` compares a live projection with a replay row
for row), and those were ``json`` with compact separators and ``ensure_ascii``. For ASCII text
without DEL (``0x7f``) the two agree byte for byte (``tests/unit/test_row_json.py`` checks it over
generated values); ``ensure_ascii`` escapes every other character, and orjson writes it as UTF-8,
so such a row, and any value orjson refuses (an integer beyond 64 bits, a lone surrogate), is
encoded by ``json`` instead. Live projector and replay call the same function, so they agree.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_STDLIB = json.JSONEncoder(separators=(",", ":")).encode
_ORJSON = orjson.dumps
_DEL = b"\x7f"
#: 19 digits in a row: maybe an integer beyond 64 bits, which orjson would read as a float.
_LONG_DIGITS = re.compile(rb"\d{19}")


def dump(value: Any) -> bytes:
    """Compact JSON bytes of a view value, byte-identical to ``json`` with ``ensure_ascii``."""
    try:
        out = _ORJSON(value)
    except TypeError:
        return _STDLIB(value).encode()
    if out.isascii() and _DEL not in out:
        return out
    return _STDLIB(value).encode()


def load(raw: bytes) -> Any:
    """A view value from its JSON, as ``json.loads`` returns it."""
    if _LONG_DIGITS.search(raw) is None:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(raw)
