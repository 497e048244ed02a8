"""How the command line prints: aligned tables, JSON, and view keys and values made readable."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pynenc_kafka.audit.digest import RowDifference

_VALUE_PREVIEW = 60


def emit_json(value: Any) -> None:
    """Print ``value`` as indented JSON (datetimes and other objects as text)."""
    print(json.dumps(value, indent=2, default=str))


def table(rows: Sequence[Sequence[object]]) -> str:
    """Rows as left-aligned columns; the first row is the header."""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def view_key(key: bytes) -> str:
    """A view key: its ``\\0``-separated parts as text where they are text, as bytes literals where not."""
    parts = []
    for part in key.split(b"\x00"):
        try:
            text = part.decode()
        except UnicodeDecodeError:
            text = ""
        parts.append(text if text.isprintable() and (text or not part) else repr(part))
    return "'" + "\\0".join(parts) + "'"


def view_value(value: bytes | None) -> str:
    """A view value as a bytes literal, cut after a few dozen bytes."""
    if value is None:
        return "(absent)"
    return repr(value[:_VALUE_PREVIEW]) + ("..." if len(value) > _VALUE_PREVIEW else "")


def row_difference(diff: RowDifference) -> str:
    """One differing row of ``verify``: its key and both values."""
    return f"{view_key(diff.key)} (live {view_value(diff.left)}, replay {view_value(diff.right)})"
